"""Appeal decisions and 追评 reach the reference platform after their rating,
exactly once (policy.md "Appeals": reported upward)."""

import json

from upstream_fixtures import T0, add_rating, add_session, make_sender, outbox_counts
from upstream_platform import db, ref  # noqa: F401 (fixtures)

from hostd.casework import appeals
from hostd.recording import channels
from hostd.upstream import records

SECRET = b"followup-secret"


def drain(db, ref, adapter="json"):
    result = make_sender(db, ref.url, adapter, secret=SECRET, batch_size=50).drain()
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
    rows = ref.platform.db.execute("SELECT identity, body FROM followups WHERE type = ?", (kind,))
    return {identity: json.loads(body) for identity, body in rows}


def additions(ref):
    rows = ref.platform.db.execute("SELECT projectNo, body FROM ratings WHERE assessNumber = 2")
    return {project: json.loads(body) for project, body in rows}


def test_an_upheld_appeal_goes_up_once_per_case_after_its_rating(db, ref):
    rating_id = bad_rating(db, cases=("C1", "C2"))
    decide(db, rating_id, True, "恶意差评")  # before the rating went up: it waits
    blocked = db.conn.execute(
        "SELECT COUNT(*) FROM upstream_outbox WHERE kind = 'appeal' AND blocked = 1"
    ).fetchone()[0]
    assert blocked == 2
    # 2 services, 2 ratings, 2 appeal decisions, and the 2 replies of its work
    # order, which the upheld appeal ended as explained
    assert drain(db, ref) == {"confirmed": 8}
    got = platform_rows(ref, "appeal")
    filed = records.format_time(T0 + 100)
    assert set(got) == {"C1|1|" + filed, "C2|1|" + filed}
    body = got["C1|1|" + filed]
    assert (body["appealResult"], body["appealType"], body["reviewOpinion"]) == (1, 2, "核实监控")
    assert body["reviewTime"] == records.format_time(T0 + 200)
    assert ref.stats()["appeals"] == 2
    assert drain(db, ref) == {"confirmed": 8}  # nothing sent twice
    assert ref.stats()["records"] == 8


def test_a_rejected_appeal_is_reported_too_and_a_window_level_one_stays_home(db, ref):
    rejected = decide(db, bad_rating(db), False)
    window_level = bad_rating(db, sid="s2", cases=("C2",), seq=2, binding="window")
    decide(db, window_level, True, "误评")
    drain(db, ref)
    got = platform_rows(ref, "appeal")
    assert list(got) == ["C1|1|" + records.format_time(rejected["filed_at"])]
    ((body),) = got.values()
    assert (body["appealResult"], body["appealType"]) == (2, 0)


def test_details_added_before_the_first_try_ride_on_the_rating_itself(db, ref):
    rating_id = bad_rating(db)
    with db.conn:
        assert channels.add_details(db, rating_id, "窗口人员解释清楚了", {"guide": "yes"})
    assert db.conn.execute("SELECT COUNT(*) FROM upstream_outbox WHERE kind = 'comment'").fetchone()[0] == 0
    drain(db, ref)
    body = json.loads(ref.platform.db.execute("SELECT body FROM ratings").fetchone()[0])
    assert body["writingEvaluation"] == "窗口人员解释清楚了"
    assert body["questions"] == {"服务指引是否清晰": "是"}
    assert ref.stats()["additions"] == 0


def test_details_added_after_the_rating_went_up_follow_as_an_addition(db, ref):
    rating_id = bad_rating(db)
    drain(db, ref, "epoint")
    with db.conn:
        assert channels.add_details(db, rating_id, "后来电话回访了，问题已解决", {"improve": "多设几个座位"})
    key = db.conn.execute("SELECT key FROM upstream_outbox WHERE kind = 'comment'").fetchone()[0]
    assert key == "add:dev:d1:1:C1"
    assert drain(db, ref, "epoint") == {"confirmed": 3}
    got = additions(ref)
    assert list(got) == ["C1"]
    body = got["C1"]
    assert body["assessNumber"] == 2 and body["satisfaction"] == 1
    assert body["writingEvaluation"] == "后来电话回访了，问题已解决"
    assert ref.stats()["ratings"] == 1


