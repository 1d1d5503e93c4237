"""The overdue watch of `hostd run`: a WARNING in the log when a 差评 work order
passes a deadline (超期预警). The dashboard shows the same orders (workorders.counts).

Each order is logged once when it becomes overdue, and again after a restart,
so the log says it without repeating it every few minutes.
"""

import logging

from hostd.base.periodic import Periodic
from hostd.casework import workorders

log = logging.getLogger("hostd.overdue")


class OverdueWatch(Periodic):
    thread_name = "hostd-overdue"
    log = log

    def __init__(self, ctx, interval=300.0):
        self.ctx = ctx
        self.warned = set()  # order ids already logged as overdue
        super().__init__(interval)

    def check(self):
        """Log orders newly overdue; return them."""
        with self.ctx.store.read() as db:
            orders = workorders.list_orders(
                db, overdue_only=True, now=int(self.ctx.clock.now()), limit=100000
            )
        fresh = [o for o in orders if o["order_id"] not in self.warned]
        for order in fresh:
            log.warning(
                "超期预警 work order %s overdue (%s deadline missed by %.1f h): staff %s, window %s",
                order["order_id"],
                order["overdue"],
                order["overdue_seconds"] / 3600.0,
                order["staff_id"] or "-",
                order["window"] or "-",
            )
        self.warned = {o["order_id"] for o in orders}  # closed ones drop out
        return fresh

    once = check
