"""The hall's MQTT broker: its files, a supervised Mosquitto, the fallback.

files.py            the Mosquitto config, password file and per-device ACL
passwords.py        Mosquitto password-file hashes
mosquitto.py        run and supervise the hall's own Mosquitto
quarantine.py       a flooding device loses its publish rights for a while
fallback_broker.py  the embedded broker (amqtt) where Mosquitto is missing

Imports: the rooms below (base ... ingest).
"""
