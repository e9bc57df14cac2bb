"""Every way a manifest can be wrong is refused with the file and the key named."""
import pytest

from core.manifest import ManifestError, parse_manifest

GOOD = {"name": "Notes", "version": "1.0.0"}


def manifest_file(tmp_path, text):
    path = tmp_path / "__manifest__.py"
    path.write_text(text, encoding="utf-8")
    return path


def test_minimal_manifest_gets_defaults(tmp_path):
    manifest = parse_manifest(manifest_file(tmp_path, repr(GOOD)))
    assert manifest["depends"] == [] and manifest["views"] == [] and manifest["installable"]


@pytest.mark.parametrize("text, key, message", [
    ("{'name': 'X'}", "version", "is required"),
    ("{'version': '1.0.0'}", "name", "is required"),
    ("{'name': 'X', 'version': '1.0.0', 'colour': 'red'}", "colour", "unknown key"),
    ("{'name': 'X', 'version': 'one'}", "version", "is not a version"),
    ("{'name': 'X', 'version': 1.0}", "version", "must be text"),
    ("{'name': '  ', 'version': '1.0.0'}", "name", "must not be empty"),
    ("{'name': 'X', 'version': '1.0', 'depends': 'base'}", "depends", "must be list"),
    ("{'name': 'X', 'version': '1.0', 'depends': [1]}", "depends[0]", "must be text"),
    ("{'name': 'X', 'version': '1.0', 'views': [{'menu': 'A/B'}]}", "views[0].model",
     "is required"),
    ("{'name': 'X', 'version': '1.0', 'reports': {'Bad Key': {}}}", "reports.Bad Key",
     "report keys are lower-case"),
    ("{'name': 'X', 'version': '1.0', 'reports': {'ok': {'label': 'L', 'area': 'A', "
     "'model': 'M'}}}", "reports.ok.query", "is required"),
    ("{'name': 'X', 'version': '1.0', 'reports': {'ok': {'label': 'L', 'area': 'A', "
     "'model': 'M', 'query': 'nodot'}}}", "reports.ok.query", 'must be "module.function"'),
    ("{'name': 'X', 'version': '1.0', 'dashboards': {'d': {'label': 'D', 'reports': [1]}}}",
     "dashboards.d.reports[0]", "must be text"),
    ("{'name': 'X', 'version': '1.0', 'views': [{'model': 'N', 'menu': 'AB'}]}",
     "views[0].menu", "Category/Label"),
    ("{'name': 'X', 'version': '1.0', 'views': [{'model': 'N', 'menu': 'A/B', 'order': 'x'}]}",
     "views[0].order", "whole number"),
    ("{'name': 'X', 'version': '1.0', 'views': [{'model': 'N', 'menu': 'A/B', 'colour': 1}]}",
     "views[0].colour", "unknown key"),
    ("{'name': 'X', 'version': '1.0', 'access': {'g': {'Note': 'rwz'}}}", "access.g.Note",
     "unknown letters 'z'"),
    ("{'name': 'X', 'version': '1.0', 'rules': [{'model': 'N', 'group': 'g', 'scope': 'mine'}]}",
     "rules[0].scope", "own, team, all"),
    ("{'name': 'X', 'version': '1.0', 'jobs': [{'id': 'j', 'func': 'f', 'trigger': 'daily'}]}",
     "jobs[0].trigger", "cron, interval"),
    ("{'name': 'X', 'version': '1.0', 'groups': {'Sales Users': 'x'}}", "groups.Sales Users",
     "lower-case"),
    ("{'name': 'X', 'version': '1.0', 'installable': 'yes'}", "installable", "true/false"),
])
def test_bad_key_is_named(tmp_path, text, key, message):
    path = manifest_file(tmp_path, text)
    with pytest.raises(ManifestError) as error:
        parse_manifest(path)
    assert error.value.key == key
    assert message in str(error.value)
    assert str(error.value).startswith(f"{path}: {key}: ")


@pytest.mark.parametrize("text", [
    "__import__('os').system('touch pwned')",   # code is never executed
    "{'name': 'X', 'version': '1.0'} + {}",
    "{'name': 'X', 'version': '1.0',",
    "['name', 'version']",
    "",
])
def test_not_a_dict_literal(tmp_path, text):
    with pytest.raises(ManifestError, match="dict literal"):
        parse_manifest(manifest_file(tmp_path, text))
    assert not (tmp_path / "pwned").exists()
