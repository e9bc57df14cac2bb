"""Commands addons add to `python run.py` (manifest key "commands"): found in the addon
folders without a database, run only while their addon is enabled."""
import textwrap

import pytest

from core.manifest import ManifestError, parse_manifest
from tests.conftest import Suite, make_suite, write_config

MANIFEST = """{
    "name": "Greetings",
    "version": "1.0.0",
    "commands": ["cli.greet_cli", "cli.not_a_command", "missing.cli"],
}"""
COMMANDS = '''
import click

not_a_command = "a string"


@click.group("greet")
def greet_cli():
    """Greet the users of the site."""


@greet_cli.command("users")
@click.option("--loud", is_flag=True)
def greet_users(loud):
    """Say hello to every user."""
    from sqlalchemy import select
    from core.cli import app_context
    from core.db import db
    from core.models import User
    with app_context():
        for name in db.session.scalars(select(User.username).order_by(User.username)):
            click.echo(f"Hello {name}" + ("!" if loud else "."))
'''


@pytest.fixture(scope="session")
def commands_addons(tmp_path_factory):
    """A folder with one addon that adds a command group (one folder per test process:
    an addon's code is imported once per process)."""
    folder = tmp_path_factory.mktemp("command_addons")
    addon = folder / "tw_greetings"
    addon.mkdir()
    (addon / "__manifest__.py").write_text(MANIFEST, encoding="utf-8")
    (addon / "cli.py").write_text(textwrap.dedent(COMMANDS), encoding="utf-8")
    return folder


def test_help_lists_addon_commands_without_a_database(tmp_path, commands_addons):
    config = write_config(tmp_path, [commands_addons])
    # A database no one can reach: --help must not need it.
    suite = Suite(config, "postgresql://nobody@127.0.0.1:9/nowhere")
    result = suite.run("--help")
    assert result.exit_code == 0, result.output
    assert "greet" in result.output and "Greet the users of the site." in result.output
    assert "init" in result.output and "addons" in result.output
    result = suite.run("greet", "--help")
    assert result.exit_code == 0 and "users" in result.output
    result = suite.run("greet", "users", "--help")
    assert result.exit_code == 0 and "--loud" in result.output


def test_an_addon_command_runs_only_while_its_addon_is_enabled(tmp_path, database_url,
                                                              commands_addons):
    suite = make_suite(tmp_path, database_url, addon_paths=[commands_addons])
    try:
        result = suite.run("greet", "users")
        assert result.exit_code == 1
        assert "addon tw_greetings is not enabled" in result.output
        assert suite.run("addons", "enable", "tw_greetings").exit_code == 0
        result = suite.run("greet", "users", "--loud")
        assert result.exit_code == 0, result.output
        assert "Hello admin!" in result.output
        assert suite.run("addons", "disable", "tw_greetings").exit_code == 0
        assert suite.run("greet", "users").exit_code == 1
    finally:
        suite.close()


def test_an_unknown_command_is_still_refused(tmp_path, commands_addons):
    suite = Suite(write_config(tmp_path, [commands_addons]), "sqlite:///:memory:")
    result = suite.run("nonsense")
    assert result.exit_code == 2 and "No such command" in result.output


@pytest.mark.parametrize("value, message", [
    ('"cli.greet_cli"', "commands: must be list"),
    ('["greet_cli"]', 'commands[0]: must be "module.attribute"'),
    ('[3]', "commands[0]: must be text"),
])
def test_the_manifest_key_is_checked(tmp_path, value, message):
    path = tmp_path / "__manifest__.py"
    path.write_text(f'{{"name": "X", "version": "1.0.0", "commands": {value}}}')
    with pytest.raises(ManifestError) as refused:
        parse_manifest(path)
    assert message in str(refused.value) and str(path) in str(refused.value)
