"""Taking device messages off MQTT: verify, store, acknowledge.

collector.py      receive, verify, store and acknowledge ratings and heartbeats
counters.py       rejections counted by reason, each logged once
ratelimit.py      per-device message limits and flood detection
paho_speedups.py  paho-mqtt's v5 Properties, made cheap to create

The fast decode of the common rating and the ack encoding are protocol
code: protocol/host/. Imports: the rooms below (base ... sync).
"""
