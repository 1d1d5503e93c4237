"""`hostd run`: the store, the broker (ours or an existing one), the collector,
the device screens (push.py), the web app (API, rate-later page, hall pages),
the default-rating scheduler, the alert watch and the upstream sync, started
in that order and stopped in reverse. With backup.replica set, Litestream
(hostd/db/replicator.py) replicates the database from the store's opening until
after its last commit.

Stopping (SIGTERM, SIGINT): the collector stops taking messages and lets its
queued writes commit and ack, the store drains and commits, then the broker
stops. A SIGKILL at any moment loses nothing: a rating is acked (and its
PUBACK sent) only after its COMMIT, so anything not yet committed is still in
the device outbox, or queued in the broker for our persistent session.
SIGHUP rewrites the broker's passwd/acl from the registry and reloads them.
"""

import logging
import signal
import socket
import threading

import paho.mqtt.client as mqtt

from hostd.alerts.watch import AlertWatch
from hostd.base import hall_time, runlock
from hostd.base.context import Context
from hostd.broker import files as broker_files
from hostd.broker import mosquitto, quarantine
from hostd.casework.fraud_daily import DailyFraudScan
from hostd.db.replicator import Replicator
from hostd.db.store import Store
from hostd.db.upkeep import Upkeep
from hostd.devices import push
from hostd.ingest.collector import Collector
from hostd.recording.defaults import DefaultScheduler
from hostd.recording.retention import Retention
from hostd.rules import deadlines
from hostd.service.notify import Notifier
from hostd.sms.sender import SmsSender
from hostd.sms.sender import check as check_sms
from hostd.sync.service import SyncThread
from hostd.sync.service import check as check_upstream
from hostd.web import link_check
from hostd.web.app import create_app
from hostd.web.server import WebServer

log = logging.getLogger("hostd")

READY = "hostd ready"  # logged once everything runs; tests wait for it


def setup_logging(level, form="text"):
    handler = logging.StreamHandler()
    if form == "json":
        handler.setFormatter(hall_time.JsonLogFormatter())
    else:
        handler.setFormatter(hall_time.LogFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=getattr(logging, level), handlers=[handler])  # in the hall's time
    for noisy in ("amqtt", "transitions"):  # the embedded broker's chatter
        logging.getLogger(noisy).setLevel(max(logging.WARNING, getattr(logging, level)))
    # httpx logs every request's full URL at INFO: a robot webhook's URL is its key
    logging.getLogger("httpx").setLevel(logging.WARNING)


def _start_broker(home, config, store):
    """Start our own broker; return (broker object, host, port)."""
    with store.read() as db:
        count = broker_files.sync_files(home, db)
    log.info("broker files written for %d device(s) under %s", count, home.broker)
    binary = mosquitto.find_binary()
    if binary is not None:
        running = mosquitto.Supervisor(home, config, binary, devices=count).start()
    else:
        # lazy: amqtt is the optional fallback broker, loaded only without Mosquitto
        from hostd.broker.fallback_broker import EmbeddedBroker

        broker_files.check_port_free(config["broker"]["listen"], config["broker"]["port"], "MQTT broker")
        running = EmbeddedBroker(home, config).start()
    host_port = getattr(running, "host_port", None)  # our Mosquitto's listener for hostd itself
    if host_port:
        return running, "127.0.0.1", host_port
    host = config["broker"]["listen"]
    if host in ("0.0.0.0", "::"):
        host = "127.0.0.1"
    return running, host, config["broker"]["port"]


def _collector_for(home, config, store, url, own_broker, embedded):
    broker = config["broker"]
    if own_broker:
        host, port = url
        username, password, tls = "hostd", home.host_password(), None
    else:
        host, port = url.host, url.port
        username = url.username or "hostd"
        password = url.password if url.username else home.host_password()
        tls = {"ca_certs": broker["tls_ca"] or None} if url.tls else None
    group = config["collector"]["shared_group"] or None
    kwargs = {}  # MQTT v5 unless the broker lacks it
    if embedded:
        group = None  # amqtt speaks MQTT 3.1.1 only: no $share/ subscriptions
        kwargs["protocol"] = mqtt.MQTTv311
    hall = "+" if own_broker else config["hall"]["id"]
    # A fixed id keeps our broker session (and what it queued) across restarts;
    # instances sharing a group need distinct ids, so they add the host name.
    client_id = "hostd-%s" % config["hall"]["id"]
    if group:
        client_id += "-%s-%s" % (group, socket.gethostname())
    return Collector(
        store,
        host,
        port,
        username=username,
        password=password,
        hall=hall,
        shared_group=group,
        tls=tls,
        client_id=client_id,
        **kwargs,
    )


