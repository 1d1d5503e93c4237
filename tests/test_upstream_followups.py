"""Appeal decisions and later comments reach the reference platform after
their rating, exactly once (policy.md "Appeals": reported upward)."""

import json

from upstream_fixtures import T0, add_rating, add_session, outbox_counts, writer
from upstream_platform import db, ref  # noqa: F401 (fixtures)

from hostd.casework import appeals
from hostd.recording import channels
from hostd.sync import adapters
from hostd.sync.sender import Backoff, Sender
from hostd.upstream import records

SECRET = b"followup-secret"


def drain(db, ref):
    write, read = writer(db)
    sender = Sender(
        adapters.JsonHmacAdapter(ref.url, SECRET, 10.0),
        write,
        read,
        batch_size=50,
        backoff=Backoff(0.005, 0.05),
    )
    result = sender.drain()
    assert result["error"] is None, result
    return outbox_counts(db)


def bad_rating(db, sid="s1", cases=("C1",), seq=1, binding="session"):
    with db.conn:
        add_session(db, sid, cases=cases)
        rating_id = add_rating(db, sid, level=1, reasons="[1]", seq=seq, binding=binding)
        db.conn.execute("UPDATE ratings SET staff_id = 'st1' WHERE id = ?", (rating_id,))
    return rating_id


def decide(db, rating_id, uphold, verdict=None):
    with db.conn:
        appeal = appeals.file(db, rating_id, "st1", "当事人当场表示按错了", actor="st1", now=T0 + 100)
        return appeals.decide(
            db, appeal["appeal_id"], uphold, "jiandu", verdict=verdict, note="核实监控", now=T0 + 200
        )


def platform_rows(ref, kind):
    rows = ref.platform.db.execute("SELECT key, body FROM followups WHERE type = ?", (kind,))
    return {key: json.loads(body) for key, body in rows}


def test_an_upheld_appeal_goes_up_once_per_case_after_its_rating(db, ref):
    rating_id = bad_rating(db, cases=("C1", "C2"))
    appeal = decide(db, rating_id, True, "恶意差评")  # before the rating went up: it waits
    blocked = db.conn.execute(
        "SELECT COUNT(*) FROM upstream_outbox WHERE kind = 'appeal' AND blocked = 1"
    ).fetchone()[0]
    assert blocked == 2
    # 2 services, 2 ratings, 2 appeal decisions, and the 2 replies of its work
    # order, which the upheld appeal ended as explained
    assert drain(db, ref) == {"confirmed": 8}
    got = platform_rows(ref, "appeal")
    assert set(got) == {"appeal:%d:C1" % appeal["appeal_id"], "appeal:%d:C2" % appeal["appeal_id"]}
    body = got["appeal:%d:C1" % appeal["appeal_id"]]
    assert (body["appealResult"], body["appealType"], body["reviewOpinion"]) == (1, 2, "核实监控")
    assert body["reviewTime"] == records.format_time(T0 + 200)
    assert ref.stats()["appeals"] == 2
    assert drain(db, ref) == {"confirmed": 8}  # nothing sent twice
    assert ref.stats().get("duplicates", 0) == 0


def test_a_rejected_appeal_is_reported_too_and_a_window_level_one_stays_home(db, ref):
    rejected = decide(db, bad_rating(db), False)
    window_level = bad_rating(db, sid="s2", cases=("C2",), seq=2, binding="window")
    decide(db, window_level, True, "误评")
    drain(db, ref)
    got = platform_rows(ref, "appeal")
    assert list(got) == ["appeal:%d:C1" % rejected["appeal_id"]]
    assert (
        got["appeal:%d:C1" % rejected["appeal_id"]]["appealResult"],
        got["appeal:%d:C1" % rejected["appeal_id"]]["appealType"],
    ) == (2, 0)


def test_details_added_before_the_first_try_ride_on_the_rating_itself(db, ref):
    rating_id = bad_rating(db)
    with db.conn:
        assert channels.add_details(db, rating_id, "窗口人员解释清楚了", {"guide": "yes"})
    assert db.conn.execute("SELECT COUNT(*) FROM upstream_outbox WHERE kind = 'comment'").fetchone()[0] == 0
    drain(db, ref)
    body = json.loads(ref.platform.db.execute("SELECT body FROM ratings").fetchone()[0])
    assert body["writingEvaluation"] == "窗口人员解释清楚了"
    assert body["questions"] == {"服务指引是否清晰": "是"}
    assert ref.stats()["comments"] == 0


def test_details_added_after_the_rating_went_up_follow_as_a_comment(db, ref):
    rating_id = bad_rating(db)
    drain(db, ref)
    with db.conn:
        assert channels.add_details(db, rating_id, None, {"improve": "多设几个座位"})
    assert drain(db, ref) == {"confirmed": 3}
    got = platform_rows(ref, "comment")
    assert len(got) == 1
    ((key, body),) = got.items()
    assert key.startswith("comment:dev:d1:1:C1")
    assert body["questions"] == {"有何改进意见": "多设几个座位"}


def test_the_platform_refuses_a_followup_for_a_rating_it_does_not_hold(ref):
    results = ref.platform.accept_batch(
        [
            {
                "type": "appeal",
                "key": "appeal:9:X",
                "projectNo": "X",
                "serviceNumber": 1,
                "assessNumber": 1,
                "appealResult": 1,
                "appealType": 1,
                "appealReason": "按错",
                "reviewTime": "2026-11-21 08:00:00",
            },
            {
                "type": "appeal",
                "key": "appeal:10:X",
                "projectNo": "X",
                "serviceNumber": 1,
                "assessNumber": 1,
                "appealResult": 2,
                "appealType": 1,
                "appealReason": "按错",
                "reviewTime": "2026-11-21 08:00:00",
            },
            {
                "type": "comment",
                "key": "comment:x",
                "projectNo": "X",
                "serviceNumber": 1,
                "assessNumber": 1,
                "evalDetail": "",
                "writingEvaluation": "",
                "questions": {},
            },
        ]
    )
    assert [r["code"] for r in results] == ["NO_RATING", "BAD_CODE", "BAD_FIELD"]


def test_the_migration_keeps_a_waiting_outbox_and_its_indexes(tmp_path):
    import sqlite_utils

    from hostd.db.schema import upstream as schema_upstream

    db = sqlite_utils.Database(str(tmp_path / "old.db"))
    schema_upstream.u001_outbox(db)  # a hall database from before the follow-ups
    db.execute(
        "INSERT INTO upstream_outbox (target, kind, key, ref, body, created_at)"
        " VALUES ('province', 'rating', 'dev:d1:7:C1', '3', '{}', 1)"
    )
    indexes = {
        row[0]
        for row in db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index'"
            " AND tbl_name = 'upstream_outbox' AND sql IS NOT NULL"
        )
    }
    schema_upstream.u002_followup_kinds(db)
    assert db.execute("SELECT key, status FROM upstream_outbox").fetchall() == [("dev:d1:7:C1", "pending")]
    after = {
        row[0]
        for row in db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index'"
            " AND tbl_name = 'upstream_outbox' AND sql IS NOT NULL"
        )
    }
    assert after == indexes and len(after) == 3
    db.execute(
        "INSERT INTO upstream_outbox (target, kind, key, ref, body, created_at)"
        " VALUES ('province', 'appeal', 'appeal:1:C1', '1', '{}', 1)"
    )
    assert db.execute("SELECT COUNT(*) FROM upstream_outbox").fetchone()[0] == 2
