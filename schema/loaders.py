"""Per-request DataLoaders, so that no list resolver runs a query per row."""

from __future__ import annotations

from strawberry.dataloader import DataLoader

from leadwire.core.models.delivery import DeliveryAttempt
from leadwire.core.models.identity import Account, Membership


async def _memberships(ids: list[int]) -> list[Membership | None]:
    rows = {m.id: m for m in await Membership.filter(id__in=ids).select_related("person")}
    return [rows.get(i) for i in ids]


async def _accounts(ids: list[int]) -> list[Account | None]:
    rows = {a.id: a for a in await Account.filter(id__in=ids)}
    return [rows.get(i) for i in ids]


async def _delivery_attempts(delivery_ids: list[int]) -> list[list[DeliveryAttempt]]:
    by_delivery: dict[int, list[DeliveryAttempt]] = {i: [] for i in delivery_ids}
    for a in await DeliveryAttempt.filter(delivery_id__in=delivery_ids).order_by("number"):
        by_delivery[a.delivery_id].append(a)
    return [by_delivery[i] for i in delivery_ids]


class Loaders:
    """Raw rows by id; visibility is checked by the resolver that uses them
    (through core.access), never assumed from the loader."""

    def __init__(self) -> None:
        self.membership = DataLoader(load_fn=_memberships)
        self.account = DataLoader(load_fn=_accounts)
        # Attempts of deliveries the resolver already found visible.
        self.delivery_attempts = DataLoader(load_fn=_delivery_attempts)
