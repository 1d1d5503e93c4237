"""What follows a recorded rating, in the same transaction: the one seam.

A rating from any channel (a device: hostd/recording/device_ratings.py; the QR page,
a default, paper: hostd/recording/channels.py) is inserted and bound, then
`rating_recorded` runs what follows it in the caller's transaction, so the
follow-up work commits with the rating or not at all:
  - a counted 差评 opens a work order (hostd/casework/workorders.py on_rating);
  - a rating that counts for a session is queued upstream
    (hostd/upstream/outbox.py enqueue_rating).

The rules below this seam queue their own upstream records directly: a new
session (sessions.py), a work-order change (workorders.py), a decided
appeal (appeals.py), a comment (channels.py).

rating_recorded takes an optional `Recorded`: what the caller inserted the
row with, already attributed (device ratings), so the follow-up work need
not read the row back or attribute it again.
"""

from collections import namedtuple

from hostd.casework import workorders
from hostd.upstream import outbox

Recorded = namedtuple(
    "Recorded", "level binding session_id session_known hall window received_at staff_id unit_id"
)


def rating_recorded(db, rating_id, recorded=None):
    workorders.on_rating(db, rating_id, recorded=recorded)
    if recorded is None or (recorded.binding == "session" and recorded.session_known):
        outbox.enqueue_rating(db, rating_id)  # else: nothing goes upstream (see outbox.py)
