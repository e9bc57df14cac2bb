from core.i18n import mark

# Text of the manifest, which is shown translated (menus, groups, jobs): marked here so
# that `make translations` puts it in the catalog.
MANIFEST_TEXT = (
    mark("Document library with versions, files on any record, PDF templates, issued PDFs"),
    mark("Documents"), mark("Library"), mark("Folders"), mark("Tags"),
    mark("Issued documents"), mark("PDF templates"), mark("Attachments"),
    mark("Documents: user"), mark("Documents: manager"), mark("Documents: template editor"),
    mark("Read the text of new documents for search"),
)
