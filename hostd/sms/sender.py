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
from hostd.sms import reminders

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

    def __init__(self, ctx, gateway):
        self.ctx = ctx
        self.gateway = gateway
        self.results = {}  # outcome -> count, for the log and the tests
        self._started = False
        super().__init__(ctx.config["sms"]["check_s"])

    @classmethod
    def from_context(cls, ctx):
        """The job, or None when sms.url is empty."""
        if not ctx.config["sms"]["url"]:
            return None
        return cls(ctx, gateways.from_config(ctx.config, secret_of(ctx.home, ctx.config)))

    def once(self):
        store = self.ctx.store
        if not self._started:
            lost = store.run(reminders.interrupted)
            if lost:
                log.warning("sms: %d reminder(s) were being sent when hostd stopped: not sent again", lost)
            self._started = True
        now = int(self.ctx.clock.now())
        with store.read() as db:
            due = reminders.due(db, now)
        for session_id in due:
            message = store.run(lambda db, sid=session_id: reminders.claim(db, sid, now))
            if message is not None:
                self._send(session_id, message, now)
        return len(due)

    def _send(self, session_id, message, now):
        store = self.ctx.store
        try:
            gateway_id = self.gateway.send(message["mobile"], message["params"], message["out_id"], now=now)
        except gateways.Refused as exc:
            code = exc.code
            store.run(lambda db: reminders.refused(db, session_id, "refused", code))
            self._count("refused")
            log.warning("sms: the gateway refused the reminder of session %s: %s", session_id, exc)
        except gateways.Unknown as exc:
            code = exc.code
            store.run(lambda db: reminders.refused(db, session_id, "unknown", code))
            self._count("unknown")
            log.warning("sms: no answer for session %s's reminder (%s): not sent again", session_id, exc)
        except gateways.Unavailable as exc:
            code = exc.code
            store.run(lambda db: reminders.retry(db, session_id, now, code))
            self._count("retry")
            log.info("sms: gateway unavailable for session %s (%s): trying again later", session_id, exc)
        else:
            store.run(lambda db: reminders.sent(db, session_id, gateway_id))
            self._count("sent")
            log.info("sms: reminder sent for session %s", session_id)

    def _count(self, outcome):
        self.results[outcome] = self.results.get(outcome, 0) + 1

    def stop(self, timeout=10.0):
        super().stop(timeout)
        if self.gateway is not None and hasattr(self.gateway, "close"):
            self.gateway.close()
