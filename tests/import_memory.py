"""A separate process importing a big CSV through the real upload endpoint and
the import jobs, on a SQLite file (so the database is not in this process's
memory), reporting its memory: ``python import_memory.py DB_PATH CSV_PATH ROWS``.
Prints one JSON line: the upload's tracemalloc peak, the highest current RSS
above the baseline during the preview and the import, the same measure while
the file's rows are held in memory (the control), and the counts."""

from __future__ import annotations

import asyncio
import csv
import gc
import json
import os
import sys
import threading
import tracemalloc

import httpx
from tortoise import Tortoise

from leadwire.core import auth, db as lwdb
from leadwire.core.db import tortoise_config
from leadwire.core.jobs import run_job
from leadwire.core.jobs.models import JobStatus, OutboxJob
from leadwire.core.models.leads import Lead, LeadOrigin
from leadwire.core.models.workspace import LeadImport
from leadwire.core.settings import load_settings
from leadwire.core.workspace import imports

MAPPING = {"First name": "first_name", "Last name": "last_name", "Phone": "phone", "E-mail": "email", "City": "city",
           "Notes": "data.notes"}


PAGE = os.sysconf("SC_PAGE_SIZE")


def rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


class RssPeak:
    """The highest current RSS seen between start() and stop(), sampled every 2 ms
    (the process-lifetime peak, ru_maxrss, would be masked by earlier peaks)."""

    def __init__(self):
        self.peak, self._stop = 0, threading.Event()

    def start(self) -> RssPeak:
        self.baseline = self.peak = rss()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(0.002):
            self.peak = max(self.peak, rss())

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss())
        return self.peak - self.baseline


async def run_all() -> None:
    while True:
        job = await OutboxJob.filter(status=JobStatus.PENDING).order_by("id").first()
        if job is None:
            return
        await run_job(job.id)


async def import_file(http, token: str, path: str) -> int:
    with open(path, "rb") as f:
        r = await http.post("/workspace/imports", files={"file": ("leads.csv", f, "text/csv")},
                            headers={"authorization": f"Bearer {token}"})
    assert r.status_code == 201, r.text
    return int(__import__("strawberry").relay.GlobalID.from_id(r.json()["importId"]).node_id)


async def main(db_path: str, csv_path: str, rows: int) -> None:
    from factories import make_account  # tests/ is the working directory

    url = f"sqlite://{db_path}"
    settings = load_settings({"LEADWIRE_DATABASE_URL": url, "LEADWIRE_SECRET_KEY": "x" * 40, "LEADWIRE_ENV": "test"})
    await Tortoise.init(config=tortoise_config(url))
    try:
        await lwdb.migrate()
        from leadwire.app import create_app

        app = create_app(settings, manage_database=False)
        _, owner = await make_account("Big Importer")
        _, token = await auth.create_api_token(owner, name="import")
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t", timeout=600) as http:
            # Warm up on a small file (modules, the ZIP table, the ORM's caches), then measure.
            small = csv_path + ".small"
            with open(csv_path) as src, open(small, "w") as dst:
                for i, line in enumerate(src):
                    if i > 1000:
                        break
                    dst.write(line)
            warm = await import_file(http, token, small)
            await imports.set_mapping(owner, warm, MAPPING)
            await run_all()
            await imports.start(owner, warm)
            await run_all()
            await Lead.filter(origin=LeadOrigin.IMPORT).delete()
            gc.collect()

            tracemalloc.start()
            big = await import_file(http, token, csv_path)
            upload_peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            gc.collect()
            sampler = RssPeak().start()
            before = sampler.baseline
            await imports.set_mapping(owner, big, MAPPING)
            await run_all()
            await imports.start(owner, big)
            await run_all()
            growth = sampler.stop()
        # The control: the same measure, when the file's rows ARE held in memory.
        gc.collect()
        sampler = RssPeak().start()
        with open(csv_path, newline="") as f:
            held = list(csv.reader(f))
        control = sampler.stop()
        del held
        imp = await LeadImport.get(id=big)
        print(json.dumps({"upload_peak": upload_peak, "rss_before": before, "rss_growth": growth,
                          "control_growth": control, "status": imp.status.value,
                          "total_rows": imp.total_rows, "imported": imp.imported_count,
                          "leads": await Lead.filter(origin=LeadOrigin.IMPORT).count()}))
    finally:
        await Tortoise.close_connections()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
