"""GraphQL types of money: the ledger, cards on file, payments, refunds,
auto-charge, returns, notifications and the ledger check. Who sees what is
decided in core.access (an account's money: its owner and operator staff)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry import relay
from strawberry.scalars import JSON
from strawberry.types import Info

from leadwire.core import access, ledger, payments
from leadwire.core.models import ledger as lm
from leadwire.core.models import money as mm
from leadwire.core.models import returns as rm
from leadwire.schema.marketplace.types import Money
from leadwire.schema.relay import Connection, paginate

if TYPE_CHECKING:
    from leadwire.schema.identity.types import Account
    from leadwire.schema.leads.types import Lead

IDENTITY = "leadwire.schema.identity.types"
LEADS = "leadwire.schema.leads.types"

LedgerEntryKind = strawberry.enum(lm.EntryKind, name="LedgerEntryKind")
PaymentStatus = strawberry.enum(mm.PaymentStatus, name="PaymentStatus")
PaymentPurpose = strawberry.enum(mm.PaymentPurpose, name="PaymentPurpose")
RefundStatus = strawberry.enum(mm.RefundStatus, name="RefundStatus")
AutoChargeState = strawberry.enum(mm.AutoChargeState, name="AutoChargeState")
NotificationKind = strawberry.enum(mm.NotificationKind, name="NotificationKind")
ClosureKind = strawberry.enum(mm.ClosureKind, name="ClosureKind")
ReturnReason = strawberry.enum(rm.ReturnReason, name="ReturnReason", description=(
    "Why a lead is returned. Valid for web leads: NO_WORKING_PHONE, NEVER_REQUESTED_QUOTE, OUTSIDE_FILTER_AT_DELIVERY; "
    "for call leads: WRONG_NUMBER, NO_CUSTOMER_ON_LINE, DUPLICATE_CALLER, OUTSIDE_FILTER_AT_DELIVERY. The others are "
    "the marketplace's invalid reasons, refused with the explanation."))
ReturnStatus = strawberry.enum(rm.ReturnStatus, name="ReturnStatus")


def money(amount_minor: int, currency: str = ledger.MARKET_CURRENCY) -> Money:
    return Money(amount_minor=amount_minor, currency=currency)


async def _account(info: Info, account_id: int) -> Annotated["Account", strawberry.lazy(IDENTITY)] | None:
    from leadwire.schema.identity.types import Account

    row = await info.context.loaders.account.load(account_id)
    return Account.from_row(row) if row else None


@strawberry.type(description="One movement of money on a partner's ledger. Entries are never changed or deleted: "
                 "the balance is always the sum of the account's entries.")
class LedgerEntry(relay.Node):
    id: relay.NodeID[int]
    kind: LedgerEntryKind
    amount: Money = strawberry.field(description="Signed: a charge, refund or fee is negative.")
    credit_amount: Money = strawberry.field(
        description="The part of the amount that moved the account's credits (approved returns, goodwill): the "
        "part of the balance that is spent first and never refunded."
    )
    memo: str = strawberry.field(description="What it is; for an adjustment, the operator's reason.")
    created_at: datetime
    _account_id: strawberry.Private[int]
    _sale_id: strawberry.Private[int | None]
    _payment_id: strawberry.Private[int | None]

    @classmethod
    def from_row(cls, r: lm.LedgerEntry) -> LedgerEntry:
        return cls(
            id=r.id, kind=r.kind, amount=money(r.amount_minor, r.currency), credit_amount=money(r.credit_minor, r.currency),
            memo=r.memo, created_at=r.created_at, _account_id=r.account_id, _sale_id=r.sale_id, _payment_id=r.payment_id,
        )

    @strawberry.field(description="For a lead charge: the lead (the partner's copy; for operator staff, the marketplace lead).")
    async def lead(self, info: Info) -> Annotated["Lead", strawberry.lazy(LEADS)] | None:
        from leadwire.core.models.marketplace import LeadSale
        from leadwire.schema.leads.types import Lead

        if self._sale_id is None:
            return None
        sale = await LeadSale.get_or_none(id=self._sale_id)
        if sale is None:
            return None
        viewer = info.context.viewer
        row = await access.visible_lead(viewer, sale.lead_id if viewer.is_operator else sale.buyer_lead_id)
        return Lead.from_row(row) if row else None

    @strawberry.field(description="For a deposit: the payment.")
    async def payment(self, info: Info) -> Payment | None:
        if self._payment_id is None:
            return None
        row = await access.visible_money(info.context.viewer, mm.Payment).get_or_none(id=self._payment_id)
        return Payment.from_row(row) if row else None


@strawberry.type(description="A card on file: what the gateway lets us show of it. Card numbers never reach Leadwire.")
class PaymentMethod(relay.Node):
    id: relay.NodeID[int]
    gateway: str
    brand: str
    last4: str
    exp_month: int
    exp_year: int
    is_default: bool
    label: str = strawberry.field(description='e.g. "Visa ending 4242".')
    created_at: datetime

    @classmethod
    def from_row(cls, r: mm.PaymentMethod) -> PaymentMethod:
        return cls(id=r.id, gateway=r.gateway, brand=r.brand, last4=r.last4, exp_month=r.exp_month, exp_year=r.exp_year,
                   is_default=r.default_slot == 1, label=r.label, created_at=r.created_at)


@strawberry.type(description="Money paid in: funds added, an auto-charge, or a payment the operator recorded.")
class Payment(relay.Node):
    id: relay.NodeID[int]
    gateway: str
    purpose: PaymentPurpose
    status: PaymentStatus
    amount: Money
    method_label: str = strawberry.field(description='The card ("Visa ending 4242") or "Bank transfer" / "Check".')
    reference: str = strawberry.field(description="The gateway's id of the charge, or the transfer's / check's reference.")
    failure_code: str = strawberry.field(description="Why it failed, e.g. insufficient_funds.")
    failure_message: str
    refunded: Money = strawberry.field(description="How much of it went back to the partner when the account closed.")
    note: str
    created_at: datetime
    settled_at: datetime | None
    _account_id: strawberry.Private[int]

    @classmethod
    def from_row(cls, r: mm.Payment) -> Payment:
        return cls(
            id=r.id, gateway=r.gateway, purpose=r.purpose, status=r.status, amount=money(r.amount_minor, r.currency),
            method_label=r.method_label, reference=r.reference, failure_code=r.failure_code,
            failure_message=r.failure_message, refunded=money(r.refunded_minor, r.currency), note=r.note,
            created_at=r.created_at, settled_at=r.settled_at, _account_id=r.account_id,
        )

    @strawberry.field
    async def account(self, info: Info) -> Annotated["Account", strawberry.lazy(IDENTITY)] | None:
        return await _account(info, self._account_id)


@strawberry.type(description="Money sent back to a partner whose account closed, through the gateway it came from.")
class Refund(relay.Node):
    id: relay.NodeID[int]
    gateway: str
    status: RefundStatus
    amount: Money
    reference: str
    failure_message: str
    note: str
    created_at: datetime
    finished_at: datetime | None
    _account_id: strawberry.Private[int]
    _payment_id: strawberry.Private[int | None]

    @classmethod
    def from_row(cls, r: mm.Refund) -> Refund:
        return cls(
            id=r.id, gateway=r.gateway, status=r.status, amount=money(r.amount_minor, r.currency), reference=r.reference,
            failure_message=r.failure_message, note=r.note, created_at=r.created_at, finished_at=r.finished_at,
            _account_id=r.account_id, _payment_id=r.payment_id,
        )

    @strawberry.field(description="The payment it refunds (null: paid back by the operator).")
    async def payment(self, info: Info) -> Payment | None:
        if self._payment_id is None:
            return None
        row = await access.visible_money(info.context.viewer, mm.Payment).get_or_none(id=self._payment_id)
        return Payment.from_row(row) if row else None

    @strawberry.field
    async def account(self, info: Info) -> Annotated["Account", strawberry.lazy(IDENTITY)] | None:
        return await _account(info, self._account_id)


@strawberry.type(description="Auto-charge: when a sale takes the balance below the threshold, the card is charged the amount.")
class AutoChargeSettings:
    enabled: bool
    threshold: Money
    amount: Money
    state: AutoChargeState = strawberry.field(description="IDLE (armed), DUE (a charge is on its way) or SUSPENDED.")
    failures: int = strawberry.field(description="Failed charges in a row (suspended at the limit).")
    last_error: str
    suspended_at: datetime | None
    last_charged_at: datetime | None
    _payment_method_id: strawberry.Private[int | None]

    @classmethod
    def from_row(cls, r: mm.AutoCharge) -> AutoChargeSettings:
        return cls(
            enabled=r.enabled, threshold=money(r.threshold_minor), amount=money(r.amount_minor), state=r.state,
            failures=r.failures, last_error=r.last_error, suspended_at=r.suspended_at, last_charged_at=r.last_charged_at,
            _payment_method_id=r.payment_method_id,
        )

    @strawberry.field(description="The card charged; null means the default card.")
    async def payment_method(self) -> PaymentMethod | None:
        if self._payment_method_id is None:
            return None
        row = await mm.PaymentMethod.get_or_none(id=self._payment_method_id, removed_at__isnull=True)
        return PaymentMethod.from_row(row) if row else None


@strawberry.type(description="A message to the account's owner about its money.")
class Notification(relay.Node):
    id: relay.NodeID[int]
    kind: NotificationKind
    title: str
    body: str
    created_at: datetime
    read: bool

    @classmethod
    def from_row(cls, r: mm.Notification) -> Notification:
        return cls(id=r.id, kind=r.kind, title=r.title, body=r.body, created_at=r.created_at, read=r.read_at is not None)


@strawberry.type(description="A payment gateway a plugin provides.")
class PaymentGatewayInfo:
    name: str
    label: str
    description: str
    saves_payment_methods: bool = strawberry.field(description="Cards on file: add funds and auto-charge.")
    operator_recorded: bool = strawberry.field(description="Payments the operator records (bank transfers, checks).")
    public_config: JSON = strawberry.field(description='What the browser needs, e.g. {"publishable_key": "pk_..."}.')

    @classmethod
    def from_installed(cls, g: payments.InstalledGateway) -> PaymentGatewayInfo:
        return cls(name=g.name, label=g.gateway.label or g.name, description=g.gateway.description,
                   saves_payment_methods=g.gateway.saves_payment_methods, operator_recorded=g.gateway.operator_recorded,
                   public_config=dict(g.gateway.public_config(g.plugin_config)))


@strawberry.type(description="An account whose balance is not the sum of its ledger entries (or whose credits are not).")
class LedgerProblem:
    account_id: relay.GlobalID
    account_name: str
    balance: Money
    ledger_sum: Money
    credits: Money
    credit_sum: Money
    description: str


@strawberry.type(description="The ledger check: for every account, balance = sum of entries >= 0 and 0 <= credits <= balance.")
class LedgerCheck:
    ok: bool
    accounts_checked: int
    problems: list[LedgerProblem]

    @classmethod
    def from_report(cls, report: ledger.LedgerReport) -> LedgerCheck:
        return cls(ok=report.ok, accounts_checked=report.accounts_checked, problems=[
            LedgerProblem(
                account_id=relay.GlobalID("Account", str(p.account_id)), account_name=p.account_name,
                balance=money(p.balance_minor), ledger_sum=money(p.ledger_sum_minor), credits=money(p.credit_minor),
                credit_sum=money(p.credit_sum_minor), description=p.describe(),
            ) for p in report.problems
        ])


# -- returns -----------------------------------------------------------------------------------


@strawberry.type(description="A request to return a bought lead for credit (seed 000's return rules).")
class ReturnRequest(relay.Node):
    id: relay.NodeID[int]
    reason: ReturnReason
    reason_label: str
    note: str = strawberry.field(description="The partner's note.")
    status: ReturnStatus
    amount: Money = strawberry.field(description="The lead's price: the credit if approved.")
    requested_at: datetime
    due_at: datetime = strawberry.field(description="The review is due by then (10 days after the request).")
    overdue: bool = strawberry.field(description="Still pending after its due date.")
    reviewed_at: datetime | None
    review_note: str = strawberry.field(description="The operator's note.")
    evidence: list[str] = strawberry.field(
        description="What Leadwire checked (the filter at delivery, the routing trace), for the operator."
    )
    _account_id: strawberry.Private[int]
    _sale_id: strawberry.Private[int]
    _buyer_lead_id: strawberry.Private[int]

    @classmethod
    def from_row(cls, r: rm.ReturnRequest) -> ReturnRequest:
        from leadwire.core import returns as core_returns
        from leadwire.core.identity import now

        label = core_returns.VALID_REASONS.get(rm.ReturnReason(r.reason), "")
        return cls(
            id=r.id, reason=r.reason, reason_label=label, note=r.note, status=r.status,
            amount=money(r.amount_minor, r.currency), requested_at=r.requested_at, due_at=r.due_at,
            overdue=r.status == rm.ReturnStatus.PENDING and r.due_at < now(), reviewed_at=r.reviewed_at,
            review_note=r.review_note, evidence=list(r.evidence or []), _account_id=r.account_id, _sale_id=r.sale_id,
            _buyer_lead_id=r.buyer_lead_id,
        )

    @strawberry.field(description="The lead (the partner's copy; for operator staff, the marketplace lead).")
    async def lead(self, info: Info) -> Annotated["Lead", strawberry.lazy(LEADS)] | None:
        from leadwire.core.models.marketplace import LeadSale
        from leadwire.schema.leads.types import Lead

        viewer = info.context.viewer
        lead_id = self._buyer_lead_id
        if viewer.is_operator:
            sale = await LeadSale.get_or_none(id=self._sale_id)
            lead_id = sale.lead_id if sale else 0
        row = await access.visible_lead(viewer, lead_id)
        return Lead.from_row(row) if row else None

    @strawberry.field
    async def account(self, info: Info) -> Annotated["Account", strawberry.lazy(IDENTITY)] | None:
        from leadwire.core.models.identity import Account as AccountRow
        from leadwire.schema.identity.types import Account

        row = await access.visible_accounts(info.context.viewer).get_or_none(id=self._account_id)
        return Account.from_row(row) if isinstance(row, AccountRow) else None


@strawberry.type(description="Whether a bought lead can be returned now, and until when.")
class ReturnEligibility:
    returnable: bool
    delivered_at: datetime
    closes_at: datetime = strawberry.field(
        description="The same local time 7 calendar days after delivery, in the partner's time zone (the buying campaign's)."
    )
    time_zone: str
    why_not: str
    return_request: ReturnRequest | None


@strawberry.type(description="Leads bought and returns requested by one partner.")
class ReturnStats:
    sales: int
    requested: int
    approved: int
    declined: int
    pending: int
    rate: float = strawberry.field(description="Returns requested per lead bought.")
    approved_rate: float


@strawberry.type(description="The operator's flag on a partner suspected of abusing returns.")
class AccountFlag:
    note: str
    created_at: datetime
    cleared_at: datetime | None
    clear_note: str

    @classmethod
    def from_row(cls, r: mm.AccountFlag) -> AccountFlag:
        return cls(note=r.note, created_at=r.created_at, cleared_at=r.cleared_at, clear_note=r.clear_note)


# -- closing -----------------------------------------------------------------------------------


@strawberry.type(description="What closing the account now would refund.")
class ClosingQuote:
    balance: Money
    credits: Money = strawberry.field(description="Not refunded.")
    refundable: Money = strawberry.field(description="Money the partner deposited and has not spent.")
    fee: Money = strawberry.field(description="$50 when closing within 30 days of the first activation.")
    refund: Money
    first_activated_at: datetime | None
    fee_until: datetime | None = strawberry.field(description="From this moment on, closing costs no fee.")


@strawberry.type(description="How the account was closed and what was paid out.")
class AccountClosure:
    kind: ClosureKind
    closed_at: datetime
    note: str
    balance: Money = strawberry.field(description="The balance just before closing.")
    credits: Money = strawberry.field(description="Credits in it, not refunded.")
    refundable: Money
    fee: Money
    refund: Money
    _id: strawberry.Private[int]

    @classmethod
    def from_row(cls, r: mm.AccountClosure) -> AccountClosure:
        return cls(kind=r.kind, closed_at=r.closed_at, note=r.note, balance=money(r.balance_minor), credits=money(r.credit_minor),
                   refundable=money(r.refundable_minor), fee=money(r.fee_minor), refund=money(r.refund_minor), _id=r.id)

    @strawberry.field(description="The refunds, one per deposit the money came from.")
    async def refunds(self, info: Info) -> list[Refund]:
        rows = await access.visible_money(info.context.viewer, mm.Refund).filter(closure_id=self._id).order_by("id")
        return [Refund.from_row(r) for r in rows]


@strawberry.type
class AccountMoneyReturns:
    """Mixed into AccountMoney: returns, closing and abuse."""

    _account_id: strawberry.Private[int]

    @strawberry.field(description="Leads bought and returns requested, all time or over the last `days`.")
    async def return_stats(self, days: int | None = None) -> ReturnStats:
        from leadwire.core import returns as core_returns

        s = await core_returns.return_stats(self._account_id, days=days)
        return ReturnStats(sales=s.sales, requested=s.requested, approved=s.approved, declined=s.declined,
                           pending=s.pending, rate=s.rate, approved_rate=s.approved_rate)

    @strawberry.field(description="What closing the account now would refund (for a cancellation by the owner).")
    async def closing_quote(self) -> ClosingQuote | None:
        from leadwire.core import accounts_closing
        from leadwire.core.models.identity import Account as AccountRow, AccountStatus

        if not await AccountRow.exists(id=self._account_id, status=AccountStatus.ACTIVE):
            return None
        q = await accounts_closing.quote(self._account_id)
        return ClosingQuote(balance=money(q.balance_minor), credits=money(q.credit_minor), refundable=money(q.refundable_minor),
                            fee=money(q.fee_minor), refund=money(q.refund_minor), first_activated_at=q.first_activated_at,
                            fee_until=q.fee_until)

    @strawberry.field(description="How the account was closed, once it is.")
    async def closure(self) -> AccountClosure | None:
        row = await mm.AccountClosure.get_or_none(account_id=self._account_id)
        return AccountClosure.from_row(row) if row else None

    @strawberry.field(description="Operator staff only: the return-abuse flag in force, if any.")
    async def abuse_flag(self, info: Info) -> AccountFlag | None:
        from leadwire.core import returns as core_returns

        if not info.context.viewer.is_operator:
            return None
        row = await core_returns.active_flag(self._account_id)
        return AccountFlag.from_row(row) if row else None


@strawberry.type(description="A partner's money, for its owner and operator staff.")
class AccountMoney(AccountMoneyReturns):
    _account_id: strawberry.Private[int]

    async def _row(self, info: Info):
        return await info.context.loaders.account.load(self._account_id)

    @strawberry.field(description="The prepaid balance.")
    async def balance(self, info: Info) -> Money:
        return money((await self._row(info)).balance_minor)

    @strawberry.field(description="The part of the balance that is credits: spent first, never refunded.")
    async def credits(self, info: Info) -> Money:
        return money((await self._row(info)).credit_minor)

    @strawberry.field(description="Money the partner deposited and has not spent: what closing the account refunds "
                      "(less the fee within 30 days of the first activation).")
    async def refundable(self, info: Info) -> Money:
        row = await self._row(info)
        return money(row.balance_minor - row.credit_minor)

    @strawberry.field(description="The ledger, newest first.")
    async def ledger(self, info: Info, first: int | None = None, after: str | None = None,
                     kind: LedgerEntryKind | None = None) -> Connection[LedgerEntry]:
        qs = access.visible_money(info.context.viewer, lm.LedgerEntry).filter(account_id=self._account_id)
        if kind is not None:
            qs = qs.filter(kind=kind.value)
        return await paginate(qs, first=first, after=after, max_page_size=info.context.settings.max_page_size,
                              to_node=LedgerEntry.from_row)

    @strawberry.field(description="Cards on file, the default first.")
    async def payment_methods(self, info: Info) -> list[PaymentMethod]:
        rows = await access.visible_money(info.context.viewer, mm.PaymentMethod).filter(
            account_id=self._account_id, removed_at__isnull=True).order_by("default_slot", "-id")
        rows = sorted(rows, key=lambda r: (r.default_slot != 1, -r.id))
        return [PaymentMethod.from_row(r) for r in rows]

    @strawberry.field(description="Payments in, newest first.")
    async def payments(self, info: Info, first: int | None = None, after: str | None = None,
                       status: PaymentStatus | None = None) -> Connection[Payment]:
        qs = access.visible_money(info.context.viewer, mm.Payment).filter(account_id=self._account_id)
        if status is not None:
            qs = qs.filter(status=status.value)
        return await paginate(qs, first=first, after=after, max_page_size=info.context.settings.max_page_size,
                              to_node=Payment.from_row)

    @strawberry.field(description="Auto-charge settings; null until first set up.")
    async def auto_charge(self, info: Info) -> AutoChargeSettings | None:
        row = await access.visible_money(info.context.viewer, mm.AutoCharge).get_or_none(account_id=self._account_id)
        return AutoChargeSettings.from_row(row) if row else None
