"""PDF documents from Jinja templates, rendered by WeasyPrint; every addon uses this.

    from core import pdf
    return pdf.response(pdf.render("crm_sales/quote.html", quote=data), "Q2026-00042.pdf")

Templates are looked up in the client's folders first ([addons] template_paths), then in
each enabled addon's ``templates/`` folder, then in ``core/templates/``: a consultant
changes one document for one client by copying its template into the client's folder.
``pdf/base.html`` (core) gives the fonts (Latin and Chinese), the A4 page and page
numbers; a document template extends it.

Templates come from folders a consultant fills, so they get no more than they need:
a sandbox with no app globals (no url_for, config, request or session), only ``_`` /
``gettext`` / ``ngettext``, ``label`` (for stored values: see core.i18n) and a
``format_date`` filter. The PDF engine may load only ``data:`` URLs and files under the
template folders' ``static/`` subfolders and ``core/static/``: no network, no other file.
"""
import functools
import logging
import threading
import unicodedata
from pathlib import Path

from dataclasses import dataclass, field

from flask import Response, current_app
from flask_babel import format_date, gettext, ngettext
from jinja2 import ChoiceLoader, FileSystemLoader, FunctionLoader
from jinja2.sandbox import ImmutableSandboxedEnvironment

from core.app import template_folders as app_template_folders
from core.config import PROJECT_ROOT
from core.i18n import label
from core.util import CompiledTemplates, collector_paused

log = logging.getLogger(__name__)

CORE_TEMPLATES = PROJECT_ROOT / "core" / "templates"
CORE_STATIC = PROJECT_ROOT / "core" / "static"
# Relative URLs in a template (<img src="static/logo.png">) resolve against this base. It
# names no real place: the fetcher maps it onto the static folders. ".invalid" is
# reserved (RFC 2606) and never resolves, and the fetcher never opens a connection.
BASE_URL = "https://pdf.invalid/"
STATIC_PREFIX = BASE_URL + "static/"
USER_AGENT_CSS = PROJECT_ROOT / "core" / "pdf_user_agent.css"
# Documents a thread renders with one font configuration before it takes a fresh one
# (a template's own @font-face fonts are added to it and would otherwise pile up).
FONT_CONFIGURATION_USES = 200


class ResourceRefused(ValueError):
    """A template asked for something outside the allowed folders. WeasyPrint catches
    ValueError, logs a warning and renders the document without that resource."""


# -- where templates come from -------------------------------------------------------

def template_folders():
    """The folders searched for PDF templates, first match wins: the client's folders
    ([addons] template_paths, as for pages), the enabled addons' templates/, the core's."""
    state = current_app.extensions["crm"]
    return [Path(folder) for folder in app_template_folders(state)] + [CORE_TEMPLATES]


def static_roots(folders):
    """The only folders the PDF engine may read files from."""
    roots = [folder / "static" for folder in folders] + [CORE_STATIC]
    return [root.resolve() for root in dict.fromkeys(roots) if root.is_dir()]


@functools.lru_cache(maxsize=32)
def environment(folders):
    """One sandboxed Jinja environment per tuple of folders.

    It keeps no template objects (cache_size=0): a template a consultant adds to a
    client folder must win at once, and Jinja's cache would go on serving the addon's
    copy. The loader finds and reads each file every time; only the compiled code of
    a file whose text has not changed is kept (CompiledTemplates: compiling a quote's
    four templates is a tenth of a one-page quote's time)."""
    loader = ChoiceLoader([FunctionLoader(edited_source),
                           FileSystemLoader([str(f) for f in folders])])
    env = ImmutableSandboxedEnvironment(loader=loader, autoescape=True, cache_size=0,
                                        bytecode_cache=CompiledTemplates())
    env.globals.update(_=gettext, gettext=gettext, ngettext=ngettext, label=label)
    env.filters["label"] = label
    env.filters["format_date"] = format_date
    return env


def edited_source(name):
    """A template's text as edited in the screens (crm_docs answers the hook
    ``pdf.template_source`` with the current version's text), which wins over the
    files; None: the files decide."""
    hooks = current_app.extensions["crm"].hooks
    return next(iter(hooks.call("pdf.template_source", name)), None)


# -- the documents addons print ----------------------------------------------------------

