"""The telephony providers' webhooks (core.calls.ringing):

- ``POST /telephony/<provider>/voice``: a call to a tracking number (and the
  digits of a ZIP prompt);
- ``POST /telephony/<provider>/dial/<attempt>``: how a ring of the ring tree ended;
- ``POST /telephony/<provider>/status``: the call's status callback.

The provider named in the URL checks the request's signature against the
public URL (``public_url`` in its plugins.toml block, else the URL of the
request) before anything is looked up: a wrong signature gets 403 and
changes nothing. An unknown provider gets 404.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from leadwire.core.calls import providers, ringing
from leadwire.plugins.telephony import WebhookRequest

MAX_BODY = 64 * 1024


async def telephony_webhook(request: Request) -> Response:
    installed = providers.provider(request.path_params["provider"])
    endpoint = request.path_params["endpoint"]
    if installed is None or endpoint not in ("voice", "dial", "status"):
        return PlainTextResponse("Not found", status_code=404)
    attempt_id = None
    if endpoint == "dial":
        raw = request.path_params.get("attempt", "")
        if not raw.isdigit():
            return PlainTextResponse("Not found", status_code=404)
        attempt_id = int(raw)
    body = await request.body()
    if len(body) > MAX_BODY:
        return PlainTextResponse("Too large", status_code=413)
    params = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    public = (installed.plugin_config.get("public_url") or "").rstrip("/")
    base = public or f"{request.url.scheme}://{request.url.netloc}"
    url = base + request.url.path + (f"?{request.url.query}" if request.url.query else "")
    answer = await ringing.handle(
        installed, endpoint,
        WebhookRequest(url=url, params=params, headers={k.lower(): v for k, v in request.headers.items()},
                       plugin_config=installed.plugin_config),
        base, attempt_id=attempt_id,
    )
    if answer is None:
        return PlainTextResponse("Forbidden: bad signature", status_code=403)
    return Response(answer.body, media_type=answer.content_type)
