"""GraphQL execution with a short path for plain fields.

graphql-core executes every field of every object the same way: a resolve-info
object, strawberry's resolver wrapper, an awaitable check, then
``complete_value`` and, for an object, four more calls before its own fields
run. A page of 50 leads is ~800 such fields and that machinery was about half
of the request's CPU. Most of those fields are *plain*: read straight off the
source object (strawberry field with no resolver, no arguments, no permission
or field extension, no directive) and either a scalar or enum, an object, or a
list of objects. For those this executor reads the attribute and goes on:

- a leaf is ``return_type.coerce_output_value(value)``, as graphql-core does;
- an object (or each object of a list) has its fields executed directly, with
  the same result paths and the same error handling (``handle_field_error``)
  as graphql-core's ``execute_field`` and ``complete_list_item_value``.

The short path only takes the happy case. Whenever a value is not what the
happy case expects (null on a non-null field, missing, awaitable, refused by
its scalar or by ``is_type_of``, not a list), the field goes through
graphql-core's own ``execute_field`` instead, so errors and null propagation
are exactly graphql-core's; reading an attribute twice is harmless. Fields
with resolvers, arguments or directives always go through it, except two kinds
of resolver: a plain synchronous one is called directly (without strawberry's
resolver wrapper), and a *prefetched* one (``@prefetched``: a list resolver
filled in its value for the whole page) is read off the source like a plain
object field when the value is there.
"""

from __future__ import annotations

from typing import Any

from datetime import date, datetime
from decimal import Decimal
from enum import Enum

from graphql import (
    GraphQLBoolean, GraphQLID, GraphQLList, GraphQLNonNull, GraphQLObjectType, GraphQLString, is_leaf_type,
)
from graphql.execution.executor import to_nodes
from graphql.pyutils import Path, Undefined, gather_with_cancel
from strawberry import relay
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.cast import TYPE_CAST_ATTRIBUTE

_GENERAL, _LEAF, _OBJECT, _OBJECT_LIST, _NODE_ID, _RESOLVER, _PREFETCHED = range(7)
_PREFETCHED_MARK = "_leadwire_prefetched"
# graphql-core's String and ID return a str, and Boolean a bool, unchanged
# (serialize_string, serialize_id, serialize_boolean): no call needed for them.
_AS_IS = {GraphQLString: str, GraphQLID: str, GraphQLBoolean: bool}


def prefetched(attribute: str, missing: object):
    """Marks a synchronous resolver of an object field whose value a list
    resolver may have fetched for its whole page and left on the source at
    ``attribute`` (``missing`` when it did not). The resolver must return
    exactly that value whenever it is there; the executor then reads it as a
    plain object field instead of calling the resolver with a new ``Info``
    per row (for a page of 50 leads, the sale's resolver was most of the
    execution's CPU)."""

    def mark(func):
        setattr(func, _PREFETCHED_MARK, (attribute, missing))
        return func

    return mark


# Values that cannot be awaitable: no need to ask (the check is most of a leaf's cost).
_PLAIN_VALUES = frozenset({str, int, float, bool, datetime, date, Decimal})
_NODE_ID_RESOLVER = relay.Node._id.__func__
_DEFAULT_RESOLVE_ID = relay.Node.resolve_id.__func__
_DEFAULT_RESOLVE_TYPENAME = relay.Node.resolve_typename.__func__
# Per node class: the attribute holding its id when strawberry's default
# resolve_id / resolve_typename apply, else None (the general path).
_node_id_attributes: dict[type, str | None] = {}


def _node_id_attribute(cls: type) -> str | None:
    try:
        return _node_id_attributes[cls]
    except KeyError:
        pass
    attribute = None
    if (
        issubclass(cls, relay.Node)
        and cls.resolve_id.__func__ is _DEFAULT_RESOLVE_ID
        and cls.resolve_typename.__func__ is _DEFAULT_RESOLVE_TYPENAME
    ):
        attribute = cls.resolve_id_attr()
    _node_id_attributes[cls] = attribute
    return attribute


def _by_class_alone(is_type_of) -> bool:
    """Whether ``is_type_of`` is the one strawberry gives a type that
    implements interfaces: for a value that is not ``strawberry.cast``, its
    answer depends on the value's class alone (isinstance against the type and
    its interfaces, or the generic it is concrete of). A type's own
    ``is_type_of`` is asked every time."""
    return getattr(is_type_of, "__qualname__", "").endswith("_get_is_type_of.<locals>.is_type_of")


