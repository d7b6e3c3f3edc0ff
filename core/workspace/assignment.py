"""Assignment rules and manual assignment (seed 003).

Rules match new leads on their fields (state, ZIP prefix, product, industry,
origin, a missing phone number or e-mail, and the industry's own fields) and
are tried by priority, lowest first. The first rule that matches and has a
user who is not barred assigns the lead:

- ``single``: to its one user;
- ``round_robin``: to its users in turn. The rule's ``turn`` counter is
  advanced by a conditional increment inside the assignment's transaction;
  that write locks the rule's row (PostgreSQL) or the database (SQLite) until
  commit, so concurrent assignments in any number of processes take distinct
  turns and the spread is exact. Barred users are skipped;
- ``least_busy``: to the user with the fewest open leads (not won, lost or
  deleted), counted after taking the same lock, so two concurrent leads
  cannot both see the same user as the least busy; ties go round in turn;
- ``manual``: to its one user, who then assigns by hand: the lead waits in
  their queue (``awaiting_assignment``).

A lead no rule assigns goes to the account's manual queue: its dispatcher
(``Workspace.manual_assignee``, the owner by default) assigns it by hand.
Every assignment is recorded on the lead: the method, the rule that made it,
when.

Manual (re)assignment, one lead or in bulk, stays within the assigner's
visibility (core.access.assignable_memberships and visible_leads).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any, Iterable

from tortoise.expressions import F, Subquery
from tortoise.functions import Count
from tortoise.transactions import in_transaction

from leadwire.core import events
from leadwire.core.access import (
    Viewer,
    assignable_memberships,
    require_owner,
    visible_leads,
    visible_memberships,
    workspace_rows,
)
from leadwire.core.campaigns import US_STATES
from leadwire.core.errors import DomainError, ErrorCode, FieldError, not_found
from leadwire.core.identity import check_name, now
from leadwire.core.models.identity import Membership
from leadwire.core.models.leads import Lead, LeadOrigin
from leadwire.core.models.marketplace import Industry, Product
from leadwire.core.models.workspace import AssignmentMethod, AssignmentRule, AssignmentRuleMember, Workspace
from leadwire.core.workspace.setup import ensure_workspace

RULE_METHODS = (AssignmentMethod.SINGLE, AssignmentMethod.ROUND_ROBIN, AssignmentMethod.LEAST_BUSY, AssignmentMethod.MANUAL)
ONE_USER = (AssignmentMethod.SINGLE, AssignmentMethod.MANUAL)
MAX_RULE_USERS = 200
MAX_LIST = 1000
MAX_BULK = 500
_ZIP_PREFIX = re.compile(r"^\d{1,5}$")
_DATA_KEY = re.compile(r"^[a-z][a-z0-9_]{0,59}$")


# -- conditions -------------------------------------------------------------------------


@dataclass
class RuleConditions:
    """What a lead must have for the rule to take it: every condition given
    must hold; a list holds when the lead's value is in it. No condition at
    all: every lead (a catch-all, usually the last rule)."""

    states: list[str] = field(default_factory=list)
    postal_codes: list[str] = field(default_factory=list)  # ZIP codes or prefixes ("481" = 481xx)
    product_ids: list[int] = field(default_factory=list)
    industry_ids: list[int] = field(default_factory=list)
    origins: list[LeadOrigin] = field(default_factory=list)
    missing_phone: bool | None = None  # True: only leads without a phone number; False: only with one
    missing_email: bool | None = None
    data: dict[str, list[str]] = field(default_factory=dict)  # industry field -> accepted values

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key in ("states", "postal_codes", "product_ids", "industry_ids"):
            if getattr(self, key):
                out[key] = list(getattr(self, key))
        if self.origins:
            out["origins"] = [LeadOrigin(o).value for o in self.origins]
        for key in ("missing_phone", "missing_email"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        if self.data:
            out["data"] = {k: list(v) for k, v in self.data.items()}
        return out

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> RuleConditions:
        return cls(
            states=raw.get("states", []), postal_codes=raw.get("postal_codes", []),
            product_ids=raw.get("product_ids", []), industry_ids=raw.get("industry_ids", []),
            origins=[LeadOrigin(o) for o in raw.get("origins", [])], missing_phone=raw.get("missing_phone"),
            missing_email=raw.get("missing_email"), data=raw.get("data", {}),
        )


def _data_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def matches(c: dict[str, Any], lead: Lead) -> bool:
    """Whether a lead (saved or not) meets a rule's stored conditions."""
    if c.get("states") and lead.state not in c["states"]:
        return False
    if c.get("postal_codes") and not any((lead.postal_code or "").startswith(p) for p in c["postal_codes"]):
        return False
    if c.get("product_ids") and lead.product_id not in c["product_ids"]:
        return False
    if c.get("industry_ids") and lead.industry_id not in c["industry_ids"]:
        return False
    if c.get("origins") and LeadOrigin(lead.origin).value not in c["origins"]:
        return False
    if c.get("missing_phone") is not None and c["missing_phone"] != (not lead.phone):
        return False
    if c.get("missing_email") is not None and c["missing_email"] != (not lead.email):
        return False
    for key, accepted in (c.get("data") or {}).items():
        value = (lead.data or {}).get(key)
        if value is None or _data_text(value).casefold() not in {a.casefold() for a in accepted}:
            return False
    return True


