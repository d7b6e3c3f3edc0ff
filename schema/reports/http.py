"""``GET /exports/<token>``: the download behind createLeadExport.

Authenticated like /graphql (``Authorization: Bearer lw_pat_...`` or the
session cookie; a GET needs no CSRF header), as the user who asked for the
link. Answers 200 with ``Content-Disposition: attachment`` and the rows
streamed as they are read (core.reports.export), 401 when not signed in,
404 for an unknown link or another user's, 410 for a used or expired one.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from leadwire.core.identity import now
from leadwire.core.reports import export
from leadwire.core.settings import Settings
from leadwire.schema.context import build_context


def export_download(settings: Settings):
    async def endpoint(request: Request) -> Response:
        ctx = await build_context(settings, request, None)
        if ctx.viewer is None:
            return JSONResponse({"error": ctx.auth_problem or "Sign in first."}, status_code=401)
        try:
            f, fmt = await export.claim(request.path_params["token"], ctx.viewer)
        except export.ClaimRefused as exc:
            return JSONResponse({"error": str(exc)}, status_code=410 if exc.gone else 404)
        name = f"leads-{now().astimezone().strftime('%Y%m%d-%H%M%S')}.csv"
        return StreamingResponse(
            export.stream_csv(ctx.viewer, f), media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store",
                     "X-Content-Type-Options": "nosniff"},
        )

    return endpoint
