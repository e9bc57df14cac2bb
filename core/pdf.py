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
import re
import threading
import unicodedata
from pathlib import Path
from urllib.parse import quote

from flask import Response, current_app
from flask_babel import format_date, gettext, ngettext
from jinja2 import BytecodeCache, FileSystemLoader
from jinja2.sandbox import ImmutableSandboxedEnvironment

from core.app import template_folders as app_template_folders
from core.config import PROJECT_ROOT
from core.i18n import label
from core.util import collector_paused

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


class CompiledTemplates(BytecodeCache):
    """Jinja's compiled code of each template file, kept in memory by the file's path
    and the checksum of its text: a changed file, or one a consultant puts in a folder
    that comes first, is compiled anew. Compiling a quote's four templates is a tenth of
    a one-page quote's time."""

    MAX_FILES = 256

    def __init__(self):
        self.codes = {}

    def load_bytecode(self, bucket):
        checksum, code = self.codes.get(bucket.key, (None, None))
        if checksum == bucket.checksum:
            bucket.code = code

    def dump_bytecode(self, bucket):
        if len(self.codes) >= self.MAX_FILES:
            self.codes.clear()
        self.codes[bucket.key] = (bucket.checksum, bucket.code)


@functools.lru_cache(maxsize=32)
def environment(folders):
    """One sandboxed Jinja environment per tuple of folders.

    It keeps no template objects (cache_size=0): a template a consultant adds to a
    client folder must win at once, and Jinja's cache would go on serving the addon's
    copy. The loader finds and reads each file every time; only the compiled code of
    a file whose text has not changed is kept (CompiledTemplates)."""
    env = ImmutableSandboxedEnvironment(loader=FileSystemLoader([str(f) for f in folders]),
                                        autoescape=True, cache_size=0,
                                        bytecode_cache=CompiledTemplates())
    env.globals.update(_=gettext, gettext=gettext, ngettext=ngettext, label=label)
    env.filters["label"] = label
    env.filters["format_date"] = format_date
    return env


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

def render(template_name, **context):
    """The PDF (bytes) of a template, rendered with ``context``.

    Pass plain data (strings, numbers, dates, lists and dicts of them), not database
    records: the sandbox keeps templates out of Python's internals, but not out of a
    record's own methods and relationships."""
    from core.pdf_engine import Document, StaticFetcher
    folders = template_folders()
    html = environment(tuple(folders)).get_template(template_name).render(**context)
    fetcher = StaticFetcher(static_roots(folders))
    document = Document(string=html, base_url=BASE_URL, url_fetcher=fetcher)
    with collector_paused():
        return document.write_pdf(font_config=font_configuration())


def response(pdf_bytes, filename):
    """A download of ``pdf_bytes`` named ``filename`` (any language)."""
    name = safe_filename(filename)
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    ascii_name = re.sub(r"[^A-Za-z0-9 ._()-]", "_", ascii_name).strip(" ._") or "document"
    if not ascii_name.lower().endswith(".pdf"):
        ascii_name += ".pdf"
    disposition = f'attachment; filename="{ascii_name}"'
    if ascii_name != name:
        # RFC 5987/6266: browsers show the real name; old ones fall back to the ASCII one.
        disposition += f"; filename*=UTF-8''{quote(name, safe='')}"
    return Response(pdf_bytes, mimetype="application/pdf", headers={
        "Content-Disposition": disposition,
        # Customer data: keep it out of shared caches and the browser's disk cache.
        "Cache-Control": "private, no-store",
    })


def safe_filename(filename):
    """The name without folders, control characters or quotes, ending in .pdf."""
    name = str(filename).replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C" and ch not in '"')
    name = name.strip(" .")[:150] or "document"
    return name if name.lower().endswith(".pdf") else name + ".pdf"
