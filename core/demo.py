"""A realistic demo dataset, so that the first screen of every feature shows
something: an operator, three partner accounts with owners, managers and reps,
lead sources, and a few hundred leads spread over the teams.

Built through the same services as real use; running it twice changes nothing.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import timedelta

from tortoise.transactions import in_transaction

from leadwire.core import identity
from leadwire.core.access import Viewer
from leadwire.core.models.identity import Account, AccountKind, LeadSource, Membership
from leadwire.core.models.leads import Lead, LeadOrigin

DEMO_PASSWORD = "leadwire-demo"
OPERATOR_EMAIL = "operator@demo.leadwire.dev"

# (company, owner, currency, owner time zone, [(manager, [reps])])
PARTNERS = [
    ("Great Lakes Movers", "Dana Kowalski", "USD", "America/Detroit",
     [("Marcus Reed", ["Tia Nguyen", "Omar Haddad", "Lena Fischer"]), ("Priya Shah", ["Jon Baker", "Ava Russo"])]),
    ("SunPeak Solar", "Carlos Mendes", "USD", "America/Denver",
     [("Grace Liu", ["Ben Ortiz", "Nora Walsh"]), ("Sam Patel", ["Eli Cohen"])]),
    ("Harbor Law Group", "Rebecca Stone", "USD", "America/New_York",
     [("Victor Hale", ["Iris Park", "Leo Grant"])]),
]

FIRST = ["James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David", "Elizabeth",
         "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah", "Chris", "Karen"]
LAST = ["Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
        "Hernandez", "Lopez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin", "Lee"]
PLACES = [("48165", "New Hudson", "MI"), ("48201", "Detroit", "MI"), ("48104", "Ann Arbor", "MI"),
          ("80202", "Denver", "CO"), ("80301", "Boulder", "CO"), ("10001", "New York", "NY"),
          ("11201", "Brooklyn", "NY"), ("60601", "Chicago", "IL"), ("43215", "Columbus", "OH"),
          ("44114", "Cleveland", "OH")]


def _email(name: str, company: str) -> str:
    domain = "".join(ch for ch in company.lower() if ch.isalnum())[:20]
    return f"{name.lower().replace(' ', '.')}@{domain}.example"


@dataclass
class DemoSummary:
    created: bool
    accounts: int = 0
    users: int = 0
    leads: int = 0
    logins: list[tuple[str, str]] = field(default_factory=list)


async def _viewer(m: Membership) -> Viewer:
    m = await Membership.get(id=m.id).select_related("person", "account")
    return Viewer.from_membership(m)


async def create_demo(leads_per_account: int = 120, seed: int = 2026) -> DemoSummary:
    if await Account.filter(kind=AccountKind.OPERATOR, name="Leadwire Marketplace").exists():
        return DemoSummary(created=False, logins=_logins())
    rng = random.Random(seed)
    summary = DemoSummary(created=True)
    operator_account, _ = await identity.create_account(
        kind=AccountKind.OPERATOR,
        name="Leadwire Marketplace",
        owner_email=OPERATOR_EMAIL,
        owner_name="Olivia Operator",
        owner_password=DEMO_PASSWORD,
        owner_time_zone="America/Detroit",
    )
    for source in ("Billy.com web form", "Partner API", "Call center"):
        await LeadSource.create(account=operator_account, name=source)
    summary.accounts, summary.users = 1, 1
    for company, owner_name, currency, tz, teams in PARTNERS:
        account, owner_m = await identity.create_account(
            kind=AccountKind.PARTNER,
            name=company,
            owner_email=_email(owner_name, company),
            owner_name=owner_name,
            owner_password=DEMO_PASSWORD,
            currency=currency,
            owner_time_zone=tz,
        )
        owner = await _viewer(owner_m)
        people: list[Membership] = [owner_m]
        for manager_name, reps in teams:
            manager, _ = await identity.create_user(
                owner, email=_email(manager_name, company), name=manager_name, time_zone=tz, password=DEMO_PASSWORD
            )
            people.append(manager)
            for rep_name in reps:
                rep, _ = await identity.create_user(
                    owner, email=_email(rep_name, company), name=rep_name, manager_id=manager.id,
                    time_zone=tz, password=DEMO_PASSWORD,
                )
                people.append(rep)
        summary.accounts += 1
        summary.users += len(people)
        rows = []
        for i in range(leads_per_account):
            first, last = rng.choice(FIRST), rng.choice(LAST)
            zip_code, city, state = rng.choice(PLACES)
            assignee = rng.choice(people + [None])  # some wait for assignment
            rows.append(
                Lead(
                    account_id=account.id,
                    assignee_id=assignee.id if assignee else None,
                    origin=rng.choice([LeadOrigin.MARKETPLACE] * 4 + [LeadOrigin.REGISTRATION, LeadOrigin.IMPORT]),
                    first_name=first,
                    last_name=last,
                    email=f"{first}.{last}{i}@mail.example".lower(),
                    phone=f"+1{rng.choice(['313', '734', '248', '303', '720', '212', '312', '614'])}555{rng.randrange(10000):04d}",
                    postal_code=zip_code,
                    city=city,
                    state=state,
                )
            )
        async with in_transaction() as conn:
            await Lead.bulk_create(rows, using_db=conn)
        # Spread creation times over the last 30 days so reports have a shape.
        ids = await Lead.filter(account_id=account.id).values_list("id", flat=True)
        now = identity.now()
        for lead_id in ids:
            await Lead.filter(id=lead_id).update(created_at=now - timedelta(minutes=rng.randrange(30 * 24 * 60)))
        summary.leads += len(rows)
    summary.logins = _logins()
    return summary


def _logins() -> list[tuple[str, str]]:
    out = [("operator", OPERATOR_EMAIL)]
    for company, owner_name, *_rest, teams in PARTNERS:
        out.append((f"owner, {company}", _email(owner_name, company)))
        manager_name, reps = teams[0]
        out.append((f"manager, {company}", _email(manager_name, company)))
        out.append((f"rep, {company}", _email(reps[0], company)))
    return out
