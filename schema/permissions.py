"""Permission classes for queries. Each carries a message and an error code so a
client can tell "forbidden" from "empty"; none fails silently."""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError
from strawberry.permission import BasePermission
from strawberry.types import Info


class IsSignedIn(BasePermission):
    message = "Sign in first."
    error_extensions = {"code": "UNAUTHENTICATED"}

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        if info.context.viewer is None:
            if info.context.auth_problem:
                # Not ``self.message = ...``: one instance serves every request, so
                # one caller's reason would be shown to the next.
                raise GraphQLError(info.context.auth_problem, extensions=dict(self.error_extensions))
            return False
        return True


class IsOwner(BasePermission):
    """Put after IsSignedIn: ``[IsSignedIn, IsOwner]``."""

    message = "Only the account owner can see this."
    error_extensions = {"code": "FORBIDDEN"}

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        viewer = info.context.viewer
        return viewer is not None and viewer.is_owner


class IsOperator(BasePermission):
    message = "Only marketplace operator staff can see this."
    error_extensions = {"code": "FORBIDDEN"}

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        viewer = info.context.viewer
        return viewer is not None and viewer.is_operator


class IsPartner(BasePermission):
    """A partner account's user (not operator staff). Put after IsSignedIn."""

    message = "The partner dashboard is a partner account's: operator staff use the operator dashboard."
    error_extensions = {"code": "FORBIDDEN"}

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        viewer = info.context.viewer
        return viewer is not None and not viewer.is_operator
