"""/api/v1: the window business-system interface (stub until sessions land)."""
from fastapi import APIRouter

router = APIRouter(prefix="/api/v1", tags=["sessions"])
