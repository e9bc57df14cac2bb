from core.i18n import mark

# Text of the manifest, which is shown translated (the Addons page, the jobs): marked
# here so that `make translations` puts it in the catalog.
MANIFEST_TEXT = (
    mark("Reports and Sales"), mark("Products bought together, and what to offer each customer next"),
    mark("Find the products bought together"), mark("Products bought together"),
)
