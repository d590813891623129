"""GET /embed.js: the loader a site pastes (online_contact/embed/embed.js) with the site's
settings written in (services.embed.loader_config).

Cacheable by its ETag: browsers ask again with If-None-Match on each page and get 304 without a
body until the settings (or who is Online, when the launcher hides without agents) change, so the
launcher never shows after chat was switched off. Gzipped when the browser accepts it."""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import json
from functools import lru_cache
from pathlib import Path

from starlette.responses import Response

from online_contact.config import public_origins
from online_contact.services import embed
from online_contact.services.db import session_scope

SOURCE = Path(__file__).resolve().parent.parent / "embed" / "embed.js"


@lru_cache(maxsize=1)
def _source() -> str:
    return SOURCE.read_text(encoding="utf-8")


@lru_cache(maxsize=8)
def _encoded(body: bytes) -> tuple[str, bytes]:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"', gzip.compress(body, 9, mtime=0)


def loader_body(app_origin: str) -> bytes:
    with session_scope() as session:
        config = embed.loader_config(session, app_origin)
    return _source().replace("__OC_CONFIG__", json.dumps(config, separators=(",", ":"))).encode()


async def embed_js(request):
    # The chat opens from the origin the script came from when it is one of the app's (else
    # the first of OC_PUBLIC_URL: behind a proxy the request may name an internal one).
    here = f"{request.url.scheme}://{request.url.netloc}"
    origins = public_origins()
    body = await asyncio.to_thread(loader_body, here if here in origins else origins[0])
    etag, zipped = _encoded(body)
    headers = {
        "Content-Type": "text/javascript; charset=utf-8",
        "Cache-Control": "no-cache",  # kept, and asked again with If-None-Match each time
        "ETag": etag,
        "Vary": "Accept-Encoding",
        "Cross-Origin-Resource-Policy": "cross-origin",  # any site may load it
    }
    asked = {tag.strip().removeprefix("W/") for tag in request.headers.get("if-none-match", "").split(",")}
    if etag in asked or "*" in asked:
        return Response(status_code=304, headers=headers)
    if "gzip" in request.headers.get("accept-encoding", ""):
        return Response(zipped, headers={**headers, "Content-Encoding": "gzip"})
    return Response(body, headers=headers)
