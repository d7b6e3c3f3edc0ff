"""Helpers for the sales-workspace tests: a partner team signed in through the
API, running outbox jobs, and common GraphQL snippets."""

from __future__ import annotations

import datetime as dt

from strawberry import relay

from leadwire.core.jobs import run_job
from leadwire.core.jobs.models import JobStatus, OutboxJob

from factories import PASSWORD, make_account, make_lead, make_user
from test_graphql_identity import email_of

ERRORS = "userErrors { field code message }"
PIPELINE = "{ pipeline { maxStages currency stages { id name position probability kind leadCount value { amountMinor currency } } } }"


def gid(type_name: str, pk: int) -> str:
    return str(relay.GlobalID(type_name, str(pk)))


def pk(global_id: str) -> int:
    return int(relay.GlobalID.from_id(global_id).node_id)


async def run_jobs(*names: str, limit: int = 100_000) -> int:
    """Run due outbox jobs (of these names, or all) until none is left; returns how many ran."""
    ran = 0
    while ran < limit:
        qs = OutboxJob.filter(status=JobStatus.PENDING)
        if names:
            qs = qs.filter(name__in=names)
        job = await qs.order_by("id").first()
        if job is None:
            return ran
        await OutboxJob.filter(id=job.id).update(run_after=dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=1))
        await run_job(job.id)
        ran += 1
    return ran


async def client_for(client_factory, email: str):
    c = await client_factory()
    payload = await c.sign_in(email, PASSWORD)
    assert payload["userErrors"] == [], payload
    return c


class Team:
    """Account A: owner > manager > (rep, peer); manager2 > rep2 (another team).
    Account B apart. Clients signed in for each."""

    async def setup(self, client_factory):
        self.client_factory = client_factory
        self.account, self.owner = await make_account("Acme Movers")
        self.manager = await make_user(self.owner)
        self.rep = await make_user(self.owner, manager=self.manager)
        self.peer = await make_user(self.owner, manager=self.manager)
        self.manager2 = await make_user(self.owner)
        self.rep2 = await make_user(self.owner, manager=self.manager2)
        self.account_b, self.owner_b = await make_account("Bravo Solar")
        self.c_owner = await client_for(client_factory, self.owner.email)
        self.c_manager = await client_for(client_factory, await email_of(self.manager))
        self.c_rep = await client_for(client_factory, await email_of(self.rep))
        self.c_rep2 = await client_for(client_factory, await email_of(self.rep2))
        self.c_owner_b = await client_for(client_factory, self.owner_b.email)
        return self

    async def lead(self, assignee=None, **fields):
        return await make_lead(self.account.id, assignee, **fields)

    async def stages(self, client=None) -> list[dict]:
        data = await (client or self.c_owner).data(PIPELINE)
        return data["pipeline"]["stages"]
