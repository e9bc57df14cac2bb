"""The customer page's "Customers like them also bought" panel: products to offer next,
from the products bought together in the last year's orders (cross_sell.py)."""
from flask import render_template
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup

from addons.crm_reports_sales import cross_sell
from core import hooks, permissions


@hooks.connect("details.Customer")
def suggestions_panel(customer):
    """Left out for those who may not read orders (what the customer bought)."""
    if not permissions.permits(current_user, "SalesOrder", "r"):
        return None
    found = cross_sell.suggestions_for(customer.id)
    if not found:
        return None
    return {"title": _("Customers like them also bought"), "order": 90,
            "html": Markup(render_template("crm_reports_sales/panel_suggestions.html",
                                           suggestions=found))}
