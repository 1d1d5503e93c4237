"""The alert watch of `hostd run`: every alerts.check_seconds it reads the
conditions, writes what started and what ended to the alerts table (raised
once, cleared once: hostd/alerts/ledger.py), logs each, and sends the news
to the webhook (hostd/alerts/webhook.py). What the webhook does not take
waits in the table for the next check.
"""

import logging

from hostd.alerts import conditions, ledger, webhook
from hostd.base import hall_time
from hostd.base.periodic import Periodic

log = logging.getLogger("hostd.alerts")


def _about(row):
    if row["kind"] == "device_silent":
        return hall_time.about(device=row["subject"])
    if row["kind"] == "order_overdue":
        return hall_time.about(order=int(row["subject"]))
    return {}


class AlertWatch(Periodic):
    thread_name = "hostd-alerts"
    log = log

    def __init__(self, ctx, sender=None, interval=None):
        self.ctx = ctx
        self.sender = sender or webhook.Sender()
        self.failing = None  # the webhook's last error, while it fails
        self.broken = {}  # kind -> error, conditions that could not be read last time
        self.since = ctx.clock.now()  # silence before hostd watched is not counted
        super().__init__(interval or ctx.config["alerts"]["check_seconds"])

    def once(self):
        """One check: returns (raised, cleared) rows."""
        now = self.ctx.clock.now()
        failed = {}
        with self.ctx.store.read() as db:
            open_keys = {row["key"] for row in ledger.open_alerts(db)}
            holding = conditions.all_alerts(self.ctx, db, now, open_keys, self.since, failed)
        for kind, error in failed.items():
            if kind not in self.broken:
                log.error("alert condition %s cannot be checked: %s", kind, error, exc_info=error)
        self.broken = failed
        raised, cleared = self.ctx.store.run(lambda db: ledger.update(db, holding, now))
        log.debug("alerts checked: %d raised, %d cleared", len(raised), len(cleared))
        for row in raised:
            log.warning("alert raised [%s]: %s", row["key"], row["message"], extra=_about(row))
        for row in cleared:
            log.info("alert cleared [%s]: %s", row["key"], row["message"], extra=_about(row))
        self.notify(now)
        return raised, cleared

    def notify(self, now):
        with self.ctx.store.read() as db:
            news = ledger.unsent(db)
        if not news:
            return []
        settings = webhook.load(self.ctx.home)
        if settings is None:  # nobody to tell: the dashboard and the log have it
            self.ctx.store.run(lambda db: ledger.mark_sent(db, news, ledger.NO_WEBHOOK))
            return []
        error = None
        try:
            delivered = self.sender.deliver(settings, self.ctx.hall, news)
        except webhook.WebhookError as exc:
            delivered, error = getattr(exc, "delivered", []), exc
        if delivered:
            self.ctx.store.run(lambda db: ledger.mark_sent(db, delivered, now))
        if error is not None:
            if self.failing is None:
                log.warning(
                    "the alert webhook failed (%s): %d alert message(s) wait for it", error, len(news)
                )
            self.failing = str(error)
        elif self.failing is not None:
            log.info("the alert webhook works again")
            self.failing = None
        return delivered

    def stop(self, timeout=10.0):
        super().stop(timeout)
        self.sender.close()
