"""userErrors: the one way mutations report expected failures.

Every mutation takes one ``input`` and returns a payload with
``userErrors { field code message }``. The :func:`mutation` decorator turns
a core :class:`DomainError` into that list (field names in camelCase, as
the client wrote them) and checks sign-in in one place.
"""

from __future__ import annotations

import functools
from typing import Any, Callable, TypeVar

import strawberry
from strawberry.types import Info
from strawberry.utils.str_converters import to_camel_case

from leadwire.core.errors import DomainError, ErrorCode, FieldError

UserErrorCode = strawberry.enum(ErrorCode, name="UserErrorCode", description="Why an input was refused.")


@strawberry.type(description="An input the server refused: which field, a stable code, a readable message.")
class UserError:
    field: str | None = strawberry.field(description="The input field (camelCase), or null for the input as a whole.")
    code: UserErrorCode
    message: str


# Inputs whose value is free-form JSON: the keys inside them are the client's own
# (an industry's fields, a channel's settings), so a path into them keeps them as written.
JSON_INPUTS = frozenset({"data", "channels", "field_filters"})


def field_path(path: str) -> str:
    """``consent.page_url`` -> ``consent.pageUrl`` (input fields are camelCase), but
    ``data.move_size`` and ``channels.email.reply_to`` stay as the client wrote them."""
    head, _, rest = path.partition(".")
    if head in JSON_INPUTS:
        return to_camel_case(head) + (f".{rest}" if rest else "")
    return ".".join(to_camel_case(part) for part in path.split("."))


def to_user_errors(errors: list[FieldError]) -> list[UserError]:
    return [UserError(field=field_path(e.field) if e.field else None, code=e.code, message=e.message) for e in errors]


P = TypeVar("P")


def mutation(payload: type[P], *, public: bool = False) -> Callable:
    """Wrap a mutation resolver: require a signed-in viewer (unless ``public``)
    and turn DomainError into ``payload(user_errors=[...])``."""

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        async def wrapper(*args: Any, **kwargs: Any) -> P:
            info: Info = kwargs["info"]
            if not public and info.context.viewer is None:
                message = info.context.auth_problem or "Sign in first."
                return payload(user_errors=[UserError(field=None, code=ErrorCode.UNAUTHENTICATED, message=message)])
            try:
                return await fn(*args, **kwargs)
            except DomainError as exc:
                return payload(user_errors=to_user_errors(exc.errors))

        return wrapper

    return decorate
