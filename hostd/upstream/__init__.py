"""What must go upstream, queued in the transaction that caused it.

outbox.py     the upstream outbox: service records, ratings, replies, 12345 orders
records.py    our rows -> neutral records with the interface's fields
followups.py  records that follow a rating: appeal decisions, 追评
letters.py    dead letters: retry, edit and resend, each logged

The rules call it inside their transactions; hostd/sync/ drains it.
Imports: hostd.base and hostd.db only (it reads the rows by SQL).
"""
