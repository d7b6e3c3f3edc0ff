"""The `leadwire` command, run as a user runs it (a subprocess in a fresh directory)."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
import urllib.request

import pytest

from conftest import POSTGRES_URL, drop_postgres_database, service_skip

LEADWIRE = [sys.executable, "-m", "leadwire"]


def run(args, cwd, env=None, stdin=None, timeout=180):
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("LEADWIRE_")}
    full_env.update(env or {})
    return subprocess.run(LEADWIRE + args, cwd=cwd, env=full_env, input=stdin, capture_output=True, text=True,
                          timeout=timeout)


def test_help_lists_every_command(tmp_path):
    out = run(["--help"], tmp_path)
    assert out.returncode == 0
    for command in ("serve", "worker", "migrate", "demo", "createuser", "plugins", "check"):
        assert command in out.stdout


@pytest.mark.parametrize("env, setting", [
    ({"LEADWIRE_DATABASE_URL": "mysql://db/x"}, "LEADWIRE_DATABASE_URL"),
    ({"LEADWIRE_ENV": "production"}, "LEADWIRE_SECRET_KEY"),
    ({"LEADWIRE_BROKER_URL": "kafka://x"}, "LEADWIRE_BROKER_URL"),
    ({"LEADWIRE_DB_POOL_MAX": "lots"}, "LEADWIRE_DB_POOL_MAX"),
])
def test_a_bad_setting_stops_with_one_clear_line(tmp_path, env, setting):
    out = run(["migrate"], tmp_path, env)
    assert out.returncode == 2
    assert out.stderr.strip().startswith(f"leadwire: error: {setting}: ")
    assert len(out.stderr.strip().splitlines()) == 1 and "Traceback" not in out.stderr


def test_a_bad_plugin_config_names_the_plugin_and_key(tmp_path):
    (tmp_path / "plugins.toml").write_text('[plugin.industries]\ncolour = "blue"\n')
    out = run(["plugins"], tmp_path)
    assert out.returncode == 2, out.stderr
    assert "plugin 'industries': setting 'colour'" in out.stderr and "Traceback" not in out.stderr
    (tmp_path / "plugins.toml").write_text('[plugin.not_installed]\nx = 1\n')
    out = run(["check"], tmp_path)
    assert out.returncode == 1 and "not_installed" in out.stderr


def test_secrets_are_not_printed(tmp_path):
    env = {"LEADWIRE_DATABASE_URL": "postgres://lw:sup3rs3cret@127.0.0.1:1/x", "LEADWIRE_SECRET_KEY": "k" * 40}
    out = run(["check"], tmp_path, env, timeout=60)
    assert out.returncode == 1
    assert "sup3rs3cret" not in out.stdout + out.stderr and "k" * 40 not in out.stdout + out.stderr
    assert "postgres://lw:***@127.0.0.1:1/x" in out.stdout


def test_migrate_and_demo_are_idempotent_and_createuser_works(tmp_path):
    first = run(["migrate"], tmp_path)
    assert first.returncode == 0 and "applied " in first.stdout and "leadwire.0001_initial" in first.stdout
    assert "up to date" in run(["migrate"], tmp_path).stdout
    demo = run(["demo", "--leads", "20"], tmp_path)
    assert demo.returncode == 0, demo.stderr
    assert "demo data created" in demo.stdout and "operator@demo.leadwire.dev" in demo.stdout
    again = run(["demo"], tmp_path)
    assert "already present" in again.stdout
    made = run(["createuser", "--email", "new.owner@example.com", "--name", "New Owner", "--account", "Fresh Co",
                "--password-stdin"], tmp_path, stdin="a long enough password\n")
    assert made.returncode == 0 and "owner of the new account" in made.stdout
    bad = run(["createuser", "--email", "not-an-email", "--name", "X", "--account", "Fresh Co", "--password-stdin"],
              tmp_path, stdin="a long enough password\n")
    assert bad.returncode == 2 and "email:" in bad.stderr
    assert run(["check"], tmp_path).returncode == 0


def test_worker_needs_a_broker(tmp_path):
    out = run(["worker"], tmp_path)
    assert out.returncode == 2 and "LEADWIRE_BROKER_URL" in out.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _post(port, query, variables=None, headers=None):
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql", data=json.dumps({"query": query, "variables": variables or {}}).encode(),
        headers={"content-type": "application/json", **(headers or {})},
    )
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read()), r.headers


def test_serve_with_demo_answers_and_stops_cleanly(tmp_path):
    """The README's run command, for real: embedded SQLite, in-process worker."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEADWIRE_")}
    proc = subprocess.Popen(LEADWIRE + ["serve", "--demo", "--port", str(port)], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(proc.stdout.read())
                time.sleep(0.2)
        body, headers = _post(port, 'mutation { signIn(input: {email: "dana.kowalski@greatlakesmovers.example", '
                                    'password: "leadwire-demo"}) { csrfToken userErrors { message } } }')
        assert body["data"]["signIn"]["userErrors"] == []
        cookie = headers["set-cookie"].split(";")[0]
        leads, _ = _post(port, "{ leads(first: 5) { totalCount } campaigns(first: 5) { totalCount } }",
                         headers={"cookie": cookie, "x-csrf-token": body["data"]["signIn"]["csrfToken"]})
        assert leads["data"]["leads"]["totalCount"] > 0 and leads["data"]["campaigns"]["totalCount"] == 2
        page = urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{port}/graphql",
                                                             headers={"accept": "text/html"}), timeout=10).read()
        assert b"graphiql" in page.lower()
    finally:
        proc.send_signal(signal.SIGTERM)
        output = proc.communicate(timeout=30)[0]
    # uvicorn shuts down cleanly, then re-raises SIGTERM to exit as signalled.
    assert proc.returncode in (0, -signal.SIGTERM), output
    assert "Application shutdown complete" in output and "Worker has been shut down" in output, output
    assert "Traceback" not in output, output


def test_serve_refuses_an_unmigrated_postgres_database(tmp_path):
    if not POSTGRES_URL:
        service_skip("PostgreSQL CLI test: set LEADWIRE_TEST_POSTGRES_URL")
    import asyncio

    url = POSTGRES_URL.replace("{}", "cli_{}").format(uuid.uuid4().hex[:10])
    name = url.rsplit("/", 1)[1]
    subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-c", f'CREATE DATABASE "{name}"'], check=True,
                   capture_output=True)
    try:
        env = {"LEADWIRE_DATABASE_URL": url}
        check = run(["check"], tmp_path, env)
        assert check.returncode == 1 and "run `leadwire migrate`" in check.stderr
        serve = run(["serve", "--port", str(_free_port())], tmp_path, env, timeout=60)
        assert serve.returncode == 2 and "unapplied migration" in serve.stderr and "Traceback" not in serve.stderr
        assert run(["migrate"], tmp_path, env).returncode == 0
        assert run(["check"], tmp_path, env).returncode == 0
    finally:
        asyncio.run(drop_postgres_database(url))
