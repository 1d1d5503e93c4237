"""The /api/v1 request and answer models (pydantic): the window
business-system interface's shapes, as docs/openapi.json publishes them."""

from typing import Any, List, Literal, Optional

from pydantic import BaseModel, Field

# -- models -------------------------------------------------------------------


class Case(BaseModel):
    case_id: str = Field(..., min_length=1, max_length=50, description="办件编号 (upstream projectNo)")
    visit: int = Field(1, ge=1, le=9999, description="服务次数 (upstream serviceNumber): which visit")


class ThemeItem(BaseModel):
    item_code: str = Field(..., min_length=1, max_length=64, description="事项编码 of one item of the theme")
    item_name: str = Field(..., max_length=200, description="事项名称")
    cases: List[Case] = Field(default_factory=list, description="its cases; none: hostd numbers one")


class SessionRequest(BaseModel):
    window: str = Field(..., min_length=1, max_length=64, examples=["07"])
    item_code: str = Field(
        ..., min_length=1, max_length=64, description="事项编码", examples=["11440100MB2C1234XK"]
    )
    item_name: str = Field(
        ..., max_length=200, description="事项名称, shown on the device", examples=["户口迁移"]
    )
    staff_id: Optional[str] = Field(None, description="who served; default: who is on duty")
    cases: List[Case] = Field(
        default_factory=list,
        description="several = a batch (批量业务), rated once for all; none: hostd numbers the case"
        " by upstream.project_no_prefix + date + sequence",
    )
    promise_time: Optional[int] = Field(
        None, ge=0, le=2**40, description="承诺时限 (Unix seconds), only if the business system has one"
    )
    task_type: Optional[Literal["即办件", "承诺件"]] = Field(None, description="办件类型, only if known")
    mobile: Optional[str] = Field(
        None,
        max_length=20,
        description="the citizen's mainland mobile number, only with mobile_consent: the rate-later link"
        " is sent to it once by SMS if they leave without rating (sms.url), and a work order may call back",
    )
    mobile_consent: bool = Field(False, description="the citizen agreed to be sent the link and called back")
    items: List[ThemeItem] = Field(
        default_factory=list,
        description="一件事 / 主题式: 2-30 items under one theme (item_code and item_name are then the"
        " theme's; give the cases under their items): one rating for all, sent upstream once per case"
        " under its own item",
    )
    agent_id: Optional[str] = Field(
        None,
        max_length=64,
        description="帮办代办: the agent's id. Whoever rates first, the agent at the device or the applicant"
        " through the link or SMS, closes the session; the later one is told who did",
    )


class FinishedRequest(BaseModel):
    window: Optional[str] = Field(
        None, max_length=64, description="default: the window of the case's last visit"
    )
    staff_id: Optional[str] = Field(
        None, description="default: who is on duty at that window, else who served the last visit"
    )


class SessionOut(BaseModel):
    session_id: str
    window: str
    device_id: Optional[str]
    item_code: str
    item_name: str
    staff_id: str
    staff_name: str
    staff_no: str
    cases: List[Case]
    items: List[ThemeItem] = Field(
        default_factory=list, description="一件事: the theme's items and their cases"
    )
    agent_id: Optional[str] = Field(None, description="帮办代办: the agent's id")
    purpose: str = Field("service", description="service, or finished (办结: the matter's final rating)")
    state: str = Field(..., description="open, rated, defaulted or cancelled")
    created_at: int
    screen_until: int
    rate_until: int = Field(..., description="end of the rate-later period (Unix seconds)")
    rate_url: Optional[str] = Field(
        None,
        description="the signed rate-later link (扫码评价) until rate_until: print it on the receipt"
        " (办件回执) or send it; None once the period is over or the session was cancelled",
    )
    rating_level: Optional[int] = Field(None, description="5 非常满意 ... 1 非常不满意")
    rating_channel: Optional[str] = None
    pushed: Optional[bool] = Field(None, description="sent to the device (POST only)")
    message_bytes: Optional[int] = Field(None, description="size of the session message")
    sms_reminder: Optional[str] = Field(
        None,
        description="the SMS reminder: waiting, sending, sent, refused, unknown or skipped;"
        " None when no number was given or SMS is off",
    )
    cancel_reason: Optional[str] = Field(None, description="why it was cancelled (state cancelled)")
    kept_upstream: Optional[int] = Field(
        None, description="service records already sent upstream, which stay there (cancel only)"
    )


class CancelRequest(BaseModel):
    reason: str = Field(..., min_length=1, max_length=200, examples=["办件信息录入错误"])


class DutyRequest(BaseModel):
    staff_id: str = Field(..., min_length=1, max_length=32)


class WindowOut(BaseModel):
    window: str
    name: str
    devices: List[str]
    serving: bool = Field(..., description="false = 暂停服务")
    staff_id: Optional[str]
    staff_name: Optional[str]
    staff_no: Optional[str]
    duty_since: Optional[int]


class AlertOut(BaseModel):
    id: int
    kind: str = Field(
        description="device_silent, upstream_backlog, disk_low, cert_expiring, calendar_missing,"
        " order_overdue or backup_down"
    )
    subject: str = Field(description="What it is about: a device id, a work order number, a path, a year")
    message: str = Field(description="What the hall's staff read (Chinese)")
    raised_at: int
    cleared_at: Optional[int] = None


class ErrorDetail(BaseModel):
    error: str
    reason: str


class ErrorOut(BaseModel):
    detail: ErrorDetail


ERRORS: dict[int | str, dict[str, Any]] = {code: {"model": ErrorOut} for code in (400, 401, 404, 409, 422)}
