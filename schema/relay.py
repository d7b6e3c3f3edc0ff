"""Relay plumbing: global IDs and cursor connections with keyset pagination.

Connections are ordered newest first by primary key and paginate with an
opaque keyset cursor (``id < after``), so page N costs the same as page 1.
``first`` is required to be 1..max_page_size: asking for more is an error,
never a silent truncation.
"""

from __future__ import annotations

import base64
import re
from typing import Awaitable, Callable, Generic, TypeVar

import strawberry
from graphql import GraphQLError
from strawberry import relay
from strawberry.types.nodes import SelectedField
from tortoise.queryset import QuerySet

from leadwire.core.db import JoinedOne, plain_rows
from leadwire.core.errors import DomainError, ErrorCode

T = TypeVar("T")
DEFAULT_PAGE_SIZE = 20


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class Edge(Generic[T]):
    cursor: str
    node: T


@strawberry.type(description="A page of results, newest first.")
class Connection(Generic[T]):
    edges: list[Edge[T]]
    page_info: PageInfo
    _count_query: strawberry.Private[QuerySet | None] = None

    @strawberry.field(description="How many items match in all (one COUNT query).")
    async def total_count(self) -> int:
        return await self._count_query.count() if self._count_query is not None else len(self.edges)


def _encode_cursor(pk: int) -> str:
    return base64.urlsafe_b64encode(f"k:{pk}".encode()).decode()


def _decode_cursor(cursor: str) -> int:
    try:
        kind, _, value = base64.urlsafe_b64decode(cursor.encode()).decode().partition(":")
        if kind != "k":
            raise ValueError
        return int(value)
    except (ValueError, UnicodeDecodeError):
        raise GraphQLError("Invalid cursor: pass an endCursor this API returned.", extensions={"code": "BAD_USER_INPUT"}) from None


def check_page_size(first: int | None, max_page_size: int) -> int:
    size = DEFAULT_PAGE_SIZE if first is None else first
    if not 1 <= size <= max_page_size:
        raise GraphQLError(
            f"`first` must be between 1 and {max_page_size}, got {size}.", extensions={"code": "BAD_USER_INPUT"}
        )
    return size


async def paginate(
    qs: QuerySet,
    *,
    first: int | None,
    after: str | None,
    max_page_size: int,
    to_node: Callable[[list], Awaitable[list]] | Callable[[object], object],
    ascending: bool = False,
    plain: bool = False,
    joined: JoinedOne | None = None,
    fields: tuple[str, ...] | None = None,
) -> Connection:
    """Newest first (``id`` descending), or oldest first with ``ascending``.
    ``plain``: ``to_node`` reads attributes only, so the page is read as plain
    rows (core.db.plain_rows), not models, with ``joined``'s row on each and
    only ``fields`` (all when None) read."""
    size = check_page_size(first, max_page_size)
    page_qs = qs
    if after is not None:
        cursor = _decode_cursor(after)
        page_qs = page_qs.filter(id__gt=cursor) if ascending else page_qs.filter(id__lt=cursor)
    page_qs = page_qs.order_by("id" if ascending else "-id").limit(size + 1)
    if fields is not None:
        page_qs = page_qs.only(*fields)
    rows = await plain_rows(page_qs, joined=joined) if plain else await page_qs
    has_next = len(rows) > size
    rows = rows[:size]
    nodes = [to_node(r) for r in rows]
    edges = [Edge(cursor=_encode_cursor(r.id), node=n) for r, n in zip(rows, nodes)]
    return Connection(
        edges=edges,
        page_info=PageInfo(has_next_page=has_next, end_cursor=edges[-1].cursor if edges else None),
        _count_query=qs,
    )


def selects(info, *path: str) -> bool:
    """Whether the query asks for ``path`` below the current field (fragments
    included), e.g. ``selects(info, "edges", "node", "sale")``; lets a list
    resolver fetch for its whole page what a field would otherwise ask per row."""
    # selected_fields is the current field itself: start below it.
    level: list = [s for field in info.selected_fields for s in field.selections]
    for name in path:
        matched, below = False, []
        while level:
            selection = level.pop()
            if isinstance(selection, SelectedField):
                if selection.name == name:
                    matched = True
                    below.extend(selection.selections)
            else:  # a fragment spread or an inline fragment
                level.extend(selection.selections)
        if not matched:
            return False
        level = below
    return True


MAX_PK = 2**63 - 1  # the database's BIGINT: a larger id cannot exist (and would overflow the driver)


def pk_of(gid: relay.GlobalID) -> int | None:
    """The primary key inside a global ID, or None when it cannot be one (not a
    whole number, zero or negative, beyond BIGINT)."""
    raw = gid.node_id
    if not raw.isascii() or not raw.isdigit() or len(raw) > 19:
        return None
    pk = int(raw)
    return pk if 1 <= pk <= MAX_PK else None


def decode_id(gid: relay.GlobalID | None, expected_type: str, field: str) -> int | None:
    """The integer id inside a global ID of the expected type, or a userError
    naming the field. Wrong type and malformed both read as "not found"."""
    if gid is None:
        return None
    pk = pk_of(gid) if gid.type_name == expected_type else None
    if pk is None:
        # Worded as the services word a well-formed id that is not there ("No lead with this id.").
        noun = re.sub(r"(?<!^)(?=[A-Z])", " ", expected_type).lower()
        raise DomainError.single(field, ErrorCode.NOT_FOUND, f"No {noun} with this id.")
    return pk


def parse_global_id(raw: str) -> relay.GlobalID | None:
    try:
        return relay.GlobalID.from_id(raw)
    except Exception:  # any malformed id reads as "no such node"
        return None
