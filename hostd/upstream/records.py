"""Our rows -> upstream records, in hostd's own neutral form (design.md "Upstream record").

A record as the outbox stores it carries the interface's own fields
(projectNo, serviceNumber, assessNumber, satisfaction, assessTime, ...),
with two exceptions that the province's code table decides at send time
(hostd/sync/wire.py): `channel` (our channel name, sent as `pf`) and
`reasons` (our reason names, sent as `evalDetail`). Nothing else is added:
no key of ours, no type tag (the outbox row's kind says what it is).

Identity, as the platforms have it (hostd/upstream/outbox.py identity()):
  service record (办件服务数据)  (projectNo, serviceNumber)
  rating                         (projectNo, serviceNumber, assessNumber 1)
  追评 (a comment added later)    (projectNo, serviceNumber, assessNumber 2)

What goes up:
  - service record: one per case of a session (projectNo = case id,
    serviceNumber = visit). A batch (批量业务) has several cases, so its one
    rating goes up once per case, as policy.md asks;
  - rating: a rating bound to its session, any channel;
  - 追评: a comment and detail answers a citizen added on the rate-later page
    after the rating itself was tried (assessNumber 2);
  - reply: the rectification result of a closed 差评 work order;
  - appeal: a supervisor's decision on an appeal (申诉复核).
  NOT sent: window-level ratings (no session: no projectNo to attach to)
  and refused ones (the session's one rating came by another channel).

A 差评 with neither a reason nor words (the citizen let the reason screen
time out, or skipped it) is marked `reasonNotGiven`: it goes up as the 差评
it is, with the configured "reason not given" code and text
(upstream.no_reason_code / no_reason_text), shown to the hall as added by
the system. Evaluator fields (userName, mobile) go up only with consent.
"""

import json
import time

SATISFACTION_NAMES = {5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意"}
BAD_MAX = 2  # satisfaction 1 and 2 are 差评

# Device reason codes (protocol/messages.py REASON_*) -> our reason names,
# which a province's code table maps to its evalDetail codes.
REASON_NAMES = {1: "attitude", 2: "efficiency", 3: "quality", 4: "environment", 5: "other", 6: "convenience"}
# Every reason name the product can produce, with its Chinese wording:
# the six device reasons (便捷性 also asked online, 003 第十一条), and the mark of
# a 差评 whose reason was not given (timed out or 跳过).
REASONS = {
    "attitude": "服务态度",
    "efficiency": "服务效率",
    "quality": "服务质量",
    "environment": "服务环境",
    "other": "其他",
    "convenience": "便捷性",
    "not_given": "未选择原因（跳过或超时，系统补充）",
}
# Every channel a rating can come by, with its Chinese wording.
CHANNELS = {
    "device": "评价器",
    "qr": "扫码评价",
    "default": "系统默认评价",
    "paper": "书面评价",
    "sms": "短信评价",
}
TASK_TYPES = {"即办件": 1, "承诺件": 2}  # a queue-machine report's taskType (design.md)

# Feedback of the complainant on a rectification (policy.md 闭环).
FEEDBACK = {"满意": 1, "基本满意": 2, "不满意": 3}

# Appeal decisions (申诉复核结果) and what an upheld appeal found.
APPEAL_RESULT = {"upheld": 1, "rejected": 2}  # 1 申诉成立, 2 申诉驳回
APPEAL_VERDICT = {"误评": 1, "恶意差评": 2}

CHINA = 8 * 3600  # assessTime is Beijing time, whatever the host's TZ


def format_time(unix_seconds):
    """yyyy-MM-dd HH:mm:ss in Beijing time (UTC+8)."""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(int(unix_seconds) + CHINA))


def reason_names(reasons, details=None):
    """Our reason names from device reason codes (a JSON list text or a list)
    and, for web channels, `details` {"codes": [...]} or a list of codes or names."""
    names = []
    for source in (reasons, details):
        if not source:
            continue
        items = json.loads(source) if isinstance(source, str) else source
        if isinstance(items, dict):
            items = items.get("codes", [])
        if not isinstance(items, list):
            continue
        for item in items:
            name = REASON_NAMES.get(item) if isinstance(item, int) else item
            if name in REASONS and name != "not_given" and name not in names:
                names.append(name)
    return names


# The online detail questions (hostd/recording/channels.py DETAIL_QUESTIONS) and their
# answers, sent by their Chinese wording.
QUESTIONS = {
    "guide": "服务指引是否清晰",
    "procedure": "办事程序是否便利",
    "materials": "材料手续是否精简",
    "interface": "操作界面是否友好",
    "improve": "有何改进意见",
}
ANSWERS = {"yes": "是", "fair": "一般", "no": "否"}


