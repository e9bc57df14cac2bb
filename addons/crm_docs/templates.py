"""PDF templates edited in the screens (Documents > PDF templates).

The list shows the documents the enabled addons print (manifest key ``pdf``); a
template editor (administrators and the group docs_template_editor) changes one, sees a
preview of the draft rendered from a real record by the same pipeline as the real PDF,
and saves it. A draft that does not render is not saved: a syntax error, a name the
document does not give the template, or an error while rendering, each with its line.

Every save is a TemplateVersion; the newest is in use (issued.template_source answers
``pdf.template_source``), ahead of the template files and the client's template_paths.
Restoring an old version, or going back to the file (a version with no text), is a new
version too, so the history says who changed what, when."""
import functools
from dataclasses import dataclass

from flask import abort, flash, make_response, redirect, render_template, request
from flask_admin import expose
from flask_babel import gettext as _
from flask_login import current_user
from jinja2 import TemplateSyntaxError, meta, nodes
from sqlalchemy import and_, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from addons.crm_docs.issued import current_templates, forget_templates
from addons.crm_docs.models import TemplateVersion
from core import dates, pdf, permissions
from core.admin import ModelView
from core.db import db
from core.i18n import label, mark, model_class
from core.record import screen_of, user_name
from core.util import int_ids

# The documents' names as the suite's addons give them in their manifests, and this
# screen's menu entry: shown translated through label().
KIND_LABELS = (mark("Quote"), mark("Contract"), mark("Address labels"), mark("Envelopes"))
MENU_LABEL = mark("PDF templates")
PICKER_SIZE = 30
PREVIEW_FRAME = "crm-template-preview"


@dataclass
class Problem:
    """Why a draft is refused: the message, and the line it concerns (or None)."""
    message: str
    line: int = None

    def __str__(self):
        if self.line is None:
            return self.message
        return _("Line %(line)d: %(message)s", line=self.line, message=self.message)


# -- the templates and their text ----------------------------------------------------------

def file_source(template):
    """The template's text as the folders give it (the client's first), without the
    version saved here; None if no folder has it."""
    for folder in pdf.template_folders():
        path = folder / template
        if path.is_file():
            return path.read_text(encoding="utf-8")
    return None


def current_source(kind):
    """The text in use: the newest saved version's, else the file's."""
    source = current_templates().get(kind.template, (None, None))[1]
    return source if source is not None else (file_source(kind.template) or "")


def versions(template):
    return db.session.scalars(
        select(TemplateVersion).options(joinedload(TemplateVersion.saved_by))
        .where(TemplateVersion.template == template)
        .order_by(TemplateVersion.number.desc())).all()


def save_version(template, source, comment):
    """A new version (the next number); IntegrityError if another took it meanwhile."""
    number = db.session.scalar(select(func.coalesce(func.max(TemplateVersion.number), 0))
                               .where(TemplateVersion.template == template)) + 1
    version = TemplateVersion(template=template, number=number, source=source,
                              comment=comment[:500], saved_by_id=current_user.id)
    db.session.add(version)
    db.session.commit()
    forget_templates()
    return version


# -- records to preview with -------------------------------------------------------------------

def records_for(kind):
    """Recent records of the kind's model the user may read, newest first."""
    model = model_class(kind.model) if kind.model else None
    if model is None or kind.context is None:
        return []
    screen = screen_of(model)
    query = screen.get_query() if screen is not None else \
        permissions.apply_rules(db.session.query(model), model)
    return query.order_by(model.id.desc()).limit(PICKER_SIZE).all()


def picked(kind, records):
    """The record chosen in the form (among those the user may read), else the newest."""
    wanted = int_ids([request.values.get("record", "")])
    found = next((r for r in records if wanted and r.id == wanted[0]), None)
    return found or (records[0] if records else None)


# -- checking a draft ------------------------------------------------------------------------------

def names_allowed(kind, context):
    """The top-level names a template of this kind may use: its context's (from a
    record), else those the template file uses, and the sandbox's globals."""
    if context is not None:
        names = set(context)
    else:
        text = file_source(kind.template)
        names = file_names(text) if text else set()
    return names | set(environment().globals)


