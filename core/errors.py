"""Domain errors: what went wrong, on which input field, as a stable code.

Services raise :class:`DomainError` with one or more :class:`FieldError`; the
GraphQL layer turns them into a mutation payload's ``userErrors`` (field
names are converted to camelCase there). Nothing is written when a service
raises: services validate first and write inside one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class ErrorCode(str, Enum):
    INVALID = "invalid"
    REQUIRED = "required"
    TOO_SHORT = "too_short"
    TOO_LONG = "too_long"
    NOT_FOUND = "not_found"  # also used for "exists but you may not see it"
    FORBIDDEN = "forbidden"
    DUPLICATE = "duplicate"
    HIERARCHY_CYCLE = "hierarchy_cycle"
    BARRED = "barred"
    NOT_BARRED = "not_barred"
    HAS_ASSIGNED_LEADS = "has_assigned_leads"
    OWNER_REQUIRED = "owner_required"
    INVALID_CREDENTIALS = "invalid_credentials"
    RATE_LIMITED = "rate_limited"
    UNAUTHENTICATED = "unauthenticated"
    # sales workspace
    LIMIT_REACHED = "limit_reached"  # e.g. an 8th pipeline stage
    IN_USE = "in_use"  # still referenced: archive it, or move what uses it first
    FEEDBACK_REQUIRED = "feedback_required"  # a compulsory feedback question is unanswered
    # money
    ACCOUNT_CLOSED = "account_closed"
    INSUFFICIENT_BALANCE = "insufficient_balance"
    PAYMENT_DECLINED = "payment_declined"
    GATEWAY_UNAVAILABLE = "gateway_unavailable"
    IN_PROGRESS = "in_progress"  # a payment is still being processed: try again shortly
    RETURN_WINDOW_CLOSED = "return_window_closed"
    RETURN_REASON_REFUSED = "return_reason_refused"


@dataclass(frozen=True)
class FieldError:
    field: str | None  # snake_case input field, None for the input as a whole
    code: ErrorCode
    message: str


class DomainError(Exception):
    def __init__(self, *errors: FieldError):
        assert errors, "a DomainError needs at least one FieldError"
        self.errors = list(errors)
        super().__init__("; ".join(f"{e.field or 'input'}: {e.message}" for e in errors))

    @classmethod
    def single(cls, field: str | None, code: ErrorCode, message: str) -> DomainError:
        return cls(FieldError(field, code, message))


class Forbidden(DomainError):
    """The viewer may not do this. Reads never raise it: they return nothing."""

    def __init__(self, message: str, field: str | None = None, code: ErrorCode = ErrorCode.FORBIDDEN):
        super().__init__(FieldError(field, code, message))


def not_found(field: str, what: str) -> DomainError:
    # Same answer whether the row does not exist or the viewer may not see
    # it: a denial must not reveal existence.
    return DomainError.single(field, ErrorCode.NOT_FOUND, f"No {what} with this id.")