async def _check_conditions(c: RuleConditions) -> RuleConditions:
    errors: list[FieldError] = []

    def bad(name: str, message: str) -> None:
        errors.append(FieldError(f"conditions.{name}", ErrorCode.INVALID, message))

    states = sorted({s.strip().upper() for s in c.states})
    if unknown := [s for s in states if s not in US_STATES]:
        bad("states", f"Unknown US state code(s): {', '.join(unknown)}.")
    prefixes = sorted({p.strip() for p in c.postal_codes})
    if wrong := [p for p in prefixes if not _ZIP_PREFIX.match(p)]:
        bad("postal_codes", f"A ZIP code or prefix is 1 to 5 digits: {', '.join(wrong[:5])}.")
    for name, values in (("states", states), ("postal_codes", prefixes), ("product_ids", c.product_ids),
                         ("industry_ids", c.industry_ids)):
        if len(values) > MAX_LIST:
            bad(name, f"At most {MAX_LIST} values.")
    if c.product_ids and await Product.filter(id__in=c.product_ids).count() != len(set(c.product_ids)):
        errors.append(FieldError("conditions.product_ids", ErrorCode.NOT_FOUND, "No product with one of these ids."))
    if c.industry_ids and await Industry.filter(id__in=c.industry_ids).count() != len(set(c.industry_ids)):
        errors.append(FieldError("conditions.industry_ids", ErrorCode.NOT_FOUND, "No industry with one of these ids."))
    data: dict[str, list[str]] = {}
    for key, values in (c.data or {}).items():
        if not isinstance(key, str) or not _DATA_KEY.match(key):
            bad("data", f"{key!r} is not a lead field name (lower case letters, digits and _).")
            continue
        if isinstance(values, (str, int, float, bool)):
            values = [values]
        if not isinstance(values, list) or not values or len(values) > 100:
            bad(f"data.{key}", "Give 1 to 100 accepted values.")
            continue
        data[key] = [_data_text(v) for v in values]
    if errors:
        raise DomainError(*errors)
    return RuleConditions(
        states=states, postal_codes=prefixes, product_ids=sorted(set(c.product_ids)),
        industry_ids=sorted(set(c.industry_ids)), origins=list(dict.fromkeys(LeadOrigin(o) for o in c.origins)),
        missing_phone=c.missing_phone, missing_email=c.missing_email, data=data,
    )


# -- rules (the owner) --------------------------------------------------------------------


async def rules(viewer: Viewer) -> list[AssignmentRule]:
    require_owner(viewer, "see the assignment rules")
    return await workspace_rows(viewer, AssignmentRule).order_by("priority", "id")


