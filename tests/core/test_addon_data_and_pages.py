"""Manifest keys ``data`` (records an addon needs, loaded on every enable) and
``public`` (pages for visitors with no login), and the buttons above a record."""
import itertools
import textwrap

import pytest

from core.manifest import ManifestError, parse_manifest
from tests.conftest import FIXTURE_ADDONS, make_suite
from tests.core.test_registry import make_addon

MODELS = """
    from core.db import db

    class Colour(db.Model):
        __tablename__ = "kit_colour"
        id = db.Column(db.Integer, primary_key=True)
        name = db.Column(db.String(20), nullable=False, unique=True)
"""
DATA = """
    from sqlalchemy import select
    from addons.{name}.models import Colour

    def load(session):
        # Only what is missing: an administrator may have deleted or renamed some.
        if session.scalar(select(Colour.id).limit(1)) is None:
            session.add_all([Colour(name="red"), Colour(name="blue")])
"""
PAGES = """
    from flask import Blueprint, request

    blueprint = Blueprint("{name}_public", __name__, url_prefix="/public/{name}")

    @blueprint.route("/hello", methods=["GET", "POST"])
    def hello():
        return f"hello {{request.method}}"
"""


_numbers = (f"{n}" for n in itertools.count(1))


def kit_addon(root, name):
    folder = make_addon(root, name, models=MODELS.replace("kit_colour", f"{name}_colour"),
                        extra='"models": ["models"], "data": ["data/defaults.py"], '
                              '"public": ["pages.blueprint"]')
    (folder / "data").mkdir()
    (folder / "data" / "defaults.py").write_text(textwrap.dedent(DATA.format(name=name)))
    (folder / "pages.py").write_text(textwrap.dedent(PAGES.format(name=name)))
    return folder


@pytest.fixture
def kit_suite(tmp_path, database_url):
    """An installation with an addon named after the test (``suite.kit``): an addon's
    code is imported once per process, from one folder, so each test needs its own."""
    extra = tmp_path / "client_addons"
    name = "kit_" + next(_numbers)
    kit_addon(extra, name)
    installation = make_suite(tmp_path, database_url, addon_paths=[FIXTURE_ADDONS, extra])
    installation.kit = name
    yield installation
    installation.close()


def test_data_is_loaded_on_enable_and_only_what_is_missing(kit_suite):
    assert kit_suite.run("addons", "enable", kit_suite.kit).exit_code == 0
    assert kit_suite.sql(f"SELECT name FROM {kit_suite.kit}_colour ORDER BY name") == [("blue",), ("red",)]
    kit_suite.sql(f"DELETE FROM {kit_suite.kit}_colour WHERE name = 'red'")
    kit_suite.run("addons", "disable", kit_suite.kit)
    kit_suite.run("addons", "enable", kit_suite.kit)
    assert kit_suite.sql(f"SELECT name FROM {kit_suite.kit}_colour") == [("blue",)]


def test_public_pages_need_no_login_and_no_csrf_token_and_go_with_the_addon(kit_suite):
    client = kit_suite.client()
    assert client.get(f"/public/{kit_suite.kit}/hello").status_code == 404
    kit_suite.run("addons", "enable", kit_suite.kit)
    assert client.get(f"/public/{kit_suite.kit}/hello").get_data(as_text=True) == "hello GET"
    response = client.post(f"/public/{kit_suite.kit}/hello", data={"x": "1"})
    assert response.status_code == 200 and response.get_data(as_text=True) == "hello POST"
    # The site's own forms still need the token.
    assert client.post("/login", data={"username": "admin", "password": "x"}).status_code == 400
    kit_suite.run("addons", "disable", kit_suite.kit)
    assert client.get(f"/public/{kit_suite.kit}/hello").status_code == 404


@pytest.mark.parametrize("value, message", [
    ("'pages.blueprint'", "public: must be list, not str"),
    ("['blueprint']", 'public[0]: must be "module.blueprint"'),
    ("['data/x.py', 3]", "data[1]: must be text, not int"),
])
def test_bad_data_and_public_keys_name_file_and_key(tmp_path, value, message):
    key = "data" if "data" in value else "public"
    manifest = tmp_path / "__manifest__.py"
    manifest.write_text(f"{{'name': 'X', 'version': '1.0', '{key}': {value}}}")
    with pytest.raises(ManifestError) as error:
        parse_manifest(manifest)
    assert str(error.value) == f"{manifest}: {message}" or message in str(error.value)
    assert str(manifest) in str(error.value)
