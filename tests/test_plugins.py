"""The plugin manager: entry-point discovery, plugins.toml, one-line errors."""

import inspect
import re
import textwrap
from pathlib import Path

import pytest

from leadwire.core import industries
from leadwire.plugins import hookspecs
from leadwire.plugins.config import PluginError
from leadwire.plugins.manager import build_plugin_manager, load_plugins

DOCS = Path(__file__).resolve().parent.parent / "docs" / "plugins.md"


def install_dist(tmp_path, monkeypatch, name: str, module_source: str, entry_name: str | None = None) -> None:
    """A real installed distribution (dist-info with entry_points.txt) on sys.path."""
    site = tmp_path / "site"
    site.mkdir(exist_ok=True)
    (site / f"{name}.py").write_text(textwrap.dedent(module_source))
    info = site / f"{name}-1.2.3.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.2.3\n")
    (info / "entry_points.txt").write_text(f"[leadwire]\n{entry_name or name} = {name}\n")
    monkeypatch.syspath_prepend(str(site))


GOOD_PLUGIN = """
from leadwire.plugins.hookspecs import hookimpl
from leadwire.plugins.config import Setting
from leadwire.plugins.industry import FieldType, IndustrySchema, LeadField

SEEN = {}

@hookimpl
def leadwire_plugin_settings():
    return [Setting("api_url", required=True), Setting("api_key", secret=True, required=True),
            Setting("retries", type="int", default=3)]

@hookimpl
def leadwire_startup(config):
    SEEN.update(config)

@hookimpl
def leadwire_register_industries():
    return [IndustrySchema(key="pest_control", name="Pest control",
                           fields=(LeadField("pest", FieldType.STRING, "Pest", required=True),))]
"""


def test_entry_point_plugin_is_found_configured_and_listed(tmp_path, monkeypatch):
    install_dist(tmp_path, monkeypatch, "lw_pest", GOOD_PLUGIN)
    toml = tmp_path / "plugins.toml"
    toml.write_text('[plugin.lw_pest]\napi_url = "https://pests.example"\napi_key = "${PEST_KEY}"\n')
    plugins = build_plugin_manager(toml, {"PEST_KEY": "s3cret-value"})
    described = {p["name"]: p for p in plugins.describe()}
    assert described["lw_pest"]["source"] == "entry point: lw_pest==1.2.3"
    assert described["lw_pest"]["settings"] == {"api_url": "https://pests.example", "api_key": "***", "retries": 3}
    assert "leadwire_register_industries" in described["lw_pest"]["hooks"]
    import lw_pest

    assert lw_pest.SEEN["api_key"].reveal() == "s3cret-value" and "s3cret" not in repr(lw_pest.SEEN)
    load_plugins_result = plugins.collect("leadwire_register_industries", key="key")
    assert {s.key for s in load_plugins_result} >= {"moving", "pest_control"}


def test_secret_from_a_file(tmp_path, monkeypatch):
    install_dist(tmp_path, monkeypatch, "lw_pest2", GOOD_PLUGIN)
    (tmp_path / "key").write_text("from-file\n")
    toml = tmp_path / "plugins.toml"
    toml.write_text(f'[plugin.lw_pest2]\napi_url = "u"\napi_key = {{ "$file" = "{tmp_path / "key"}" }}\n')
    plugins = build_plugin_manager(toml, {})
    assert plugins.config_for("lw_pest2")["api_key"].reveal() == "from-file"


@pytest.mark.parametrize("block, expected", [
    ('api_url = "u"\napi_key = "${MISSING}"', "plugin 'lw_bad': setting 'api_key': environment variable MISSING is not set"),
    ('api_url = "u"\napi_key = "k"\ncolour = 1', "plugin 'lw_bad': setting 'colour' is not one of its settings"),
    ('api_url = "u"\napi_key = "k"\nretries = "many"', "plugin 'lw_bad': setting 'retries': expected int"),
    ('api_key = "k"', "plugin 'lw_bad': setting 'api_url' is required"),
])
def test_bad_settings_name_plugin_and_key(tmp_path, monkeypatch, block, expected):
    install_dist(tmp_path, monkeypatch, "lw_bad", GOOD_PLUGIN)
    toml = tmp_path / "plugins.toml"
    toml.write_text(f"[plugin.lw_bad]\n{block}\n")
    with pytest.raises(PluginError) as exc:
        build_plugin_manager(toml, {})
    assert str(exc.value).startswith(expected) and "\n" not in str(exc.value)


def test_broken_and_misspelt_plugins_fail_loudly(tmp_path, monkeypatch):
    install_dist(tmp_path, monkeypatch, "lw_broken", "raise ImportError('needs libfoo')\n")
    with pytest.raises(PluginError, match="plugin 'lw_broken'.*failed to load: ImportError: needs libfoo"):
        build_plugin_manager(tmp_path / "none.toml", {})
    monkeypatch.syspath_prepend(str(tmp_path))  # keep the next dist separate
    other = tmp_path / "other"
    other.mkdir()
    install_dist(other, monkeypatch, "lw_typo", """
from leadwire.plugins.hookspecs import hookimpl
@hookimpl
def leadwire_register_industires():
    return []
""")
    toml = tmp_path / "p.toml"
    toml.write_text('[plugins]\ndisabled = ["lw_broken"]\n')
    with pytest.raises(PluginError, match="lw_typo"):
        build_plugin_manager(toml, {})


def test_disable_enable_and_unknown_blocks(tmp_path):
    toml = tmp_path / "plugins.toml"
    toml.write_text('[plugins]\ndisabled = ["industries", "sms_channel"]\n')
    assert [p.name for p in build_plugin_manager(toml, {}, load_entry_points=False).loaded()] == [
        "email_channel", "webhook_channel", "hubspot_channel", "manual_gateway", "stripe_gateway", "twilio_voice"]
    toml.write_text('[plugins]\nenabled = ["industries"]\n')
    assert [p.name for p in build_plugin_manager(toml, {}, load_entry_points=False).loaded()] == ["industries"]
    toml.write_text('[plugin.nobody]\nx = 1\n')
    with pytest.raises(PluginError, match="plugin 'nobody': plugins.toml configures it, but no such plugin"):
        build_plugin_manager(toml, {}, load_entry_points=False)
    toml.write_text('[plugins\n')
    with pytest.raises(PluginError, match="not valid TOML"):
        build_plugin_manager(toml, {})


def test_duplicate_registrations_are_refused(tmp_path, monkeypatch):
    install_dist(tmp_path, monkeypatch, "lw_dupe", """
from leadwire.plugins.hookspecs import hookimpl
from leadwire.plugins.builtin.industries import MOVING
@hookimpl
def leadwire_register_industries():
    return [MOVING]
""")
    with pytest.raises(PluginError, match="registers 'moving', which plugin 'industries' registered already"):
        load_plugins(tmp_path / "none.toml")
    industries.install([])


def test_every_hook_is_documented_with_its_signature():
    doc = DOCS.read_text()
    for name, fn in inspect.getmembers(hookspecs, inspect.isfunction):
        if not name.startswith("leadwire_"):
            continue
        assert fn.__doc__, f"{name} has no docstring"
        signature = f"def {name}{inspect.signature(fn)}"
        assert signature.replace("'", "") in doc.replace("'", ""), f"docs/plugins.md lacks `{signature}`"
    documented = set(re.findall(r"def (leadwire_\w+)\(", doc))
    assert documented == {n for n, _ in inspect.getmembers(hookspecs, inspect.isfunction) if n.startswith("leadwire_")}
