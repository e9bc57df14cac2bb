from core.i18n import mark

from . import activities, hooks  # noqa: F401  (their hook handlers connect on import)

# Text of the manifest, which is shown translated (menus, groups, settings): marked here
# so that `make translations` puts it in the catalog.
MANIFEST_TEXT = (
    mark("Customers, contacts, activities and calendar, follow-up reminders"),
    mark("Remind owners of customers due a follow-up"),
    mark("Customers"), mark("Contacts"), mark("Activities"), mark("Calendar"),
    mark("Competitors"), mark("Classification"), mark("Regions"), mark("Industries"),
    mark("Sources"), mark("Tags"), mark("Customers: user"), mark("Customers: manager"),
    mark("Days without activity before a grade A customer is due"),
    mark("Days without activity before a grade B customer is due"),
    mark("Customers by grade"), mark("Customers by lifecycle stage"),
    mark("Customers by source"), mark("Customers by region"), mark("Customers by industry"),
)
