"""Draining the upstream queue (hostd/upstream/) to the province and 12345.

adapters.py   how records travel: one adapter per province style
sender.py     batches: confirmed once, never lost, never stuck
twelve345.py  差评 work orders to the 12345 hotline, and its replies back
service.py    the sync thread of `hostd run` and `hostd sync`

Imports: the rooms below (base ... reporting).
"""
