# Document management: a library of folders with group access, tags, versions,
# check-out and search inside the files; files attached to any record; the PDF
# templates edited in the screens; every PDF the suite issues kept as it was sent.
{
    "name": "Documents",
    "version": "1.0.0",
    "summary": "Document library with versions, files on any record, PDF templates, issued PDFs",
    "category": "Productivity",
    "license": "AGPL-3",
    "depends": ["crm_contacts"],
    "models": ["models", "attachments", "issued", "search"],
    "views": [
        {"model": "Document", "menu": "Documents/Library", "class": "library.DocumentView",
         "icon": "fa-folder-open", "order": 10, "endpoint": "document"},
        {"model": "Folder", "menu": "Documents/Folders", "class": "library.FolderView",
         "icon": "fa-sitemap", "order": 20, "endpoint": "doc_folder"},
        {"model": "DocTag", "menu": "Documents/Tags", "class": "library.TagView",
         "icon": "fa-tags", "order": 30, "endpoint": "doc_tag"},
        {"model": "IssuedDocument", "menu": "Documents/Issued documents",
         "class": "issued.IssuedView", "icon": "fa-lock", "order": 40,
         "endpoint": "issued_document"},
        {"model": "TemplateVersion", "menu": "Documents/PDF templates",
         "class": "templates.TemplateView", "icon": "fa-file-code-o", "order": 50,
         "endpoint": "pdf_template"},
        # Not a screen: the addresses behind the Attachments panel on every record page
        # (no menu entry; access per endpoint through the attached record).
        {"model": "Document", "menu": "Documents/Attachments",
         "class": "attachments.AttachmentView", "order": 90, "endpoint": "attachment"},
    ],
    "menus": {"Documents": {"order": 60, "icon": "fa-files-o"}},
    "groups": {"docs_user": "Documents: user", "docs_manager": "Documents: manager",
               "docs_template_editor": "Documents: template editor"},
    "access": {
        # Folder groups narrow the library further (Document.__record_rule__). Files on a
        # record, and the PDFs issued from it, go with the record's own rights.
        "docs_user": {"Document": "rwcx", "Folder": "r", "DocTag": "rc"},
        "docs_manager": {"Document": "rwcdx", "Folder": "rwcd", "DocTag": "rwcd",
                         "IssuedDocument": "rx"},
        "docs_template_editor": {"TemplateVersion": "rwc"},
    },
    "rules": [
        {"model": "Document", "group": "docs_user", "scope": "all"},
        {"model": "Document", "group": "docs_manager", "scope": "all"},
    ],
    "jobs": [{"id": "crm_docs.extract_text", "label": "Read the text of new documents for search",
              "func": "search.extract_pending", "trigger": "interval", "minutes": 1}],
    "demo": ["data/demo.py"],
}
