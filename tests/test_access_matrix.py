"""The access-control matrix: every query, mutation and subscription field and
every ``node`` type of the live schema × every role (operator staff, the
partner's owner, a manager, a rep below the manager, a barred user, another
partner account's owner, a lead-source key, nobody).

Each cell says allowed or denied. A denied cell must leak nothing:
- queries: an auth error and no data, and no canary string of an object
  beyond the role's reach in any response (tests/access_world.py);
- ``node``/``nodes``: exactly the answer a made-up id of the same type gets;
- mutations: an auth error, or NOT_FOUND worded exactly as for a made-up id,
  and not a row changed anywhere in the database.
A field added to the schema without a row here fails
``test_the_matrix_covers_the_whole_schema``.
"""

from __future__ import annotations

import json

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLList,
    GraphQLNonNull,
    Undefined,
    get_named_type,
)
from tortoise import Tortoise, connections

from leadwire.schema.schema import build_schema

from access_world import ROLES, build_world, gid
from factories import make_lead

SCHEMA = build_schema()._schema
STAFF = {"operator"}
OWNER = {"owner"}
TEAM = {"owner", "manager", "rep"}
PARTNERS = TEAM | {"other"}
SIGNED_IN = PARTNERS | STAFF
EVERYONE = set(ROLES)
NOBODY: set[str] = set()
AUTH_CODES = {"UNAUTHENTICATED", "FORBIDDEN", "OWNER_REQUIRED"}

# -- queries: who gets an answer (the others an auth error) ---------------------------

QUERY_MATRIX: dict[str, set[str]] = {
    "node": EVERYONE,  # null for anything not visible: see NODE_MATRIX
    "nodes": EVERYONE,
    "viewer": EVERYONE,  # null when not signed in
    "users": SIGNED_IN,
    "accounts": SIGNED_IN,
    "apiTokens": SIGNED_IN,
    "leadSources": STAFF,
    "leads": SIGNED_IN,
    "industries": SIGNED_IN,
    "industrySchemas": SIGNED_IN,
    "offers": SIGNED_IN,
    "campaigns": SIGNED_IN,
    "deliveryChannels": SIGNED_IN,
    "deliveries": SIGNED_IN,
    "paymentGateways": SIGNED_IN,
    "payments": SIGNED_IN,
    "notifications": SIGNED_IN,
    "ledgerCheck": STAFF,
    "returns": SIGNED_IN,
    "returnEligibility": SIGNED_IN,
    "refunds": SIGNED_IN,
    "pipeline": SIGNED_IN,
    "lostReasons": SIGNED_IN,
    "lostReasonsReport": SIGNED_IN,
    "feedbackQuestions": SIGNED_IN,
    "assignmentSettings": {"owner", "other", "operator"},
    "leadImports": {"owner", "other", "operator"},
    "leadImportFields": SIGNED_IN,
    "registrationPage": {"owner", "other", "operator"},
    "registrationForm": EVERYONE,  # the public form (null for an unknown or disabled page)
    # reports (docs/reports.md): over what the viewer sees
    "leadHistory": SIGNED_IN,
    "partnerDashboard": PARTNERS,  # operator staff: an error, theirs is operatorDashboard
    "operatorDashboard": STAFF,
    "campaignPerformance": TEAM | STAFF,  # another account's campaign: "not found", as a made-up id
    "pipelineReport": SIGNED_IN,
    # call leads (docs/calls.md)
    "trackingNumbers": SIGNED_IN,  # the operator's numbers; an empty list for partners (the canary proves it)
    "callRings": SIGNED_IN,  # the account's campaigns' rings (operator: every ring)
}
QUERY_ARGS = {
    "notifications": "(unreadOnly: false)",
    "returns": "(overdue: false)",
    "lostReasons": "(includeArchived: true)",
    "lostReasonsReport": '(start: "2025-01-01", end: "2029-01-01")',
    "feedbackQuestions": "(includeArchived: true)",
    "registrationForm": '(slug: "victim-movers")',
    "leadHistory": "(orderBy: NEWEST_FIRST, first: 50)",
    "partnerDashboard": "(windowDays: 30)",
    "operatorDashboard": '(from: "2026-01-01", to: "2026-12-31")',
    "campaignPerformance": '(campaignId: "{campaign}", from: "2026-01-01", to: "2026-12-31")',
    "pipelineReport": '(from: "2026-01-01", to: "2026-12-31")',
}
# A denied query that answers "not found" instead of an auth error must answer
# exactly as for a made-up id of the same type (these ids are swapped for one).
NOT_FOUND_LIKE_MADE_UP = {"campaignPerformance": ("campaign", "Campaign")}
# Canaries an allowed role must see (so the leak check is known to bite).
MUST_SEE = {
    ("leads", "owner"): "Ownercanary",
    ("leads", "rep"): "Repcanary",
    ("users", "manager"): "rep.canary@",
    ("apiTokens", "owner"): "Tokencanary",
    ("lostReasons", "rep"): "Reasoncanary",
    ("campaigns", "operator"): "Campaigncanary",
    ("leadHistory", "owner"): "Ownercanary",
    ("leadHistory", "manager"): "Managercanary",
    ("leadHistory", "rep"): "Billedcanary",  # Lead.call of the call lead it bought: the recording
    ("leads", "manager"): "Callcanary",
    ("leadHistory", "other"): "Otherlead",
    ("trackingNumbers", "operator"): "Trackcanary",
    ("callRings", "operator"): "+12489990177",  # the caller in full
    ("callRings", "rep"): "+12489990166",
    ("callRings", "other"): "+1248*****66",  # its campaign rang for a call the victim bought  # the ring of the call lead it bought, caller in full
    ("callRings", "owner"): "+1248*****77",  # masked: the account's campaign rang, but did not buy it
}

