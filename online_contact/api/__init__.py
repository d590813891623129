"""Starlette routes mounted in front of Reflex (unmatched paths fall through to Reflex)."""

from sqlalchemy import text
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from online_contact.services.db import session_scope


async def health(_request):
    """Liveness and database check for load balancers."""
    try:
        with session_scope() as session:
            session.exec(text("SELECT 1"))
    except Exception:  # noqa: BLE001 - any failure means unhealthy
        return JSONResponse({"status": "error", "db": False}, status_code=503)
    return JSONResponse({"status": "ok", "db": True})


def build_api() -> Starlette:
    """The HTTP routes of the app."""
    from online_contact import routes

    from .embed import embed_js
    from .export import download

    return Starlette(routes=[
        Route("/api/health", health),
        Route("/api/export/{export_id}", download),
        Route(routes.EMBED_JS, embed_js),
    ])
