"""The overdue watch of `hostd run`: a WARNING in the log when a 差评 work order
passes a deadline (超期预警). The dashboard shows the same orders (workorders.counts).

Each order is logged once when it becomes overdue, and again after a restart,
so the log says it without repeating it every few minutes.
"""
import logging
import threading

from hostd import workorders

log = logging.getLogger("hostd.overdue")


class OverdueWatch:
    def __init__(self, ctx, interval=300.0):
        self.ctx, self.interval = ctx, interval
        self.warned = set()  # order ids already logged as overdue
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="hostd-overdue", daemon=True)

    def start(self):
        self._thread.start()
        return self

    def check(self):
        """Log orders newly overdue; return them."""
        with self.ctx.store.read() as db:
            orders = workorders.list_orders(db, overdue_only=True, now=int(self.ctx.clock.now()),
                                            limit=100000)
        fresh = [o for o in orders if o["order_id"] not in self.warned]
        for order in fresh:
            log.warning("超期预警 work order %s overdue (%s deadline missed by %.1f h): staff %s,"
                        " window %s", order["order_id"], order["overdue"],
                        order["overdue_seconds"] / 3600.0, order["staff_id"] or "-",
                        order["window"] or "-")
        self.warned = {o["order_id"] for o in orders}  # closed ones drop out
        return fresh

    def _run(self):
        while not self._stop.is_set():
            try:
                self.check()
            except Exception:
                log.exception("overdue check failed; retrying in %ss", self.interval)
            self._stop.wait(self.interval)

    def stop(self, timeout=10.0):
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
