"""The FastAPI app of `hostd run`: every router is mounted here, once."""

from fastapi import FastAPI

from hostd.web import api, pages, ratelater, status


def create_app(ctx, collector=None):
    """`ctx`: hostd.base.context.Context. `collector` feeds the status counters."""
    app = FastAPI(
        title="hostd",
        version="1.0.0",
        summary="好差评 hall host: window business-system interface and hall pages",
        openapi_url="/api/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
    )
    app.state.ctx = ctx
    app.state.collector = collector
    app.include_router(status.router)
    app.include_router(api.router)
    app.include_router(ratelater.router)
    app.include_router(pages.router)
    return app
