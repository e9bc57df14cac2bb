"""Bridges: an addon with "auto_install": true is enabled by the core whenever all its
depends are, and disabled with any of them. On the fixture addons fixture_left,
fixture_right and their bridge fixture_left_right."""
import pytest

from core.manifest import ManifestError, parse_manifest
from core.registry import Registry
from tests.conftest import FIXTURE_ADDONS, make_suite
from tests.core.test_registry import make_addon

BRIDGE = "fixture_left_right"


def states(suite):
    """{addon: its state} as `addons list` prints it."""
    return {line.split("\t")[0]: line.split("\t")[1]
            for line in suite.run("addons", "list").output.splitlines() if "\t" in line}


def bridge_rights(suite):
    return sorted(suite.sql(
        "SELECT g.code, a.letters FROM core_access a JOIN core_group g ON g.id = a.group_id "
        "WHERE a.model = 'LeftRightLink'"))


def test_the_bridge_comes_with_its_last_dependency(suite):
    result = suite.run("addons", "enable", "fixture_left")
    assert result.exit_code == 0 and "enabled: fixture_left\n" == result.output
    assert states(suite)[BRIDGE] == "disabled"
    result = suite.run("addons", "enable", "fixture_right")
    assert result.output == f"enabled: fixture_right, {BRIDGE}\n"
    assert states(suite)[BRIDGE] == "enabled"
    # Made as any enabled addon: its table, and the rights its manifest gives.
    assert suite.sql("SELECT count(*) FROM fixture_left_right_link")[0][0] == 0
    assert bridge_rights(suite) == [("left_user", "r"), ("right_user", "r")]
    assert suite.sql("SELECT installed_version FROM core_addon WHERE name = :name",
                     name=BRIDGE)[0][0] == "1.0.0"


def test_disabling_either_side_disables_the_bridge_and_keeps_its_rows(suite):
    suite.run("addons", "enable", "fixture_left")
    suite.run("addons", "enable", "fixture_right")
    suite.sql("INSERT INTO fixture_left_thing (id, name) VALUES (1, 'l')")
    suite.sql("INSERT INTO fixture_right_thing (id, name) VALUES (1, 'r')")
    suite.sql("INSERT INTO fixture_left_right_link (left_id, right_id) VALUES (1, 1)")

    result = suite.run("addons", "disable", "fixture_right")
    assert result.exit_code == 0, result.output
    assert result.output == f"disabled: fixture_right, {BRIDGE}\n"
    assert (states(suite)["fixture_left"], states(suite)[BRIDGE]) == ("enabled", "disabled")
    assert suite.sql("SELECT count(*) FROM fixture_left_right_link")[0][0] == 1

    assert suite.run("addons", "enable", "fixture_right").output == \
        f"enabled: fixture_right, {BRIDGE}\n"
    assert states(suite)[BRIDGE] == "enabled"


def test_a_bridge_is_not_disabled_alone_while_both_sides_are_enabled(suite):
    suite.run("addons", "enable", "fixture_left")
    suite.run("addons", "enable", "fixture_right")
    result = suite.run("addons", "disable", BRIDGE)
    assert result.exit_code == 1
    assert f"{BRIDGE} is enabled whenever fixture_left, fixture_right are" in result.output
    assert states(suite)[BRIDGE] == "enabled"


def test_enabling_the_bridge_itself_enables_both_sides(suite):
    result = suite.run("addons", "enable", BRIDGE)
    assert result.output == f"enabled: fixture_left, fixture_right, {BRIDGE}\n"


def test_an_ordinary_dependant_still_refuses(tmp_path, database_url):
    extra = tmp_path / "client_addons"
    make_addon(extra, "plain_on_left", depends=["fixture_left"])
    suite = make_suite(tmp_path, database_url, addon_paths=[FIXTURE_ADDONS, extra],
                       enabled=["plain_on_left", "fixture_right"])
    try:
        assert states(suite)[BRIDGE] == "enabled"     # init enabled it too
        result = suite.run("addons", "disable", "fixture_left")
        assert result.exit_code == 1
        assert "fixture_left cannot be disabled: plain_on_left depends on it" in result.output
        assert BRIDGE not in result.output.split("cannot be disabled")[1]
        assert states(suite)[BRIDGE] == states(suite)["fixture_left"] == "enabled"
    finally:
        suite.close()


