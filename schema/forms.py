"""The plain HTTP form-post endpoint for hosted web forms.

``POST /intake/forms/<lead source id>`` with ``application/x-www-form-urlencoded``
(or multipart) fields: ``product_id`` (a global ID), ``first_name``,
``last_name``, ``phone``, ``email``, ``postal_code``, ``consent_text``, the
industry's fields as ``data.<name>``, and an optional ``idempotency_key``.
The consent's IP, user agent and page come from the request. A browser
(``Accept: text/html``) is redirected to the source's configured URL on
success; anything else gets JSON: ``{"status", "leadId"}`` (201) or
``{"userErrors": [...]}`` (422). The hidden field ``website`` is a honeypot:
a bot that fills it gets a success answer and nothing is stored.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from strawberry import relay

from leadwire.core import intake
from leadwire.core.auth import LeadSourcePrincipal
from leadwire.core.errors import DomainError, ErrorCode, FieldError
from leadwire.core.models.identity import LeadSource
from leadwire.schema.errors import to_user_errors
from leadwire.schema.relay import decode_id, parse_global_id, pk_of

HONEYPOT = "website"
MAX_FIELDS = 100


def _errors_response(errors: list[FieldError]) -> JSONResponse:
    return JSONResponse(
        {"userErrors": [{"field": e.field, "code": e.code.name, "message": e.message} for e in to_user_errors(errors)]},
        status_code=422,
    )


async def submit_form(request: Request) -> Response:
    gid = parse_global_id(request.path_params["source_id"])
    source = None
    pk = pk_of(gid) if gid is not None and gid.type_name == "LeadSource" else None
    if pk is not None:
        source = await LeadSource.get_or_none(id=pk, form_enabled=True, disabled_at__isnull=True)
    if source is None:
        return JSONResponse({"error": "No web form here."}, status_code=404)
    try:
        form = await request.form(max_files=0, max_fields=MAX_FIELDS)
    except Exception:  # malformed body or too many fields
        return _errors_response([FieldError(None, ErrorCode.INVALID, f"Send a form of at most {MAX_FIELDS} fields.")])
    wants_html = "text/html" in request.headers.get("accept", "")
    redirect = RedirectResponse(source.form_redirect_url, status_code=303) if wants_html and source.form_redirect_url else None
    if form.get(HONEYPOT):
        return redirect or JSONResponse({"status": "received"}, status_code=201)
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    try:
        product_gid = parse_global_id(fields.get("product_id", ""))
        if product_gid is None:
            raise DomainError.single("product_id", ErrorCode.NOT_FOUND, "No product with this id.")
        submission = intake.LeadSubmission(
            product_id=decode_id(product_gid, "Product", "product_id"),
            first_name=fields.get("first_name", ""),
            last_name=fields.get("last_name", ""),
            phone=fields.get("phone", ""),
            email=fields.get("email", ""),
            postal_code=fields.get("postal_code", ""),
            data={k[5:]: v for k, v in fields.items() if k.startswith("data.")},
            idempotency_key=fields.get("idempotency_key") or None,
            consent=intake.Consent(
                text=fields.get("consent_text", ""),
                ip=request.client.host if request.client else "",
                user_agent=request.headers.get("user-agent", ""),
                page_url=request.headers.get("referer", ""),
            ),
        )
        result = await intake.submit_lead(LeadSourcePrincipal(source.id, source.account_id, source.name), submission)
    except DomainError as exc:
        return _errors_response(exc.errors)
    if redirect:
        return redirect
    lead = result.lead
    return JSONResponse(
        {"status": lead.market_status.upper(), "leadId": str(relay.GlobalID("Lead", str(lead.id)))},
        status_code=201 if result.created else 200,
    )
