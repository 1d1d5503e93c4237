"""The SMS reminder job `hostd run` repeats every sms.check_s seconds.

Each due reminder (hostd/sms/reminders.py) is claimed in a transaction of
its own and marked sending before the request goes out; the answer is
written in the next one. So a crash between the two leaves it 'sending',
which the next start turns into 'unknown': never sent twice.
"""

import logging

from hostd.base.home import NoSecret, read_secret
from hostd.base.periodic import Periodic
from hostd.sms import gateway as gateways
from hostd.sms import reminders, verdicts

log = logging.getLogger("hostd.sms")
SECRET_FILE = "sms-secret"


def secret_of(home, config):
    path = config["sms"]["secret_file"] or str(home.keys / SECRET_FILE)
    return read_secret(path, "SMS gateway", "sms.secret_file").decode()


def check(home, config):
    """With sms.url set: the secret, the key id, the signature and the template
    must be there, or UserError in one line (at `hostd run`'s start)."""
    sms = config["sms"]
    if not sms["url"]:
        return
    missing = [key for key in ("access_key_id", "sign_name", "template_code") if not sms[key]]
    if missing:
        raise NoSecret(
            "sms.url is set but %s is empty: set it in hostd.toml (or empty sms.url to turn SMS off)"
            % ", ".join("sms." + key for key in missing)
        )
    secret_of(home, config)


class SmsSender(Periodic):
    thread_name = "hostd-sms"
    log = log

    def __init__(self, ctx, gateway, verdict_gateway=None):
        self.ctx = ctx
        self.gateway = gateway  # the reminder's template
        self.verdict_gateway = verdict_gateway  # the verdict link's (sms.verdict_template_code), or None
        self.results = {}  # outcome -> count, for the log and the tests
        self._started = False
        super().__init__(ctx.config["sms"]["check_s"])

    @classmethod
    def from_context(cls, ctx):
        """The job, or None when sms.url is empty."""
        config = ctx.config
        if not config["sms"]["url"]:
            return None
        secret = secret_of(ctx.home, config)
        verdicts_on = bool(config["sms"]["verdict_template_code"])
        verdict_config = {"sms": dict(config["sms"], template_code=config["sms"]["verdict_template_code"])}
        return cls(
            ctx,
            gateways.from_config(config, secret),
            gateways.from_config(verdict_config, secret) if verdicts_on else None,
        )

    def once(self):
        store = self.ctx.store
        if not self._started:
            lost = store.run(lambda db: reminders.interrupted(db) + verdicts.interrupted(db))
            if lost:
                log.warning("sms: %d message(s) were being sent when hostd stopped: not sent again", lost)
            self._started = True
        now = int(self.ctx.clock.now())
        with store.read() as db:
            due = reminders.due(db, now)
        for session_id in due:
            message = store.run(lambda db, sid=session_id: reminders.claim(db, sid, now))
            if message is not None:
                self._send(self.gateway, message, now, _Reminder(session_id))
        if self.verdict_gateway is None:
            return len(due)
        days = self.ctx.config["workorder"]["verdict_days"]
        store.run(lambda db: verdicts.queue(db, now))
        with store.read() as db:
            waiting = verdicts.due(db, now)
        for key in waiting:
            message = store.run(lambda db, key=key: verdicts.claim(db, tuple(key), now, days))
            if message is not None:
                self._send(self.verdict_gateway, message, now, _Verdict(tuple(key)))
        return len(due) + len(waiting)

    def _send(self, gateway, message, now, kind):
        store = self.ctx.store
        try:
            gateway_id = gateway.send(message["mobile"], message["params"], message["out_id"], now=now)
        except gateways.Refused as exc:
            code = exc.code
            store.run(lambda db: kind.ended(db, "refused", code))
            self._count("refused")
            log.warning("sms: the gateway refused the %s: %s", kind, exc)
        except gateways.Unknown as exc:
            code = exc.code
            store.run(lambda db: kind.ended(db, "unknown", code))
            self._count("unknown")
            log.warning("sms: no answer for the %s (%s): not sent again", kind, exc)
        except gateways.Unavailable as exc:
            code = exc.code
            store.run(lambda db: kind.retry(db, now, code))
            self._count("retry")
            log.info("sms: gateway unavailable for the %s (%s): trying again later", kind, exc)
        else:
            store.run(lambda db: kind.sent(db, gateway_id))
            self._count("sent")
            log.info("sms: %s sent", kind)

    def _count(self, outcome):
        self.results[outcome] = self.results.get(outcome, 0) + 1

    def stop(self, timeout=10.0):
        super().stop(timeout)
        for gateway in (self.gateway, self.verdict_gateway):
            if gateway is not None and hasattr(gateway, "close"):
                gateway.close()


class _Reminder:
    """How a reminder's answer is written (hostd/sms/reminders.py)."""

    def __init__(self, session_id):
        self.session_id = session_id

    def __str__(self):
        return "reminder of session %s" % self.session_id

    def sent(self, db, gateway_id):
        reminders.sent(db, self.session_id, gateway_id)

    def ended(self, db, state, code):
        reminders.refused(db, self.session_id, state, code)

    def retry(self, db, now, code):
        reminders.retry(db, self.session_id, now, code)


class _Verdict:
    """How a verdict link's answer is written (hostd/sms/verdicts.py)."""

    def __init__(self, key):
        self.key = key

    def __str__(self):
        return "verdict link of work order %d" % self.key[0]

    def sent(self, db, gateway_id):
        verdicts.answered(db, self.key, "sent", gateway_id=gateway_id)

    def ended(self, db, state, code):
        verdicts.answered(db, self.key, state, error=code)

    def retry(self, db, now, code):
        verdicts.answered(db, self.key, "waiting", error=code, now=now)