# -- node(id:): who sees each type's object (everyone else: null) ----------------------

NODE_MATRIX: dict[str, tuple[str, set[str]]] = {
    # type: (which object, the roles that see it)
    "Lead": ("lead_rep", TEAM),
    "User": ("rep", TEAM),
    "Account": ("account", TEAM | STAFF),
    "ApiToken": ("api_token", OWNER),
    "LeadSource": ("lead_source", STAFF),
    "LeadSourceKey": ("lead_source_key", STAFF),
    "Campaign": ("campaign", TEAM | STAFF),
    "Delivery": ("delivery", TEAM | STAFF),
    "LedgerEntry": ("ledger_entry", OWNER | STAFF),
    "PaymentMethod": ("payment_method", OWNER | STAFF),
    "Payment": ("payment", OWNER | STAFF),
    "Refund": ("refund", {"other"} | STAFF),  # the other account's (a refund needs a closure)
    "Notification": ("notification", OWNER | STAFF),
    "ReturnRequest": ("return_request", TEAM | STAFF),
    "Industry": ("industry", SIGNED_IN),
    "Product": ("product", SIGNED_IN),
    "Offer": ("offer", SIGNED_IN),
    "PipelineStage": ("pipeline_stage", TEAM),
    "LostReason": ("lost_reason", TEAM),
    "FeedbackQuestion": ("feedback_question", TEAM),
    "FeedbackChoice": ("feedback_choice", TEAM),
    "AssignmentRule": ("assignment_rule", OWNER),
    "LeadImport": ("lead_import", OWNER),
    "RegistrationPage": ("registration_page", OWNER),
    "TrackingNumber": ("tracking_number", STAFF),
}
# Narrower objects of the same types: a lead and a user above the rep.
NODE_EXTRA = {("Lead", "lead_owner"): OWNER, ("Lead", "lead_manager"): {"owner", "manager"},
              ("User", "owner"): OWNER, ("Lead", "other_lead"): {"other"}}

# -- mutations: who gets past authorisation (the others: denied, nothing changed) -------