def questions(details):
    """The detail answers of a rating's `details` (JSON text or dict) as
    {question wording: answer}; {} if none."""
    items = json.loads(details) if isinstance(details, str) else details
    if not isinstance(items, dict):
        return {}
    return {
        QUESTIONS[k]: (v if k == "improve" else ANSWERS[v])
        for k, v in items.items()
        if k in QUESTIONS and v not in (None, "")
    }


def _codes(unit):
    return (unit or {}).get("dept_code") or "", (unit or {}).get("area_code") or ""


def item_of(session, case_id):
    """(code, name) of the item a case goes up under: its own in a 一件事, else the session's."""
    return (session.get("case_items") or {}).get(case_id, (session["item_code"], session["item_name"]))


def service_record(session, case_id, visit, unit):
    """The 办件服务数据 record of one case of a session (dict-likes).
    promiseTime and taskType only where the business system gave them. A
    一件事 case goes up under its own item (session["case_items"])."""
    dept, area = _codes(unit)
    item_code, item_name = item_of(session, case_id)
    record = {
        "projectNo": case_id,
        "serviceNumber": visit,
        "serviceName": item_name,
        "serviceTime": format_time(session["created_at"]),
        "taskCode": item_code,
        "taskName": item_name,
        "deptCode": dept,
        "areaCode": area,
        "proManager": session["staff_name"],
    }
    if session.get("promise_at"):
        record["promiseTime"] = format_time(session["promise_at"])
    if session.get("task_type") in TASK_TYPES:
        record["taskType"] = TASK_TYPES[session["task_type"]]
    return record


def assess_time(rating):
    """When the citizen rated: the device's time where its clock was synced."""
    if rating["channel"] == "device" and rating.get("clock_synced") and rating.get("device_time"):
        return rating["device_time"]
    return rating["received_at"]


def rating_record(rating, session, case_id, visit, unit, assess_number=1, at=None):
    """The rating record of one case (`rating`: a ratings row as a dict).
    assess_number 2 is the 追评 of what was added later, at `at`."""
    dept, area = _codes(unit)
    reasons = reason_names(rating["reasons"], rating.get("details"))
    comment = (rating.get("comment") or "").strip()
    record = {
        "projectNo": case_id,
        "serviceNumber": visit,
        "assessNumber": assess_number,
        "channel": rating["channel"],
        "satisfaction": int(rating["level"]),
        "reasons": reasons,
        "writingEvaluation": comment,
        "assessTime": format_time(at if at is not None else assess_time(rating)),
        "taskCode": item_of(session, case_id)[0],
        "taskName": item_of(session, case_id)[1],
        "deptCode": dept,
        "areaCode": area,
        "proManager": session["staff_name"],
    }
    if record["satisfaction"] <= BAD_MAX and not reasons and not comment and assess_number == 1:
        record["reasonNotGiven"] = True
    answers = questions(rating.get("details"))
    if answers:
        record["questions"] = answers
    if rating.get("evaluator_consent"):
        if rating.get("evaluator_name"):
            record["userName"] = rating["evaluator_name"]
        if rating.get("evaluator_mobile"):
            record["mobile"] = rating["evaluator_mobile"]
        record["userProp"] = 1  # 自然人
    return record


def reply_record(order, case_id, visit, now):
    """The rectification reply (整改回复) of a closed work order."""
    return {
        "projectNo": case_id,
        "serviceNumber": visit,
        "assessNumber": 1,
        "replyContent": order.get("reply") or order.get("explanation") or "",
        "replyTime": format_time(order.get("closed_at") or now),
        "feedback": FEEDBACK.get(order.get("feedback") or "", 0),
    }


def appeal_record(appeal, case_id, visit):
    """The decision on an appeal of the rating of one case (`appeal`: its
    row in the appeals table, decided)."""
    return {
        "projectNo": case_id,
        "serviceNumber": visit,
        "assessNumber": 1,
        "appealResult": APPEAL_RESULT[appeal["state"]],
        "appealType": APPEAL_VERDICT.get(appeal.get("verdict") or "", 0),
        "appealReason": appeal["reason"],
        "reviewOpinion": appeal.get("decision_note") or "",
        "appealTime": format_time(appeal["filed_at"]),
        "reviewTime": format_time(appeal["decided_at"]),
    }


def fill_defaults(record, dept_code, area_code):
    """Units without codes take the hall's configured upstream defaults."""
    if "deptCode" in record and not record["deptCode"]:
        record["deptCode"] = dept_code
    if "areaCode" in record and not record["areaCode"]:
        record["areaCode"] = area_code
    return record
