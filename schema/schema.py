"""The root schema: each domain's queries, mutations and subscriptions merged,
with the production safety limits on."""

from __future__ import annotations

import logging

import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
    AddValidationRules,
    MaskErrors,
    MaxTokensLimiter,
    ParserCache,
    ValidationCache,
)
from strawberry.extensions import max_aliases, query_depth_limiter
from strawberry.extensions.disable_introspection import DisableIntrospection
from strawberry.schema.config import StrawberryConfig

from leadwire.core.db import unavailable
from leadwire.core.errors import DomainError
from leadwire.schema.calls.mutations import CallMutations
from leadwire.schema.calls.queries import CallQueries
from leadwire.schema.calls.types import TrackingNumber
from leadwire.schema.cost import QueryCost
from leadwire.schema.input_safety import RefuseUnstorableText
from leadwire.schema.delivery.mutations import DeliveryMutations
from leadwire.schema.delivery.queries import DeliveryQueries
from leadwire.schema.delivery.types import Delivery
from leadwire.schema.execution import LeadwireExecutionContext
from leadwire.schema.identity.mutations import IdentityMutations, PartnerMutations
from leadwire.schema.identity.queries import IdentityQueries
from leadwire.schema.identity.types import Account, ApiToken, LeadSource, LeadSourceKey, User
from leadwire.schema.leads.queries import LeadQueries
from leadwire.schema.leads.subscriptions import LeadSubscriptions
from leadwire.schema.leads.types import Lead
from leadwire.schema.marketplace.mutations import MarketplaceMutations
from leadwire.schema.marketplace.queries import MarketplaceQueries
from leadwire.schema.marketplace.types import Campaign, Industry, Offer, Product
from leadwire.schema.money.mutations import MoneyMutations
from leadwire.schema.money.queries import MoneyQueries
from leadwire.schema.money.types import LedgerEntry, Notification, Payment, PaymentMethod, Refund, ReturnRequest
from leadwire.schema.node import NodeQueries
from leadwire.schema.reports.mutations import ReportMutations
from leadwire.schema.reports.queries import ReportQueries
from leadwire.schema.workspace.mutations import WorkspaceMutations
from leadwire.schema.workspace.queries import WorkspaceQueries
from leadwire.schema.workspace.types import (
    AssignmentRule, FeedbackChoice, FeedbackQuestion, LeadImport, LostReason, PipelineStage, RegistrationPage,
)

MAX_DEPTH = 10
MAX_ALIASES = 30
MAX_TOKENS = 2000

# The depth and alias rules are built once. QueryDepthLimiter and
# MaxAliasesLimiter build a new rule class per instance, i.e. per request, and
# ValidationCache keys on the rule classes: with them every request was
# validated afresh (about 10% of a list query's CPU).
LIMIT_RULES = (
    query_depth_limiter.create_validator(MAX_DEPTH, None),
    max_aliases.create_validator(MAX_ALIASES),
)


@strawberry.type
class Query(NodeQueries, IdentityQueries, LeadQueries, MarketplaceQueries, DeliveryQueries, MoneyQueries,
            WorkspaceQueries, CallQueries, ReportQueries):
    pass


@strawberry.type
class Mutation(IdentityMutations, PartnerMutations, MarketplaceMutations, DeliveryMutations, MoneyMutations,
               WorkspaceMutations, CallMutations, ReportMutations):
    pass


@strawberry.type
class Subscription(LeadSubscriptions):
    pass


def should_mask_error(error: GraphQLError) -> bool:
    """Mask only the unexpected: syntax, validation, limit and permission errors
    (GraphQLError with no other cause) and domain errors stay readable."""
    original = error.original_error
    if original is None or isinstance(original, (GraphQLError, DomainError)):
        return False
    if unavailable(original):
        return False  # answered as 503 "unavailable, try again" by the HTTP view (app.py), never shown as is
    # Permission classes raise PermissionError-like strawberry exceptions that carry extensions.
    return not getattr(original, "extensions", None)


class _Schema(strawberry.Schema):
    def process_errors(self, errors, execution_context=None) -> None:
        # The database going away is not a bug: one line, not a traceback per field (app.py answers 503).
        lost = [e for e in errors if unavailable(e.original_error)]
        if lost:
            logging.getLogger("leadwire").warning("database unavailable during a GraphQL operation: %s",
                                                  type(lost[0].original_error).__name__)
        super().process_errors([e for e in errors if not unavailable(e.original_error)], execution_context)


def build_schema(*, introspection: bool = True, mask_errors: bool = True) -> strawberry.Schema:
    extensions: list = [
        ParserCache,
        ValidationCache,
        lambda: AddValidationRules(list(LIMIT_RULES)),
        lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
        RefuseUnstorableText,
        QueryCost,
    ]
    if not introspection:
        extensions.append(DisableIntrospection)
    if mask_errors:
        extensions.append(lambda: MaskErrors(should_mask_error=should_mask_error))
    return _Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=[
            Lead, User, Account, ApiToken, LeadSource, LeadSourceKey, Industry, Product, Offer, Campaign, Delivery,
            LedgerEntry, PaymentMethod, Payment, Refund, Notification, ReturnRequest, TrackingNumber,
            PipelineStage, LostReason, FeedbackQuestion, FeedbackChoice, AssignmentRule, LeadImport, RegistrationPage,
        ],
        extensions=extensions,
        execution_context_class=LeadwireExecutionContext,
        config=StrawberryConfig(disable_field_suggestions=not introspection),
    )