async def _rule_of(viewer: Viewer, rule_id: int | None, conn=None) -> AssignmentRule:
    rule = await workspace_rows(viewer, AssignmentRule).using_db(conn).get_or_none(id=rule_id) if rule_id else None
    if rule is None:
        raise not_found("rule_id", "assignment rule")
    return rule


async def _check_users(viewer: Viewer, method: AssignmentMethod, user_ids: list[int]) -> list[int]:
    if not user_ids:
        raise DomainError.single("user_ids", ErrorCode.REQUIRED, "Name the user(s) the rule assigns to.")
    if len(set(user_ids)) != len(user_ids):
        raise DomainError.single("user_ids", ErrorCode.DUPLICATE, "A user is listed twice.")
    if method in ONE_USER and len(user_ids) != 1:
        raise DomainError.single("user_ids", ErrorCode.INVALID, f"A {method.value} rule assigns to exactly one user.")
    if len(user_ids) > MAX_RULE_USERS:
        raise DomainError.single("user_ids", ErrorCode.TOO_LONG, f"At most {MAX_RULE_USERS} users in a rule.")
    found = {m.id: m for m in await visible_memberships(viewer).filter(id__in=user_ids)}
    errors = []
    for i, user_id in enumerate(user_ids):
        m = found.get(user_id)
        if m is None:
            errors.append(FieldError(f"user_ids.{i}", ErrorCode.NOT_FOUND, "No user with this id."))
        elif m.is_barred:
            errors.append(FieldError(f"user_ids.{i}", ErrorCode.BARRED, "This user is barred: leads cannot go to them."))
    if errors:
        raise DomainError(*errors)
    return user_ids


def _method(method: AssignmentMethod | str) -> AssignmentMethod:
    method = AssignmentMethod(method)
    if method not in RULE_METHODS:
        raise DomainError.single("method", ErrorCode.INVALID, "A rule assigns single, round_robin, least_busy or manual.")
    return method


async def create_rule(
    viewer: Viewer,
    *,
    name: str,
    method: AssignmentMethod,
    user_ids: list[int],
    conditions: RuleConditions,
    priority: int | None = None,
    active: bool = True,
) -> AssignmentRule:
    """A new rule, last in priority order unless ``priority`` puts it before others
    (0 = first)."""
    require_owner(viewer, "set up assignment rules")
    await ensure_workspace(viewer.account_id)
    errors: list[FieldError] = []
    values: dict[str, Any] = {}
    for key, check in (
        ("name", lambda: check_name(name, "name", "The rule's name", 100)),
        ("method", lambda: _method(method)),
    ):
        try:
            values[key] = check()
        except DomainError as exc:
            errors.extend(exc.errors)
    for key, check in (
        ("user_ids", lambda: _check_users(viewer, values.get("method", AssignmentMethod.ROUND_ROBIN), user_ids)),
        ("conditions", lambda: _check_conditions(conditions)),
    ):
        try:
            values[key] = await check()
        except DomainError as exc:
            errors.extend(exc.errors)
    if priority is not None and priority < 0:
        errors.append(FieldError("priority", ErrorCode.INVALID, "A priority is 0 (first) or more."))
    if errors:
        raise DomainError(*errors)
    async with in_transaction() as conn:
        existing = await workspace_rows(viewer, AssignmentRule).using_db(conn).order_by("priority", "id")
        position = len(existing) if priority is None else min(priority, len(existing))
        rule = await AssignmentRule.create(
            account_id=viewer.account_id, name=values["name"], method=values["method"], active=active,
            conditions=values["conditions"].to_json(), priority=position, using_db=conn,
        )
        ordered = existing[:position] + [rule] + existing[position:]
        await _save_priorities(ordered, conn)
        await AssignmentRuleMember.bulk_create(
            [AssignmentRuleMember(rule_id=rule.id, membership_id=m, position=i) for i, m in enumerate(values["user_ids"])],
            using_db=conn,
        )
    return rule


