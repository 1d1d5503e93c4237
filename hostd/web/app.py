"""The FastAPI app of `hostd run`: every router is mounted here, once."""

from fastapi import FastAPI

from hostd.web import (
    api,
    api_paper,
    api_screens,
    api_unresolved,
    docs,
    errors,
    link_check,
    metrics,
    pages,
    ratelater,
    short_link,
    status,
    verdict,
    window_qr,
)
from hostd.web.headers import SecurityHeaders
from hostd.web.limits import BodyLimits


def create_app(ctx, collector=None):
    """`ctx`: hostd.base.context.Context. `collector` feeds the status counters."""
    app = FastAPI(
        title="hostd",
        version="1.0.0",
        summary="好差评 hall host: window business-system interface and hall pages",
        openapi_url=None,  # served by docs.py, behind a login, with Swagger UI from the package
        docs_url=None,
        redoc_url=None,
    )
    app.state.ctx = ctx
    app.state.collector = collector
    errors.install(app)  # odd input: a 4xx, never a 500
    app.include_router(status.router)
    app.include_router(link_check.router)
    app.include_router(metrics.router)
    app.include_router(docs.router)
    app.include_router(api.router)
    app.include_router(api_screens.router)
    app.include_router(api_paper.router)
    app.include_router(api_unresolved.router)
    app.include_router(ratelater.router)
    app.include_router(short_link.router)
    app.include_router(window_qr.router)
    app.include_router(verdict.router)
    app.include_router(pages.router)
    web = ctx.config.get("web", {})
    app.add_middleware(
        BodyLimits,
        api_max_kb=web.get("api_body_max_kb", 64),
        form_max_kb=web.get("form_body_max_kb", 16),
        upload_max_kb=web.get("upload_max_kb", 5120),
        token=lambda: api.ensure_token(ctx.home),
    )
    app.add_middleware(SecurityHeaders, display_frame_ancestors=web.get("display_frame_ancestors", "'self'"))
    return app
