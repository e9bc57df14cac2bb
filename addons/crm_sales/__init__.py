from core.i18n import mark

from . import hooks, lifecycle  # noqa: F401  (they connect their handlers and rules on import)

# Text of the manifest, which is shown translated (menus, groups, settings): marked here
# so that `make translations` puts it in the catalog.
MANIFEST_TEXT = (
    mark("Pipeline by stage"), mark("Sales funnel"), mark("Forecast by close month"),
    mark("Won revenue by salesperson"), mark("Won revenue by team"),
    mark("Won revenue by month"), mark("Orders by month"), mark("Leads by source"),
    mark("Expenses by category"),
    mark("Leads, pipeline, quotes, contracts, orders, payments, expenses, forecast"),
    mark("Mark quotes past their date expired"), mark("Remind owners of contracts ending soon"),
    mark("Sales"), mark("Dashboard"), mark("Leads"), mark("Pipeline"), mark("Opportunities"),
    mark("Quotes"), mark("Contracts"), mark("Orders"), mark("Deliveries"), mark("Returns"),
    mark("Payments"), mark("Balances"), mark("Expenses"), mark("Catalogue"), mark("Products"),
    mark("Product categories"), mark("Price lists"), mark("Configuration"), mark("Stages"),
    mark("Lost reasons"), mark("Web-to-lead forms"), mark("Lead assignment"),
    mark("Expense categories"), mark("Sales: salesperson"), mark("Sales: manager"),
    mark("Days a new quote is valid"), mark("Terms printed on new quotes"),
    mark("Days before a contract ends to remind its owner"),
    mark("Leads one visitor address may send per hour through a web form"),
    # The workflows' actions and questions, and the approval policies' names.
    mark("Qualify"), mark("Disqualify"), mark("Convert"), mark("Move to another stage"),
    mark("Send"), mark("Accept"), mark("Reject"), mark("Revise"), mark("Expire"),
    mark("Mark done"), mark("Cancel"), mark("Activate"), mark("Terminate"), mark("Renew"),
    mark("Submit"), mark("Approve"), mark("Refuse"),
    mark("The customer accepted this quote?"), mark("The customer rejected this quote?"),
    mark("Mark this order as done?"), mark("Cancel this order?"),
    mark("The contract is signed?"), mark("End this contract before its end date?"),
    mark("Quote discount"),
)
