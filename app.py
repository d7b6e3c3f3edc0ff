"""The ASGI application: GraphQL over HTTP and websocket, the admin UI's static
files, and a lifespan that opens the database (and, on the embedded default,
migrates it and runs the job worker in-process)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator

import orjson
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL

from leadwire.admin_ui.serve import admin_mount
from leadwire.core import db
from leadwire.core.settings import Settings
from leadwire.schema.calls.http import telephony_webhook
from leadwire.schema.context import Context, authenticate_connection_params, build_context
from leadwire.schema.forms import submit_form
from leadwire.schema.schema import build_schema
from leadwire.schema.reports.http import export_download
from leadwire.schema.workspace.http import import_upload, registration_page

log = logging.getLogger("leadwire")


class DatabaseNotMigrated(RuntimeError):
    pass


class BodyLimit:
    """Requests with a body over ``max_bytes`` get 413 before the application
    reads them (the file upload route has its own, larger limit). A declared
    Content-Length is checked first; a chunked body is read up to the limit
    and handed on whole."""

    def __init__(self, app, max_bytes: int, exempt: tuple[str, ...] = ("/workspace/imports",)):
        self.app, self.max_bytes, self.exempt = app, max_bytes, exempt

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(self.exempt):
            return await self.app(scope, receive, send)
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            return await self._refuse(send)
        if declared is not None:
            return await self.app(scope, receive, send)
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client left
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.max_bytes:
                return await self._refuse(send)
            if not message.get("more_body"):
                break
        replay = [{"type": "http.request", "body": b"".join(chunks), "more_body": False}]

        async def replayed():
            return replay.pop() if replay else await receive()

        await self.app(scope, replayed, send)

    async def _refuse(self, send) -> None:
        body = (
            f'{{"errors": [{{"message": "The request body is over {self.max_bytes} bytes.", '
            f'"extensions": {{"code": "PAYLOAD_TOO_LARGE"}}}}]}}'
        ).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


class LeadwireGraphQL(GraphQL):
    def __init__(self, settings: Settings):
        super().__init__(
            build_schema(introspection=settings.introspection),
            graphql_ide="graphiql" if settings.graphiql else None,
            allow_queries_via_get=False,
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            allowed_origins=settings.allowed_origins,
        )
        self.settings = settings

    async def __call__(self, scope, receive, send) -> None:
        try:
            await super().__call__(scope, receive, send)
        except ClientDisconnect:
            pass  # the client left before its request was read: nobody to answer, nothing to log
        except _DatabaseUnavailable:
            # Before any byte of the response: a clear 503 the client can retry, not a 500 and a traceback.
            log.warning("database unavailable: answered 503 to %s %s", scope.get("method"), scope.get("path"))
            await database_unavailable_response()(scope, receive, send)

    async def get_context(self, request: Request | WebSocket, response=None) -> Context:
        try:
            return await build_context(self.settings, request, response if not isinstance(response, WebSocket) else None)
        except Exception as exc:
            if db.unavailable(exc) and not isinstance(request, WebSocket):
                raise _DatabaseUnavailable() from exc
            raise

    async def process_result(self, request, result):
        # A resolver that lost the database (schema.should_mask_error leaves these unmasked for this check).
        if any(db.unavailable(e.original_error) for e in result.errors or ()):
            raise _DatabaseUnavailable()
        return await super().process_result(request, result)

    def encode_json(self, data: object) -> str:
        # Every answer is encoded here: json.dumps was ~5% of a 50-lead list's
        # CPU, orjson a tenth of that. Anything orjson refuses (a lone surrogate
        # echoed in an error message, an integer over 64 bits) is encoded as
        # strawberry would. A str, not bytes: websockets send it as a text frame.
        try:
            return orjson.dumps(data).decode()
        except (TypeError, ValueError):
            return json.dumps(data, separators=(",", ":"))

    async def on_ws_connect(self, context: Context):
        await authenticate_connection_params(context)
        return None


class _DatabaseUnavailable(Exception):
    pass


def database_unavailable_response() -> JSONResponse:
    """503 with a GraphQL-shaped error and Retry-After: what every route answers
    when the database cannot be reached."""
    return JSONResponse(
        {"errors": [{"message": db.UNAVAILABLE_MESSAGE, "extensions": {"code": "SERVICE_UNAVAILABLE"}}]},
        status_code=503, headers={"retry-after": "5"},
    )


async def open_database(settings: Settings) -> None:
    """Connect; migrate the embedded SQLite database, refuse an unmigrated PostgreSQL one."""
    await db.init_db(settings, global_fallback=True)
    if settings.is_sqlite:
        applied = await db.migrate()
        if applied:
            log.info("migrated the embedded database: %s", ", ".join(applied))
        return
    pending = await db.pending_migrations()
    if pending:
        await db.close_db()
        raise DatabaseNotMigrated(
            f"the database has {len(pending)} unapplied migration(s) ({', '.join(pending)}): run `leadwire migrate` first"
        )


def create_app(settings: Settings, *, manage_database: bool = True) -> Starlette:
    """``manage_database=False`` leaves the ORM to the caller (tests)."""
    from leadwire.core import logsafety

    logsafety.install()  # secrets and PII masked in every log record of this process

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if manage_database:
            from leadwire.plugins.manager import load_plugins

            load_plugins(settings.plugins_file)
            await open_database(settings)
        worker = tailer = None
        if manage_database:
            from leadwire.core.events import SaleTailer, bus

            # Sales made by other API processes reach this one's live feeds.
            tailer = asyncio.create_task(SaleTailer(bus).run(), name="leadwire-sale-tailer")
        if settings.embedded_worker and manage_database:
            from leadwire.core.jobs.embedded import start_embedded_worker

            worker = await start_embedded_worker(settings)
        try:
            yield
        finally:
            if tailer is not None:
                tailer.cancel()
            if worker is not None:
                await worker.stop()
            from leadwire.core import http

            await http.close()
            if manage_database:
                await db.close_db()

    async def health(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    graphql = LeadwireGraphQL(settings)
    routes = [
        Route("/graphql", graphql, methods=["GET", "POST"]),
        WebSocketRoute("/graphql", graphql),
        Route("/healthz", health),
        Route("/intake/forms/{source_id}", submit_form, methods=["POST"]),
        Route("/r/{slug}", registration_page(settings), methods=["GET", "POST"]),
        Route("/workspace/imports", import_upload(settings), methods=["POST"]),
        Route("/telephony/{provider}/{endpoint}", telephony_webhook, methods=["POST"]),
        Route("/telephony/{provider}/{endpoint}/{attempt}", telephony_webhook, methods=["POST"]),
        Route("/exports/{token}", export_download(settings), methods=["GET"]),
        admin_mount(),
    ]
    from starlette.middleware import Middleware

    return Starlette(routes=routes, lifespan=lifespan,
                     middleware=[Middleware(BodyLimit, max_bytes=settings.max_body_bytes)])


def app_from_environment() -> Starlette:
    """The app configured from LEADWIRE_* variables (for uvicorn --factory, gunicorn...)."""
    from leadwire.core.settings import load_settings

    return create_app(load_settings())