def run(home, broker_url=None, stop_event=None):
    """Run until SIGTERM/SIGINT (or `stop_event` is set); return an exit code."""
    config = home.config()
    lock = runlock.hold(home)  # a second `hostd run` on this home stops here, in one line
    try:
        return _run(home, config, broker_url, stop_event)
    finally:
        lock.close()  # after the broker has stopped: a restart finds its port free


def _run(home, config, broker_url, stop_event):
    notifier = Notifier()  # first: systemd's variables leave the environment before any child starts
    setup_logging(config["log"]["level"], config["log"]["format"])
    deadlines.use(config)  # work orders opened by this daemon follow hostd.toml's policy
    check_upstream(config)  # a code table that cannot work stops us here, in one line
    check_sms(home, config)  # so does an SMS gateway without its secret or template
    web = config["web"]
    broker_files.check_port_free(web["listen"], web["port"], "web page")
    url = (
        broker_files.parse_url(broker_url or config["broker"]["url"])
        if (broker_url or config["broker"]["url"])
        else None
    )

    stop = stop_event or threading.Event()
    running = {}  # what on_hup may reload, filled in as it starts
    _install_signals(stop, home, running)
    store = running["store"] = Store(home.db_path)
    running_broker = replicator = None
    collector = page = defaults = screens = None
    try:
        if config["backup"]["replica"]:  # continuous backup (Litestream) of what the store commits
            replicator = Replicator(home, config).start()
        if url is None:
            running_broker, host, port = _start_broker(home, config, store)
            running["broker"] = running_broker
            embedded = not isinstance(running_broker, mosquitto.Supervisor)
            collector = _collector_for(home, config, store, (host, port), True, embedded)
            if not embedded:  # a flooding device is cut off at our Mosquitto (broker.py)
                collector.on_flood = quarantine.flood_guard(home, store)
            where = "own broker %s:%d" % (host, port)
        else:
            collector = _collector_for(home, config, store, url, False, False)
            where = "existing broker %s (not started by hostd)" % url
        if not collector.start(timeout=10):
            log.warning("collector not subscribed yet on %s; it keeps retrying", where)
        ctx = running["ctx"] = Context(home, config, store, collector)
        ctx.replicator = replicator
        screens = push.start(ctx)  # device screens: republish now, idle after sessions
        page = WebServer(create_app(ctx, collector), web["listen"], web["port"]).start()
        link_check.check(ctx)  # the QR codes' links reach us? a warning and a banner if not
        defaults = DefaultScheduler(ctx).start()  # 系统默认评价 when a period ends
        running["fraud"] = DailyFraudScan(store).start()  # 异常评价线索, kept for review daily
        running["upstream"] = SyncThread(home, config, store).start()  # None if off
        running["upkeep"] = Upkeep(store).start()  # planner statistics (ANALYZE) daily
        running["retention"] = Retention(ctx).start()  # rate-later addresses purged after 30 days
        running["alerts"] = AlertWatch(ctx).start()  # 超期预警 and the rest: raised once, to the webhook
        sms = SmsSender.from_context(ctx)  # None without sms.url
        running["sms"] = sms.start() if sms else None  # the rate-later link, once, by SMS
        notifier.watch(store, collector, stop).ready(
            "hall %s, %s, pages %s" % (config["hall"]["id"], where, page.url)
        )  # systemd (Type=notify): started; the watchdog fed while hostd works
        log.info(
            "%s: hall %s, %s, status page %s, database %s, broker files %s",
            READY,
            config["hall"]["id"],
            where,
            page.url,
            home.db_path,
            home.broker,
        )
        stop.wait()
        log.info("stopping")
        notifier.stopping()
    finally:
        for name in ("sms", "alerts", "retention", "fraud", "upkeep", "upstream"):
            job = running.get(name)
            if job is not None:
                job.stop()
        if defaults is not None:
            defaults.stop()
        if screens is not None:
            screens.stop()
        if page is not None:
            page.stop()
        if collector is not None:
            collector.stop()
        store.close()
        if replicator is not None:  # after the store's last commit: Litestream ships it, then stops
            replicator.stop()
        if running_broker is not None:
            running_broker.stop()
    log.info("hostd stopped")
    return 0


def _install_signals(stop, home, running):
    if threading.current_thread() is not threading.main_thread():
        return  # tests run the daemon in a thread and stop it with stop_event

    def on_stop(signum, _frame):
        log.info("got %s", signal.Signals(signum).name)
        stop.set()

    def on_hup(_signum, _frame):
        if "broker" not in running:
            log.info("SIGHUP: no broker of ours to reload")
            return
        with running["store"].read() as db:
            count = broker_files.sync_files(home, db)
        running["broker"].reload()
        log.info("SIGHUP: broker files rewritten for %d device(s) and reloaded", count)

    signal.signal(signal.SIGTERM, on_stop)
    signal.signal(signal.SIGINT, on_stop)
    signal.signal(signal.SIGHUP, on_hup)