@dataclass(frozen=True)
class DocumentKind:
    """A document an addon prints (manifest key ``pdf``): its template, and for a
    template editor's preview the model it is printed from and the function (of a
    list of those records) that makes the template's context."""
    name: str
    addon: str
    template: str
    model: str = None
    context: object = None
    label: str = None


def kinds():
    """{kind name: DocumentKind} of the enabled addons."""
    state = current_app.extensions["crm"]
    if getattr(state, "pdf_kinds", None) is None:
        from core.workflow import _function
        found = {}
        for name in state.enabled:
            addon = state.registry.addons[name]
            for kind, spec in addon.manifest.get("pdf", {}).items():
                spec = spec if isinstance(spec, dict) else {"template": spec}
                found[kind] = DocumentKind(
                    name=kind, addon=name, template=spec["template"], model=spec.get("model"),
                    context=_function(addon, spec["context"]) if "context" in spec else None,
                    label=spec.get("label", kind))
        state.pdf_kinds = found
    return state.pdf_kinds


# -- documents issued: sent, signed, final ---------------------------------------------------

@dataclass
class Issued:
    """A PDF that left the suite or became final: what ``document.issued`` handlers get
    (crm_docs keeps it, unchanged, with its hash). ``event`` is "sent" (by email; the
    outbox message is ``message``), "signed" or "final"."""
    record: object
    kind: str
    data: bytes
    filename: str
    event: str = "sent"
    recipients: list = field(default_factory=list)
    message: object = None


def issue(record, kind, data, filename, event="sent", recipients=(), message=None):
    """Tell the enabled addons that a document was issued; inside the caller's
    transaction, so that what they keep is committed with what issued it."""
    hooks = current_app.extensions["crm"].hooks
    return hooks.call("document.issued", Issued(record, kind, data, safe_filename(filename),
                                                event, list(recipients), message))


# -- the engine: WeasyPrint, loaded with the first document ---------------------------------

def __getattr__(name):
    """``pdf.Document`` and ``pdf.StaticFetcher`` live in core/pdf_engine.py, which
    imports WeasyPrint: 0.4 s and ~20 MB that a web process pays only once it prints."""
    if name in ("Document", "StaticFetcher", "user_agent_stylesheet"):
        from core import pdf_engine
        return getattr(pdf_engine, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_fonts = threading.local()


def font_configuration():
    """One font configuration per thread, reused: making one loads the fonts again
    (Noto Sans CJK is large), a tenth of a one-page quote's time. Pango's font maps are
    not shared between threads, so neither is this."""
    if getattr(_fonts, "uses", FONT_CONFIGURATION_USES) >= FONT_CONFIGURATION_USES:
        from weasyprint.text.fonts import FontConfiguration
        _fonts.config, _fonts.uses = FontConfiguration(), 0
    _fonts.uses += 1
    return _fonts.config


# -- the public API ----------------------------------------------------------------------

def render(template_name, source=None, **context):
    """The PDF (bytes) of a template, rendered with ``context``; with ``source``, of
    that text instead of the template's (a template editor's preview of a draft).

    Pass plain data (strings, numbers, dates, lists and dicts of them), not database
    records: the sandbox keeps templates out of Python's internals, but not out of a
    record's own methods and relationships."""
    from core.pdf_engine import Document, StaticFetcher
    folders = template_folders()
    env = environment(tuple(folders))
    template = env.from_string(source) if source is not None else env.get_template(template_name)
    html = template.render(**context)
    fetcher = StaticFetcher(static_roots(folders))
    document = Document(string=html, base_url=BASE_URL, url_fetcher=fetcher)
    with collector_paused():
        return document.write_pdf(font_config=font_configuration())


def response(pdf_bytes, filename):
    """A download of ``pdf_bytes`` named ``filename`` (any language)."""
    from core.files import disposition
    return Response(pdf_bytes, mimetype="application/pdf", headers={
        "Content-Disposition": disposition(safe_filename(filename)),
        # Customer data: keep it out of shared caches and the browser's disk cache.
        "Cache-Control": "private, no-store",
    })


def safe_filename(filename):
    """The name without folders, control characters or quotes, ending in .pdf."""
    name = str(filename).replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C" and ch not in '"')
    name = name.strip(" .")[:150] or "document"
    return name if name.lower().endswith(".pdf") else name + ".pdf"
