"""Text no database can store is refused at the door: a NUL character (U+0000,
which PostgreSQL refuses in text and JSON) or an unpaired UTF-16 surrogate
(which no encoder accepts) anywhere in the variables or in a string literal
of the document. Without this, such input reached the database and failed
there as an unexpected error on PostgreSQL, and was stored on SQLite."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from graphql import GraphQLError, StringValueNode, visit
from graphql import ExecutionResult as GraphQLExecutionResult
from graphql.language import Visitor
from strawberry.extensions import SchemaExtension

_BAD = re.compile("[\x00\ud800-\udfff]")
MESSAGE = "Text may not contain NUL characters (U+0000) or unpaired surrogates"


def bad_text_path(value: Any, path: str) -> str | None:
    """The path of the first string in ``value`` holding unstorable text, or None."""
    if isinstance(value, str):
        return path if _BAD.search(value) else None
    if isinstance(value, dict):
        for k, v in value.items():
            found = bad_text_path(k, path) or bad_text_path(v, f"{path}.{k}")
            if found:
                return found
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            found = bad_text_path(v, f"{path}[{i}]")
            if found:
                return found
    return None


class _Literals(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.bad: StringValueNode | None = None

    def enter_string_value(self, node: StringValueNode, *_args) -> None:
        if self.bad is None and _BAD.search(node.value):
            self.bad = node


class RefuseUnstorableText(SchemaExtension):
    def on_execute(self) -> Iterator[None]:
        ec = self.execution_context
        where = bad_text_path(ec.variables or {}, "$variables")
        nodes = None
        if where is None and ec.graphql_document is not None:
            literals = _Literals()
            visit(ec.graphql_document, literals)
            if literals.bad is not None:
                where, nodes = "a string in the query", [literals.bad]
        if where is not None:
            ec.result = GraphQLExecutionResult(data=None, errors=[GraphQLError(
                f"{MESSAGE}: {where}.", nodes=nodes, extensions={"code": "BAD_USER_INPUT"},
            )])
        yield
