"""POST /api/v1/screens/refresh: every device's screen published again.

What `hostd run` does at start (hostd/devices/push.py ScreenKeeper.republish_all):
each device gets its current session, or its window's idle screen, rendered
anew and published retained. For after a change that every screen shows (the
hall's name, the screen settings), and the measure of pushing one screen to
a whole fleet (bench/fleet.py).
"""

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from hostd.devices import push
from hostd.web.api_auth import authorised

router = APIRouter(prefix="/api/v1", tags=["devices"])


class RefreshOut(BaseModel):
    devices: int = Field(..., description="live devices of the hall")
    pushed: int = Field(..., description="screens published (0 when hostd has no broker connection)")
    seconds: float = Field(..., description="rendering and publishing them all took this long")


@router.post(
    "/screens/refresh",
    response_model=RefreshOut,
    summary="Publish every device's screen again (its session, or its window's idle screen)",
)
def refresh_screens(ctx=Depends(authorised)):
    return RefreshOut(**push.keeper(ctx).republish_all())
