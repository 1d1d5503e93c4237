"""Our rows -> the national 好差评 record fields (design.md "Upstream record").

Every mapping is an explicit table here, tested in tests/test_upstream_records.py.

What goes up:
  - service record (办件服务数据): one per case of a session (projectNo =
    case id, serviceNumber = visit). A batch (批量业务) has several cases, so
    its one rating goes up once per case, as policy.md asks.
  - rating: a rating bound to its session (binding 'session'), channel
    device (pf 4), qr (pf 3), default (pf 7) or paper (书面, pf 5 "other hall
    terminal": staff key it in at a hall terminal).
  - NOT sent: window-level ratings (binding 'window': no session, so no
    projectNo to attach to; kept and counted in the hall's own statistics)
    and refused ones (binding 'refused': the session's one rating came by
    another channel; kept for the record, never counted).
  - reply: the rectification result of a closed 差评 work order.
  - appeal: a supervisor's decision on an appeal (申诉复核) of a rating that
    went up: upheld (误评 / 恶意差评: not counted) or rejected. policy.md
    "Appeals": the decision is recorded and reported upward.
  - comment: a comment and detail answers the citizen added on the
    rate-later page after the rating itself went up (追加评价内容).
Evaluator fields (userName, mobile) go up only when evaluator_consent = 1.
"""

import json
import time

# Our level is the upstream `satisfaction` (5 = 非常满意 ... 1 = 非常不满意).
# GB/T 39046 A.8 numbers them the other way round; we never send that set.
SATISFACTION = {5: 5, 4: 4, 3: 3, 2: 2, 1: 1}
SATISFACTION_NAMES = {5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意"}

# 评价渠道 pf per our channel.
PF = {"device": 4, "qr": 3, "default": 7, "paper": 5}

# Device reason codes (protocol/messages.py) -> national 评价指标 codes
# (evalDetail). Reconstructed from field integrations; provinces differ, so
# the table lives here alone.
EVAL_DETAIL = {
    1: "1001",  # 服务态度 (态度)
    2: "1002",  # 服务效率 (效率)
    3: "1003",  # 服务质量 (质量)
    4: "1004",  # 服务环境 (环境)
    5: "1099",  # 其他 (其他或扫码填写)
}
EVAL_DETAIL_NAMES = {
    "1001": "服务态度",
    "1002": "服务效率",
    "1003": "服务质量",
    "1004": "服务环境",
    "1005": "便捷性",
    "1099": "其他",
}

# Feedback of the complainant on a rectification (policy.md 闭环).
FEEDBACK = {"满意": 1, "基本满意": 2, "不满意": 3}

# Appeal decisions (申诉复核结果) and what an upheld appeal found.
APPEAL_RESULT = {"upheld": 1, "rejected": 2}  # 1 申诉成立, 2 申诉驳回
APPEAL_VERDICT = {"误评": 1, "恶意差评": 2}

CHINA = 8 * 3600  # assessTime is Beijing time, whatever the host's TZ


def format_time(unix_seconds):
    """yyyy-MM-dd HH:mm:ss in Beijing time (UTC+8)."""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(int(unix_seconds) + CHINA))


def eval_detail(reasons, details=None):
    """Comma-separated indicator codes from device reason codes (a JSON list
    text or a list) and, for web channels, `details` (a JSON list of our
    reason codes or national codes)."""
    codes = []
    for source in (reasons, details):
        if not source:
            continue
        items = json.loads(source) if isinstance(source, str) else source
        if isinstance(items, dict):
            items = items.get("codes", [])
        for item in items:
            code = EVAL_DETAIL.get(item) if isinstance(item, int) else str(item)
            if code and code in EVAL_DETAIL_NAMES and code not in codes:
                codes.append(code)
    return ",".join(codes)


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


def service_record(key, session, case_id, visit, unit):
    """The 办件服务数据 record of one case of a session (sqlite3.Row-likes)."""
    return {
        "type": "service",
        "key": key,
        "projectNo": case_id,
        "serviceNumber": visit,
        "serviceName": session["item_name"],
        "serviceTime": format_time(session["created_at"]),
        "promiseTime": format_time(session["rate_until"]),
        "taskCode": session["item_code"],
        "taskName": session["item_name"],
        "deptCode": (unit or {}).get("dept_code", ""),
        "areaCode": (unit or {}).get("area_code", ""),
        "proManager": session["staff_name"],
    }


def rating_record(key, rating, session, case_id, visit, unit, assess_number=1):
    """The rating record of one case. `rating`: a ratings row as a dict."""
    record = {
        "type": "rating",
        "key": key,
        "projectNo": case_id,
        "serviceNumber": visit,
        "assessNumber": assess_number,
        "pf": PF[rating["channel"]],
        "satisfaction": SATISFACTION[rating["level"]],
        "evalDetail": eval_detail(rating["reasons"], rating.get("details")),
        "writingEvaluation": rating.get("comment") or "",
        "assessTime": format_time(
            rating["received_at"]
            if rating["channel"] != "device" or not rating["clock_synced"]
            else rating["device_time"]
        ),
        "taskCode": session["item_code"],
        "taskName": session["item_name"],
        "deptCode": (unit or {}).get("dept_code", ""),
        "areaCode": (unit or {}).get("area_code", ""),
        "proManager": session["staff_name"],
    }
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


def reply_record(key, order, case_id, visit, now):
    """The rectification reply (整改回复) of a closed work order."""
    return {
        "type": "reply",
        "key": key,
        "projectNo": case_id,
        "serviceNumber": visit,
        "assessNumber": 1,
        "replyContent": order.get("reply") or order.get("explanation") or "",
        "replyTime": format_time(order.get("closed_at") or now),
        "feedback": FEEDBACK.get(order.get("feedback") or "", 0),
    }


def appeal_record(key, appeal, case_id, visit):
    """The decision on an appeal of the rating of one case (`appeal`: its
    row in the appeals table, decided)."""
    return {
        "type": "appeal",
        "key": key,
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


def comment_record(key, rating, case_id, visit, now):
    """What the citizen added to a rating after it went up (`rating`: the row)."""
    return {
        "type": "comment",
        "key": key,
        "projectNo": case_id,
        "serviceNumber": visit,
        "assessNumber": 1,
        "evalDetail": eval_detail(rating["reasons"], rating.get("details")),
        "writingEvaluation": rating.get("comment") or "",
        "questions": questions(rating.get("details")),
        "commentTime": format_time(now),
    }


def fill_defaults(record, dept_code, area_code):
    """Units without codes take the hall's configured upstream defaults."""
    if "deptCode" in record and not record["deptCode"]:
        record["deptCode"] = dept_code
    if "areaCode" in record and not record["areaCode"]:
        record["areaCode"] = area_code
    return record
