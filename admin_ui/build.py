"""Build the admin UI's static assets (admin_ui/dist) with npm when they are missing.

`leadwire serve` calls :func:`ensure_built` so that a fresh clone needs only the
README's two commands. It prints one line saying what it does; when npm is
missing or the build fails it prints one clear line and the server goes on
serving the API (``/admin`` then says how to build by hand).
"""

from __future__ import annotations

import contextlib
import fcntl
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

from leadwire.admin_ui.serve import DIST, PACKAGE_DIR

LOG = PACKAGE_DIR / ".build.log"
LOCK = PACKAGE_DIR / ".build.lock"
TIMEOUT_SECONDS = 900


def is_built(dist: Path = DIST) -> bool:
    return (dist / "index.html").is_file()


@contextlib.contextmanager
def _exclusive(path: Path):
    """One build at a time (several servers or test workers may start together)."""
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_built(echo: Callable[[str], None] = lambda line: print(line, flush=True)) -> bool:
    """True when the assets are there (built now or before)."""
    if is_built():
        return True
    if not (PACKAGE_DIR / "package.json").is_file():
        echo("admin UI: not built, and its sources are not installed here: serving the API only")
        return False
    npm = shutil.which("npm")
    if npm is None:
        echo(
            "admin UI: not built and npm is not installed (install Node.js 20.19 or newer, then "
            f"`cd {PACKAGE_DIR} && npm ci && npm run build`): serving the API only"
        )
        return False
    echo(f"admin UI: building it once with npm in {PACKAGE_DIR} (a minute or two; log in {LOG.name})")
    with _exclusive(LOCK):
        if is_built():  # another process built it while we waited
            return True
        steps = [] if (PACKAGE_DIR / "node_modules").is_dir() else [[npm, "ci", "--no-audit", "--no-fund"]]
        steps.append([npm, "run", "build"])
        with open(LOG, "w") as log:
            for step in steps:
                try:
                    done = subprocess.run(step, cwd=PACKAGE_DIR, stdout=log, stderr=subprocess.STDOUT,
                                          stdin=subprocess.DEVNULL, timeout=TIMEOUT_SECONDS, check=False)
                except (OSError, subprocess.TimeoutExpired) as exc:
                    echo(f"admin UI: `npm {' '.join(step[1:])}` did not finish ({exc.__class__.__name__}); "
                         f"see {LOG}: serving the API only")
                    return False
                if done.returncode != 0:
                    echo(f"admin UI: `npm {' '.join(step[1:])}` failed (exit {done.returncode}); see {LOG}: serving the API only")
                    return False
    if not is_built():
        echo(f"admin UI: the build finished but wrote no {DIST / 'index.html'}; see {LOG}: serving the API only")
        return False
    return True
