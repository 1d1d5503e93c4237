"""Recording a rating, from any channel, with what follows it in one transaction.

device_ratings.py  a device's verified rating and status, as store write tasks
channels.py        ratings that do not come from a device (QR, default, paper)
defaults.py        default ratings (系统默认评价) when a session's period ends
pipeline.py        the one seam after a rating: its work order, its upstream record
retention.py       evaluator data kept no longer than privacy.retention_days; who read it

Imports: the rooms below (base, db, upstream, rules, casework).
"""