ANYONE_SIGNED_IN = SIGNED_IN
MUTATION_MATRIX: dict[str, set[str]] = {
    "signIn": EVERYONE, "signUpPartner": EVERYONE, "submitRegistration": EVERYONE,
    "switchAccount": SIGNED_IN, "signOut": SIGNED_IN, "changePassword": SIGNED_IN, "updateProfile": SIGNED_IN,
    "updateAccount": {"owner", "other", "operator"},
    "createUser": {"owner", "other", "operator"},
    "setManager": {"owner"}, "transferOwnership": {"owner"}, "barUser": {"owner"}, "unbarUser": {"owner"},
    "deleteUser": {"owner"}, "reassignLeads": {"owner", "manager"},  # a manager: between users below them
    "createApiToken": SIGNED_IN, "revokeApiToken": {"owner"},
    "createLeadSource": STAFF, "createLeadSourceKey": STAFF, "revokeLeadSourceKey": STAFF,
    "updateCompanyInfo": {"owner", "other", "operator"},  # each of its own account
    "approvePartner": STAFF, "setAccountManager": STAFF,
    "createIndustry": STAFF, "createProduct": STAFF, "createOffer": STAFF,
    "activateOffer": {"owner", "other"},
    "updateCampaign": {"owner"}, "pauseCampaign": {"owner"}, "resumeCampaign": {"owner"},
    "submitLead": {"source"},
    "rerouteLead": STAFF, "resendDelivery": TEAM | STAFF,
    "startCardSetup": {"owner", "other"}, "completeCardSetup": {"owner", "other"},
    "removePaymentMethod": {"owner"}, "setDefaultPaymentMethod": {"owner"},
    "addFunds": {"owner", "other"},
    "recordManualPayment": STAFF, "resolvePayment": STAFF, "adjustBalance": STAFF,
    "updateAutoCharge": {"owner", "other"},
    "markNotificationsRead": {"owner"},
    "requestReturn": TEAM, "reviewReturn": STAFF,
    "flagAccount": STAFF, "clearAccountFlag": STAFF, "closeAccount": {"owner", "other"}, "closeAccountForAbuse": STAFF,
    "settleRefund": STAFF,
    "addPipelineStage": {"owner", "other", "operator"},
    "updatePipelineStage": {"owner"}, "reorderPipelineStages": {"owner"}, "deletePipelineStage": {"owner"},
    "replacePipelineStage": {"owner"},
    "moveLeadToStage": TEAM, "markLeadWon": TEAM, "markLeadLost": TEAM, "setLeadValue": TEAM,
    "deleteLostLeads": {"owner"},
    "createLead": SIGNED_IN, "assignLeads": TEAM,
    "createLostReason": {"owner", "other", "operator"},
    "updateLostReason": {"owner"}, "deleteLostReason": {"owner"}, "reorderLostReasons": {"owner"},
    "createFeedbackQuestion": {"owner", "other", "operator"},
    "updateFeedbackQuestion": {"owner"}, "reorderFeedbackQuestions": {"owner"}, "deleteFeedbackQuestion": {"owner"},
    "addFeedbackChoice": {"owner"}, "archiveFeedbackChoice": {"owner"},
    "answerFeedback": TEAM,
    "createAssignmentRule": {"owner", "other", "operator"},
    "updateAssignmentRule": {"owner"}, "deleteAssignmentRule": {"owner"}, "reorderAssignmentRules": {"owner"},
    "setManualAssignee": {"owner", "other", "operator"},
    "setLeadImportMapping": {"owner"}, "mapLeadImportPeople": {"owner"},
    "startLeadImport": {"owner"}, "cancelLeadImport": {"owner"},
    "updateRegistrationPage": {"owner", "other", "operator"},
    "createLeadExport": SIGNED_IN,  # of the viewer's own visible leads (checked again at download)
    "createTrackingNumber": STAFF, "updateTrackingNumber": STAFF,
}
# Run last, in this order: they end sessions or close what the others use.
LAST = ("revokeLeadSourceKey", "switchAccount", "deleteUser", "barUser", "transferOwnership", "changePassword", "closeAccountForAbuse", "closeAccount", "signOut")

SUBSCRIPTION_MATRIX: dict[str, set[str]] = {"leadEvents": SIGNED_IN}

# Which object an ID field of a mutation input points at.
ID_TARGETS = {
    "leadId": "lead_rep", "leadIds": "lead_rep", "campaignId": "campaign", "userId": "spare", "userIds": "rep",
    "managerId": "manager", "assigneeId": "rep", "fromUserId": "spare", "toUserId": "rep", "staffUserId": "operator_user",
    "accountId": "account", "offerId": "offer", "productId": "product", "productIds": "product",
    "industryId": "industry", "industryIds": "industry", "leadSourceId": "lead_source", "stageId": "pipeline_stage",
    "stageIds": "pipeline_stage", "moveLeadsToStageId": "pipeline_stage", "requiredAtStageId": "pipeline_stage",
    "paymentMethodId": "payment_method", "paymentId": "payment", "refundId": "refund", "returnId": "return_request",
    "deliveryId": "delivery", "questionId": "feedback_question", "questionIds": "feedback_question",
    "choiceId": "feedback_choice", "ruleId": "assignment_rule", "ruleIds": "assignment_rule", "importId": "lead_import",
    "lostReasonId": "lost_reason", "lostReasonIds": "lost_reason", "notificationIds": "notification",
    "setupId": "card_setup", "trackingNumberId": "tracking_number", "sourceId": "lead_source",
    "sourceIds": "lead_source", "campaignIds": "campaign", "assigneeIds": "rep",
}
ID_BY_MUTATION = {"revokeApiToken": "api_token", "revokeLeadSourceKey": "lead_source_key"}
SCALARS = {"String": "Matrix probe", "Int": 1, "Float": 1.0, "Boolean": False, "DateTime": "2030-01-01T00:00:00Z",
           "Date": "2030-01-01", "JSON": {}}
