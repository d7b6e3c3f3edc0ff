"""A separate process that routes leads, for the multi-process tests:
``python route_worker.py DATABASE_URL LEAD_ID...``. Prints how many it sold."""

import asyncio
import sys

from tortoise import Tortoise

from leadwire.core import industries, routing
from leadwire.core.db import tortoise_config
from leadwire.plugins.builtin.industries import BUILTIN_INDUSTRIES


async def main(url: str, lead_ids: list[int]) -> None:
    industries.install(BUILTIN_INDUSTRIES)
    await Tortoise.init(config=tortoise_config(url, pool_max=10))
    try:
        results = await asyncio.gather(*(routing.route_lead(i) for i in lead_ids))
        print(sum(len(r.sold_to) for r in results))
    finally:
        await Tortoise.close_connections()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], [int(x) for x in sys.argv[2:]]))
