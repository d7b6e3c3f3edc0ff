"""Plain HTTP endpoints of the workspace: the CSV upload of an import, and the
public registration page.

``POST /workspace/imports`` (multipart/form-data, one file field ``file``),
authenticated like /graphql (``Authorization: Bearer lw_pat_...``, or the
session cookie with ``X-CSRF-Token``), owner only. The upload is spooled to
a temporary file by the multipart parser (not held in memory), then parsed
and stored chunk by chunk (core.workspace.imports). Answers 201
``{"importId", "status", "columns", "mapping", "totalRows"}``, or 4xx
``{"userErrors": [...]}`` / ``{"error": ...}``.

``GET /r/<slug>`` serves the account's registration page (HTML, with a fresh
one-time submit token and a hidden honeypot field); ``POST /r/<slug>`` takes
the form: a browser is redirected (303) to the page's redirect URL, or shown
its thank-you text; errors show the form again, with each field's message.
A client asking for JSON (``Accept: application/json``) gets ``201
{"status": "received"}`` or ``422 {"userErrors": [...]}``; too many
submissions from one IP get 429.
"""

from __future__ import annotations

import html

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from strawberry import relay

from leadwire.core.errors import DomainError, ErrorCode, FieldError
from leadwire.core.models.workspace import RegistrationPage
from leadwire.core.settings import Settings
from leadwire.core.workspace import imports, registration
from leadwire.schema.context import build_context
from leadwire.schema.errors import to_user_errors

MAX_FORM_FIELDS = 60


def _errors_json(errors: list[FieldError], status: int = 422) -> JSONResponse:
    return JSONResponse(
        {"userErrors": [{"field": e.field, "code": e.code.name, "message": e.message} for e in to_user_errors(errors)]},
        status_code=status,
    )


def import_upload(settings: Settings):
    async def endpoint(request: Request) -> Response:
        ctx = await build_context(settings, request, None)
        if ctx.viewer is None:
            return JSONResponse({"error": ctx.auth_problem or "Sign in first."}, status_code=401)
        if not request.headers.get("content-type", "").startswith("multipart/form-data"):
            return JSONResponse({"error": "Send the file as multipart/form-data, in a field named 'file'."}, status_code=415)
        length = request.headers.get("content-length", "")
        if length.isdigit() and int(length) > imports.MAX_FILE_BYTES + 64 * 1024:
            return JSONResponse({"error": f"A file is at most {imports.MAX_FILE_BYTES // (1024 * 1024)} MB."}, status_code=413)
        try:
            form = await request.form(max_files=1, max_fields=10)
        except Exception:  # malformed multipart body
            return JSONResponse({"error": "Send the file as multipart/form-data, in a field named 'file'."}, status_code=400)
        try:
            upload = form.get("file")
            if not isinstance(upload, UploadFile):
                return _errors_json([FieldError("file", ErrorCode.REQUIRED, "Attach the CSV file in a field named 'file'.")])
            try:
                imp = await imports.upload(ctx.viewer, file_name=upload.filename or "leads.csv", file=upload.file)
            except DomainError as exc:
                status = 403 if exc.errors[0].code in (ErrorCode.OWNER_REQUIRED, ErrorCode.FORBIDDEN) else 422
                return _errors_json(exc.errors, status)
        finally:
            await form.close()
        return JSONResponse(
            {"importId": str(relay.GlobalID("LeadImport", str(imp.id))), "status": imp.status.upper(),
             "columns": imp.columns, "mapping": imp.mapping, "totalRows": imp.total_rows},
            status_code=201,
        )

    return endpoint


