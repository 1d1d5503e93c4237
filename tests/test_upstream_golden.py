"""The exact bytes each adapter posts for one service record, one rating and
one 追评, against golden files in tests/golden/upstream/.

A change to what goes on the wire must show up here. After a deliberate
change: UPDATE_GOLDEN=1 .venv/bin/pytest tests/test_upstream_golden.py, and
review the diff. The sm adapter's envelope is fresh random bytes each time:
its golden file is the plaintext it seals."""

import json
import os
from pathlib import Path

import pytest

from hostd.base.config import defaults
from hostd.sync import adapters, codetable, own, wire
from hostd.upstream import records

GOLDEN = Path(__file__).resolve().parent / "golden" / "upstream"
T0 = 1795219200  # 2026-11-21 08:00 Beijing
SESSION = {"item_code": "330100-001", "item_name": "食品经营许可", "staff_name": "张三", "created_at": T0}
UNIT = {"dept_code": "11330100MB0000001X", "area_code": "330100000000"}
RATING = {
    "channel": "device",
    "level": 1,
    "reasons": "[1,3]",
    "comment": "",
    "details": None,
    "device_time": T0 + 60,
    "clock_synced": 1,
    "received_at": T0 + 61,
}
ADDED = dict(RATING, comment="后来电话回访了，问题已解决")


def neutral():
    return [
        ("service", records.service_record(SESSION, "C-2026-0001", 1, UNIT)),
        ("rating", records.rating_record(RATING, SESSION, "C-2026-0001", 1, UNIT)),
        (
            "comment",
            records.rating_record(ADDED, SESSION, "C-2026-0001", 1, UNIT, assess_number=2, at=T0 + 86400),
        ),
    ]


class Recorder:
    """Stands in for the adapter's connections: keeps each request, answers success."""

    def __init__(self, answer):
        self.sent, self.answer = [], answer

    def request(self, method, path, body=None, headers=None):
        self.sent.append((method, path, body))
        return 200, self.answer(body)

    def close(self):
        pass


def own_answer(body):
    count = len(json.loads(body)["records"])
    return json.dumps({"results": [{"ok": True, "code": "OK", "message": ""}] * count}).encode()


EPOINT_OK = json.dumps({"status": {"code": 200, "text": ""}, "custom": {"code": "1", "text": ""}}).encode()


def posted(name, monkeypatch):
    up = dict(defaults()["upstream"], url="http://platform.example:8080/hcp", adapter=name)
    up.update(dept_code="", area_code="", sm2_public_key="ab" * 64)
    if name == "epoint":
        up["code_table"] = codetable.shipped("epoint-example.toml")
    table = codetable.for_config(up)
    adapter = adapters.make_adapter(up, b"golden-secret", table)
    translate = wire.Translator(table, up).to_wire
    adapter.pool = Recorder(own_answer if name != "epoint" else lambda body: EPOINT_OK)
    if name == "sm":
        monkeypatch.setattr(own.sealing, "sm_seal", lambda plain, secret, key: plain)
    out = []
    for kind, record in neutral():
        answers = adapter.send([(1, kind, translate(kind, record))])
        assert answers[1].outcome == wire.OK
        method, path, body = adapter.pool.sent[-1]
        out.append((kind, "%s %s\n%s\n" % (method, path, body.decode())))
    adapter.close()
    return out


@pytest.mark.parametrize("name", ["json", "sm", "epoint"])
def test_each_adapter_posts_exactly_the_golden_bytes(name, monkeypatch):
    for kind, text in posted(name, monkeypatch):
        path = GOLDEN / ("%s-%s.txt" % (name, {"comment": "addition"}.get(kind, kind)))
        if os.environ.get("UPDATE_GOLDEN"):
            path.write_text(text, encoding="utf-8")
        assert path.exists(), "no golden file %s: run UPDATE_GOLDEN=1 pytest %s" % (path, __file__)
        assert text == path.read_text(encoding="utf-8"), (
            "%s changed: review, then UPDATE_GOLDEN=1" % path.name
        )


def test_no_golden_body_carries_a_key_of_ours():
    for path in GOLDEN.glob("*.txt"):
        body = json.loads(path.read_text(encoding="utf-8").split("\n", 1)[1])
        records_ = [r["record"] for r in body["records"]] if "records" in body else [body["params"]]
        for record in records_:
            assert not {"key", "type", "channel", "reasons"} & set(record), path.name
