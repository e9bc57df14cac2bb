from core.i18n import mark

# Text of the manifest, which is shown translated (menus, groups, jobs, settings): marked
# here so that `make translations` puts it in the catalog.
MANIFEST_TEXT = (
    mark("Stock value by warehouse"), mark("Stock below its minimum"),
    mark("Owed to suppliers by age"), mark("Purchases by month"),
    mark("Suppliers, purchase orders, receipts and returns, payables, stock, stock-takes, reorder"),
    mark("Purchase and stock"), mark("Purchase"), mark("Stock"),
    mark("Purchase orders"), mark("Receipts"), mark("Returns to suppliers"),
    mark("Supplier bills"), mark("Payments made"), mark("Aged payables"), mark("Suppliers"),
    mark("Supplier prices"), mark("On hand"), mark("Stock moves"), mark("Stock-takes"),
    mark("Reorder suggestions"), mark("Configuration"), mark("Reorder rules"),
    mark("Warehouses"),
    mark("Purchase: buyer"), mark("Purchase: manager"), mark("Stock: warehouse keeper"),
    mark("Confirm order"), mark("Approve"), mark("Refuse"), mark("Mark as sent"),
    mark("Partly received"), mark("Received"), mark("Close"),
    mark("Close this order? What is not received yet will not be expected any more."),
    mark("Cancel"), mark("Cancel this order?"), mark("Submit the count"),
    mark("Post adjustments"), mark("Post the differences to stock?"),
    mark("Cancel this stock-take?"), mark("Stock-takes"),
    mark("Percent more than ordered that a receipt may take"),
    mark("Allow stock to go below zero"), mark("Terms printed on new purchase orders"),
    mark("Compute reorder suggestions and send the low-stock digest"),
    mark("Purchase order"), mark("Count sheet"),
)
