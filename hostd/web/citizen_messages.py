"""The citizen-facing pages' one-line answers (rate-later, sticker, verdict,
short link): each a heading and a sentence in Chinese, with an English line
under it, and its HTTP status. `message(request, kind)` renders one.
"""

from pathlib import Path

from fastapi.templating import Jinja2Templates

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).resolve().parent.parent / "templates"))

MESSAGES = {  # kind: (status, heading, text)
    "invalid": (400, "链接无效", "这个评价链接不完整或已被改动。请重新扫描评价器或办件回执上的二维码。"),
    "expired": (
        410,
        "链接已过期",
        "评价期已过，这个链接不能再使用。如有意见，请拨打 12345 政务服务便民热线。",
    ),
    "missing": (
        404,
        "找不到这次服务",
        "没有找到与链接对应的服务记录。请重新扫描二维码，或咨询窗口工作人员。",
    ),
    "closed": (
        410,
        "评价期已结束",
        "这次服务的评价期已结束，不能再评价或补充。如有意见，请拨打 12345 政务服务便民热线。",
    ),
    "rated": (409, "这次服务已评价", "每次服务只能评价一次，这次服务已有评价，本次提交未记录。"),
    "agent_rated": (
        409,
        "代办人已评价",
        "这次帮办代办服务已由代办人在窗口评价。每次服务只能评价一次，本次提交未记录。",
    ),
    "forbidden": (403, "页面已失效", "请返回评价页面刷新后再提交。"),
    "busy": (429, "访问过于频繁", "请一分钟后再打开这个链接。"),
    "retired": (410, "二维码已停用", "这个窗口二维码已更换，请扫描窗口上张贴的新二维码。"),
    "thanks": (200, "感谢您的评价！", "您的评价已收到。如有其他意见，可拨打 12345 政务服务便民热线。"),
    "error": (500, "暂时无法评价", "系统暂时无法处理，请稍后再试。"),
    "verdict_staff": (
        403,
        "请由群众本人评价",
        "这个链接供群众本人评价整改结果。工作人员请把链接发给群众，或在工单页记录回访结果。",
    ),
    "verdict_closed": (409, "无需再评价", "这张整改工单已不在等待您的评价（已评价或已办结）。"),
    "verdict_thanks": (200, "感谢您的评价！", "您对整改结果的评价已记录，工单已办结。"),
    "verdict_reopened": (
        200,
        "已收到您的意见",
        "您对整改结果不满意，工单已退回重新整改，相关部门将再次联系您。",
    ),
}


ENGLISH = {  # one line under the Chinese, for a visitor who reads English
    "invalid": "This rating link is incomplete or was changed.",
    "expired": "This rating link has expired.",
    "missing": "No service matches this link.",
    "closed": "The rating period of this service is over.",
    "rated": "This service is already rated: one service, one rating.",
    "agent_rated": "The agent has already rated this service at the window.",
    "forbidden": "This form has expired: go back and reload the page.",
    "busy": "Too many requests: try again in a minute.",
    "retired": "This window's QR code was replaced: scan the new one at the window.",
    "thanks": "Thank you for your rating.",
    "error": "The system cannot take your rating now: try again later.",
    "verdict_staff": "This link is for the complainant's own verdict, not the hall staff's.",
    "verdict_closed": "This work order is not awaiting your verdict any more.",
    "verdict_thanks": "Thank you: your verdict is recorded and the order is closed.",
    "verdict_reopened": "Noted: the order goes back to be rectified again.",
}


def message(request, kind):
    status, heading, text = MESSAGES[kind]
    return TEMPLATES.TemplateResponse(
        request,
        "ratelater/message.html",
        {"kind": kind, "heading": heading, "text": text, "english": ENGLISH.get(kind, "")},
        status_code=status,
    )
