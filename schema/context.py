"""The typed per-request context: who is asking, how, and the request's DataLoaders."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import HTTPConnection
from starlette.responses import Response

from leadwire.core import auth
from leadwire.core.access import Viewer
from leadwire.core.settings import Settings
from leadwire.schema.loaders import Loaders

SESSION_COOKIE = "lw_session"
CSRF_COOKIE = "lw_csrf"
CSRF_HEADER = "x-csrf-token"


@dataclass
class Context:
    settings: Settings
    request: HTTPConnection
    response: Response | None
    viewer: Viewer | None = None
    lead_source: auth.LeadSourcePrincipal | None = None
    session_token: str | None = None
    # Why a presented credential was refused (shown instead of a plain
    # "sign in" so that clients can tell a CSRF failure from a missing login).
    auth_problem: str | None = None
    loaders: Loaders = field(default_factory=Loaders)
    # Set by strawberry from the graphql-transport-ws connection_init payload.
    connection_params: dict | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def client_ip(self) -> str:
        return self.request.client.host if self.request.client else ""


async def authenticate_bearer(ctx: Context, authorization: str) -> None:
    """Authenticate an ``Authorization: Bearer`` value (API token or lead-source key)."""
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        ctx.auth_problem = "The Authorization header must be 'Bearer <token>'."
    elif token.startswith(auth.SOURCE_KEY_PREFIX):
        ctx.lead_source = await auth.authenticate_lead_source_key(token)
        if ctx.lead_source is None:
            ctx.auth_problem = "This lead source API key is unknown or revoked."
    else:
        ctx.viewer = await auth.authenticate_api_token(token)
        if ctx.viewer is None:
            ctx.auth_problem = "This API token is unknown, expired or revoked, or its user is barred."


def cross_site_problem(settings: Settings, request: HTTPConnection) -> str | None:
    """Why a cookie-authenticated POST looks cross-site, or None. Browsers send
    ``Sec-Fetch-Site`` and ``Origin`` on every POST: a request another site made
    is refused even if it somehow carried the CSRF token. Clients that send
    neither (curl, server-side code) have no ambient cookie to abuse and still
    need the X-CSRF-Token header."""
    if request.headers.get("sec-fetch-site", "").lower() == "cross-site":
        return "Cross-site requests may not use the session cookie."
    origin = request.headers.get("origin")
    if origin and origin != "null":
        own = f"{request.url.scheme}://{request.headers.get('host', '')}"
        if origin.rstrip("/") != own and origin.rstrip("/") not in settings.allowed_origins:
            return "This request's Origin is not allowed to use the session cookie."
    elif origin == "null":
        return "This request's Origin is not allowed to use the session cookie."
    return None


async def build_context(settings: Settings, request: HTTPConnection, response: Response | None) -> Context:
    ctx = Context(settings=settings, request=request, response=response)
    authorization = request.headers.get("authorization", "")
    if authorization:
        await authenticate_bearer(ctx, authorization)
        return ctx
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        found = await auth.authenticate_session(cookie)
        if found is None:
            ctx.auth_problem = "Your session has ended: sign in again."
            return ctx
        viewer, csrf = found
        is_post = request.scope["type"] == "http" and request.scope.get("method") == "POST"
        if is_post:
            problem = cross_site_problem(settings, request)
            if problem is None and not secrets.compare_digest(request.headers.get(CSRF_HEADER, ""), csrf):
                problem = "Missing or wrong X-CSRF-Token header for a cookie session."
            if problem:
                ctx.auth_problem = problem
                return ctx
        ctx.viewer, ctx.session_token = viewer, cookie
    return ctx


async def authenticate_connection_params(ctx: Context) -> None:
    """A websocket client may authenticate in connection_init instead of a cookie."""
    params = ctx.connection_params or {}
    authorization = params.get("authorization") or params.get("Authorization")
    if ctx.viewer is None and isinstance(authorization, str) and authorization:
        await authenticate_bearer(ctx, authorization)