def _unwrap(t) -> tuple[Any, bool]:
    return (t.of_type, False) if isinstance(t, GraphQLNonNull) else (t, True)


class LeadwireExecutionContext(StrawberryGraphQLCoreExecutionContext):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # graphql-core memoises the grouped field set of a selection per request
        # (every lead of a page shares one); plans are keyed the same way.
        self._plans: dict[tuple[GraphQLObjectType, int], tuple[Any, list]] = {}
        manager = self.middleware_manager
        self._short_path = not (manager and manager.middlewares)
        # A plain synchronous resolver (no arguments, no field extension) is
        # called directly, as strawberry's wrapper would call it, unless the
        # schema has exception handlers (they wrap resolvers).
        strawberry_schema = getattr(self.schema, "_strawberry_schema", None)
        self._call_resolvers = strawberry_schema is not None and not strawberry_schema.exception_handlers
        self._info_class = strawberry_schema.config.info_class if strawberry_schema is not None else None
        # (object type, Python class) pairs strawberry's own is_type_of accepted
        # (see _by_class_alone): the next value of that class needs no resolve info.
        self._known_types: set[tuple[GraphQLObjectType, type]] = set()

    # -- executing an object's fields -------------------------------------------------------

    def execute_fields(self, parent_type, source_value, path, grouped_field_set, position_context):
        if not self._short_path:
            return super().execute_fields(parent_type, source_value, path, grouped_field_set, position_context)
        key = (parent_type, id(grouped_field_set))
        cached = self._plans.get(key)
        if cached is None:
            # The grouped field set is kept alive beside its plan so that its id is not reused.
            cached = self._plans[key] = (grouped_field_set, [
                (name, details, *self._plan_field(parent_type, details)) for name, details in grouped_field_set.items()
            ])

        results: dict[str, Any] = {}
        is_awaitable = self.is_awaitable
        awaitable_fields: list[str] = []
        try:
            for response_name, details, kind, how in cached[1]:
                result = Undefined
                if kind == _LEAF:
                    attribute, leaf_type, nullable, as_is = how
                    value = getattr(source_value, attribute, Undefined)
                    if type(value) is as_is:  # what the scalar would return unchanged
                        results[response_name] = value
                        continue
                    if value is None:
                        if nullable:
                            results[response_name] = None
                            continue
                    elif value is not Undefined and (
                        type(value) in _PLAIN_VALUES or isinstance(value, Enum) or not is_awaitable(value)
                    ):
                        try:
                            coerced = leaf_type.coerce_output_value(value)
                        except Exception:
                            coerced = None  # the general path raises it where it belongs
                        if coerced is not None and coerced is not Undefined:
                            results[response_name] = coerced
                            continue
                elif kind == _NODE_ID:
                    # strawberry's Node.id: the type's name and the id attribute, base64-encoded by the ID scalar.
                    attribute = _node_id_attribute(type(source_value))
                    node_id = None if attribute is None else getattr(source_value, attribute, None)
                    if node_id is not None and type(node_id) in _PLAIN_VALUES:
                        results[response_name] = how.coerce_output_value(
                            relay.GlobalID(type_name=parent_type.name, node_id=str(node_id)))
                        continue
                elif kind == _PREFETCHED:
                    attribute, missing, object_how, resolver_how = how
                    if getattr(source_value, attribute, missing) is missing:
                        result = self._resolve_directly(parent_type, source_value, path, response_name, details,
                                                        resolver_how, position_context)
                    else:
                        result = self._plain_object(parent_type, source_value, path, response_name, details,
                                                    object_how, position_context)
                elif kind == _RESOLVER:
                    result = self._resolve_directly(parent_type, source_value, path, response_name, details, how,
                                                    position_context)
                elif kind == _OBJECT:
                    result = self._plain_object(parent_type, source_value, path, response_name, details, how,
                                                position_context)
                elif kind == _OBJECT_LIST:
                    result = self._plain_object_list(parent_type, source_value, path, response_name, details, how,
                                                     position_context)
                if result is Undefined:  # not the happy case, or not a plain field
                    result = self.execute_field(
                        parent_type, source_value, details, Path(path, response_name, parent_type.name),
                        position_context,
                    )
                    if result is Undefined:
                        continue
                results[response_name] = result
                if is_awaitable(result):
                    awaitable_fields.append(response_name)
        except Exception:
            if awaitable_fields:
                self.settle_in_background([results[field] for field in awaitable_fields])
            raise
        if not awaitable_fields:
            return results
        return self._gather_fields(results, awaitable_fields)

    async def _gather_fields(self, results: dict[str, Any], awaitable_fields: list[str]) -> dict[str, Any]:
        # As graphql-core: one awaitable is awaited as is, several concurrently.
        if len(awaitable_fields) == 1:
            field = awaitable_fields[0]
            results[field] = await results[field]
        else:
            awaited = await gather_with_cancel(*(results[field] for field in awaitable_fields))
            results.update(zip(awaitable_fields, awaited, strict=True))
        return results

    # -- plain resolvers ---------------------------------------------------------------------------

    def _resolve_directly(self, parent_type, source, path, response_name, details, how, position_context):
        """graphql-core's execute_field with strawberry's resolver wrapper left
        out: the resolver gets what the wrapper would give it (the source as
        self, root or parent; strawberry's Info) and its value is completed
        and its errors handled by graphql-core as usual."""
        func, takes_self, source_names, info_name, field_def, definition = how
        field_path = Path(path, response_name, parent_type.name)
        return_type = field_def.type
        info = self.build_resolve_info(field_def, to_nodes(details), parent_type, field_path)
        try:
            kwargs = dict.fromkeys(source_names, source)
            if info_name is not None:
                kwargs[info_name] = self._info_class(_raw_info=info, _field=definition)
            value = func(source, **kwargs) if takes_self else func(**kwargs)
            if self.is_awaitable(value):
                return self.complete_awaitable_value(return_type, details, info, field_path, value, position_context)
            completed = self.complete_value(return_type, details, info, field_path, value, position_context)
            if self.is_awaitable(completed):
                return self._settle(completed, return_type, details, field_path)
            return completed
        except Exception as raw_error:
            self.handle_field_error(raw_error, return_type, details, field_path)
            return None

    # -- plain objects and lists of them ------------------------------------------------------

    def _subfields(self, object_type, details):
        collected = self.collect_subfields(object_type, details)
        return None if collected.new_defer_usages else collected.grouped_field_set

    def _plain_object(self, parent_type, source, path, response_name, details, how, position_context):
        attribute, field_def, object_type, nullable = how
        value = getattr(source, attribute, Undefined)
        if value is None:
            return None if nullable else Undefined
        if value is Undefined or self.is_awaitable(value):
            return Undefined
        field_path = Path(path, response_name, parent_type.name)
        if object_type.is_type_of is not None:
            cast = getattr(value, TYPE_CAST_ATTRIBUTE, None)
            known = (object_type, type(value))
            if cast is not None or known not in self._known_types:
                info = self.build_resolve_info(field_def, to_nodes(details), parent_type, field_path)
                if object_type.is_type_of(value, info) is not True:
                    return Undefined
                if cast is None and _by_class_alone(object_type.is_type_of):
                    self._known_types.add(known)
        fields = self._subfields(object_type, details)
        if fields is None:
            return Undefined
        try:
            completed = self.execute_fields(object_type, value, field_path, fields, position_context)
        except Exception as raw_error:
            self.handle_field_error(raw_error, field_def.type, details, field_path)
            return None
        if self.is_awaitable(completed):
            return self._settle(completed, field_def.type, details, field_path)
        return completed

    def _plain_object_list(self, parent_type, source, path, response_name, details, how, position_context):
        attribute, field_def, item_type, item_nullable, nullable = how
        value = getattr(source, attribute, Undefined)
        if value is None:
            return None if nullable else Undefined
        if type(value) is not list and type(value) is not tuple:
            return Undefined  # async iterables, generators, wrong values: graphql-core's path
        field_path = Path(path, response_name, parent_type.name)
        is_type_of = item_type.is_type_of
        info = self.build_resolve_info(field_def, to_nodes(details), parent_type, field_path) if is_type_of else None
        is_awaitable = self.is_awaitable
        for item in value:  # checked before any item runs, so that falling back leaves nothing half-done
            if item is None:
                if not item_nullable:
                    return Undefined
            elif is_awaitable(item) or (is_type_of is not None and is_type_of(item, info) is not True):
                return Undefined
        fields = self._subfields(item_type, details)
        if fields is None:
            return Undefined
        full_item_type = item_type if item_nullable else GraphQLNonNull(item_type)
        completed: list[Any] = []
        awaitable_indices: list[int] = []
        try:
            for index, item in enumerate(value):
                if item is None:
                    completed.append(None)
                    continue
                item_path = Path(field_path, index, None)
                try:
                    done = self.execute_fields(item_type, item, item_path, fields, position_context)
                except Exception as raw_error:
                    self.handle_field_error(raw_error, full_item_type, details, item_path)
                    done = None
                if is_awaitable(done):
                    done = self._settle(done, full_item_type, details, item_path)
                    awaitable_indices.append(index)
                completed.append(done)
        except Exception as raw_error:
            if awaitable_indices:
                self.settle_in_background([completed[i] for i in awaitable_indices])
            self.handle_field_error(raw_error, field_def.type, details, field_path)
            return None
        if not awaitable_indices:
            return completed
        return self._settle(self._gather_items(completed, awaitable_indices), field_def.type, details, field_path)

    async def _gather_items(self, completed: list[Any], awaitable_indices: list[int]) -> list[Any]:
        awaited = await gather_with_cancel(*(completed[i] for i in awaitable_indices))
        for index, value in zip(awaitable_indices, awaited, strict=True):
            completed[index] = value
        return completed

    async def _settle(self, awaitable, return_type, details, path) -> Any:
        """An awaited field value with graphql-core's error handling for its field."""
        try:
            return await awaitable
        except Exception as raw_error:
            self.handle_field_error(raw_error, return_type, details, path)
            return None

    # -- planning -------------------------------------------------------------------------------

    def _plan_field(self, parent_type: GraphQLObjectType, details) -> tuple[int, tuple | None]:
        node = details[0].node
        if any(d.node.directives for d in details):
            return _GENERAL, None
        field_def = self.schema.get_field(parent_type, node.name.value)
        if field_def is None or field_def.args or node.arguments:
            return _GENERAL, None
        definition = (field_def.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
        resolver = getattr(getattr(definition, "base_resolver", None), "wrapped_func", None)
        if getattr(resolver, "__func__", None) is _NODE_ID_RESOLVER and not definition.extensions:
            inner, _ = _unwrap(field_def.type)
            return _NODE_ID, inner
        if (
            self._call_resolvers and definition is not None and definition.base_resolver is not None
            and not definition.extensions and not definition.is_async and not definition.is_subscription
            and not definition.base_resolver.arguments and callable(definition.base_resolver.wrapped_func)
        ):
            resolver = definition.base_resolver
            source_names = tuple(
                p.name for p in (resolver.parent_parameter, resolver.root_parameter) if p is not None
            )
            info_name = resolver.info_parameter.name if resolver.info_parameter is not None else None
            resolver_how = (
                resolver.wrapped_func, resolver.self_parameter is not None, source_names, info_name, field_def,
                definition,
            )
            mark = getattr(resolver.wrapped_func, _PREFETCHED_MARK, None)
            inner, nullable = _unwrap(field_def.type)
            if mark is not None and isinstance(inner, GraphQLObjectType):
                attribute, missing = mark
                return _PREFETCHED, (attribute, missing, (attribute, field_def, inner, nullable), resolver_how)
            return _RESOLVER, resolver_how
        # Only strawberry's resolver of a field with no resolver and no field
        # extensions (permission classes are one) is a plain attribute read.
        if not getattr(field_def.resolve, "_is_default", False):
            return _GENERAL, None
        if (
            definition is None or definition.base_resolver is not None or definition.extensions
            or definition.default_resolver is not getattr
        ):
            return _GENERAL, None
        attribute = definition.python_name
        inner, nullable = _unwrap(field_def.type)
        if is_leaf_type(inner):
            return _LEAF, (attribute, inner, nullable, _AS_IS.get(inner))
        if isinstance(inner, GraphQLObjectType):
            return _OBJECT, (attribute, field_def, inner, nullable)
        if isinstance(inner, GraphQLList):
            item_type, item_nullable = _unwrap(inner.of_type)
            if isinstance(item_type, GraphQLObjectType):
                return _OBJECT_LIST, (attribute, field_def, item_type, item_nullable, nullable)
        return _GENERAL, None
