"""The short execution path for plain fields (schema/execution.py) answers
exactly what graphql-core's general path answers: the same data, the same
errors at the same paths, the same null propagation. Each query runs on one
schema twice, once with strawberry's own execution context and once with
Leadwire's, and the two results are compared whole."""

from __future__ import annotations

import asyncio
import enum
from datetime import datetime, timezone

import pytest
import strawberry
from strawberry import relay
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from leadwire.schema.execution import LeadwireExecutionContext, prefetched

NOT_FETCHED = object()
RESOLVER_CALLS: list[str] = []


@strawberry.enum
class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


@strawberry.type
class Price:
    amount_minor: int
    currency: str


@strawberry.type
class Item(relay.Node):
    id: relay.NodeID[int]
    name: str
    note: str | None
    colour: Colour
    made_at: datetime
    price: Price | None
    required_price: Price
    tags: list[str]
    on_sale: bool = False
    twin: Item | None = None  # a Node type's object field: is_type_of is asked

    @strawberry.field
    def computed(self) -> str:
        return self.name.upper()

    @strawberry.field
    async def later(self) -> str:
        await asyncio.sleep(0)
        return f"later {self.name}"

    @strawberry.field
    def broken(self) -> str:
        raise ValueError(f"broken {self.name}")

    @strawberry.field
    def labelled(self, info: strawberry.Info) -> str:
        return f"{info.field_name}/{info.path.key}/{self.name}"

    @strawberry.field
    def deferred_price(self) -> Price | None:
        # A synchronous resolver handing back an awaitable (as a DataLoader's load does).
        async def later():
            await asyncio.sleep(0)
            return self.price

        return later()

    @strawberry.field
    def broken_later(self) -> str:
        async def fail():
            raise ValueError(f"broken later {self.name}")

        return fail()

    reversed_name: str = strawberry.field(resolver=lambda root: root.name[::-1])
    # What a list resolver may have fetched for its whole page (as Lead.sale).
    _best_price: strawberry.Private[object] = NOT_FETCHED

    @strawberry.field
    @prefetched("_best_price", NOT_FETCHED)
    def best_price(self, info: strawberry.Info) -> Price | None:
        if self._best_price is not NOT_FETCHED:
            return self._best_price
        RESOLVER_CALLS.append(f"{info.field_name}:{self.name}")
        return Price(amount_minor=-1, currency=info.field_name)

    @strawberry.field
    @prefetched("_best_price", NOT_FETCHED)
    def required_best_price(self) -> Price:
        return self.price if self._best_price is NOT_FETCHED else self._best_price


@strawberry.type
class Shelf:
    items: list[Item]
    maybe_items: list[Item | None] | None
    required_items: list[Item]
    label: str


class NotAnInt:
    pass


def _item(i: int, **overrides) -> Item:
    values = dict(
        id=i, name=f"item {i}", note=None if i % 2 else f"note {i}", colour=Colour.RED if i % 2 else Colour.BLUE,
        made_at=datetime(2026, 1, i % 28 + 1, tzinfo=timezone.utc), price=Price(amount_minor=100 * i, currency="USD"),
        required_price=Price(amount_minor=i, currency="EUR"), tags=[f"t{i}", "x"],
    )
    values.update(overrides)
    return Item(**values)


SHELVES: dict[str, Shelf] = {}


@strawberry.type
class Query:
    @strawberry.field
    def shelf(self, name: str) -> Shelf | None:
        return SHELVES[name]

    @strawberry.field
    def required_shelf(self, name: str) -> Shelf:
        return SHELVES[name]


def _schema(context_class) -> strawberry.Schema:
    return strawberry.Schema(query=Query, types=[Item], execution_context_class=context_class)


GENERAL = _schema(StrawberryGraphQLCoreExecutionContext)
SHORT = _schema(LeadwireExecutionContext)


async def _both(query: str) -> tuple[dict, dict]:
    results = []
    for schema in (GENERAL, SHORT):
        r = await schema.execute(query)
        results.append({
            "data": r.data,
            "errors": sorted(((e.message, tuple(e.path or ())) for e in r.errors or ()), key=repr),
        })
    return results[0], results[1]


FULL_ITEM = (
    "id name note onSale colour madeAt price { amountMinor currency } requiredPrice { amountMinor } tags computed later "
    "labelled alias: labelled deferredPrice { currency } reversedName"
)


