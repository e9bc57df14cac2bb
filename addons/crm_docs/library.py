"""The library's screens: documents in folders, folders as a tree, tags.

A document is never made from a form of raw columns: "New" is the upload page (a folder
the user may write, tags, a description, one file or several, all stored or none), and
every write goes through documents.py, which checks the folder's groups and the
check-out. Downloads name a document and a version number, never a stored hash, and
answer 404 for a document the user may not read, exactly as for one that does not exist.
"""
from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_admin import expose
from flask_admin.contrib.sqla.filters import BaseSQLAFilter
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from markupsafe import Markup, escape
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from wtforms.validators import DataRequired, ValidationError

from addons.crm_docs import documents, search
from addons.crm_docs.models import DocTag, Document, DocumentVersion, Folder, access_of
from core import files, permissions
from core import record as record_page
from core.admin import ModelView
from core.db import db
from core.i18n import label
from core.models import Group
from core.util import int_ids

# Kinds of content (core/files.py) as the list's "Type" filter groups them.
KIND_GROUPS = {
    "pdf": (_l("PDF"), ("pdf",)),
    "image": (_l("Images"), ("png", "jpeg", "gif", "webp", "bmp", "tiff")),
    "office": (_l("Office documents and ZIP files"), ("zip", "ole")),
    "text": (_l("Text"), ("text",)),
    "markup": (_l("Web pages, SVG and XML"), ("markup",)),
    "media": (_l("Audio and video"), ("wav", "avi", "mp4", "webm", "mp3", "ogg")),
    "archive": (_l("Other archives"), ("gzip", "7z", "rar")),
    "other": (_l("Other files"), ("binary",)),
}


# -- what the screens show --------------------------------------------------------------

def type_text(filename, kind):
    """The type a person knows a file by: its name's ending (PDF, DOCX, PNG), else what
    its content was found to be."""
    ending = filename.rpartition(".")[2] if "." in filename else ""
    if ending and len(ending) <= 6 and ending.isalnum():
        return ending.upper()
    return next((str(text) for text, kinds in KIND_GROUPS.values() if kind in kinds), kind)


def folder_tree():
    """{folder id: (path "A / B", depth, parent id)} of every folder, read once per
    request (folders are few)."""
    if "crm_doc_folders" not in g:
        rows = {id_: (parent, name) for id_, parent, name in db.session.execute(
            select(Folder.id, Folder.parent_id, Folder.name))}
        tree = {}
        for folder_id in rows:
            names, seen, current = [], set(), folder_id
            while current in rows and current not in seen:
                seen.add(current)
                names.append(rows[current][1])
                current = rows[current][0]
            tree[folder_id] = (" / ".join(reversed(names)), len(names) - 1, rows[folder_id][0])
        g.crm_doc_folders = tree
    return g.crm_doc_folders


def folder_path(folder_id):
    return folder_tree().get(folder_id, ("", 0, None))[0]


def as_typed(text):
    """A stored name for a list cell, as the user typed it: lists translate plain text
    that matches a word the suite declares (a folder called "Sales"), never markup."""
    return escape(text)


def subfolder_ids(folder_id):
    """``folder_id`` and every folder under it."""
    tree = folder_tree()
    found, added = {folder_id}, True
    while added:
        more = {f for f, (_path, _depth, parent) in tree.items() if parent in found} - found
        found |= more
        added = bool(more)
    return found


def readable_folder_ids():
    """Ids of the folders the user may read (of every folder for a manager)."""
    readable = access_of(current_user)[0]
    return set(folder_tree()) if readable is None else set(readable)


def writable_folders():
    """The folders the user may add documents to, by path: [(id, path)]."""
    if not permissions.permits(current_user, "Document", "c"):
        return []
    writable = access_of(current_user)[1]
    tree = folder_tree()
    ids = tree if writable is None else [f for f in tree if f in writable]
    return sorted(((f, tree[f][0]) for f in ids), key=lambda pair: pair[1].casefold())


def user_text(user):
    return record_page.user_name(user) or ""