async def _save_priorities(ordered: list[AssignmentRule], conn) -> None:
    changed = []
    for i, r in enumerate(ordered):
        if r.priority != i:
            r.priority = i
            changed.append(r)
    if changed:
        await AssignmentRule.bulk_update(changed, fields=["priority"], using_db=conn)


async def update_rule(
    viewer: Viewer,
    rule_id: int,
    *,
    name: str | None = None,
    method: AssignmentMethod | None = None,
    user_ids: list[int] | None = None,
    conditions: RuleConditions | None = None,
    active: bool | None = None,
) -> AssignmentRule:
    """Change a rule; fields left out stay. ``user_ids`` replaces the users."""
    require_owner(viewer, "set up assignment rules")
    rule = await _rule_of(viewer, rule_id)
    errors: list[FieldError] = []
    new_method = rule.method
    try:
        if name is not None:
            rule.name = check_name(name, "name", "The rule's name", 100)
    except DomainError as exc:
        errors.extend(exc.errors)
    try:
        if method is not None:
            new_method = rule.method = _method(method)
    except DomainError as exc:
        errors.extend(exc.errors)
    users = user_ids
    if users is None and method is not None:
        users = list(await AssignmentRuleMember.filter(rule_id=rule.id).order_by("position").values_list(
            "membership_id", flat=True))
    try:
        if users is not None:
            users = await _check_users(viewer, new_method, users)
    except DomainError as exc:
        errors.extend(exc.errors)
    try:
        if conditions is not None:
            rule.conditions = (await _check_conditions(conditions)).to_json()
    except DomainError as exc:
        errors.extend(exc.errors)
    if errors:
        raise DomainError(*errors)
    if active is not None:
        rule.active = active
    async with in_transaction() as conn:
        await rule.save(using_db=conn, update_fields=["name", "method", "conditions", "active"])
        if user_ids is not None:
            await AssignmentRuleMember.filter(rule_id=rule.id).using_db(conn).delete()
            await AssignmentRuleMember.bulk_create(
                [AssignmentRuleMember(rule_id=rule.id, membership_id=m, position=i) for i, m in enumerate(users)],
                using_db=conn,
            )
    return rule


async def delete_rule(viewer: Viewer, rule_id: int) -> None:
    """Leads it assigned keep their user (their record names no rule any more)."""
    require_owner(viewer, "set up assignment rules")
    rule = await _rule_of(viewer, rule_id)
    async with in_transaction() as conn:
        await AssignmentRule.filter(id=rule.id).using_db(conn).delete()
        await _save_priorities(await workspace_rows(viewer, AssignmentRule).using_db(conn).order_by("priority", "id"), conn)


async def reorder_rules(viewer: Viewer, rule_ids: list[int]) -> list[AssignmentRule]:
    """These rules first, in this order (highest priority first); the others keep
    their order after them."""
    require_owner(viewer, "set up assignment rules")
    rows = {r.id: r for r in await workspace_rows(viewer, AssignmentRule)}
    if len(set(rule_ids)) != len(rule_ids) or not set(rule_ids) <= set(rows):
        raise DomainError.single("rule_ids", ErrorCode.INVALID, "List assignment rules of this account, each once.")
    rest = sorted((r for i, r in rows.items() if i not in set(rule_ids)), key=lambda r: (r.priority, r.id))
    async with in_transaction() as conn:
        await _save_priorities([rows[i] for i in rule_ids] + rest, conn)
    return await rules(viewer)


async def set_manual_assignee(viewer: Viewer, user_id: int | None) -> Workspace:
    """Who receives the leads no rule assigns (null: the owner)."""
    require_owner(viewer, "choose who assigns leads by hand")
    ws = await ensure_workspace(viewer.account_id)
    if user_id is not None:
        m = await visible_memberships(viewer).get_or_none(id=user_id)
        if m is None:
            raise not_found("user_id", "user")
        if m.is_barred:
            raise DomainError.single("user_id", ErrorCode.BARRED, "A barred user cannot receive leads.")
    await Workspace.filter(id=ws.id).update(manual_assignee_id=user_id)
    return await Workspace.get(id=ws.id)


