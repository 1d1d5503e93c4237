"""Recording a rating, from any channel, with what follows it in one transaction.

device_ratings.py  a device's verified rating and status, as store write tasks
channels.py        ratings that do not come from a device (QR, default, paper)
defaults.py        default ratings (系统默认评价) when a session's period ends
pipeline.py        the one seam after a rating: its work order, its upstream record

Imports: the rooms below (base, db, upstream, rules, casework).
"""
