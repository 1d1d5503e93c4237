"""What follows, in the same transaction, when something is recorded.

Callers run these inside a Store op (or an open_database transaction), so
the follow-up work commits with the record or not at all:
  rating_recorded      a rating from any channel was inserted (binding set)
  session_opened       a service session was created (its cases inserted)
  work_order_changed   a work order was opened or changed state
  appeal_decided       a supervisor upheld or rejected an appeal
  details_added        a citizen added a comment and detail answers to a rating

rating_recorded takes an optional `Recorded`: what the caller inserted the
row with, already attributed (hostd/store.py's device ratings), so the
follow-up work need not read the row back or attribute it again.
"""

from collections import namedtuple

Recorded = namedtuple(
    "Recorded", "level binding session_id session_known hall window received_at staff_id unit_id"
)


def _modules():
    # imported on first use: workorders and the outbox import this module
    from hostd import workorders
    from hostd.upstream import outbox

    _followers[:] = [workorders, outbox]
    return _followers


_followers = []


def rating_recorded(db, rating_id, recorded=None):
    workorders, outbox = _followers or _modules()
    workorders.on_rating(db, rating_id, recorded=recorded)
    if recorded is None or (recorded.binding == "session" and recorded.session_known):
        outbox.enqueue_rating(db, rating_id)  # else: nothing goes upstream (see outbox.py)


def session_opened(db, session_id):
    from hostd.upstream import outbox

    outbox.enqueue_session(db, session_id)


def work_order_changed(db, order_id, to_state):
    from hostd.upstream import outbox

    outbox.enqueue_work_order(db, order_id, to_state)


def appeal_decided(db, appeal_id):
    from hostd.upstream import followups

    followups.enqueue_appeal(db, appeal_id)


def details_added(db, rating_id):
    from hostd.upstream import followups

    followups.enqueue_details(db, rating_id)
