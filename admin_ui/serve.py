"""Serve the built admin UI (admin_ui/dist) at /admin.

- ``/admin/assets/...``: the hashed bundle files, cached for a year (immutable).
- any other ``/admin/...`` path: index.html (the app routes on the client), never
  cached, with a strict Content-Security-Policy: the app loads nothing from
  elsewhere and talks only to this server's /graphql.
- no ``dist/index.html``: a short page saying how to build it.

Knows nothing of Leadwire's core or schema: it serves files.
"""

from __future__ import annotations

import html
from pathlib import Path

from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route, Router

PACKAGE_DIR = Path(__file__).resolve().parent
DIST = PACKAGE_DIR / "dist"

IMMUTABLE = "public, max-age=31536000, immutable"
NO_CACHE = "no-cache"
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
PAGE_HEADERS = {
    "cache-control": NO_CACHE,
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
}


def not_built_page() -> str:
    where = html.escape(str(PACKAGE_DIR))
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Leadwire admin UI not built</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto; padding: 0 1rem; line-height: 1.5">
<h1>The admin UI is not built yet</h1>
<p>Build it once with Node.js 20.19 or newer, then reload this page:</p>
<pre style="background:#f0f2f5; padding: 0.75rem">cd {where}
npm ci &amp;&amp; npm run build</pre>
<p><code>leadwire serve</code> does this by itself when <code>npm</code> is installed.
The GraphQL API works without it, at <a href="/graphql">/graphql</a>.</p>
</body></html>
"""


def _inside(base: Path, relative: str) -> Path | None:
    """The file under ``base`` that ``relative`` names, or None (missing, a folder, or outside)."""
    try:
        candidate = (base / relative).resolve()
    except (OSError, ValueError):
        return None
    if base.resolve() not in candidate.parents or not candidate.is_file():
        return None
    return candidate


def make_endpoint(dist: Path):
    async def admin(request: Request) -> Response:
        index = dist / "index.html"
        if not index.is_file():
            return HTMLResponse(not_built_page(), status_code=503, headers={"cache-control": "no-store"})
        path = request.path_params.get("path", "")
        if path.startswith("assets/"):
            found = _inside(dist, path)
            if found is None:
                return PlainTextResponse("Not found", status_code=404, headers={"cache-control": "no-store"})
            return FileResponse(found, headers={"cache-control": IMMUTABLE, "x-content-type-options": "nosniff"})
        found = _inside(dist, path) if path else None
        if found is not None and found.name != "index.html":
            return FileResponse(found, headers={"cache-control": NO_CACHE, "x-content-type-options": "nosniff"})
        # A client-side route (/admin/campaigns/...): the app itself.
        return FileResponse(index, media_type="text/html; charset=utf-8", headers=PAGE_HEADERS)

    return admin


def admin_mount(dist: Path | None = None) -> Mount:
    """The /admin mount for create_app's routes (``/admin`` redirects to ``/admin/``)."""
    router = Router(routes=[Route("/{path:path}", make_endpoint(dist or DIST), methods=["GET", "HEAD"])])
    return Mount("/admin", app=GZipMiddleware(router, minimum_size=1024))
