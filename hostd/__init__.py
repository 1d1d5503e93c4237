"""hostd, the hall host daemon: a house of rooms, one folder per concern.

A rating's way through the house, from a device to the province:

    ingest/collector  verifies it (protocol/), then hands it to
    recording/        which writes it in one transaction on the db/ writer:
                      bound and attributed by rules/, followed by
                      recording/pipeline (a 差评 opens casework/, the
                      record is queued in upstream/); after the COMMIT the
                      collector acks it, and sync/ drains upstream/ later.

The rooms, lowest first (LAYERS). A module may import from its own room
and from the rooms below it, never from a room above; imports inside
functions count too, and there are no import cycles. tests/test_layers.py
holds every import in hostd/ to this. An import inside a function is only
for a heavy or optional dependency, with a "# lazy:" comment saying why.

    base/       errors, clock, config, home, the broker URL, periodic jobs
    db/         the store engine (one writer, group commit), schema, upkeep
    files/      uploads (scans, evidence): checked by content, stored by SHA-256
    upstream/   the upstream queue: what must go up, queued in the same
                transaction as its cause (outbox, records, follow-ups)
    rules/      the regulations: working days, deadlines, links, staff and
                windows, sessions, binding, attribution
    casework/   差评 work orders, appeals, fraud signals
    recording/  ratings recorded from every channel, and the pipeline seam
    devices/    registry, firmware image, provisioning, flashing, labels,
                rendering, what a device is pushed
    reporting/  statistics, rankings, reports
    sync/       draining upstream/ to the province (adapters) and 12345
    sms/        SMS reminders: the rate-later link, once, through the gateway
    ingest/     the MQTT collector, its counters and rate limits
    alerts/     what needs a person: conditions, the ledger (raised once,
                cleared once), the WeCom/DingTalk webhook, the watch
    broker/     the Mosquitto files, a supervised Mosquitto, the fallback
    web/        the API, the hall pages, the rate-later page, the server
    service/    running as a system service: the systemd unit, sd_notify
    daemon.py   `hostd run`: the composition root that starts it all
    cli/        the `hostd` command
"""

LAYERS = (
    "base",
    "db",
    "files",
    "upstream",
    "rules",
    "casework",
    "recording",
    "devices",
    "reporting",
    "sync",
    "sms",
    "ingest",
    "alerts",
    "broker",
    "web",
    "service",
    "daemon",
    "cli",
)