@pytest.mark.parametrize(
    "shelf, query",
    [
        # the happy case: every kind of plain field, with resolvers mixed in
        (Shelf(items=[_item(i) for i in range(1, 6)], maybe_items=None, required_items=[_item(9)], label="a"),
         f'{{ shelf(name: "s") {{ label items {{ {FULL_ITEM} }} requiredItems {{ id }} maybeItems {{ id }} }} }}'),
        # aliases, the same field twice, fragments and __typename
        (Shelf(items=[_item(1), _item(2)], maybe_items=[_item(3), None], required_items=[], label="b"),
         '{ shelf(name: "s") { x: label y: label items { ...F n2: name __typename } maybeItems { ...F } } }'
         ' fragment F on Item { id name price { currency } }'),
        # null in a nullable list, null on a nullable object
        (Shelf(items=[_item(1, price=None)], maybe_items=[None, _item(2, price=None)], required_items=[], label="c"),
         '{ shelf(name: "s") { items { price { amountMinor } } maybeItems { id price { currency } } } }'),
        # null on a non-null leaf inside a list: the item's error bubbles to the nullable shelf
        (Shelf(items=[_item(1), _item(2, name=None)], maybe_items=None, required_items=[], label="d"),
         '{ shelf(name: "s") { label items { id name } } }'),
        # null on a non-null leaf inside a nullable list item: only that item is null
        (Shelf(items=[], maybe_items=[_item(1), _item(2, name=None), _item(3)], required_items=[], label="e"),
         '{ shelf(name: "s") { maybeItems { id name } } }'),
        # null on a non-null object: bubbles through the non-null list to the shelf
        (Shelf(items=[_item(1, required_price=None)], maybe_items=None, required_items=[], label="f"),
         '{ shelf(name: "s") { items { requiredPrice { amountMinor } } } }'),
        # ... and through a non-null root field to data itself
        (Shelf(items=[_item(1, required_price=None)], maybe_items=None, required_items=[], label="f2"),
         '{ requiredShelf(name: "s") { items { requiredPrice { amountMinor } } } }'),
        # a null item in a non-null item list
        (Shelf(items=[_item(1), None], maybe_items=None, required_items=[], label="g"),
         '{ shelf(name: "s") { label items { id } } }'),
        # a value the scalar refuses, and a wrong enum value
        (Shelf(items=[_item(1, price=Price(amount_minor=NotAnInt(), currency="USD"))], maybe_items=None,
               required_items=[], label="h"),
         '{ shelf(name: "s") { items { price { amountMinor currency } } } }'),
        (Shelf(items=[_item(1, colour="purple")], maybe_items=None, required_items=[], label="i"),
         '{ shelf(name: "s") { items { id colour } } }'),
        # a resolver that raises, among plain fields, in every item
        (Shelf(items=[_item(1), _item(2)], maybe_items=[_item(3)], required_items=[], label="j"),
         '{ shelf(name: "s") { items { name broken } maybeItems { id broken } } }'),
        # a synchronous resolver's awaitable that fails, in a non-null field
        (Shelf(items=[_item(1)], maybe_items=[_item(2)], required_items=[], label="o"),
         '{ shelf(name: "s") { label maybeItems { id brokenLater } } }'),
        # a list that is not a list, an object that is not its type
        (Shelf(items="not a list", maybe_items=None, required_items=[], label="k"),
         '{ shelf(name: "s") { label items { id } } }'),
        (Shelf(items=[Price(amount_minor=1, currency="USD")], maybe_items=None, required_items=[], label="l"),
         '{ shelf(name: "s") { items { id } } }'),
        # prefetched resolvers: fetched (a price, or None), not fetched (the resolver runs), a wrong type,
        # null on the non-null one (bubbles to the nullable list item), a refused scalar below one
        (Shelf(items=[_item(1, _best_price=Price(amount_minor=7, currency="USD")), _item(2, _best_price=None),
                      _item(3)], maybe_items=None, required_items=[], label="p"),
         '{ shelf(name: "s") { items { id bestPrice { amountMinor currency } b: bestPrice { currency } '
         'requiredBestPrice { amountMinor } } } }'),
        (Shelf(items=[], maybe_items=[_item(1, _best_price=None), _item(2, _best_price=_item(5)),
                                      _item(3, _best_price=Price(amount_minor=NotAnInt(), currency="USD")),
                                      _item(4, _best_price=Price(amount_minor=4, currency="USD"))],
               required_items=[], label="q"),
         '{ shelf(name: "s") { maybeItems { id requiredBestPrice { amountMinor } bestPrice { currency } } } }'),
        # values the scalars convert (an int for a String and a Boolean, a float for an ID field's sibling)
        (Shelf(items=[_item(1, name=5, on_sale=1), _item(2, name=True, on_sale=0.0), _item(3, on_sale=True)],
               maybe_items=None, required_items=[], label="s"),
         '{ shelf(name: "s") { items { id name onSale } } }'),
        # an object field of a type with is_type_of: accepted, then a value of the same class cast to another
        # type (refused), then not of its type at all
        (Shelf(items=[_item(1, twin=_item(11)), _item(2, twin=strawberry.cast(Price, _item(12))),
                      _item(3, twin=_item(13)), _item(4, twin=Price(amount_minor=1, currency="USD"))],
               maybe_items=None, required_items=[], label="t"),
         '{ shelf(name: "s") { items { id twin { id name } } } }'),
        # a run of String/Boolean leaves read together: null on a nullable one (fine), on a non-null one (the item
        # is null), a missing attribute, an int where a Boolean goes
        (Shelf(items=[], maybe_items=[_item(1), _item(2, name=None), _item(3, on_sale=None), _item(4, on_sale=2),
                                      Item.__new__(Item)],
               required_items=[], label="u"),
         '{ shelf(name: "s") { maybeItems { name note onSale n2: name } } }'),
        # skip and include
        (Shelf(items=[_item(1)], maybe_items=None, required_items=[], label="m"),
         '{ shelf(name: "s") { label @skip(if: true) items { id @include(if: false) name note @include(if: true) } } }'),
    ],
)
async def test_short_path_answers_what_graphql_core_answers(shelf, query):
    SHELVES["s"] = shelf
    general, short = await _both(query)
    assert short == general
    if shelf.label in {"d", "f", "f2", "g", "h", "i", "j", "k", "l", "o", "q", "t", "u"}:
        assert general["errors"], "this case is meant to exercise an error path"


