"""Query cost: computed from the document before anything runs, limited per
query and charged to a per-client budget (core.budget), reported in the
response's ``extensions.cost``. The model, like GitHub's and Shopify's:

- a field returning an object (or a list of them, or a connection) costs 1
  point; scalars and enums are free;
- inside a connection, what is under ``edges``/``nodes`` is paid once per item
  the page may hold: ``first`` (or ``last``), 20 when left out;
- a list of objects that is not a connection is a short list of children (a
  lead's deliveries, a payload's ``userErrors``) and counts as ``LIST_SIZE``
  (1) item; ``nodes(ids:)`` counts one per id;
- a mutation field costs ``MUTATION_COST`` points on top of what it selects.

Example: ``{ leads(first: 50) { totalCount edges { node { id assignee { name } } } } }``
costs 1 (leads) + 50 × (1 edge + 1 node + 1 assignee) = 151 points.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLUnionType,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    Undefined,
    get_named_type,
    value_from_ast_untyped,
)
from graphql import ExecutionResult as GraphQLExecutionResult
from strawberry.extensions import SchemaExtension

from leadwire.core import budget
from leadwire.schema.relay import DEFAULT_PAGE_SIZE

LIST_SIZE = 1
MUTATION_COST = 10
PAGE_ARGUMENTS = ("first", "last")


@dataclass
class _Walk:
    schema: GraphQLSchema
    fragments: dict[str, FragmentDefinitionNode]
    variables: dict
    max_page_size: int
    visiting: frozenset = frozenset()


def _argument(node: FieldNode, name: str, variables: dict):
    for arg in node.arguments or ():
        if arg.name.value == name:
            value = value_from_ast_untyped(arg.value, variables)
            # A variable not given and with no default: the argument is absent.
            return None if value is Undefined else value
    return None


def _is_list(t) -> bool:
    while isinstance(t, GraphQLNonNull):
        t = t.of_type
    return isinstance(t, GraphQLList)


def _is_connection(t) -> bool:
    named = get_named_type(t)
    return isinstance(named, GraphQLObjectType) and named.name.endswith("Connection") and "edges" in named.fields


def _page_size(node: FieldNode, w: _Walk) -> int:
    size = None
    for name in PAGE_ARGUMENTS:
        value = _argument(node, name, w.variables)
        if value is None:
            continue
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= w.max_page_size:
            raise GraphQLError(
                f"`{name}` must be between 1 and {w.max_page_size}, got {value!r}.",
                nodes=[node],
                extensions={"code": "BAD_USER_INPUT", "argument": name},
            )
        size = max(size or 0, value)
    return size or DEFAULT_PAGE_SIZE


def _selection_cost(selection_set: SelectionSetNode | None, parent, w: _Walk, *, multiplier: int, page: int = 0) -> int:
    """``page``: the page size when ``parent`` is a connection (its edges and
    nodes are paid once per item)."""
    if selection_set is None:
        return 0
    total = 0
    for sel in selection_set.selections:
        if isinstance(sel, FieldNode):
            m = multiplier * page if page and sel.name.value in ("edges", "nodes") else multiplier
            total += _field_cost(sel, parent, w, multiplier=m)
        elif isinstance(sel, InlineFragmentNode):
            on = w.schema.get_type(sel.type_condition.name.value) if sel.type_condition else parent
            total += _selection_cost(sel.selection_set, on or parent, w, multiplier=multiplier, page=page)
        elif isinstance(sel, FragmentSpreadNode):
            name = sel.name.value
            fragment = w.fragments.get(name)
            if fragment is None or name in w.visiting:
                continue
            on = w.schema.get_type(fragment.type_condition.name.value) or parent
            inner = _Walk(w.schema, w.fragments, w.variables, w.max_page_size, w.visiting | {name})
            total += _selection_cost(fragment.selection_set, on, inner, multiplier=multiplier, page=page)
    return total


def _field_cost(node: FieldNode, parent, w: _Walk, *, multiplier: int) -> int:
    name = node.name.value
    if name.startswith("__") or not isinstance(parent, (GraphQLObjectType, GraphQLInterfaceType)):
        return 0
    field = parent.fields.get(name)
    if field is None:
        return 0
    named = get_named_type(field.type)
    if not isinstance(named, (GraphQLObjectType, GraphQLInterfaceType, GraphQLUnionType)):
        return 0  # scalars and enums are free
    if _is_connection(field.type):
        # The connection itself is one object; its edges are paid per item.
        size = _page_size(node, w)
        return multiplier + _selection_cost(node.selection_set, named, w, multiplier=multiplier, page=size)
    inner = multiplier
    if _is_list(field.type) and not (_is_connection(parent) and name in ("edges", "nodes")):
        ids = _argument(node, "ids", w.variables)
        inner = multiplier * (len(ids) if isinstance(ids, list) else LIST_SIZE)
    return inner + _selection_cost(node.selection_set, named, w, multiplier=inner)


def operation_cost(
    schema: GraphQLSchema, document, operation_name: str | None, variables: dict | None, *, max_page_size: int
) -> int:
    """The cost of the operation that will run (raises GraphQLError for a page size out of range)."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    if operation_name:
        operations = [o for o in operations if o.name and o.name.value == operation_name]
    if len(operations) != 1:
        return 0  # graphql-core reports the ambiguity itself
    op = operations[0]
    root = {
        OperationType.QUERY: schema.query_type,
        OperationType.MUTATION: schema.mutation_type,
        OperationType.SUBSCRIPTION: schema.subscription_type,
    }[op.operation]
    # The values the operation will run with: a variable left out takes its
    # declared default ($n: Int = 50), as graphql-core will give it.
    values = dict(variables or {})
    for definition in op.variable_definitions or ():
        name = definition.variable.name.value
        if name not in values and definition.default_value is not None:
            values[name] = value_from_ast_untyped(definition.default_value)
    w = _Walk(schema, fragments, values, max_page_size)
    cost = _selection_cost(op.selection_set, root, w, multiplier=1)
    if op.operation == OperationType.MUTATION:
        cost += MUTATION_COST * sum(1 for s in op.selection_set.selections if isinstance(s, FieldNode))
    return max(cost, 1)