async def manual_assignee(account_id: int) -> Membership:
    """The account's dispatcher: the chosen user, or the owner (also when the
    chosen one is barred)."""
    ws = await ensure_workspace(account_id)
    if ws.manual_assignee_id is not None:
        m = await Membership.get_or_none(id=ws.manual_assignee_id, barred_at__isnull=True)
        if m is not None:
            return m
    return await Membership.get(account_id=account_id, owner_slot=1)


# -- the engine ---------------------------------------------------------------------------


@dataclass
class Decision:
    assignee_id: int
    method: AssignmentMethod
    rule_id: int | None
    awaiting: bool


@dataclass
class _Rule:
    id: int
    method: AssignmentMethod
    conditions: dict
    users: list[int]  # not barred, in the rule's order


async def _active_rules(account_id: int, conn) -> list[_Rule]:
    rows = await AssignmentRule.filter(account_id=account_id, active=True).using_db(conn).order_by(
        "priority", "id").values_list("id", "method", "conditions")
    if not rows:
        return []
    members: dict[int, list[int]] = {r[0]: [] for r in rows}
    for rule_id, membership_id in await AssignmentRuleMember.filter(
        rule_id__in=list(members), membership__barred_at__isnull=True
    ).using_db(conn).order_by("rule_id", "position", "id").values_list("rule_id", "membership_id"):
        members[rule_id].append(membership_id)
    return [_Rule(i, AssignmentMethod(method), conditions or {}, members[i]) for i, method, conditions in rows]


async def _take_turns(rule_id: int, count: int, conn) -> int:
    """Advance the rule's turn counter by ``count``; returns the first turn taken.
    The increment locks the rule until commit (see the module docstring)."""
    await AssignmentRule.filter(id=rule_id).using_db(conn).update(turn=F("turn") + count)
    [end] = await AssignmentRule.filter(id=rule_id).using_db(conn).values_list("turn", flat=True)
    return end - count


async def _open_leads(user_ids: list[int], conn) -> dict[int, int]:
    counts = dict(
        await Lead.filter(assignee_id__in=user_ids, outcome__isnull=True, deleted_at__isnull=True)
        .using_db(conn)
        .group_by("assignee_id")
        .annotate(n=Count("id"))
        .values_list("assignee_id", "n")
    )
    return {u: counts.get(u, 0) for u in user_ids}


async def decide(account_id: int, leads: list[Lead], conn) -> list[Decision]:
    """Choose a user for each lead (saved or not), inside the caller's
    transaction. Turn counters are taken per rule, in rule id order."""
    rules_ = await _active_rules(account_id, conn)
    chosen: list[_Rule | None] = []
    for lead in leads:
        chosen.append(next((r for r in rules_ if r.users and matches(r.conditions, lead)), None))
    decisions: list[Decision | None] = [None] * len(leads)
    by_rule: dict[int, list[int]] = {}
    for i, rule in enumerate(chosen):
        if rule is not None:
            by_rule.setdefault(rule.id, []).append(i)
    rule_by_id = {r.id: r for r in rules_}
    for rule_id in sorted(by_rule):
        rule, indexes = rule_by_id[rule_id], by_rule[rule_id]
        start = await _take_turns(rule.id, len(indexes), conn)
        users = rule.users
        if rule.method in ONE_USER:
            for i in indexes:
                decisions[i] = Decision(users[0], rule.method, rule.id, awaiting=rule.method == AssignmentMethod.MANUAL)
        elif rule.method == AssignmentMethod.ROUND_ROBIN:
            for k, i in enumerate(indexes):
                decisions[i] = Decision(users[(start + k) % len(users)], rule.method, rule.id, awaiting=False)
        else:  # least busy, ties in turn
            load = await _open_leads(users, conn)
            for k, i in enumerate(indexes):
                offset = (start + k) % len(users)
                rotation = users[offset:] + users[:offset]
                pick = min(rotation, key=lambda u: load[u])
                load[pick] += 1
                decisions[i] = Decision(pick, rule.method, rule.id, awaiting=False)
    if any(d is None for d in decisions):
        dispatcher = await manual_assignee(account_id)
        for i, d in enumerate(decisions):
            if d is None:
                decisions[i] = Decision(dispatcher.id, AssignmentMethod.NO_RULE, None, awaiting=True)
    return decisions  # type: ignore[return-value]


