"""Menus from several manifests merge into one ordered tree with icons; a view class
in an addon refines the generated screen."""
from tests.conftest import FIXTURE_ADDONS, make_suite
from tests.core.test_registry import make_addon

MODELS = """
    from core.db import db

    class MenuTask(db.Model):
        __tablename__ = "menu_task"
        id = db.Column(db.Integer, primary_key=True)
        name = db.Column(db.String(80), nullable=False)
        secret_note = db.Column(db.String(80))
"""
VIEWS = """
    from core.admin import ModelView

    class TaskView(ModelView):
        column_list = ["name"]
        can_delete = False
        allow_export = False
"""


def test_menu_order_icons_and_view_class(tmp_path, database_url):
    extra = tmp_path / "client_addons"
    folder = make_addon(extra, "menu_tasks", models=MODELS, extra=(
        "'models': ['models'], "
        "'menus': {'Work': {'order': 1, 'icon': 'fa-briefcase'}}, "
        "'views': [{'model': 'MenuTask', 'menu': 'Work/Tasks', 'icon': 'fa-check', "
        "'class': 'views.TaskView'}, "
        "{'model': 'MenuTask', 'menu': 'Work/Archive/Old tasks', 'endpoint': 'old_task', 'order': 5}]"))
    (folder / "views.py").write_text(__import__("textwrap").dedent(VIEWS))
    suite = make_suite(tmp_path, database_url, addon_paths=[FIXTURE_ADDONS, extra],
                       enabled=["fixture_notes", "menu_tasks"])
    try:
        client = suite.admin_client()
        page = client.get("/admin/").get_data(as_text=True)
        menu = page[page.index("navbar-nav"):page.index("crm-user")]
        # "Work" asks for order 1, so it comes before "Notes" (default order).
        assert menu.index("Work") < menu.index("Notes") < menu.index("Settings")
        assert "fa-briefcase" in menu and "fa-check" in menu
        assert menu.index("Archive") < menu.index('href="/admin/old-task/"')

        client.post_form("/admin/menutask/new/", {"name": "Plan", "secret_note": "Xyzzy-secret"},
                         token_from="/admin/menutask/new/")
        listing = client.get("/admin/menutask/").get_data(as_text=True)
        assert "Plan" in listing and "Xyzzy-secret" not in listing     # column_list from the class
        assert "/admin/menutask/delete/" not in listing          # can_delete = False
        assert client.get("/admin/menutask/export/csv/").status_code == 403   # allow_export
        client.post_form("/admin/menutask/delete/", {"id": "1"},
                                    token_from="/admin/menutask/")
        assert "Plan" in client.get("/admin/menutask/").get_data(as_text=True)
        assert "Xyzzy-secret" in client.get("/admin/old-task/").get_data(as_text=True)
    finally:
        suite.close()


def test_two_addons_submenus_of_one_name_stay_under_their_own_parent(tmp_path, database_url):
    """Sales/Configuration and Marketing/Configuration are two submenus: each addon's
    settings screens under its own menu."""
    import re

    from tests.addons.conftest import ADDONS
    suite = make_suite(tmp_path, database_url, addon_paths=[ADDONS],
                       enabled=["crm_sales", "crm_marketing"])
    page = suite.admin_client().get("/admin/").get_data(as_text=True)
    menus = re.findall(r'<li class="nav-item dropdown[^"]*">(.*?)</ul>\s*</li>\s*(?=<li class="nav-item|</ul>)',
                       page, flags=re.S)
    marketing = next(menu for menu in menus if "/admin/suppression/" in menu)
    sales = next(menu for menu in menus if "/admin/stage/" in menu)
    assert "/admin/suppression/" not in sales and "/admin/stage/" not in marketing
    assert marketing.count(">Configuration<") == 1 and sales.count(">Configuration<") == 1
    suite.close()