def checked_out_badge(document):
    if document.checked_out_by_id is None:
        return ""
    return Markup(' <span class="badge badge-warning crm-doc-checked-out">{}</span>').format(
        _("checked out by %(name)s", name=user_text(document.checked_out_by)))


def _folder_link(folder_id):
    if folder_id is None:
        return ""
    return Markup('<a href="{}">{}</a>').format(
        url_for("doc_folder.details_view", id=folder_id), folder_path(folder_id))


# -- the list's filters -------------------------------------------------------------------

class FolderFilter(BaseSQLAFilter):
    """Documents in a folder or in any folder under it."""

    crm_url_name = "folder"

    def __init__(self):
        # The options depend on the user: DocumentView._get_filter_groups fills them.
        super().__init__(Document.folder_id, _l("Folder"))

    @staticmethod
    def folders():
        readable = readable_folder_ids()
        return sorted(((str(f), path) for f, (path, _d, _p) in folder_tree().items()
                       if f in readable), key=lambda pair: pair[1].casefold())

    def apply(self, query, value, alias=None):
        ids = int_ids([value])
        return query.filter(Document.folder_id.in_(subfolder_ids(ids[0]) if ids else []))

    def operation(self):
        return _l("in")

    def clean(self, value):
        return value


class KindFilter(BaseSQLAFilter):
    """Documents of one group of types (images, PDF, office documents...)."""

    crm_url_name = "type"

    def __init__(self):
        super().__init__(Document.kind, _l("Type"),
                         options=[(key, text) for key, (text, _k) in KIND_GROUPS.items()])

    def apply(self, query, value, alias=None):
        return query.filter(Document.kind.in_(KIND_GROUPS.get(value, ("", ()))[1]))

    def operation(self):
        return _l("is")

    def clean(self, value):
        return value


# -- documents --------------------------------------------------------------------------

PLAIN_FORMATTERS = {
    "folder": lambda view, context, doc, name: as_typed(folder_path(doc.folder_id)),
    "size": lambda view, context, doc, name: files.size_text(doc.size),
    "kind": lambda view, context, doc, name: type_text(doc.filename, doc.kind),
    "owner": lambda view, context, doc, name: as_typed(user_text(doc.owner)),
}


def valid_name(form, field):
    try:
        field.data = files.clean_name(field.data)
    except files.FileRefused as refused:
        raise ValidationError(str(refused)) from None


