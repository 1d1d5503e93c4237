"""Records that follow a rating upstream once the rating is queued.

  appeal:<appeal_id>:<case_id>   the decision on an appeal (申诉复核) of a
                                 rating that goes upstream, upheld or rejected
  add:<rating key>               追评 (assessNumber 2): a comment and detail
                                 answers added on the rate-later page
                                 (hostd/recording/channels.add_details)

Both wait (blocked) for their rating's confirmation, as a reply does, and die
with it. A comment added while its rating was never tried yet is not a
追评: the queued rating is rewritten to carry it (nobody upstream has seen
that rating, so nobody sees two versions of it).

hostd/casework/appeals.py and hostd/recording/channels.py call these inside the transaction of
the change.
"""

from hostd.base import clock
from hostd.upstream import outbox, records


def _upstream_cases(db, rating_id):
    """(rating row, its session's cases) for a rating that goes upstream, else (None, [])."""
    rating = outbox.fetch_row(db, "SELECT * FROM ratings WHERE id = ?", (rating_id,))
    if rating is None or rating["binding"] != "session" or not rating["session_id"]:
        return None, []
    _session, cases, _unit = outbox.session_parts(db, rating["session_id"])
    return rating, cases


def enqueue_appeal(db, appeal_id):
    """Queue a decided appeal's record, once per case; return how many."""
    appeal = outbox.fetch_row(db, "SELECT * FROM appeals WHERE appeal_id = ?", (appeal_id,))
    if appeal is None or appeal["state"] == "pending":
        return 0
    rating, cases = _upstream_cases(db, appeal["rating_id"])
    count = 0
    for case_id, visit, generated in cases:
        count += outbox.put(
            db,
            "province",
            "appeal",
            "appeal:%d:%s" % (appeal_id, case_id),
            appeal_id,
            records.appeal_record(appeal, case_id, visit),
            depends_on=outbox.rating_key(rating, case_id),
            local_case=generated,
        )
    return count


def enqueue_details(db, rating_id):
    """A rating got its comment and detail answers: rewrite its queued records
    that were never tried, queue a 追评 for the others; return how many 追评
    records were queued."""
    rating, cases = _upstream_cases(db, rating_id)
    if rating is None:
        return 0
    session, _cases, unit = outbox.session_parts(db, rating["session_id"])
    count = 0
    for case_id, visit, generated in cases:
        key = outbox.rating_key(rating, case_id)
        row = db.conn.execute("SELECT status, attempts FROM upstream_outbox WHERE key = ?", (key,)).fetchone()
        if row is None:
            continue  # never queued (a rating from before the outbox)
        if row[0] == "pending" and row[1] == 0:
            body = records.rating_record(rating, session, case_id, visit, unit)
            db.conn.execute("UPDATE upstream_outbox SET body = ? WHERE key = ?", (outbox.encode(body), key))
            continue
        body = records.rating_record(rating, session, case_id, visit, unit, assess_number=2, at=clock.now())
        count += outbox.put(
            db, "province", "comment", "add:" + key, rating_id, body, depends_on=key, local_case=generated
        )
    return count


def rating_keys(db, rating_id):
    """The outbox keys of a rating's records and their 追评, per case."""
    rating, cases = _upstream_cases(db, rating_id)
    keys = []
    for case_id, _visit, _generated in cases:
        key = outbox.rating_key(rating, case_id)
        keys += [key, "add:" + key]
    return keys


def refresh_evaluator(db, rating_id):
    """实名 details given after the rating: rewrite its queued records that were
    never tried (they then carry them, with consent); a record already tried
    stays as it is (the platform takes no change of one). How many rewritten."""
    rating, cases = _upstream_cases(db, rating_id)
    if rating is None:
        return 0
    session, _cases, unit = outbox.session_parts(db, rating["session_id"])
    count = 0
    for case_id, visit, _generated in cases:
        key = outbox.rating_key(rating, case_id)
        body = records.rating_record(rating, session, case_id, visit, unit)
        count += db.conn.execute(
            "UPDATE upstream_outbox SET body = ? WHERE key = ? AND status = 'pending' AND attempts = 0",
            (outbox.encode(body), key),
        ).rowcount
    return count
