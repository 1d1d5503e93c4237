"""hostd's neutral records (hostd/upstream/records.py) -> the interface's
fields, and what a platform's answer means.

to_wire() replaces our `channel` with the province's `pf` and our `reasons`
with its `evalDetail` codes (hostd/sync/codetable.py), and fills in the
hall's codes where a unit has none. A 差评 whose reason was not given goes up
with upstream.no_reason_code (default: the table's `not_given`) and
upstream.no_reason_text. Each adapter then spells the fields its own way.

An adapter answers each record with an Answer: outcome is one of
  ok          the platform took it
  repeat      it holds a record of that identity already: query and compare
  no_service  "没有对应的服务数据": the service record is missing (yet)
  no_rating   a 追评 / reply / appeal before its rating
  invalid     refused for the record's content: no resend can change it
  refused     another refusal: retried with backoff, dead after max_rejections
  retry       the answer could not be read: retried with backoff
"""

from typing import NamedTuple

OK, REPEAT, NO_SERVICE, NO_RATING = "ok", "repeat", "no_service", "no_rating"
INVALID, REFUSED, RETRY = "invalid", "refused", "retry"


class Answer(NamedTuple):
    outcome: str
    code: str = ""
    message: str = ""


class Translator:
    def __init__(self, table, upstream):
        self.table = table
        self.no_reason_code = str(upstream.get("no_reason_code") or table.eval_detail["not_given"])
        self.no_reason_text = upstream.get("no_reason_text") or ""
        self.dept_code = upstream.get("dept_code") or ""
        self.area_code = upstream.get("area_code") or ""

    def to_wire(self, kind, body):
        """The record as the interface has it (a new dict); KeyError names a
        channel or reason the table lacks."""
        out = dict(body)
        if "deptCode" in out and not out["deptCode"]:
            out["deptCode"] = self.dept_code
        if "areaCode" in out and not out["areaCode"]:
            out["areaCode"] = self.area_code
        if "channel" in out:
            out["pf"] = self.table.pf[out.pop("channel")]
        if "reasons" in out:
            codes = [str(self.table.eval_detail[name]) for name in out.pop("reasons")]
            if out.pop("reasonNotGiven", False):
                codes = [self.no_reason_code]
                out["writingEvaluation"] = self.no_reason_text
            out["evalDetail"] = ",".join(codes)
        return out


def _norm(value):
    if isinstance(value, str) and "," in value:
        return ",".join(sorted(value.split(",")))
    if isinstance(value, dict):
        return {k: _norm(v) for k, v in value.items()}
    return "" if value is None else str(value)


def same(sent, stored):
    """True when the platform's stored record has every field we sent, with
    the same value (numbers and texts alike; code lists in any order)."""
    if not isinstance(stored, dict):
        return False
    return all(_norm(stored.get(name)) == _norm(value) for name, value in sent.items())


def differences(sent, stored):
    """{field: (ours, theirs)} where the stored record differs from what we sent."""
    stored = stored if isinstance(stored, dict) else {}
    return {
        name: (value, stored.get(name))
        for name, value in sent.items()
        if _norm(stored.get(name)) != _norm(value)
    }