STRING_FIELDS = {"email": "probe@example.com", "password": "correct horse battery", "newPassword": "another horse battery",
                 "currentPassword": "correct horse battery", "schemaKey": "moving", "slug": "victim-movers"}


def _value(name: str, t, targets: dict, mutation: str, fake: bool):
    nullable = not isinstance(t, GraphQLNonNull)
    inner = t.of_type if not nullable else t
    if isinstance(inner, GraphQLList):
        v = _value(name, inner.of_type, targets, mutation, fake)
        return [v]
    named = get_named_type(inner)
    if named.name == "ID":
        key = ID_BY_MUTATION.get(mutation) if name == "id" else ID_TARGETS.get(name)
        target = targets.get(key or "", "")
        if fake and target:
            type_name = _type_of(target)
            return gid(type_name, 987654)
        return target or gid("Nothing", 1)
    if isinstance(named, GraphQLEnumType):
        return next(iter(named.values))
    if isinstance(named, GraphQLInputObjectType):
        return _input(named, targets, mutation, fake)
    if named.name == "String" and name in STRING_FIELDS:
        return STRING_FIELDS[name]
    return SCALARS.get(named.name, "x")


def _pk(global_id: str) -> str:
    from leadwire.schema.relay import parse_global_id

    return parse_global_id(global_id).node_id


def _type_of(global_id: str) -> str:
    from leadwire.schema.relay import parse_global_id

    parsed = parse_global_id(global_id)
    return parsed.type_name if parsed else "Nothing"


def _input(t: GraphQLInputObjectType, targets: dict, mutation: str, fake: bool) -> dict:
    out = {}
    for name, f in t.fields.items():
        required = isinstance(f.type, GraphQLNonNull) and f.default_value is Undefined
        if required or get_named_type(f.type).name == "ID":
            out[name] = _value(name, f.type, targets, mutation, fake)
    return out


def mutation_call(name: str, targets: dict, *, fake: bool = False) -> tuple[str, dict]:
    """The mutation with generated arguments (every required field, every ID
    field pointing at the victim's object of that type; ``fake``: made-up ids)."""
    field = SCHEMA.mutation_type.fields[name]
    payload = get_named_type(field.type)
    selection = "userErrors { field code message }" if "userErrors" in payload.fields else "__typename"
    if not field.args:
        return f"mutation {{ {name} {{ {selection} }} }}", {}
    [(arg_name, arg)] = field.args.items()
    variables = {"i": _input(get_named_type(arg.type), targets, name, fake)}
    return f"mutation($i: {get_named_type(arg.type).name}!) {{ {name}({arg_name}: $i) {{ {selection} }} }}", variables


# -- helpers -----------------------------------------------------------------------------

VOLATILE_TABLES = {"query_budget", "login_failure", "rate_counter", "outbox_job"}
VOLATILE_COLUMNS = {"last_used_at"}


async def snapshot() -> dict:
    conn = connections.get("default")
    out = {}
    for model in Tortoise.apps["leadwire"].values():
        table = model._meta.db_table
        if table in VOLATILE_TABLES:
            continue
        rows = await conn.execute_query_dict(f'SELECT * FROM "{table}"')
        out[table] = sorted(
            json.dumps({k: v for k, v in r.items() if k not in VOLATILE_COLUMNS}, sort_keys=True, default=str) for r in rows
        )
    return out


def diff(before: dict, after: dict) -> dict:
    return {t: (sorted(set(after[t]) - set(before[t]))[:2], sorted(set(before[t]) - set(after[t]))[:2])
            for t in before if before[t] != after[t]}