@functools.lru_cache(maxsize=64)
def file_names(text):
    tree = environment().parse(text)
    return meta.find_undeclared_variables(tree) - defined_names(tree)


def defined_names(tree):
    """Names the template defines for itself (imports, macros, set), which its blocks
    read from the context and find_undeclared_variables therefore reports."""
    names = {node.target for node in tree.find_all(nodes.Import)}
    names |= {name if isinstance(name, str) else name[1] or name[0]
              for node in tree.find_all(nodes.FromImport) for name in node.names}
    names |= {node.name for node in tree.find_all(nodes.Macro)}
    for node in tree.find_all((nodes.Assign, nodes.AssignBlock)):
        targets = [node.target] if isinstance(node.target, nodes.Name) else \
            node.target.find_all(nodes.Name)
        names |= {target.name for target in targets}
    return names


def environment():
    return pdf.environment(tuple(pdf.template_folders()))


def render_line(error):
    """The line of the draft where rendering failed (Jinja puts the template's lines
    into the traceback as frames of "<template>")."""
    line, trace = None, error.__traceback__
    while trace is not None:
        if trace.tb_frame.f_code.co_filename == "<template>":
            line = trace.tb_lineno
        trace = trace.tb_next
    return line


def check(kind, source, context):
    """Problem, or None when the draft parses, uses only known names and renders
    (with ``context``: one record's; without, rendering is not tried)."""
    if not source.strip():
        return Problem(_("The template is empty."))
    try:
        tree = environment().parse(source)
    except TemplateSyntaxError as error:
        return Problem(_("Syntax error: %(error)s", error=error.message), error.lineno)
    allowed = names_allowed(kind, context)
    unknown = meta.find_undeclared_variables(tree) - allowed - defined_names(tree)
    if unknown:
        found = [node for node in tree.find_all(nodes.Name)
                 if node.ctx == "load" and node.name in unknown]
        first = min(found, key=lambda node: node.lineno) if found else None
        given = sorted(allowed - set(environment().globals))
        return Problem(_("Unknown name %(name)s: this document gives the template %(names)s.",
                         name=first.name if first else sorted(unknown)[0],
                         names=", ".join(given) or "—"), first.lineno if first else None)
    if context is None:
        return None
    try:
        pdf.render(kind.template, source=source, **context)
    except Exception as error:   # whatever a template does wrong, the user reads why
        return Problem(_("It does not render: %(error)s", error=str(error) or
                         type(error).__name__), render_line(error))
    return None


def line_text(source, problem):
    """The text of the line a problem is on, to show with the message."""
    lines = source.splitlines()
    if problem is None or problem.line is None or not 0 < problem.line <= len(lines):
        return None
    return lines[problem.line - 1].strip()[:200] or None


# -- the screen --------------------------------------------------------------------------------------

