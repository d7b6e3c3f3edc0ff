"""A separate process for the money concurrency tests.

``python money_worker.py sales DATABASE_URL SEED ACCOUNT_IDS LEAD_IDS``: routes
the leads and, at the same time, moves money on the accounts (deposits, return
credits, negative adjustments) through core.ledger. Prints a JSON summary of
what it did that the database accepted.

``python money_worker.py races DATABASE_URL SPEC``: approves one return, settles
one payment and closes one account, each six times at once. Prints how many
times each succeeded here.

``python money_worker.py autocharge DATABASE_URL PLUGINS_TOML ACCOUNT_ID LEAD_IDS``:
routes the leads (each sale below the threshold makes an auto-charge due),
runs every due job it can claim, and calls the auto-charge job directly again
and again, all at once. Prints how many leads it sold.
"""

import asyncio
import json
import random
import sys
from pathlib import Path

from tortoise import Tortoise
from tortoise.transactions import in_transaction

from leadwire.core import autocharge, industries, ledger, routing
from leadwire.core.db import tortoise_config
from leadwire.core.jobs import run_job
from leadwire.core.jobs.models import JobStatus, OutboxJob
from leadwire.core.models.ledger import EntryKind
from leadwire.plugins.builtin.industries import BUILTIN_INDUSTRIES


async def money_moves(rng: random.Random, account_ids: list[int], count: int, done: dict) -> None:
    for _ in range(count):
        account_id = rng.choice(account_ids)
        op = rng.choice(("deposit", "return_credit", "take"))
        amount = rng.randint(1, 1500)
        async with in_transaction() as conn:
            if op == "deposit":
                await ledger.credit(account_id, amount, EntryKind.DEPOSIT, "worker deposit", conn)
            elif op == "return_credit":
                await ledger.credit(account_id, amount, EntryKind.RETURN_CREDIT, "worker credit", conn)
            elif await ledger.debit(account_id, amount, EntryKind.ADJUSTMENT, "worker take", conn) is None:
                continue
        key = str(account_id)
        done[key] = done.get(key, 0) + (-amount if op == "take" else amount)
        await asyncio.sleep(0)


async def sales(url: str, seed: int, account_ids: list[int], lead_ids: list[int]) -> None:
    industries.install(BUILTIN_INDUSTRIES)
    await Tortoise.init(config=tortoise_config(url, pool_max=10))
    try:
        done: dict[str, int] = {}
        rng = random.Random(seed)
        results, _ = await asyncio.gather(
            asyncio.gather(*(routing.route_lead(i) for i in lead_ids)),
            asyncio.gather(*(money_moves(random.Random(rng.random()), account_ids, 40, done) for _ in range(4))),
        )
        print(json.dumps({"sold": sum(len(r.sold_to) for r in results), "moved": done}))
    finally:
        await Tortoise.close_connections()


async def run_jobs_until(stop: asyncio.Event) -> int:
    ran = 0
    while not stop.is_set():
        ids = await OutboxJob.filter(status=JobStatus.PENDING, name__in=["auto_charge", "settle_payment"]).values_list(
            "id", flat=True
        )
        for job_id in ids:
            if await run_job(job_id) is not None:
                ran += 1
        await asyncio.sleep(0.02)
    return ran


async def autocharges(url: str, plugins_toml: str, account_id: int, lead_ids: list[int]) -> None:
    from leadwire.plugins.manager import load_plugins

    load_plugins(Path(plugins_toml))
    await Tortoise.init(config=tortoise_config(url, pool_max=10))
    try:
        stop = asyncio.Event()
        jobs = asyncio.create_task(run_jobs_until(stop))

        routed = asyncio.Event()

        async def hammer() -> None:
            while not routed.is_set():
                await autocharge.run_auto_charge(account_id)
                await asyncio.sleep(0.005)

        async def route_slowly() -> list:
            out = []
            for i in lead_ids:
                out.append(await routing.route_lead(i))
                await asyncio.sleep(0.05)
            routed.set()
            return out

        results, *_ = await asyncio.gather(route_slowly(), hammer(), hammer())
        await asyncio.sleep(1.0)  # let the last charges settle
        stop.set()
        await jobs
        print(json.dumps({"sold": sum(len(r.sold_to) for r in results)}))
    finally:
        from leadwire.core import http

        await http.close()
        await Tortoise.close_connections()


async def races(url: str, spec: dict) -> None:
    """The same review, settlement and closing, many times at once: each must
    happen once, whichever process gets there first."""
    from leadwire.core import accounts_closing, payments, returns
    from leadwire.core.access import Viewer
    from leadwire.core.errors import DomainError
    from leadwire.core.models.identity import Membership
    from leadwire.plugins.manager import load_plugins

    load_plugins(Path(spec["plugins_toml"]))
    await Tortoise.init(config=tortoise_config(url, pool_max=10))
    try:
        async def viewer(membership_id: int) -> Viewer:
            return Viewer.from_membership(await Membership.get(id=membership_id).select_related("person", "account"))

        operator, owner = await viewer(spec["operator"]), await viewer(spec["owner"])
        counts = {"approved": 0, "settled": 0, "closed": 0}

        async def approve() -> None:
            try:
                await returns.review_return(operator, spec["return_id"], approve=True, note="race")
                counts["approved"] += 1
            except DomainError:
                pass

        async def settle() -> None:
            payment, result = await payments.execute(spec["payment_id"])
            if result is not None and payment.status.value == "succeeded":
                counts["settled"] += 1

        async def close() -> None:
            try:
                await accounts_closing.close_account(owner, confirm=True)
                counts["closed"] += 1
            except DomainError:
                pass

        await asyncio.gather(*(f() for _ in range(6) for f in (approve, settle, close)))
        print(json.dumps(counts))
    finally:
        await Tortoise.close_connections()


if __name__ == "__main__":
    mode, url = sys.argv[1], sys.argv[2]
    if mode == "sales":
        asyncio.run(sales(url, int(sys.argv[3]), json.loads(sys.argv[4]), json.loads(sys.argv[5])))
    elif mode == "races":
        asyncio.run(races(url, json.loads(sys.argv[3])))
    else:
        asyncio.run(autocharges(url, sys.argv[3], int(sys.argv[4]), json.loads(sys.argv[5])))