def test_the_platform_refuses_a_followup_for_a_rating_it_does_not_hold(ref):
    appeal = {
        "projectNo": "X",
        "serviceNumber": 1,
        "assessNumber": 1,
        "appealResult": 1,
        "appealType": 1,
        "appealReason": "按错",
        "appealTime": "2026-11-21 08:00:00",
        "reviewTime": "2026-11-21 08:00:00",
    }
    service = {
        "projectNo": "X",
        "serviceNumber": 1,
        "serviceTime": "2026-11-21 08:00:00",
        "taskCode": "t",
        "deptCode": "11330100MB0000001X",
        "areaCode": "330100000000",
    }
    addition = {
        "projectNo": "X",
        "serviceNumber": 1,
        "assessNumber": 2,
        "pf": "4",
        "satisfaction": 5,
        "assessTime": "2026-11-21 08:00:00",
        "taskCode": "t",
        "deptCode": "11330100MB0000001X",
        "areaCode": "330100000000",
    }
    results = ref.platform.accept(
        [
            ("appeal", appeal),
            ("appeal", dict(appeal, appealResult=2)),
            ("service", service),
            ("rating", addition),  # a 追评 before the first rating
            ("rating", dict(addition, assessNumber=1, key="r1")),  # a key of ours
        ]
    )
    assert [r[1] for r in results] == ["NO_RATING", "BAD_CODE", "OK", "NO_RATING", "BAD_FIELD"]
    assert results[3][2] == "没有对应的评价数据" and "key" in results[4][2]


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


def test_u003_rewrites_waiting_records_to_the_neutral_form(tmp_path):
    import sqlite_utils

    from hostd.db.schema import upstream as schema_upstream

    db = sqlite_utils.Database(str(tmp_path / "old.db"))
    db.execute("CREATE TABLE session_cases (session_id TEXT, case_id TEXT, visit INTEGER, generated INTEGER)")
    db.execute("INSERT INTO session_cases VALUES ('s9', 's9', 1, 1)")  # the old no-case-id rule
    schema_upstream.u001_outbox(db)
    schema_upstream.u002_followup_kinds(db)
    service = {"type": "service", "key": "svc:C1:1", "projectNo": "C1", "serviceNumber": 1}
    rating = {"type": "rating", "key": "dev:d1:7:C1", "projectNo": "C1", "serviceNumber": 1}
    rating.update(assessNumber=1, pf=4, satisfaction=1, evalDetail="", writingEvaluation="")
    comment = {"type": "comment", "projectNo": "C1", "serviceNumber": 1, "assessNumber": 1}
    comment.update(evalDetail="1001", writingEvaluation="态度差", commentTime="2026-11-22 09:00:00")
    old = [
        ("service", "svc:C1:1", None, dict(service, promiseTime="2026-11-26 08:00:00")),
        ("rating", "dev:d1:7:C1", "svc:C1:1", rating),
        ("comment", "comment:dev:d1:7:C1", "dev:d1:7:C1", comment),
        ("service", "svc:s9:1", None, dict(service, key="svc:s9:1", projectNo="s9")),
    ]
    for kind, key, depends_on, body in old:
        db.execute(
            "INSERT INTO upstream_outbox (target, kind, key, ref, depends_on, body, created_at)"
            " VALUES ('province', ?, ?, '1', ?, ?, 1)",
            (kind, key, depends_on, json.dumps(body)),
        )
    schema_upstream.u003_interface_identity(db)
    rows = {
        key: (json.loads(body), identity, local)
        for key, body, identity, local in db.execute(
            "SELECT key, body, identity, local_case FROM upstream_outbox"
        )
    }
    service, identity, _local = rows["svc:C1:1"]
    assert "promiseTime" not in service and "key" not in service and "type" not in service
    assert identity == "service|C1|1"
    rating, identity, _local = rows["dev:d1:7:C1"]
    assert rating["channel"] == "device" and rating["reasons"] == [] and rating["reasonNotGiven"] is True
    assert "pf" not in rating and identity == "assess|C1|1|1"
    addition, identity, _local = rows["comment:dev:d1:7:C1"]
    assert addition["assessNumber"] == 2 and addition["reasons"] == ["attitude"]
    assert addition["channel"] == "device" and addition["assessTime"] == "2026-11-22 09:00:00"
    assert identity == "assess|C1|1|2"
    assert rows["svc:s9:1"][2] == 1 and rows["svc:C1:1"][2] == 0
    db.execute(
        "INSERT INTO upstream_outbox (target, kind, key, ref, body, created_at, status)"
        " VALUES ('province', 'service', 'svc:X:1', '1', '{}', 1, 'held')"
    )
