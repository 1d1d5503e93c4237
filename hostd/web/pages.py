"""The hall's web pages (stub until the pages land): the old status page at /."""
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from hostd.web import status

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def index(request: Request):
    return status.render(status.snapshot(request.app.state.ctx.store, request.app.state.collector))
