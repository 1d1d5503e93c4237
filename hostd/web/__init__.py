"""hostd's web side (FastAPI, served by uvicorn in a thread of `hostd run`).

app.py        the app: every router mounted in one place
server.py     uvicorn in a background thread
status.py     GET /status: fleet, rejections, today's ratings as JSON
api.py        /api/v1: the window business-system interface (sessions, staff)
ratelater.py  /r/...: the citizen's rate-later page behind the QR code
pages/        the hall's pages (login, dashboard, work orders, appeals, ...)
"""
