"""The wheel holds exactly the `leadwire` package, every module of it, and
works installed outside the repository."""

import os
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOT_PACKAGES = {"tests", "bench", "docs", ".venv", "examples", ".ci", "build", "dist"}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(ROOT)],
        check=True, capture_output=True, timeout=300,
    )
    return next(out.glob("leadwire-*.whl"))


def _source_packages() -> set[str]:
    """Every folder of the repo with Python modules, as a dotted leadwire package."""
    found = set()
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT)
        if rel.parts[0] in NOT_PACKAGES or "node_modules" in rel.parts or rel.parts[0].startswith("."):
            continue
        found.add(".".join(("leadwire", *rel.parts[:-1])))
    return found


def test_every_source_package_is_declared():
    declared = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    missing = _source_packages() - declared
    assert not missing, f"add to [tool.setuptools] packages in pyproject.toml: {sorted(missing)}"


def test_wheel_has_only_leadwire_and_every_module(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names if not n.startswith("leadwire-")}
    assert tops == {"leadwire"}, tops
    assert not any(n.startswith(("leadwire/tests/", "leadwire/.venv/", "leadwire/bench/")) for n in names)
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT)
        if rel.parts[0] in NOT_PACKAGES or rel.parts[0].startswith("."):
            continue
        assert f"leadwire/{rel.as_posix()}" in names, f"{rel} is missing from the wheel"
    assert "leadwire/core/migrations/0001_initial.py" in names
    assert "leadwire/schema/schema.graphql" in names
    entry_points = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
    assert "leadwire = leadwire.cli:main" in entry_points


def test_installed_wheel_imports_every_module_outside_the_repo(wheel, tmp_path):
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
                   check=True, capture_output=True, timeout=300)
    modules = sorted(
        n[:-3].replace("/", ".").removesuffix(".__init__")
        for n in zipfile.ZipFile(wheel).namelist()
        if n.startswith("leadwire/") and n.endswith(".py") and not n.endswith("__main__.py")
    )
    code = (
        "import importlib, leadwire, sys\n"
        f"assert leadwire.__file__.startswith({str(target)!r}), leadwire.__file__\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        "print(len(sys.modules))\n"
    )
    # Third-party dependencies from this environment, the package only from the wheel.
    site_packages = [p for p in sys.path if p.endswith("site-packages")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(target), *site_packages])}
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
