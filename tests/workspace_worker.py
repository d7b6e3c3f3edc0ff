"""A separate process that lets new leads enter their workspace (the
``workspace_enter_lead`` job's handler), for the multi-process assignment
tests: ``python workspace_worker.py DATABASE_URL LEAD_ID...``."""

import asyncio
import sys

from tortoise import Tortoise

from leadwire.core.db import tortoise_config
from leadwire.core.workspace import entry


async def main(url: str, lead_ids: list[int]) -> None:
    await Tortoise.init(config=tortoise_config(url, pool_max=10))
    try:
        sem = asyncio.Semaphore(10)

        async def one(lead_id: int) -> None:
            async with sem:
                await entry.enter_lead(lead_id)

        await asyncio.gather(*(one(i) for i in lead_ids))
        print(len(lead_ids))
    finally:
        await Tortoise.close_connections()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], [int(x) for x in sys.argv[2:]]))
