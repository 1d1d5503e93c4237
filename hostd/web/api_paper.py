"""POST /api/v1/paper: a 书面 (paper) rating form entered from the business system.

The same entry as the /paper page and `hostd rating paper`
(hostd/recording/paper.py), as multipart/form-data so a scan can ride along.
A refused form is a 4xx whose JSON `detail` is {"error": code, "reason":
"中文 / English"}, and nothing of it is stored:
  404 unknown_session    no such session, or no session serves the case
  409 already_rated      the service has its one rating (the reason names the channel)
  409 serial_taken       this form's serial number was entered before
  422 bad_form           a bad level, reason, text, phone number or consent
  422 bad_upload         the scan is not a JPEG, PNG or PDF, or is over web.upload_max_kb
"""

from typing import List, Optional

from fastapi import APIRouter, Depends, File, Form, HTTPException, UploadFile
from pydantic import BaseModel

from hostd.files import uploads
from hostd.recording import channels, paper
from hostd.recording import evaluator as evaluators
from hostd.web.api_auth import authorised

router = APIRouter(prefix="/api/v1", tags=["sessions"])


class PaperOut(BaseModel):
    rating_id: int
    session_id: str
    serial: str


def _refuse(status, code, exc):
    return HTTPException(status, detail={"error": code, "reason": str(exc)})


@router.post(
    "/paper",
    status_code=201,
    response_model=PaperOut,
    summary="A paper rating form (书面评价): its session or case, level, serial number and scan",
)
def enter_paper(
    serial: str = Form(..., min_length=1, max_length=40, description="the form's serial number (表单编号)"),
    level: int = Form(..., ge=1, le=5, description="5 非常满意 ... 1 非常不满意"),
    entered_by: str = Form(..., min_length=1, max_length=64, description="who typed it in (the audit)"),
    session_id: Optional[str] = Form(None, max_length=64, description="the session it rates, or"),
    case_id: Optional[str] = Form(None, max_length=50, description="a case (办件编号): its latest visit"),
    reasons: List[int] = Form([], description="reason codes of a 差评 (1-6)"),
    comment: Optional[str] = Form(None, max_length=500),
    evaluator_name: Optional[str] = Form(None, max_length=32, description="实名: only with consent_callback"),
    evaluator_mobile: Optional[str] = Form(None, max_length=20, description="a mainland mobile number"),
    consent_callback: bool = Form(False, description="the evaluator agreed to a callback"),
    consent_upstream: bool = Form(False, description="the evaluator agreed to send name and phone upstream"),
    scan: Optional[UploadFile] = File(None, description="JPEG, PNG or PDF, at most web.upload_max_kb"),
    ctx=Depends(authorised),
):
    try:
        evaluator = evaluators.clean(evaluator_name, evaluator_mobile, consent_callback, consent_upstream)
        form = {
            "serial": serial,
            "level": level,
            "session_id": session_id or None,
            "case_id": case_id or None,
            "reasons": reasons,
            "comment": comment,
            "evaluator": evaluator,
        }
        data = scan.file.read() if scan is not None else None
        done = paper.enter(ctx, form, "api:" + entered_by.strip(), data or None)
    except channels.SessionNotFound as exc:
        raise _refuse(404, "unknown_session", exc)
    except channels.AlreadyRated as exc:
        raise _refuse(409, "already_rated", exc)
    except paper.SerialTaken as exc:
        raise _refuse(409, "serial_taken", exc)
    except uploads.UploadError as exc:
        raise _refuse(422, "bad_upload", exc)
    except (channels.ChannelError, evaluators.EvaluatorError) as exc:
        raise _refuse(422, "bad_form", exc)
    return PaperOut(**done)
