"""The rate-later page behind the device's QR code (stub until it lands)."""
from fastapi import APIRouter

router = APIRouter(tags=["rate-later"], include_in_schema=False)
