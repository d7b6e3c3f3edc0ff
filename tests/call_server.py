"""The app in a separate process for the multi-process call tests:
``python call_server.py DATABASE_URL PORT AUTH_TOKEN``. Serves until killed."""

import asyncio
import sys

import uvicorn
from tortoise import Tortoise

from leadwire.app import create_app
from leadwire.core import industries
from leadwire.core.calls import providers
from leadwire.core.calls.providers import InstalledProvider
from leadwire.core.db import tortoise_config
from leadwire.core.settings import Secret, load_settings
from leadwire.plugins.builtin.industries import BUILTIN_INDUSTRIES
from leadwire.plugins.builtin.twilio_voice import TwilioVoice


async def main(url: str, port: int, token: str) -> None:
    industries.install(BUILTIN_INDUSTRIES)
    providers.install([InstalledProvider(TwilioVoice(), "twilio_voice", {
        "auth_token": Secret(token), "public_url": None, "ring_timeout_seconds": 20, "missed_calls_to_pause": 3,
        "fallback_message": "Closed.", "record_calls": False})])
    await Tortoise.init(config=tortoise_config(url, pool_max=10), _enable_global_fallback=True)
    settings = load_settings({"LEADWIRE_ENV": "test", "LEADWIRE_SECRET_KEY": "x" * 40, "LEADWIRE_DATABASE_URL": url})
    app = create_app(settings, manage_database=False)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="warning"))
    try:
        await server.serve()
    finally:
        await Tortoise.close_connections()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), sys.argv[3]))
