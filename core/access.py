"""Who may see what. The one home of the visibility rules (seed 003).

- Everything is scoped to the viewer's account: a session or token belongs to
  exactly one membership, so nothing of another account is ever reachable.
- A user sees the leads assigned to them and to everyone below them in the
  manager tree, never above or beside. The owner, who has overall control of
  the account, sees every lead of it, assigned or not.
- A user sees their own membership and the memberships below them; the owner
  sees all of the account's users.
- Operator staff see partner accounts (to manage the marketplace) and every
  marketplace lead (those of the operator's own account), never a partner's
  users or the partner's copies of leads through these paths.

Every read path (lists, ``node(id:)``, search, counts, reports, exports,
subscriptions) starts from one of the querysets below, and every single-row
lookup goes through :func:`visible_lead` / :func:`visible_membership`, which
answer ``None`` both for "does not exist" and "not yours".
"""

from __future__ import annotations

from dataclasses import dataclass

from tortoise.expressions import Subquery
from tortoise.models import Model
from tortoise.queryset import QuerySet

from leadwire.core.errors import ErrorCode, Forbidden
from leadwire.core.models.identity import Account, AccountKind, Membership
from leadwire.core.models.calls import Call, CallAttempt, CallStatus, TrackingNumber
from leadwire.core.models.delivery import Delivery
from leadwire.core.models.leads import Lead
from leadwire.core.models.marketplace import LeadSale
from leadwire.core.models.returns import ReturnRequest


@dataclass(frozen=True)
class Viewer:
    """The authenticated user of one request, rebuilt from the database every time
    (so barring takes effect on the very next request)."""

    person_id: int
    membership_id: int
    account_id: int
    account_kind: AccountKind
    is_owner: bool
    tree_path: str
    email: str
    name: str
    time_zone: str

    @property
    def is_operator(self) -> bool:
        return self.account_kind == AccountKind.OPERATOR

    @classmethod
    def from_membership(cls, m: Membership) -> Viewer:
        """``m`` with ``person`` and ``account`` fetched."""
        return cls(
            person_id=m.person_id,
            membership_id=m.id,
            account_id=m.account_id,
            account_kind=AccountKind(m.account.kind),
            is_owner=m.is_owner,
            tree_path=m.tree_path,
            email=m.person.email,
            name=m.person.name,
            time_zone=m.person.time_zone,
        )


def visible_leads(viewer: Viewer) -> QuerySet[Lead]:
    # A deleted lead (core.workspace.delete_lost_leads) is gone from every path.
    qs = Lead.filter(account_id=viewer.account_id, deleted_at__isnull=True)
    if viewer.is_owner or viewer.is_operator:
        return qs
    return qs.filter(assignee__tree_path__startswith=viewer.tree_path)


def visible_deliveries(viewer: Viewer) -> QuerySet[Delivery]:
    """Deliveries follow the buyer's copy of the lead: whoever sees that lead
    sees how it was delivered. Operator staff see every delivery: they run
    the marketplace and already see every lead and sale."""
    if viewer.is_operator:
        return Delivery.all()
    return Delivery.filter(account_id=viewer.account_id, buyer_lead_id__in=Subquery(visible_leads(viewer).values("id")))


def visible_sales(viewer: Viewer) -> QuerySet[LeadSale]:
    """Sales (purchases) follow the buyer's copy of the lead, like deliveries: the
    whole account's for its owner, the subtree's leads' for a manager or rep,
    every sale for operator staff (reports sum spend over these)."""
    if viewer.is_operator:
        return LeadSale.all()
    qs = LeadSale.filter(account_id=viewer.account_id)
    if viewer.is_owner:
        return qs
    return qs.filter(buyer_lead_id__in=Subquery(visible_leads(viewer).values("id")))


def visible_memberships(viewer: Viewer) -> QuerySet[Membership]:
    qs = Membership.filter(account_id=viewer.account_id)
    if viewer.is_owner:
        return qs
    return qs.filter(tree_path__startswith=viewer.tree_path)


def visible_accounts(viewer: Viewer) -> QuerySet[Account]:
    if viewer.is_operator:
        return Account.all()
    return Account.filter(id=viewer.account_id)


async def visible_lead(viewer: Viewer, lead_id: int) -> Lead | None:
    return await visible_leads(viewer).get_or_none(id=lead_id)


async def visible_membership(viewer: Viewer, membership_id: int) -> Membership | None:
    return await visible_memberships(viewer).get_or_none(id=membership_id)


def can_see_membership_path(viewer: Viewer, tree_path: str, account_id: int) -> bool:
    """The same rule as visible_memberships, for a row already in memory
    (subscriptions filter events with it)."""
    if account_id != viewer.account_id:
        return False
    return viewer.is_owner or tree_path.startswith(viewer.tree_path)