def _selection(t, depth: int) -> str:
    """Every scalar of ``t`` and, ``depth`` levels down, of its objects (fields
    with required arguments left out; connections: their first 3 nodes)."""
    from graphql import GraphQLInterfaceType, GraphQLObjectType, GraphQLUnionType

    t = get_named_type(t)
    if isinstance(t, GraphQLUnionType):
        return "__typename"
    parts = []
    for n, f in t.fields.items():
        if any(isinstance(a.type, GraphQLNonNull) and a.default_value is Undefined for a in f.args.values()):
            continue
        nt = get_named_type(f.type)
        if isinstance(nt, (GraphQLObjectType, GraphQLInterfaceType, GraphQLUnionType)):
            if depth <= 0:
                continue
            if nt.name.endswith("Connection"):
                node = get_named_type(get_named_type(nt.fields["edges"].type).fields["node"].type)
                parts.append(f"{n}(first: 3) {{ edges {{ node {{ {_selection(node, depth - 1)} }} }} }}")
            else:
                parts.append(f"{n} {{ {_selection(nt, depth - 1)} }}")
        else:
            parts.append(n)
    return " ".join(parts) or "__typename"


def query_for(name: str, targets: dict) -> str:
    f = SCHEMA.query_type.fields[name]
    if name == "node":
        return f'{{ node(id: "{targets["lead_rep"]}") {{ id }} }}'
    if name == "nodes":
        return f'{{ nodes(ids: ["{targets["lead_rep"]}"]) {{ id }} }}'
    args = QUERY_ARGS.get(name, "")
    if name == "leadImports":  # `errors` is refused on a list (one import at a time)
        return "{ leadImports { totalCount edges { node { id fileName status } } } }"
    if name == "returnEligibility":
        args = f'(leadId: "{targets["lead_rep"]}")'
    if name in NOT_FOUND_LIKE_MADE_UP:
        args = args.format(**targets)
    nt = get_named_type(f.type)
    if nt.name.endswith("Connection"):
        node = get_named_type(get_named_type(nt.fields["edges"].type).fields["node"].type)
        sel = f"totalCount edges {{ node {{ {_selection(node, 1)} }} }}"
    else:
        sel = _selection(nt, 2)
    return f"{{ {name}{args} {{ {sel} }} }}"


def error_codes(body: dict) -> set[str]:
    codes = {(e.get("extensions") or {}).get("code") for e in body.get("errors") or []}
    for payload in (body.get("data") or {}).values():
        if isinstance(payload, dict):
            codes |= {e["code"] for e in payload.get("userErrors") or []}
    return {c for c in codes if c}


def leaks(role: str, body: dict, w) -> list[str]:
    text = json.dumps(body.get("data"))
    text += json.dumps([e.get("message") for e in body.get("errors") or []])
    return sorted(c for c in w.canaries[role] if c in text)


# -- the world's remaining objects --------------------------------------------------------