def test_init_enables_the_bridge_of_the_configured_addons(tmp_path, database_url):
    suite = make_suite(tmp_path, database_url, enabled=["fixture_left", "fixture_right"])
    try:
        assert states(suite)[BRIDGE] == "enabled"
        assert bridge_rights(suite) == [("left_user", "r"), ("right_user", "r")]
    finally:
        suite.close()


def test_the_addons_page_says_what_came_and_went_with_the_change(suite):
    client = suite.admin_client()
    client.post_form("/admin/addons/enable/fixture_left", {})
    client.post_form("/admin/addons/enable/fixture_right", {})
    page = client.get("/admin/addons/").get_data(as_text=True)
    assert "Enabled: Right, Left and right." in page
    client.post_form("/admin/addons/disable/fixture_left", {})
    page = client.get("/admin/addons/").get_data(as_text=True)
    assert "Disabled Left, Left and right. Its records are kept." in page
    client.post_form("/admin/addons/enable/fixture_left", {})
    client.post_form(f"/admin/addons/disable/{BRIDGE}", {})
    page = client.get("/admin/addons/").get_data(as_text=True)
    assert "is enabled whenever fixture_left, fixture_right are" in page
    assert states(suite)[BRIDGE] == "enabled"


def test_upgrade_enables_a_bridge_new_in_this_version(tmp_path, database_url):
    extra = tmp_path / "client_addons"
    extra.mkdir()
    suite = make_suite(tmp_path, database_url, addon_paths=[FIXTURE_ADDONS, extra],
                       enabled=["fixture_left", "fixture_right"])
    try:
        make_addon(extra, "late_bridge", depends=["fixture_left", "fixture_right"],
                   extra='"auto_install": True')
        assert states(suite)["late_bridge"] == "disabled"
        result = suite.run("upgrade")
        assert result.exit_code == 0 and "enabled: late_bridge" in result.output
        assert states(suite)["late_bridge"] == "enabled"
        assert suite.run("upgrade").output == "The database is up to date.\n"
    finally:
        suite.close()


def test_bridges_due_in_dependency_order_a_bridge_of_bridges_too(tmp_path):
    for name in ("bx_a", "bx_b", "bx_c"):
        make_addon(tmp_path, name)
    make_addon(tmp_path, "bx_ab", depends=["bx_a", "bx_b"], extra='"auto_install": True')
    make_addon(tmp_path, "bx_ab_c", depends=["bx_ab", "bx_c"], extra='"auto_install": True')
    make_addon(tmp_path, "bx_plain", depends=["bx_a"])
    registry = Registry([tmp_path])
    assert registry.bridges_due({"bx_a", "bx_b", "bx_c"}) == ["bx_ab", "bx_ab_c"]
    assert registry.bridges_due({"bx_a", "bx_c"}) == []
    assert registry.bridges_due({"bx_a", "bx_b", "bx_c", "bx_ab"}) == ["bx_ab_c"]


@pytest.mark.parametrize("value, message", [
    ('"auto_install": "yes", "depends": ["a"]', "auto_install: must be true/false, not str"),
    ('"auto_install": True', "auto_install: needs depends"),
])
def test_manifest_auto_install_is_checked(tmp_path, value, message):
    path = tmp_path / "__manifest__.py"
    path.write_text('{"name": "X", "version": "1.0.0", ' + value + "}", encoding="utf-8")
    with pytest.raises(ManifestError) as raised:
        parse_manifest(path)
    assert message in str(raised.value)


def test_manifest_auto_install_defaults_to_false(tmp_path):
    path = tmp_path / "__manifest__.py"
    path.write_text('{"name": "X", "version": "1.0.0"}', encoding="utf-8")
    assert parse_manifest(path)["auto_install"] is False
