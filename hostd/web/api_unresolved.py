"""/api/v1/unresolved: 办不成事 reports from the business system (hostd/casework/unresolved.py).

    POST /api/v1/unresolved                 register a report; 201 with its id and deadlines
    GET  /api/v1/unresolved/{report_id}     its state, deadlines and outcome

The same as the /unresolved page and `hostd unresolved add`. A refused
report is a 4xx whose JSON `detail` is {"error": code, "reason": "中文 /
English"}, and nothing of it is stored:
  404 not_found    no such report
  422 bad_report   no problem text, no such unit, a bad mobile number, or a
                   contact without the citizen's consent
The contact is never returned.
"""

from typing import Optional

from fastapi import APIRouter, Depends, HTTPException, Path
from pydantic import BaseModel, Field

from hostd.casework import unresolved
from hostd.web.api_auth import authorised
from hostd.web.api_models import ERRORS

router = APIRouter(prefix="/api/v1", tags=["unresolved"])


class UnresolvedRequest(BaseModel):
    unit_id: str = Field(..., min_length=1, max_length=64, description="the unit responsible (units.unit_id)")
    problem: str = Field(
        ..., min_length=1, max_length=1000, description="the citizen's problem, in their words"
    )
    item_name: Optional[str] = Field(None, max_length=100, description="the matter (事项), if there is one")
    contact_name: Optional[str] = Field(None, max_length=32)
    contact_mobile: Optional[str] = Field(None, max_length=20, description="a mainland mobile number")
    consent: bool = Field(False, description="the citizen agreed to be contacted about it")
    reported_by: str = Field(..., min_length=1, max_length=64, description="who registered it (the audit)")


class UnresolvedOut(BaseModel):
    report_id: int
    unit_id: str
    state: str = Field(..., description="new, accepted, resolved or explained")
    state_label: str
    reported_at: int
    accept_due: int
    resolve_due: int
    accepted_at: Optional[int] = None
    finished_at: Optional[int] = None
    outcome: Optional[str] = None
    overdue: Optional[str] = Field(None, description='"accept" or "resolve": a deadline missed')


def _out(report):
    return UnresolvedOut(**{name: report[name] for name in UnresolvedOut.model_fields})


@router.post(
    "/unresolved",
    status_code=201,
    response_model=UnresolvedOut,
    responses=ERRORS,
    summary="A 办不成事 report: the problem, the unit responsible, a contact given with consent",
)
def register(body: UnresolvedRequest, ctx=Depends(authorised)):
    report = body.model_dump()
    report["hall"] = ctx.hall
    try:
        done = ctx.store.run(
            lambda db: unresolved.register(
                db, ctx.config, report, "api:" + body.reported_by.strip(), "api", now=ctx.clock.now()
            )
        )
    except unresolved.UnresolvedError as exc:
        raise HTTPException(422, detail={"error": "bad_report", "reason": str(exc)})
    return _out(done)


@router.get(
    "/unresolved/{report_id}", response_model=UnresolvedOut, responses=ERRORS, summary="A 办不成事 report"
)
def show(report_id: int = Path(..., ge=1, le=2**63 - 1), ctx=Depends(authorised)):
    try:
        with ctx.store.read() as db:
            return _out(unresolved.get(db, report_id, now=ctx.clock.now()))
    except unresolved.NotFound as exc:
        raise HTTPException(404, detail={"error": "not_found", "reason": str(exc)})