async def complete_world(w) -> dict:
    """Rows for the types the API path did not create, and every target's global id."""
    import datetime as dt

    from leadwire.core.models import delivery as d, ledger as le, money as mo, returns as r, workspace as ws
    from leadwire.core.models.identity import ApiToken, Membership
    from leadwire.core.models.marketplace import LeadSale

    victim = w.raw["victim"]
    other_account_id = w.raw["other_owner"].account_id
    sale = await LeadSale.get(account_id=victim.id)
    buyer_lead_id = sale.buyer_lead_id
    from leadwire.core.models.leads import Lead

    await Lead.filter(id=buyer_lead_id).update(assignee_id=w.raw["rep"].id)
    now = dt.datetime.now(dt.timezone.utc)
    delivery = await d.Delivery.create(sale_id=sale.id, account_id=victim.id, buyer_lead_id=buyer_lead_id,
                                       channel="webhook", idempotency_key="matrix-1")
    method = await mo.PaymentMethod.create(account_id=victim.id, gateway="manual", token="pm_canary")
    payment = await mo.Payment.create(account_id=victim.id, gateway="manual", purpose=list(mo.PaymentPurpose)[0],
                                      amount_minor=100, currency="USD", idempotency_key="matrix-pay")
    closure = await mo.AccountClosure.create(account_id=other_account_id, kind=list(mo.ClosureKind)[0], balance_minor=0, currency="USD", refund_minor=0, closed_at=now,
                                             credit_minor=0, refundable_minor=0, fee_minor=0)
    refund = await mo.Refund.create(account_id=other_account_id, closure_id=closure.id, gateway="manual",
                                    amount_minor=1, currency="USD", idempotency_key="matrix-refund")
    notification = await mo.Notification.create(account_id=victim.id, kind=list(mo.NotificationKind)[0],
                                                title="Notecanary")
    ret = await r.ReturnRequest.create(sale_id=sale.id, account_id=victim.id, buyer_lead_id=buyer_lead_id,
                                       reason=list(r.ReturnReason)[0], amount_minor=2500, currency="USD",
                                       requested_at=now, due_at=now + dt.timedelta(days=2))
    lead_import = await ws.LeadImport.create(account_id=victim.id, file_name="importcanary.csv")
    page = await ws.RegistrationPage.create(account_id=victim.id, slug="victim-movers", title="Pagecanary")
    entry = await le.LedgerEntry.filter(account_id=victim.id).first()
    stage = await ws.PipelineStage.filter(account_id=victim.id).first()
    token = await ApiToken.get(membership_id=w.raw["owner"].membership_id)
    op_user = await Membership.get(account_id=w.raw["op_viewer"].account_id)
    ws_out = w.raw["workspace"]
    q = ws_out["FeedbackQuestion"]["data"]["createFeedbackQuestion"]["question"]
    w.ids.update(
        delivery=gid("Delivery", delivery.id), payment_method=gid("PaymentMethod", method.id),
        payment=gid("Payment", payment.id), refund=gid("Refund", refund.id),
        notification=gid("Notification", notification.id), return_request=gid("ReturnRequest", ret.id),
        lead_import=gid("LeadImport", lead_import.id), registration_page=gid("RegistrationPage", page.id),
        ledger_entry=gid("LedgerEntry", entry.id), pipeline_stage=gid("PipelineStage", stage.id),
        api_token=gid("ApiToken", token.id), operator_user=gid("User", op_user.id),
        lost_reason=ws_out["LostReason"]["data"]["createLostReason"]["lostReason"]["id"],
        feedback_question=q["id"], feedback_choice=q["choices"][0]["id"],
        assignment_rule=ws_out["AssignmentRule"]["data"]["createAssignmentRule"]["rule"]["id"],
        card_setup=gid("CardSetup", 1),
    )
    # Call leads: the marketplace's tracking number, and a call that rang the
    # victim's campaign unanswered (not bought: its caller masked, no recording).
    from leadwire.core.models import calls as ca
    from leadwire.core.models.marketplace import Product

    product = await Product.get(id=int(_pk(w.ids["product"])))
    number = await ca.TrackingNumber.create(account_id=w.raw["op_viewer"].account_id, number="+13135550199",
                                            provider="twilio", industry_id=product.industry_id, product_id=product.id,
                                            name="Trackcanary")
    call = await ca.Call.create(provider="twilio", call_sid="CAmatrix", tracking_number_id=number.id,
                                caller="+12489990177", status=ca.CallStatus.MISSED,
                                recording_url="https://recordings.example/Reccanary")
    await ca.CallAttempt.create(call_id=call.id, campaign_id=int(_pk(w.ids["campaign"])), position=1,
                                status=ca.AttemptStatus.NO_ANSWER)
    # And a call the victim bought, its lead the rep's: caller and recording in full for whoever sees that lead.
    from leadwire.core.models.leads import LeadKind

    call_lead = await make_lead(victim.id, assignee=w.raw["rep"], first_name="Callcanary", kind=LeadKind.CALL)
    billed = await ca.Call.create(provider="twilio", call_sid="CAmatrix2", tracking_number_id=number.id,
                                  caller="+12489990166", status=ca.CallStatus.BILLED, duration_seconds=120,
                                  buyer_lead_id=call_lead.id, buyer_account_id=victim.id,
                                  recording_url="https://recordings.example/Billedcanary")
    # It rang the other account's campaign first, unanswered: that account sees the ring, the caller masked.
    act = await w.clients["other"].data(
        "mutation($i: ActivateOfferInput!) { activateOffer(input: $i) { campaign { id } } }", {"i": {"offerId": w.ids["offer"]}}
    )
    await ca.CallAttempt.create(call_id=billed.id, campaign_id=int(_pk(act["activateOffer"]["campaign"]["id"])), position=1,
                                status=ca.AttemptStatus.NO_ANSWER)
    await ca.CallAttempt.create(call_id=billed.id, campaign_id=int(_pk(w.ids["campaign"])), position=2,
                                status=ca.AttemptStatus.ANSWERED, duration_seconds=120, billable=True)
    w.ids.update(tracking_number=gid("TrackingNumber", number.id))
    for role in ROLES:
        if role != "operator":
            w.canaries[role] |= {"Trackcanary", "+12489990177", "Reccanary"}
        if role in ("barred", "other", "source", "anonymous"):
            w.canaries[role] |= {"Callcanary", "+12489990166", "Billedcanary"}
            if role != "other":
                w.canaries[role] |= {"+1248*****66"}
        if role not in ("operator", "owner"):
            w.canaries[role] |= {"+1248*****77"}  # the ring of a campaign they do not run, or a call none of theirs
    for role in ("barred", "other", "source", "anonymous"):
        w.canaries[role] |= {"Notecanary", "importcanary", "pm_canary"}  # the page's title is public
    for role in ("manager", "rep"):
        w.canaries[role] |= {"Notecanary", "importcanary", "pm_canary"}
    return w.ids