def budget_key(context) -> str:
    """Whose bucket: the user (whatever token or session they use), the lead
    source, or, for anonymous requests, the client address."""
    viewer = getattr(context, "viewer", None)
    if viewer is not None:
        return f"m:{viewer.membership_id}"
    source = getattr(context, "lead_source", None)
    if source is not None:
        return f"s:{source.source_id}"
    return f"ip:{getattr(context, 'client_ip', '')}"[:100]


class QueryCost(SchemaExtension):
    """Refuses, before execution, a query over the per-query maximum or over the
    client's remaining budget; reports ``extensions.cost`` on every answer."""

    def __init__(self) -> None:
        self.report: dict | None = None

    async def on_execute(self) -> AsyncIterator[None]:
        ec = self.execution_context
        settings = getattr(ec.context, "settings", None)
        if settings is None or ec.graphql_document is None or settings.query_cost_max <= 0:
            yield
            return
        try:
            cost = operation_cost(
                ec.schema._schema, ec.graphql_document, ec.operation_name, ec.variables,
                max_page_size=settings.max_page_size,
            )
        except GraphQLError as error:
            ec.result = GraphQLExecutionResult(data=None, errors=[error])
            yield
            return
        self.report = {"requestedQueryCost": cost, "maximumQueryCost": settings.query_cost_max}
        if cost > settings.query_cost_max:
            ec.result = GraphQLExecutionResult(data=None, errors=[GraphQLError(
                f"This query costs {cost} points, over the maximum of {settings.query_cost_max} per query: "
                "ask for smaller pages (first) or fewer nested lists.",
                extensions={"code": "QUERY_TOO_COSTLY", "cost": cost, "maximum": settings.query_cost_max},
            )])
            yield
            return
        if settings.query_budget > 0:
            charged = await budget.charge(
                budget_key(ec.context), cost,
                capacity=settings.query_budget, restore_rate=settings.query_budget_restore_rate,
            )
            self.report["throttleStatus"] = {
                "maximumAvailable": charged.capacity,
                "currentlyAvailable": charged.remaining,
                "restoreRate": charged.restore_rate,
            }
            if not charged.allowed:
                retry = max(1, round(charged.retry_after + 0.4999))
                ec.result = GraphQLExecutionResult(data=None, errors=[GraphQLError(
                    f"Throttled: this query costs {cost} points and {charged.remaining} are left "
                    f"(they refill at {charged.restore_rate:g} a second): retry in {retry} s.",
                    extensions={"code": "THROTTLED", "cost": cost, "remaining": charged.remaining,
                                "retryAfterSeconds": retry},
                )])
        yield

    def get_results(self) -> dict:
        return {"cost": self.report} if self.report else {}