async def test_a_prefetched_value_is_read_without_calling_the_resolver():
    SHELVES["s"] = Shelf(items=[_item(1, _best_price=Price(amount_minor=7, currency="USD")), _item(2, _best_price=None),
                                _item(3)], maybe_items=None, required_items=[], label="r")
    RESOLVER_CALLS.clear()
    r = await SHORT.execute('{ shelf(name: "s") { items { bestPrice { amountMinor currency } } } }')
    assert r.errors is None
    assert [i["bestPrice"] for i in r.data["shelf"]["items"]] == [
        {"amountMinor": 7, "currency": "USD"}, None, {"amountMinor": -1, "currency": "bestPrice"}]
    assert RESOLVER_CALLS == ["bestPrice:item 3"]  # only where nothing was fetched


async def test_node_ids_are_strawberrys():
    SHELVES["s"] = Shelf(items=[_item(i) for i in (1, 42, 10**12)], maybe_items=None, required_items=[], label="n")
    general, short = await _both('{ shelf(name: "s") { items { id } } }')
    assert short == general
    ids = [i["id"] for i in short["data"]["shelf"]["items"]]
    assert [relay.GlobalID.from_id(i).node_id for i in ids] == ["1", "42", str(10**12)]
    assert {relay.GlobalID.from_id(i).type_name for i in ids} == {"Item"}


@strawberry.type
class Custom(relay.Node):
    code: relay.NodeID[str]

    @classmethod
    def resolve_id(cls, root, *, info):
        return f"custom-{root.code}"


@strawberry.type
class CustomQuery:
    @strawberry.field
    def customs(self) -> list[Custom]:
        return [Custom(code="a"), Custom(code="b")]


async def test_a_node_with_its_own_resolve_id_keeps_it():
    answers = []
    for context_class in (StrawberryGraphQLCoreExecutionContext, LeadwireExecutionContext):
        schema = strawberry.Schema(query=CustomQuery, execution_context_class=context_class)
        r = await schema.execute("{ customs { id } }")
        assert r.errors is None
        answers.append(r.data)
    assert answers[0] == answers[1]
    assert relay.GlobalID.from_id(answers[1]["customs"][0]["id"]).node_id == "custom-a"
