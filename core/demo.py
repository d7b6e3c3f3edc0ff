"""A realistic demo dataset, so that the first screen of every feature shows
something: an operator with staff, three funded partner accounts with owners,
managers and reps, a catalogue over seven industries, active campaigns with
geo and field filters, lead sources, and a few hundred consumer leads posted
through the real intake (so they are routed, sold and traced), plus each
team's own leads.

Built through the same services as real use; running it twice changes nothing.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from tortoise.transactions import in_transaction

from leadwire.core import campaigns, identity, industries, intake, ledger
from leadwire.core.access import Viewer
from leadwire.core.auth import LeadSourcePrincipal
from leadwire.core.campaigns import CampaignChanges
from leadwire.core.errors import DomainError
from leadwire.core.models.identity import Account, AccountKind, LeadSource, Membership
from leadwire.core.models.leads import Lead, LeadOrigin
from leadwire.core.models.ledger import EntryKind
from leadwire.core.models.marketplace import GeoMode, Product

DEMO_PASSWORD = "leadwire-demo"
OPERATOR_EMAIL = "operator@demo.leadwire.dev"

# (company, owner, currency, owner time zone, [(manager, [reps])])
PARTNERS = [
    ("Great Lakes Movers", "Dana Kowalski", "USD", "America/Detroit",
     [("Marcus Reed", ["Tia Nguyen", "Omar Haddad", "Lena Fischer"]), ("Priya Shah", ["Jon Baker", "Ava Russo"])]),
    ("SunPeak Solar", "Carlos Mendes", "USD", "America/Detroit",
     [("Grace Liu", ["Ben Ortiz", "Nora Walsh"]), ("Sam Patel", ["Eli Cohen"])]),
    ("Harbor Law Group", "Rebecca Stone", "USD", "America/New_York",
     [("Victor Hale", ["Iris Park", "Leo Grant"])]),
]

# The catalogue: industry schema key -> [(product, [(offer, price in cents, exclusive)])]
CATALOGUE = {
    "moving": [("Local moving", [("Shared local move", 1800, False), ("Exclusive local move", 4500, True)]),
               ("Long-distance moving", [("Shared long-distance move", 3200, False)]),
               ("Full-service moving", [("Shared full-service move", 2600, False)])],
    "solar": [("Residential solar", [("Shared solar quote", 3500, False), ("Exclusive solar quote", 9000, True)])],
    "legal": [("Personal injury", [("Exclusive injury case", 12000, True)])],
    "insurance": [("Auto insurance", [("Shared auto quote", 900, False)])],
    "auto_shipping": [("Car shipping", [("Shared car shipping", 1200, False)])],
    "home_improvement": [("Roofing", [("Shared roofing", 2500, False)])],
    "mortgage": [("Refinance", [("Shared refinance", 4000, False)])],
}
# Which offer each partner activates, and its filter
PARTNER_CAMPAIGNS = {
    "Great Lakes Movers": [("Shared local move", dict(geo_mode="zip_radius", radius_zip="48201", radius_miles=40)),
                           ("Shared full-service move", dict(geo_mode="states", states=["MI", "OH"]))],
    "SunPeak Solar": [("Shared solar quote", dict(geo_mode="states", states=["MI", "OH", "CO"],
                                                  field_filters={"homeowner": True}))],
    "Harbor Law Group": [("Exclusive injury case", dict(geo_mode="states", states=["NY", "MI"]))],
}
DEPOSIT_CENTS = 150_000

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
        await LeadSource.create(account=operator_account, name=source, form_enabled=source.endswith("form"),
                                form_redirect_url="https://example.com/thank-you" if source.endswith("form") else "")
    operator = await _viewer(await Membership.get(account_id=operator_account.id, owner_slot=1))
    staff, _ = await identity.create_user(
        operator, email="sam.support@demo.leadwire.dev", name="Sam Support", time_zone="America/Detroit",
        password=DEMO_PASSWORD,
    )
    summary.accounts, summary.users = 1, 2
    partner_owners: dict[str, Viewer] = {}
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
        for i in range(leads_per_account // 4):  # the team's own leads: web form and imports (seed 003)
            first, last = rng.choice(FIRST), rng.choice(LAST)
            zip_code, city, state = rng.choice(PLACES)
            assignee = rng.choice(people + [None])
            rows.append(
                Lead(
                    account_id=account.id,
                    assignee_id=assignee.id if assignee else None,
                    origin=rng.choice([LeadOrigin.REGISTRATION, LeadOrigin.IMPORT, LeadOrigin.MANUAL]),
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
            await ledger.credit(account.id, DEPOSIT_CENTS, EntryKind.DEPOSIT, "Demo deposit", conn)
        summary.leads += len(rows)
        partner_owners[company] = owner
        await _workspace_setup(owner, company, teams, people)
    offers = await _catalogue(operator, staff)
    for company, owner in partner_owners.items():
        for offer_name, changes in PARTNER_CAMPAIGNS[company]:
            campaign = await campaigns.activate_offer(owner, offers[offer_name].id)
            changes = dict(changes, schedule=[], daily_cap=None, geo_mode=GeoMode(changes["geo_mode"]))
            await campaigns.update_campaign(owner, campaign.id, CampaignChanges(**changes, clear_caps=("daily_cap",)))
    summary.leads += await _marketplace_leads(operator_account, offers, leads_per_account * 2, rng)
    for owner in partner_owners.values():
        await _workspace_activity(owner, rng)
    summary.logins = _logins()
    return summary


async def _workspace_setup(owner: Viewer, company: str, teams: list, people: list[Membership]) -> None:
    """The sales workspace's set-up (seed 003): pipeline, feedback questions,
    assignment rules and the registration page."""
    from leadwire.core.models.workspace import QuestionKind
    from leadwire.core.workspace import assignment, feedback, pipeline, registration

    stages = await pipeline.pipeline_stages(owner)
    if company == "Great Lakes Movers":  # a moving company's own stages, before the closing one
        await pipeline.add_stage(owner, name="Survey booked", probability=30)
        await pipeline.add_stage(owner, name="Quote sent", probability=60)
    opportunity = next(s for s in stages if s.name == "Opportunity")
    await feedback.create_question(owner, text="What is the budget?", kind=QuestionKind.NUMBER)
    await feedback.create_question(owner, text="Is the decision maker on the call?", kind=QuestionKind.YES_NO,
                                   compulsory=True, required_at_stage_id=opportunity.id)
    await feedback.create_question(owner, text="When do they want it done?", kind=QuestionKind.CHOICE,
                                   choices=["This month", "In the next 3 months", "Later"])
    old = await feedback.create_question(owner, text="How did they hear about us?", kind=QuestionKind.TEXT)
    await feedback.update_question(owner, old.id, archived=True)  # archived: its answers are kept
    # people: [owner, manager 1, its reps..., manager 2, its reps...]
    first_manager = people[1]
    first_reps = people[2:2 + len(teams[0][1])]
    other_reps = people[3 + len(teams[0][1]):] or first_reps
    await assignment.create_rule(owner, name="No phone number: find it", method="single", user_ids=[first_manager.id],
                                 conditions=assignment.RuleConditions(missing_phone=True))
    await assignment.create_rule(owner, name="Michigan, in turn", method="round_robin",
                                 user_ids=[m.id for m in first_reps], conditions=assignment.RuleConditions(states=["MI"]))
    await assignment.create_rule(owner, name="Everything else: least busy", method="least_busy",
                                 user_ids=[m.id for m in other_reps], conditions=assignment.RuleConditions())
    domain = "".join(ch for ch in company.lower() if ch.isalnum())[:20]
    await registration.update_page(owner, registration.PageChanges(
        title=f"Get a quote from {company}", redirect_url=f"https://{domain}.example/thank-you",
        primary_color="#0b6e4f" if "Solar" in company else "#1f6feb",
    ))


async def _workspace_activity(owner: Viewer, rng: random.Random) -> None:
    """Every lead in the pipeline (bought ones through their entry job), some
    further along, some won, a few lost with reasons, feedback given."""
    import datetime as dt

    from leadwire.core.jobs.models import OutboxJob
    from leadwire.core.models.workspace import FeedbackAnswer, FeedbackQuestion, StageKind
    from leadwire.core.workspace import entry, feedback, pipeline

    for job in await OutboxJob.filter(name=entry.ENTER_JOB, status="pending"):
        await entry.enter_lead(**job.payload)
        await OutboxJob.filter(id=job.id).update(status="done", finished_at=identity.now())
    for lead_id in await Lead.filter(account_id=owner.account_id, stage_id__isnull=True).values_list("id", flat=True):
        await entry.enter_lead(lead_id)
    stages = await pipeline.pipeline_stages(owner)
    open_later = [s for s in stages if s.kind == StageKind.OPEN][1:]
    reasons = await pipeline.lost_reasons(owner)
    questions = {q.text: q for q in await FeedbackQuestion.filter(account_id=owner.account_id)}
    when = await questions["When do they want it done?"].choices.all()
    now = identity.now()
    for lead_id in await Lead.filter(account_id=owner.account_id).order_by("id").values_list("id", flat=True):
        roll = rng.random()
        await pipeline.set_value(owner, lead_id, rng.randrange(5, 90) * 10_000)
        if roll < 0.45:
            continue
        await feedback.answer(owner, lead_id, [
            feedback.AnswerIn(questions["What is the budget?"].id, rng.randrange(20, 200) * 100),
            feedback.AnswerIn(questions["Is the decision maker on the call?"].id, rng.random() < 0.7),
            feedback.AnswerIn(questions["When do they want it done?"].id, None, rng.choice(when).id),
        ])
        if roll < 0.75:
            await pipeline.move_lead(owner, lead_id, rng.choice(open_later).id)
            continue
        if roll < 0.85:
            await pipeline.mark_won(owner, lead_id)
        else:
            await pipeline.mark_lost(owner, lead_id, rng.choice(reasons).id)
        await Lead.filter(id=lead_id).update(closed_at=now - dt.timedelta(days=rng.randrange(0, 60)))
    # Answers to the question archived since: kept, and shown on their leads.
    for lead_id in await Lead.filter(account_id=owner.account_id).limit(3).values_list("id", flat=True):
        await FeedbackAnswer.create(lead_id=lead_id, question_id=questions["How did they hear about us?"].id,
                                    value={"v": "A friend"}, answered_at=now)


def _logins() -> list[tuple[str, str]]:
    out = [("operator", OPERATOR_EMAIL)]
    for company, owner_name, *_rest, teams in PARTNERS:
        out.append((f"owner, {company}", _email(owner_name, company)))
        manager_name, reps = teams[0]
        out.append((f"manager, {company}", _email(manager_name, company)))
        out.append((f"rep, {company}", _email(reps[0], company)))
    return out


async def _catalogue(operator: Viewer, staff: Membership) -> dict[str, object]:
    offers = {}
    for schema in industries.installed():
        if schema.key not in CATALOGUE:
            continue
        industry = await campaigns.create_industry(operator, schema_key=schema.key)
        for product_name, product_offers in CATALOGUE[schema.key]:
            product = await campaigns.create_product(operator, industry_id=industry.id, name=product_name)
            for offer_name, price, exclusive in product_offers:
                offers[offer_name] = await campaigns.create_offer(
                    operator, product_id=product.id, name=offer_name, price_minor=price, exclusive=exclusive
                )
    for account in await Account.filter(kind=AccountKind.PARTNER):
        await Account.filter(id=account.id).update(account_manager_id=staff.id)
    return offers


def _lead_data(schema_key: str, zip_code: str, rng: random.Random) -> dict:
    from_zip = zip_code
    if schema_key == "moving":
        to_zip = rng.choice([z for z, _, _ in PLACES])
        return {"from_zip": from_zip, "to_zip": to_zip, "move_date": "2026-12-19",
                "move_size": rng.choice(["studio", "1_bedroom", "2_bedrooms", "3_bedrooms"]),
                "full_service": rng.random() < 0.3}
    if schema_key == "solar":
        return {"homeowner": rng.random() < 0.8, "monthly_electric_bill": rng.randrange(60, 400),
                "roof_shade": rng.choice(["none", "some", "heavy"])}
    if schema_key == "legal":
        return {"practice_area": "personal_injury", "has_attorney": False, "case_summary": "Car accident, rear-ended."}
    return {}


async def _marketplace_leads(operator_account: Account, offers: dict, count: int, rng: random.Random) -> int:
    """Consumers' quote requests through the real intake: validated, routed, sold."""
    source = await LeadSource.get(account_id=operator_account.id, name="Billy.com web form")
    principal = LeadSourcePrincipal(source.id, operator_account.id, source.name)
    products = {}
    for offer in offers.values():
        product = await Product.get(id=offer.product_id).select_related("industry")
        if product.industry.schema_key in ("moving", "solar", "legal"):
            products[product.id] = product
    created = 0
    for i in range(count):
        product = rng.choice(list(products.values()))
        zip_code, _, _ = rng.choice(PLACES)
        first, last = rng.choice(FIRST), rng.choice(LAST)
        submission = intake.LeadSubmission(
            product_id=product.id, first_name=first, last_name=last,
            phone=f"+1{rng.choice(['313', '734', '248', '216', '614', '303', '212'])}555{rng.randrange(10000):04d}",
            email=f"{first}.{last}.{i}@consumer.example".lower(), postal_code=zip_code,
            data=_lead_data(product.industry.schema_key, zip_code, rng),
            consent=intake.Consent(text="I agree to be contacted about my quote request.", ip="198.51.100.10",
                                   page_url="https://billy.example/quote"),
        )
        try:
            await intake.submit_lead(principal, submission)
            created += 1
        except DomainError:
            continue  # a generated combination the schema refuses: skip it, like a real form would
    return created
