from core.i18n import mark

# Text of the manifest, which is shown translated (the Addons page): marked here so that
# `make translations` puts it in the catalog.
MANIFEST_TEXT = (
    mark("Marketing and Sales"),
    mark("Leads from campaign responses, campaign revenue from won deals and paid orders, "
         "price lists from promotions"),
    mark("Price lists from promotions"),
)
