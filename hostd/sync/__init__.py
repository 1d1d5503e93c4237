"""Draining the upstream queue (hostd/upstream/) to the province and 12345.

adapters.py   upstream.adapter -> the adapter: json, sm or epoint
own.py        hostd's own batched wire (json, sm), for aggregators of our own
epoint.py     Epoint's interface: one record per POST, its spelling and answers
codetable.py  a province's pf / evalDetail codes and the adapter's wire settings
tables/       shipped code tables: own.toml, epoint-example.toml
wire.py       neutral records -> the interface's fields; what an answer means
http_link.py  keep-alive HTTP(S), one connection per sending thread
sealing.py    hostd's own signatures and the SM2/SM3/SM4 envelope
sender.py     batches: confirmed once (a repeat is read back), never lost, never stuck
twelve345.py  差评 work orders to the 12345 hotline, and its replies back
service.py    the sync thread of `hostd run`, `hostd sync`, the status summary

Imports: the rooms below (base ... reporting).
"""
