"""Discovery, dependency order and the isolation of broken addons."""
import textwrap

from core.registry import Registry


def make_addon(root, name, depends=(), extra="", models=None):
    folder = root / name
    folder.mkdir(parents=True)
    manifest = {"name": name.title(), "version": "1.0.0", "depends": list(depends)}
    text = repr(manifest)[:-1] + (", " + extra if extra else "") + "}"
    (folder / "__manifest__.py").write_text(text, encoding="utf-8")
    if models is not None:
        (folder / "models.py").write_text(textwrap.dedent(models), encoding="utf-8")
    return folder


def test_dependency_order_puts_dependencies_first(tmp_path):
    make_addon(tmp_path, "reg_c", depends=["reg_b"])
    make_addon(tmp_path, "reg_b", depends=["reg_a"])
    make_addon(tmp_path, "reg_a")
    make_addon(tmp_path, "reg_d", depends=["reg_a", "reg_c"])
    registry = Registry([tmp_path])
    assert list(registry.addons) == ["reg_a", "reg_b", "reg_c", "reg_d"]
    assert registry.dependency_closure("reg_d") == ["reg_a", "reg_b", "reg_c"]
    assert registry.dependants("reg_b", ["reg_a", "reg_b", "reg_c", "reg_d"]) == ["reg_c", "reg_d"]


def test_missing_dependency_is_named(tmp_path):
    make_addon(tmp_path, "reg_lonely", depends=["reg_nowhere"])
    addon = Registry([tmp_path]).addons["reg_lonely"]
    assert not addon.installable
    assert "__manifest__.py: depends: 'reg_nowhere' is not an addon" in addon.error


def test_dependency_cycle_is_named(tmp_path):
    make_addon(tmp_path, "reg_x", depends=["reg_y"])
    make_addon(tmp_path, "reg_y", depends=["reg_z"])
    make_addon(tmp_path, "reg_z", depends=["reg_x"])
    make_addon(tmp_path, "reg_fine")
    registry = Registry([tmp_path])
    for name in ("reg_x", "reg_y", "reg_z"):
        assert "dependency cycle reg_x -> reg_y -> reg_z -> reg_x" in registry.addons[name].error
    assert registry.addons["reg_fine"].installable


def test_broken_addon_does_not_take_down_the_others(tmp_path):
    make_addon(tmp_path, "reg_good")
    (tmp_path / "reg_bad").mkdir()
    (tmp_path / "reg_bad" / "__manifest__.py").write_text("{'name': 'Bad'}")
    make_addon(tmp_path, "reg_needs_bad", depends=["reg_bad"])
    registry = Registry([tmp_path])
    assert registry.addons["reg_good"].installable
    assert "version: is required" in registry.addons["reg_bad"].error
    assert "'reg_bad' is not installable" in registry.addons["reg_needs_bad"].error


def test_models_that_fail_to_import_make_the_addon_not_installable(tmp_path):
    make_addon(tmp_path, "reg_crash", extra="'models': ['models']", models="1 / 0\n")
    addon = Registry([tmp_path]).addons["reg_crash"]
    assert "models: cannot be loaded: ZeroDivisionError" in addon.error


def test_view_of_unknown_model_or_foreign_class_is_refused(tmp_path):
    models = """
        from core.db import db

        class RegThing(db.Model):
            id = db.Column(db.Integer, primary_key=True)
            name = db.Column(db.String(20))
    """
    make_addon(tmp_path, "reg_views1", models=models,
               extra="'models': ['models'], 'views': [{'model': 'Nope', 'menu': 'A/B'}]")
    folder = make_addon(tmp_path, "reg_views2", depends=["reg_views1"], extra=(
        "'views': [{'model': 'RegThing', 'menu': 'A/B', 'class': 'views.Plain'}]"))
    (folder / "views.py").write_text("class Plain:\n    pass\n")
    registry = Registry([tmp_path])
    assert "views[0].model: no model 'Nope'" in registry.addons["reg_views1"].error
    assert "views[0].class: views.Plain must be a subclass of core.admin.ModelView" in \
        registry.addons["reg_views2"].error


def test_later_path_wins_and_the_log_says_so(tmp_path, caplog):
    make_addon(tmp_path / "standard", "reg_shared")
    client = make_addon(tmp_path / "client", "reg_shared")
    caplog.set_level("INFO")
    registry = Registry([tmp_path / "standard", tmp_path / "client"])
    assert registry.addons["reg_shared"].path == client
    assert "reg_shared" in caplog.text and "overrides" in caplog.text


def test_folder_name_must_be_an_identifier(tmp_path):
    make_addon(tmp_path, "Reg-Bad")
    assert "folder name must be lower-case" in Registry([tmp_path]).addons["Reg-Bad"].error


def test_missing_path_is_skipped(tmp_path):
    make_addon(tmp_path / "real", "reg_real")
    registry = Registry([tmp_path / "absent", tmp_path / "real"])
    assert list(registry.addons) == ["reg_real"]