def apply_to(lead: Lead, d: Decision, at: dt.datetime) -> None:
    lead.assignee_id = d.assignee_id
    lead.assignment_method = d.method.value
    lead.assignment_rule_id = d.rule_id
    lead.awaiting_assignment = d.awaiting
    lead.assigned_at = at


async def save_decisions(leads: list[Lead], decisions: list[Decision], at: dt.datetime, conn) -> None:
    """Write decisions to saved leads: one update per (user, rule, method)."""
    groups: dict[tuple, list[int]] = {}
    for lead, d in zip(leads, decisions):
        apply_to(lead, d, at)
        groups.setdefault((d.assignee_id, d.method.value, d.rule_id, d.awaiting), []).append(lead.id)
    for (assignee_id, method, rule_id, awaiting), ids in groups.items():
        await Lead.filter(id__in=ids).using_db(conn).update(
            assignee_id=assignee_id, assignment_method=method, assignment_rule_id=rule_id,
            awaiting_assignment=awaiting, assigned_at=at,
        )


def publish_assigned(account_id: int, lead_ids: Iterable[int]) -> None:
    events.bus.publish(*(events.LeadEvent(events.LeadEventKind.ASSIGNED, i, account_id) for i in lead_ids))


# -- by hand ----------------------------------------------------------------------------------


async def assign_leads(viewer: Viewer, lead_ids: list[int], assignee_id: int | None) -> list[int]:
    """Assign leads to a user by hand (one or in bulk): every lead must be one
    the viewer sees, the user at or below the viewer and not barred. Takes the
    leads out of any manual queue."""
    if not lead_ids:
        raise DomainError.single("lead_ids", ErrorCode.REQUIRED, "Name the leads to assign.")
    if len(lead_ids) > MAX_BULK:
        raise DomainError.single("lead_ids", ErrorCode.TOO_LONG, f"At most {MAX_BULK} leads at a time.")
    errors: list[FieldError] = []
    target = await assignable_memberships(viewer).get_or_none(id=assignee_id) if assignee_id else None
    if target is None:
        if assignee_id and await visible_memberships(viewer).filter(id=assignee_id, barred_at__isnull=False).exists():
            errors.append(FieldError("assignee_id", ErrorCode.BARRED, "Leads cannot be assigned to a barred user."))
        else:
            errors.append(FieldError("assignee_id", ErrorCode.NOT_FOUND, "No user with this id."))
    seen = set(await visible_leads(viewer).filter(id__in=lead_ids).values_list("id", flat=True))
    missing = [FieldError(f"lead_ids.{i}", ErrorCode.NOT_FOUND, "No lead with this id.")
               for i, lead_id in enumerate(lead_ids) if lead_id not in seen]
    errors.extend(missing[:20])
    if errors:
        raise DomainError(*errors)
    ids = sorted(seen)
    async with in_transaction() as conn:
        # Visibility again, in the update itself: a lead moved away meanwhile is left alone.
        await Lead.filter(
            id__in=Subquery(visible_leads(viewer).filter(id__in=ids).values("id"))
        ).using_db(conn).update(
            assignee_id=target.id, awaiting_assignment=False, assignment_method=AssignmentMethod.BY_HAND.value,
            assignment_rule_id=None, assigned_at=now(),
        )
    publish_assigned(viewer.account_id, ids)
    return ids