@pytest.fixture
async def world(client_factory):
    w = await build_world(client_factory)
    await complete_world(w)
    return w


# -- the tests ------------------------------------------------------------------------


def test_the_matrix_covers_the_whole_schema():
    from graphql import GraphQLObjectType

    assert set(SCHEMA.query_type.fields) == set(QUERY_MATRIX), "add the new query to QUERY_MATRIX"
    assert set(SCHEMA.mutation_type.fields) == set(MUTATION_MATRIX), "add the new mutation to MUTATION_MATRIX"
    assert set(SCHEMA.subscription_type.fields) == set(SUBSCRIPTION_MATRIX), "add it to SUBSCRIPTION_MATRIX"
    node_types = {
        name for name, t in SCHEMA.type_map.items()
        if isinstance(t, GraphQLObjectType) and any(i.name == "Node" for i in t.interfaces)
    }
    assert node_types == set(NODE_MATRIX), "add the new Node type to NODE_MATRIX"
    for cells in (*QUERY_MATRIX.values(), *MUTATION_MATRIX.values(), *SUBSCRIPTION_MATRIX.values()):
        assert cells <= set(ROLES)


async def test_every_query_for_every_role(world):
    w = world
    failures = []
    for name, allowed in QUERY_MATRIX.items():
        query = query_for(name, w.ids)
        for role in ROLES:
            body = await w.clients[role].post(query)
            codes = error_codes(body)
            if role in allowed:
                if body.get("errors"):
                    failures.append((name, role, "should answer", body["errors"][0]["message"]))
            elif name in NOT_FOUND_LIKE_MADE_UP and not codes & AUTH_CODES:
                key, type_name = NOT_FOUND_LIKE_MADE_UP[name]
                absent = await w.clients[role].post(query_for(name, {**w.ids, key: gid(type_name, 987654)}))
                if not body.get("errors") or (body.get("data"), body.get("errors")) != (absent.get("data"), absent.get("errors")):
                    failures.append((name, role, "should be denied like a made-up id", codes, body, absent))
            else:
                if not codes & AUTH_CODES or (body.get("data") or {}).get(name) is not None:
                    failures.append((name, role, "should be denied", codes, str(body.get("data"))[:100]))
            leaked = leaks(role, body, w)
            if leaked:
                failures.append((name, role, "LEAK", leaked))
            must = MUST_SEE.get((name, role))
            if must and must not in json.dumps(body):
                failures.append((name, role, "should see", must))
    assert failures == [], "\n".join(map(str, failures))