class DocumentView(ModelView):
    column_list = ["name", "folder", "tags", "version", "size", "kind", "owner", "updated_at"]
    column_sortable_list = ["name", ("folder", "folder.name"), "version", "size", "kind",
                            ("owner", "owner.username"), "updated_at"]
    column_searchable_list = ["name"]   # the search itself: _apply_search
    column_filters = [FolderFilter(), "tags.name", KindFilter(), "owner.username", "updated_at"]
    column_labels = {"updated_at": _l("Updated"), "kind": _l("Type"),
                     "tags.name": _l("Tag"), "owner.username": _l("Owner")}
    column_default_sort = ("updated_at", True)
    column_details_list = ["name", "folder", "tags", "version", "filename", "size", "kind",
                           "owner", "description"]
    details_sections = [
        # Who has it checked out: the note above the fields says it (document_details.html).
        (None, ["name", "folder", "tags", "version", "filename", "size", "kind", "owner"]),
        (_l("Description"), ["description"]),
    ]
    column_export_list = ["name", "folder", "tags", "version", "filename", "size", "kind",
                          "owner", "updated_at", "description"]
    state_field = False
    form_columns = ["name", "folder", "tags", "description"]
    form_ajax_refs = {}
    form_args = {
        "name": {"filters": [lambda text: (text or "").strip()], "validators": [valid_name]},
        "folder": {"query_factory": lambda: db.session.query(Folder).filter(
            Folder.id.in_([f for f, _path in writable_folders()] or [0])),
            "get_label": lambda folder: folder_path(folder.id),
            "validators": [DataRequired(_l("Choose a folder."))]},
        "tags": {"query_factory": lambda: db.session.query(DocTag).order_by(DocTag.name)},
    }
    allow_import = False   # documents come with their files: the upload page
    list_template = "crm_docs/library_list.html"
    details_template = "crm_docs/document_details.html"

    column_formatters = {
        "name": lambda view, context, doc, name: Markup('<a href="{}">{}</a>{}').format(
            view.get_url(".details_view", id=doc.id), doc.name, checked_out_badge(doc)),
        **PLAIN_FORMATTERS,
    }
    column_formatters_export = PLAIN_FORMATTERS
    column_formatters_detail = {
        "folder": lambda view, context, doc, name: _folder_link(doc.folder_id),
        "size": lambda view, context, doc, name: files.size_text(doc.size),
        "kind": lambda view, context, doc, name: type_text(doc.filename, doc.kind),
        "owner": lambda view, context, doc, name: user_text(doc.owner),
    }

    def get_query(self):
        # The library only: files attached to records are read through their record.
        return super().get_query().filter(Document.folder_id.is_not(None)).options(
            joinedload(Document.checked_out_by), joinedload(Document.owner))

    def get_count_query(self):
        return super().get_count_query().filter(Document.folder_id.is_not(None))

    def _get_filter_groups(self):
        """The filters, with the folders the user may read as the folder filter's
        options (Flask-Admin reads options once, when the screen is made)."""
        groups = super()._get_filter_groups()
        for items in (groups or {}).values():
            for item in items:
                if isinstance(self._filters[item["index"]], FolderFilter):
                    item["options"] = FolderFilter.folders()
        return groups

    def _apply_search(self, query, count_query, joins, count_joins, text):
        # By name, tag, folder and the words in the file, as search.py indexes them.
        # Not counted: a common word is in most documents, and counting them all costs
        # ten times the page (BENCHMARKS.md); the list pages on with "next".
        condition = self.with_custom_search(search.condition(text.strip()), text)
        return query.filter(condition), None, joins, count_joins

    def search_placeholder(self):
        return _("Name, tag, folder or words in the file")

    def on_model_change(self, form, document, is_created):
        super().on_model_change(form, document, is_created)
        search.reindex(document)   # found by its new name, tags and folder

    # -- reading ---------------------------------------------------------------------------

    def _document(self):
        """The document of ?id= within the user's rules (404 otherwise)."""
        return self.get_one(request.args.get("id", ""))

    def _version(self, document):
        """The version ?version= names (the current one without it); 404 if none."""
        number = request.args.get("version", "")
        if not number:
            number = document.version
        numbers = int_ids([number])
        found = db.session.scalar(select(DocumentVersion).where(
            DocumentVersion.document_id == document.id,
            DocumentVersion.number == (numbers[0] if numbers else 0)))
        if found is None:
            abort(404)
        return found

    @expose("/download/")
    def download(self):
        """A version's file, always as an attachment."""
        document = self._document()
        version = self._version(document)
        return files.response(version.sha256, version.filename,
                              files.kind_named(version.kind), size=version.size)

    @expose("/preview/")
    def preview(self):
        """A PDF or an image, to show in the document's page; anything else is only
        ever downloaded."""
        document = self._document()
        version = self._version(document)
        kind = files.kind_named(version.kind)
        if not kind.inline:
            abort(404)
        response = files.response(version.sha256, version.filename, kind, inline=True,
                                  size=version.size)
        if kind is files.PDF:
            # Shown in a frame of the document's own page, and only there.
            response.headers["Content-Security-Policy"] = "frame-ancestors 'self'"
            response.headers["X-Frame-Options"] = "SAMEORIGIN"
        return response

    # -- the page ---------------------------------------------------------------------------

    def detail_buttons(self, document):
        buttons = [{"label": _("Download"), "url": self.get_url(".download", id=document.id),
                    "icon": "fa-download", "style": "btn-primary crm-doc-download"}]
        if not documents.may_write(document, current_user):
            return buttons
        holder = document.checked_out_by_id
        if holder is None:
            buttons.append({"label": _("Check out"), "post": True, "icon": "fa-lock",
                            "url": self.get_url(".check_out", id=document.id)})
        elif holder == current_user.id:
            buttons.append({"label": _("Check in"), "post": True, "icon": "fa-unlock",
                            "url": self.get_url(".check_in", id=document.id),
                            "style": "btn-outline-success"})
        elif access_of(current_user)[1] is None:
            buttons.append({"label": _("Check in for %(name)s",
                                       name=user_text(document.checked_out_by)),
                            "post": True, "icon": "fa-unlock",
                            "url": self.get_url(".check_in", id=document.id),
                            "style": "btn-outline-warning",
                            "confirm": _("Release %(name)s's check-out?",
                                         name=user_text(document.checked_out_by))})
        return buttons

    def detail_panels(self, document):
        kind = document.file_kind
        writable = documents.may_write(document, current_user)
        holder = document.checked_out_by_id
        own = []
        if kind.inline:
            own.append({"title": _("Preview"), "order": 0, "width": "col-12",
                        "html": Markup(render_template(
                            "crm_docs/document_preview.html", document=document,
                            is_pdf=kind is files.PDF,
                            url=self.get_url(".preview", id=document.id,
                                             version=document.version)))})
        versions = db.session.scalars(
            select(DocumentVersion).where(DocumentVersion.document_id == document.id)
            .options(joinedload(DocumentVersion.uploaded_by))
            .order_by(DocumentVersion.number.desc())).all()
        own.append({"title": _("Versions"), "order": 1, "width": "col-12",
                    "html": Markup(render_template(
                        "crm_docs/document_versions.html", document=document,
                        versions=versions, writable=writable,
                        blocked=holder is not None and holder != current_user.id,
                        size_text=files.size_text, user_text=user_text,
                        text_of=record_page.text_of))})
        return own + super().detail_panels(document)

    def render(self, template, **kwargs):
        document = kwargs.get("model")
        if template == self.details_template and document is not None:
            kwargs["checked_out"] = self.checked_out_text(document)
            g.crm_doc_shown = document   # for can_edit: the page's Edit button
        return super().render(template, **kwargs)

    @property
    def can_edit(self):
        """On a document's page, Edit only where the user may change it now."""
        document = g.get("crm_doc_shown")
        if document is not None and self.edit_refusal(document):
            return False
        return super().can_edit

    def edit_refusal(self, document):
        """Why the user may not change ``document`` now, or None."""
        if not documents.may_write(document, current_user):
            return _("You may not change this document.")
        holder = document.checked_out_by_id
        if holder is not None and holder != current_user.id:
            return self.checked_out_text(document)
        return None

    def checked_out_text(self, document):
        """What the page says of the document's check-out, or None."""
        holder = document.checked_out_by_id
        if holder is None:
            return None
        since = record_page.text_of(document.checked_out_at)
        if holder == current_user.id:
            return _("You checked this document out on %(at)s: upload your new version, "
                     "then check it in so that others can change it again.", at=since)
        return _("%(name)s checked this document out on %(at)s: until they check it in, "
                 "only they can upload a new version or change it.",
                 name=user_text(document.checked_out_by), at=since)

    # -- changing ---------------------------------------------------------------------------

    def _back(self, document, anchor=""):
        return redirect(self.get_url(".details_view", id=document.id) + anchor)

    def _do(self, document, work, success, anchor=""):
        """Run ``work``, then commit, or roll back and say why."""
        try:
            work()
            db.session.commit()
            flash(success(), "success")
        except (documents.Refused, files.FileRefused) as refused:
            db.session.rollback()
            flash(str(refused), "error")
        return self._back(document, anchor)

    @expose("/check-out/", methods=("POST",))
    def check_out(self):
        document = self.locked_record()
        return self._do(document, lambda: documents.check_out(document, current_user),
                        lambda: _("Checked out: until you check it in, only you can upload "
                                  "new versions."))

    @expose("/check-in/", methods=("POST",))
    def check_in(self):
        document = self.locked_record()
        if not documents.may_write(document, current_user):
            abort(403)
        return self._do(document, lambda: documents.check_in(document, current_user),
                        lambda: _("Checked in."))

    @expose("/new-version/", methods=("POST",))
    def new_version(self):
        document = self.locked_record()
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            flash(_("Choose the file of the new version."), "error")
            return self._back(document, "#versions")
        comment = request.form.get("comment", "").strip()
        return self._do(document, lambda: documents.add_version(document, upload, current_user,
                                                                comment),
                        lambda: _("Version %(number)s uploaded.", number=document.version),
                        "#versions")

    @expose("/make-current/", methods=("POST",))
    def make_current(self):
        document = self.locked_record()
        numbers = int_ids([request.form.get("version", "")])
        version = db.session.scalar(select(DocumentVersion).where(
            DocumentVersion.document_id == document.id,
            DocumentVersion.number == (numbers[0] if numbers else 0)))
        if version is None:
            abort(404)
        return self._do(document, lambda: documents.make_current(document, version,
                                                                 current_user),
                        lambda: _("Version %(number)s is the current one again, as version "
                                  "%(new)s.", number=version.number, new=document.version),
                        "#versions")

    def on_model_delete(self, document):
        if not documents.may_write(document, current_user):
            raise ValidationError(_("You may not remove this file."))

    # -- the upload page: one file or several, all stored or none -----------------------------

    @expose("/new/", methods=("GET", "POST"))
    def create_view(self):
        folders = writable_folders()
        if not folders:
            flash(_("There is no folder you may add documents to."), "error")
            return redirect(self.get_url(".index_view"))
        tags = db.session.scalars(select(DocTag).order_by(DocTag.name)).all()
        chosen_folder = next(iter(int_ids([request.values.get("folder", "")])), None)
        values = {"folder": chosen_folder,
                  "tags": set(int_ids(request.form.getlist("tags"))),
                  "new_tags": request.form.get("new_tags", ""),
                  "description": request.form.get("description", "")}
        errors = {}
        if request.method == "POST":
            result = self._upload(folders, tags, values, errors)
            if result is not None:
                return result
        return self.render("crm_docs/library_upload.html", folders=folders, tags=tags,
                           values=values, errors=errors,
                           may_add_tags=permissions.permits(current_user, "DocTag", "c"),
                           limit_mb=files.max_bytes() // 2 ** 20,
                           back=self.get_url(".index_view"))

    def _upload(self, folders, tags, values, errors):
        """Store the posted files; None (with ``errors``) when nothing was stored."""
        folder = db.session.get(Folder, values["folder"]) \
            if values["folder"] in dict(folders) else None
        uploads = [file for file in request.files.getlist("files") if file.filename]
        if folder is None:
            errors["folder"] = _("Choose a folder you may add documents to.")
        if not uploads:
            errors["files"] = _("Choose at least one file.")
        if errors:
            return None
        chosen = [tag for tag in tags if tag.id in values["tags"]]
        current = None
        try:
            chosen += self._new_tags(values["new_tags"], tags)
            added, versions = [], 0
            for current in uploads:
                document, new_version = documents.file_in(
                    folder, current, current_user, description=values["description"].strip(),
                    tags=chosen)
                added.append(document)
                versions += new_version
            db.session.commit()
        except (files.FileRefused, documents.Refused) as refused:
            db.session.rollback()
            errors["files"] = _("%(name)s: %(reason)s Nothing was stored.",
                                name=current.filename, reason=str(refused)) \
                if current is not None else str(refused)
            return None
        flash(ngettext("%(num)d document uploaded.", "%(num)d documents uploaded.",
                       len(added)) + (" " + ngettext(
                           "%(num)d of them was a new version of a document of the same "
                           "name.", "%(num)d of them were new versions of documents of the "
                           "same name.", versions) if versions else ""), "success")
        if len(added) == 1:
            return redirect(self.get_url(".details_view", id=added[0].id))
        return redirect(url_for("doc_folder.details_view", id=folder.id))

    @staticmethod
    def _new_tags(text, existing):
        """Tags typed as "a, b": those that exist, and the others made (by a user who
        may make tags)."""
        names = list(dict.fromkeys(n.strip()[:60] for n in text.replace("，", ",").split(",")
                                   if n.strip()))
        if not names:
            return []
        if not permissions.permits(current_user, "DocTag", "c"):
            raise documents.Refused(_("You may not make new tags."))
        known = {tag.name.casefold(): tag for tag in existing}
        found = []
        for name in names:
            tag = known.get(name.casefold())
            if tag is None:
                tag = DocTag(name=name)
                db.session.add(tag)
            found.append(tag)
        return found