# -- the registration page ---------------------------------------------------------------------

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
body {{ margin: 0; font-family: system-ui, sans-serif; background: {background}; color: {text}; }}
main {{ max-width: 34rem; margin: 2rem auto; padding: 0 1rem; }}
img.logo {{ max-height: 4rem; max-width: 100%; }}
label {{ display: block; margin-top: 1rem; font-weight: 600; }}
input, textarea {{ width: 100%; box-sizing: border-box; padding: .5rem; margin-top: .25rem; font: inherit; }}
textarea {{ min-height: 6rem; }}
button {{ margin-top: 1.5rem; padding: .6rem 1.4rem; border: 0; border-radius: .3rem; background: {primary};
  color: #fff; font: inherit; cursor: pointer; }}
.error {{ color: #b42318; font-size: .9rem; }}
.hp {{ position: absolute; left: -10000px; width: 1px; height: 1px; overflow: hidden; }}
.consent {{ font-size: .85rem; margin-top: 1rem; }}
</style></head>
<body><main>
{logo}<h1>{title}</h1>
{body}
</main></body></html>
"""


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _render(page: RegistrationPage, body: str, status: int = 200) -> HTMLResponse:
    logo = f'<img class="logo" src="{_e(page.logo_url)}" alt="">' if page.logo_url else ""
    return HTMLResponse(
        _PAGE.format(title=_e(page.title), background=page.background_color, text=page.text_color,
                     primary=page.primary_color, logo=logo, body=body),
        status_code=status,
        headers={"cache-control": "no-store", "x-frame-options": "SAMEORIGIN",
                 "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; img-src https:; "
                                            "frame-ancestors 'self'"},
    )


def _form(page: RegistrationPage, token: str, values: dict[str, str] | None = None,
          errors: dict[str, str] | None = None, general: str = "") -> str:
    values, errors = values or {}, errors or {}
    parts = [f"<p>{_e(page.intro)}</p>" if page.intro else ""]
    if general:
        parts.append(f'<p class="error">{_e(general)}</p>')
    parts.append(f'<form method="post" action="/r/{_e(page.slug)}">')
    parts.append(f'<input type="hidden" name="{registration.TOKEN_FIELD}" value="{_e(token)}">')
    parts.append(f'<div class="hp" aria-hidden="true"><label>Leave this empty <input name="{registration.HONEYPOT}" '
                 'tabindex="-1" autocomplete="off"></label></div>')
    kinds = {"email": "email", "phone": "tel"}
    for f in page.form_fields:
        name, label, required = f["name"], f["label"], f["required"]
        req = " required" if required else ""
        star = " *" if required else ""
        value = values.get(name, "")
        if name == "message" or name.startswith("data.") and len(value) > 200:
            control = f'<textarea id="{_e(name)}" name="{_e(name)}"{req}>{_e(value)}</textarea>'
        else:
            control = (f'<input id="{_e(name)}" name="{_e(name)}" type="{kinds.get(name, "text")}" '
                       f'value="{_e(value)}"{req}>')
        error = f'<div class="error">{_e(errors[name])}</div>' if name in errors else ""
        parts.append(f'<label for="{_e(name)}">{_e(label)}{star}</label>{control}{error}')
    if page.consent_text:
        parts.append(f'<p class="consent">{_e(page.consent_text)}</p>')
    parts.append(f'<button type="submit">{_e(page.submit_label)}</button></form>')
    return "\n".join(parts)


def registration_page(settings: Settings):
    secret = settings.secret_key.reveal()

    async def endpoint(request: Request) -> Response:
        slug = request.path_params["slug"]
        page = await registration.public_page(slug)
        wants_json = "application/json" in request.headers.get("accept", "") and "text/html" not in request.headers.get(
            "accept", "")
        if page is None:
            if wants_json or request.method == "POST":
                return JSONResponse({"error": "No registration form here."}, status_code=404)
            return HTMLResponse("<!doctype html><title>Not found</title><p>No registration form here.</p>", status_code=404)
        if request.method == "GET":
            return _render(page, _form(page, registration.issue_token(page, secret)))
        try:
            form = await request.form(max_files=0, max_fields=MAX_FORM_FIELDS)
        except Exception:
            return _errors_json([FieldError(None, ErrorCode.INVALID, f"Send a form of at most {MAX_FORM_FIELDS} fields.")])
        fields = {k: v for k, v in form.items() if isinstance(v, str)}
        token = fields.pop(registration.TOKEN_FIELD, "")
        honeypot = fields.pop(registration.HONEYPOT, "")
        try:
            await registration.submit(
                slug, fields, token=token, ip=request.client.host if request.client else "",
                user_agent=request.headers.get("user-agent", ""), page_url=request.headers.get("referer", ""),
                honeypot=honeypot, secret=secret,
            )
        except DomainError as exc:
            limited = any(e.code == ErrorCode.RATE_LIMITED for e in exc.errors)
            if wants_json:
                return _errors_json(exc.errors, 429 if limited else 422)
            by_field = {e.field: e.message for e in exc.errors if e.field and e.field != registration.TOKEN_FIELD}
            general = " ".join(e.message for e in exc.errors if not e.field or e.field == registration.TOKEN_FIELD)
            # A refused submit did not use its token: the visitor may correct and resend it.
            fresh = token if not any(e.field == registration.TOKEN_FIELD for e in exc.errors) else \
                registration.issue_token(page, secret)
            return _render(page, _form(page, fresh, fields, by_field, general), status=429 if limited else 422)
        if wants_json:
            return JSONResponse({"status": "received"}, status_code=201)
        if page.redirect_url:
            return RedirectResponse(page.redirect_url, status_code=303)
        return _render(page, f"<p>{_e(page.thank_you_text or 'Thank you!')}</p>")

    return endpoint