class TemplateView(ModelView):
    """The documents' templates: list, edit with preview, history and restore."""

    allow_create = allow_edit = allow_delete = allow_export = allow_import = False
    can_view_details = False

    def kind_or_404(self, name):
        kind = pdf.kinds().get(name)
        if kind is None:
            abort(404)
        return kind

    @expose("/")
    def index_view(self):
        saved = current_templates()     # {template: (newest number, text)}
        newest = {}
        if saved:
            newest = {version.template: version for version in db.session.scalars(
                select(TemplateVersion).options(joinedload(TemplateVersion.saved_by))
                .where(or_(*(and_(TemplateVersion.template == template,
                                  TemplateVersion.number == number)
                             for template, (number, _text) in saved.items()))))}
        kinds = sorted(pdf.kinds().values(), key=lambda kind: str(label(kind.label)))
        return self.render("crm_docs/template_list.html", kinds=kinds, newest=newest,
                           state_of=self.state_of)

    def state_of(self, version):
        """"standard file", or "edited, version N by X on date"."""
        if version is None:
            return _("standard file")
        if version.source is None:
            return _("standard file again since version %(number)d, by %(user)s on %(date)s",
                     number=version.number, user=user_name(version.saved_by) or "—",
                     date=dates.shown(version.saved_at))
        return _("edited, version %(number)d by %(user)s on %(date)s",
                 number=version.number, user=user_name(version.saved_by) or "—",
                 date=dates.shown(version.saved_at))

    # (<kind>, not <name>: Flask-Admin passes the endpoint's name as "name")
    @expose("/edit/<kind>/", methods=("GET", "POST"))
    def edit(self, kind):
        name, kind = kind, self.kind_or_404(kind)
        records = records_for(kind)
        record = picked(kind, records)
        source, problem = current_source(kind), None
        if request.method == "POST":
            if not self.permits("c"):
                abort(403)
            source = request.form.get("source", "").replace("\r\n", "\n")
            comment = request.form.get("comment", "").strip()
            problem = check(kind, source, kind.context([record]) if record else None)
            if problem is None:
                try:
                    version = save_version(kind.template, source, comment)
                except IntegrityError:
                    db.session.rollback()
                    problem = Problem(_("Someone saved this template at the same moment: "
                                        "save again."))
                else:
                    flash(_("Version %(number)d of %(document)s saved; it is used from now "
                            "on.", number=version.number, document=label(kind.label)),
                          "success")
                    return redirect(self.get_url(".edit", kind=name, record=record.id
                                                 if record else None))
        return self.render_edit(kind, source, records, record, problem)

    def render_edit(self, kind, source, records, record, problem):
        history = versions(kind.template)
        return self.render(
            "crm_docs/template_edit.html", kind=kind, source=source, records=records,
            record=record, problem=problem, history=history, frame=PREVIEW_FRAME,
            state=self.state_of(history[0] if history else None),
            may_save=self.permits("c"), shown=dates.shown, user_name=user_name,
            line_text=line_text(source, problem),
            has_file=file_source(kind.template) is not None)

    @expose("/preview/<kind>/", methods=("GET", "POST"))
    def preview(self, kind):
        """The draft (POST; GET: the text in use) rendered as a PDF, shown in the
        editor's frame; what is wrong with it, as a small page, if it does not render."""
        name, kind = kind, self.kind_or_404(kind)
        record = picked(kind, records_for(kind))
        if record is None:
            return self.frame_page(_("There is no record you may read to preview this document with."))
        source = request.form.get("source", "").replace("\r\n", "\n") \
            if request.method == "POST" else current_source(kind)
        context = kind.context([record])
        problem = check(kind, source, context)
        db.session.rollback()
        if problem is not None:
            return self.frame_page(str(problem))
        response = pdf.response(pdf.render(kind.template, source=source, **context),
                                f"{name}-preview.pdf")
        response.headers["Content-Disposition"] = "inline; filename=preview.pdf"
        return framed(response)

    def frame_page(self, text):
        return framed(make_response(render_template("crm_docs/template_frame.html",
                                                    text=text)))

    @expose("/restore/<kind>/", methods=("POST",))
    def restore(self, kind):
        """A new version with an old version's text, or with none: back to the file."""
        name, kind = kind, self.kind_or_404(kind)
        if not self.permits("c"):
            abort(403)
        back = redirect(self.get_url(".edit", kind=name))
        wanted = request.form.get("version", "")
        if wanted == "file":
            source, comment = None, _("Back to the standard file")
        else:
            ids = int_ids([wanted])
            old = db.session.get(TemplateVersion, ids[0]) if ids else None
            if old is None or old.template != kind.template:
                abort(404)
            source, comment = old.source, _("Restored version %(number)d", number=old.number)
        try:
            version = save_version(kind.template, source, comment)
        except IntegrityError:
            db.session.rollback()
            flash(_("Someone saved this template at the same moment: try again."), "error")
            return back
        flash(_("%(comment)s: version %(number)d is used from now on.", comment=comment,
                number=version.number), "success")
        return back


def framed(response):
    """A response the editor's own page may show in its frame (the app's default
    forbids every frame)."""
    response.headers["Content-Security-Policy"] = "default-src 'self'; style-src 'self' " \
        "'unsafe-inline'; frame-ancestors 'self'"
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    response.headers["Cache-Control"] = "private, no-store"
    return response