# -- folders ---------------------------------------------------------------------------

def valid_folder_name(form, field):
    name = (field.data or "").strip()
    if "/" in name or "\\" in name:
        raise ValidationError(_("A folder name may not contain / or \\."))
    if any(ch in files.BIDI_CONTROLS or ord(ch) < 32 for ch in name):
        raise ValidationError(_("The name holds control or right-to-left characters."))
    field.data = name


def groups_text(folder, which):
    """A folder's readers or writers in words; with none, whose rights it follows."""
    groups = getattr(folder, which)
    if groups:
        return as_typed(", ".join(label(group.name) for group in groups))
    if folder.parent_id is not None:
        return _("As the parent folder")
    return _("Every document user") if which == "readers" else _("Everyone who may read it")


def all_groups():
    return db.session.query(Group).order_by(Group.name)


class FolderView(ModelView):
    column_list = ["name", "parent", "description", "readers", "writers"]
    column_sortable_list = []
    column_searchable_list = ["name"]
    column_filters = []
    column_details_list = ["name", "parent", "description", "readers", "writers"]
    details_sections = [(None, ["name", "parent", "readers", "writers"]),
                        (_l("Description"), ["description"])]
    form_columns = ["name", "parent", "description", "readers", "writers"]
    form_ajax_refs = {}
    form_args = {
        "name": {"validators": [valid_folder_name]},
        "parent": {"query_factory": lambda: db.session.query(Folder),
                   "get_label": lambda folder: folder_path(folder.id)},
        "readers": {"query_factory": all_groups, "get_label": lambda group: label(group.name),
                    "description": _l("None: the parent folder's readers (a top folder "
                                      "without any is open to every document user).")},
        "writers": {"query_factory": all_groups, "get_label": lambda group: label(group.name),
                    "description": _l("None: the parent folder's writers.")},
    }
    allow_import = False
    allow_export = False
    state_field = False
    column_formatters = {
        "name": lambda view, context, folder, name: Markup(
            '<span class="crm-folder-name" style="padding-left: {}rem">'
            '<i class="fa fa-folder-o"></i> <a href="{}">{}</a></span>').format(
            1.5 * folder_tree().get(folder.id, ("", 0))[1],
            view.get_url(".details_view", id=folder.id), folder.name),
        "parent": lambda view, context, folder, name: as_typed(folder_path(folder.parent_id)),
        "readers": lambda view, context, folder, name: groups_text(folder, "readers"),
        "writers": lambda view, context, folder, name: groups_text(folder, "writers"),
    }
    column_formatters_detail = {
        "parent": lambda view, context, folder, name: _folder_link(folder.parent_id),
        "readers": column_formatters["readers"],
        "writers": column_formatters["writers"],
    }

    def get_query(self):
        query = super().get_query()
        readable = access_of(current_user)[0]
        return query if readable is None else query.filter(Folder.id.in_(readable or [0]))

    def get_count_query(self):
        query = super().get_count_query()
        readable = access_of(current_user)[0]
        return query if readable is None else query.filter(Folder.id.in_(readable or [0]))

    def get_list(self, page, sort_column, sort_desc, search, filters, execute=True,
                 page_size=None):
        """As a tree: every folder after its parent, by path (folders are few, so the
        page is cut here)."""
        count, query = super().get_list(None, None, False, search, filters, execute=False,
                                        page_size=0)
        if not execute:
            return count, query
        tree = folder_tree()
        rows = sorted(query.limit(None).offset(None).all(),
                      key=lambda folder: tree.get(folder.id, ("",))[0].casefold())
        size = page_size or self.page_size
        start = (page or 0) * size
        return count, rows[start:start + size]

    def on_model_change(self, form, folder, is_created):
        parent = folder.parent
        seen = set()
        while parent is not None and parent.id not in seen:
            if parent is folder or (folder.id is not None and parent.id == folder.id):
                message = _("A folder cannot be inside itself or one of its own subfolders.")
                form.parent.errors.append(message)
                raise ValidationError(message)
            seen.add(parent.id)
            parent = parent.parent
        with db.session.no_autoflush:   # (the folder itself is not written yet)
            twin = db.session.scalar(select(Folder.id).where(
                Folder.name == folder.name, Folder.id != (folder.id or 0),
                Folder.parent_id.is_(None) if folder.parent is None
                else Folder.parent_id == folder.parent.id))
        if twin is not None:
            message = _("This folder already has a subfolder with that name.") \
                if folder.parent is not None else _("A top folder with that name exists.")
            form.name.errors.append(message)
            raise ValidationError(message)
        if not is_created:
            search.reindex_folder(folder)   # its documents are found under its new name

    def on_model_delete(self, folder):
        holds = db.session.scalar(select(Document.id).where(Document.folder_id == folder.id)
                                  .limit(1)) or db.session.scalar(
            select(Folder.id).where(Folder.parent_id == folder.id).limit(1))
        if holds:
            raise ValidationError(_("This folder holds documents or subfolders: move or "
                                    "delete them first."))

    # -- the page: its subfolders and documents -------------------------------------------

    def detail_buttons(self, folder):
        if folder.id not in dict(writable_folders()):
            return []
        return [{"label": _("Upload here"), "icon": "fa-upload", "style": "btn-primary",
                 "url": url_for("document.create_view", folder=folder.id)}]

    def detail_panels(self, folder):
        readable = readable_folder_ids()
        tree = folder_tree()
        children = sorted(((f, path) for f, (path, _d, parent) in tree.items()
                           if parent == folder.id and f in readable),
                          key=lambda pair: pair[1].casefold())
        query = permissions.apply_rules(select(Document), Document).where(
            Document.folder_id == folder.id).options(
            joinedload(Document.checked_out_by)).order_by(Document.name)
        found = db.session.scalars(query.limit(201)).all()
        html = Markup(render_template(
            "crm_docs/folder_contents.html", folder=folder, children=children,
            documents=found[:200], more=len(found) > 200, size_text=files.size_text,
            type_text=type_text, badge=checked_out_badge, text_of=record_page.text_of,
            all_url=url_for("document.index_view", flt0_folder_in=folder.id)))
        panel = {"title": _("Contents"), "order": 0, "width": "col-12", "html": html}
        return [panel] + super().detail_panels(folder)

    def on_form_prefill(self, form, id):
        # A folder is offered as a parent of none of its own subfolders.
        below = subfolder_ids(int(id))
        form.parent.query_factory = lambda: db.session.query(Folder).filter(
            Folder.id.not_in(below))


class TagView(ModelView):
    column_list = ["name"]
    column_searchable_list = ["name"]
    column_filters = []
    form_columns = ["name"]
    column_default_sort = "name"
    form_args = {"name": {"filters": [lambda text: (text or "").strip()]}}
    state_field = False

    def on_model_change(self, form, tag, is_created):
        super().on_model_change(form, tag, is_created)
        if not is_created:
            search.reindex_tag(tag)

    def detail_panels(self, tag):
        url = url_for("document.index_view", flt0_tag_equals=tag.name)
        return [{"title": _("Documents"), "order": 0, "width": "col-12",
                 "html": Markup('<a href="{}">{}</a>').format(
                     url, _("The documents with this tag"))}] + super().detail_panels(tag)

