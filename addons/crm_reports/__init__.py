from core.i18n import mark

# Text of the manifest, which is shown translated (menus, groups, jobs): marked here so
# that `make translations` puts it in the catalog.
MANIFEST_TEXT = (
    mark("Reports"), mark("Reports and dashboards, Excel and PDF, customer value and churn risk"),
    mark("Dashboards"), mark("All reports"), mark("Customer value"), mark("Churn risk"),
    mark("Sales history"), mark("Reports: user"), mark("Reports: manager"),
    mark("Analyse customer value and churn risk"),
    mark("ABC: % of revenue of class A customers"), mark("ABC: % of revenue of class B customers"),
    mark("ABC: % of revenue of class C customers"), mark("ABC analysis of customers"),
    mark("RFM scores of customers"), mark("RFM segments"), mark("Customer analysis"),
    mark("Scheduled reports"), mark("Send scheduled reports"), mark("Count kept dashboards again"),
    mark("Customers whose revenue is falling"),
)