async def test_every_node_type_for_every_role(world):
    w = world
    failures = []
    cells = [(t, key, seen) for t, (key, seen) in NODE_MATRIX.items()]
    cells += [(t, key, seen) for (t, key), seen in NODE_EXTRA.items()]
    query = "query($id: ID!) { node(id: $id) { id __typename } }"
    many = "query($ids: [ID!]!) { nodes(ids: $ids) { id } }"
    for type_name, key, seen in cells:
        target = w.ids[key]
        made_up = gid(type_name, 987654)
        for role in ROLES:
            body = await w.clients[role].post(query, {"id": target})
            got = (body.get("data") or {}).get("node")
            if role in seen:
                if not got or got["id"] != target:
                    failures.append((type_name, key, role, "should see", body.get("errors") or got))
                continue
            absent = await w.clients[role].post(query, {"id": made_up})
            if (body.get("data"), body.get("errors")) != (absent.get("data"), absent.get("errors")):
                failures.append((type_name, key, role, "differs from a made-up id", body.get("data"), absent.get("data")))
            both = await w.clients[role].post(many, {"ids": [target, made_up]})
            if (both.get("data") or {}).get("nodes") not in ([None, None], None):
                failures.append((type_name, key, role, "nodes() shows it", both.get("data")))
    assert failures == [], "\n".join(map(str, failures))


async def test_every_mutation_for_every_role(world):
    w = world
    failures = []
    order = [m for m in MUTATION_MATRIX if m not in LAST] + list(LAST)
    for name in order:
        allowed = MUTATION_MATRIX[name]
        query, variables = mutation_call(name, w.ids)
        fake_query, fake_variables = mutation_call(name, w.ids, fake=True)
        denied_roles = [r for r in ROLES if r not in allowed]
        before = await snapshot()
        targets_objects = fake_variables != variables
        for role in denied_roles:
            body = await w.clients[role].post(query, variables)
            codes = error_codes(body)
            if not codes & AUTH_CODES:
                # Not a refusal of the role: then the objects must read as absent,
                # exactly as made-up ids of the same types do.
                absent = await w.clients[role].post(fake_query, fake_variables)
                if not targets_objects or body.get("errors") or body.get("data") != absent.get("data"):
                    failures.append((name, role, "should be denied like a made-up id", codes,
                                     str(body.get("data") or body.get("errors"))[:160], str(absent.get("data"))[:160]))
            leaked = leaks(role, body, w)
            if leaked:
                failures.append((name, role, "LEAK", leaked))
        after = await snapshot()
        if before != after:
            failures.append((name, "denied roles changed the database", diff(before, after)))
        for role in ROLES:
            if role not in allowed:
                continue
            c = w.clients[role]
            body = await c.post(query, variables)
            if c.csrf and c.http.cookies.get("lw_csrf"):
                c.csrf = c.http.cookies.get("lw_csrf")  # switchAccount opened a new session
            codes = error_codes(body)
            if codes & AUTH_CODES or any("path" in e for e in body.get("errors") or []):
                failures.append((name, role, "should pass authorisation", codes, str(body)[:200]))
    assert failures == [], "\n".join(map(str, failures))


async def test_the_subscription_for_every_role(world, app):
    """leadEvents over graphql-transport-ws: refused before any event for the
    roles that may not listen, accepted for the others."""
    import asyncio

    from loopback import serve_asgi
    import websockets

    w = world
    async with serve_asgi(app, websockets=True) as address:
        for role in ROLES:
            c = w.clients[role]
            headers = {}
            cookie = c.http.cookies.get("lw_session")
            if cookie:
                headers["Cookie"] = f"lw_session={cookie}"
            params = {"authorization": f"Bearer {c.bearer}"} if c.bearer else {}
            async with websockets.connect(f"ws://{address}/graphql", subprotocols=["graphql-transport-ws"],
                                          additional_headers=headers) as ws:
                await ws.send(json.dumps({"type": "connection_init", "payload": params}))
                ack = json.loads(await asyncio.wait_for(ws.recv(), 5))
                assert ack["type"] == "connection_ack", (role, ack)
                await ws.send(json.dumps({"id": "1", "type": "subscribe",
                                          "payload": {"query": "subscription { leadEvents { kind } }"}}))
                if role in SUBSCRIPTION_MATRIX["leadEvents"]:
                    with pytest.raises(asyncio.TimeoutError):  # listening: nothing happens, no error
                        await asyncio.wait_for(ws.recv(), 0.3)
                else:
                    answer = json.loads(await asyncio.wait_for(ws.recv(), 5))
                    assert answer["type"] in ("error", "next"), (role, answer)
                    errors = answer["payload"] if answer["type"] == "error" else answer["payload"].get("errors")
                    assert errors and errors[0]["extensions"]["code"] in AUTH_CODES, (role, answer)