# -- money (core.ledger, core.payments, core.autocharge, core.returns, core.accounts_closing) --
#
# An account's money (ledger, cards, payments, refunds, auto-charge, its
# notifications) is seen by its owner, who sets it up, and by operator staff.
# Other users of a partner account see its balance (Account.balance) but no
# entry: a lead charge would reveal a lead they may not see. Returns follow
# the lead: whoever sees a bought lead sees (and may ask for) its return.


def can_see_money(viewer: Viewer, account_id: int) -> bool:
    return viewer.is_operator or (viewer.is_owner and viewer.account_id == account_id)


def visible_money(viewer: Viewer, model: type[Model]) -> QuerySet:
    """Rows of a per-account money model (one with ``account_id``) the viewer may see."""
    if viewer.is_operator:
        return model.all()
    if viewer.is_owner:
        return model.filter(account_id=viewer.account_id)
    return model.filter(id__in=[])


def visible_returns(viewer: Viewer) -> QuerySet[ReturnRequest]:
    if viewer.is_operator:
        return ReturnRequest.all()
    qs = ReturnRequest.filter(account_id=viewer.account_id)
    if viewer.is_owner:
        return qs
    return qs.filter(buyer_lead_id__in=Subquery(visible_leads(viewer).values("id")))


def require_partner_owner(viewer: Viewer, action: str) -> None:
    """Money settings of a partner account: its owner only (not operator staff)."""
    if viewer.is_operator or not viewer.is_owner:
        raise Forbidden(f"Only a partner account's owner can {action}.", code=ErrorCode.OWNER_REQUIRED)


# -- the sales workspace (core.workspace) --------------------------------------
#
# Its set-up (pipeline, lost reasons, feedback questions, assignment rules,
# imports, the registration page) belongs to the owner: seed 003's Set Up
# section. Every user of the account reads the pipeline, the lost reasons and
# the feedback questions (they need them to work their leads); the rules, the
# imports and the page only the owner. Working a lead (stage, won/lost, value,
# feedback answers) is for whoever sees it. Assigning stays within the
# assigner's visibility: the lead must be visible to them and the new assignee
# at or below them, and not barred. Reports count the viewer's visible leads.


def workspace_rows(viewer: Viewer, model: type[Model]) -> QuerySet:
    """Rows of a per-account workspace model (one with ``account_id``): the viewer's account only."""
    return model.filter(account_id=viewer.account_id)


def assignable_memberships(viewer: Viewer) -> QuerySet[Membership]:
    """Users the viewer may assign leads to: themselves and everyone below them
    (the owner: everyone), barred users excepted."""
    return visible_memberships(viewer).filter(barred_at__isnull=True)


def require_owner(viewer: Viewer, action: str) -> None:
    if not viewer.is_owner:
        raise Forbidden(f"Only the account owner can {action}.", code=ErrorCode.OWNER_REQUIRED)


# -- call leads (core.calls) ---------------------------------------------------------------


def visible_tracking_numbers(viewer: Viewer) -> QuerySet[TrackingNumber]:
    """The operator's own numbers; partners never see the marketplace's numbers."""
    if not viewer.is_operator:
        return TrackingNumber.filter(id__in=[])
    return TrackingNumber.filter(account_id=viewer.account_id)


def visible_call_rings(viewer: Viewer) -> QuerySet[CallAttempt]:
    """Each time a call rang a campaign. Operator staff: every ring. A partner's
    owner: the rings of the account's campaigns (answered, missed or short),
    which is how it manages its calls. Other users: the rings of the calls
    whose bought lead they see."""
    if viewer.is_operator:
        return CallAttempt.all()
    qs = CallAttempt.filter(campaign__account_id=viewer.account_id)
    if viewer.is_owner:
        return qs
    return qs.filter(call__buyer_lead_id__in=Subquery(visible_leads(viewer).values("id")))


def caller_number_for(viewer: Viewer, call: Call) -> str:
    """The caller's number in full for operator staff and for the account that
    was billed for the call (it bought the lead); masked for a partner whose
    phone rang but who did not buy it (missed, or shorter than the minimum)."""
    if viewer.is_operator:
        return call.caller
    if call.status == CallStatus.BILLED and call.buyer_lead_id is not None and call.buyer_account_id == viewer.account_id:
        return call.caller
    return mask_phone(call.caller)


def mask_phone(number: str) -> str:
    """+13135550123 -> +1313*****23: the area (where the call came from), not the person."""
    if len(number) <= 7:
        return "*" * len(number)
    return number[:5] + "*" * (len(number) - 7) + number[-2:]


def require_operator(viewer: Viewer, action: str) -> None:
    if not viewer.is_operator:
        raise Forbidden(f"Only marketplace operator staff can {action}.")
