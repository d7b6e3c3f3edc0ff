"""Tortoise models: one app, ``leadwire``, spread over the domain's modules.

Every module that defines models is listed in :data:`MODEL_MODULES`; the
database config, the migrations and the test fixtures all read that list.
"""

MODEL_MODULES = [
    "leadwire.core.models.identity",
    "leadwire.core.models.leads",
    "leadwire.core.models.marketplace",
    "leadwire.core.models.ledger",
    "leadwire.core.models.money",
    "leadwire.core.models.returns",
    "leadwire.core.models.delivery",
    "leadwire.core.models.workspace",
    "leadwire.core.models.calls",
    "leadwire.core.models.reports",
    "leadwire.core.jobs.models",
]
