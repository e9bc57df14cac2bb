"""The parts of core.pdf that need WeasyPrint, imported with the first document (see
core.pdf): the fetcher that limits what a template may load, the document class with
the suite's user-agent style sheet, and three caches the engine lacks (see
"the engine's time per cell" below)."""
import functools
import importlib.metadata
import logging
import mimetypes
import re
from pathlib import Path
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

import tinyhtml5.inputstream
import weasyprint.layout.inline
import weasyprint.text.line_break
from weasyprint import CSS, HTML
from weasyprint.urls import URLFetcher, URLFetcherResponse

from core.pdf import STATIC_PREFIX, USER_AGENT_CSS, ResourceRefused

log = logging.getLogger(__name__)


# -- what the PDF engine may load ------------------------------------------------------

class StaticFetcher(URLFetcher):
    """Serves data: URLs and files under ``roots``; refuses everything else before any
    file is opened or any connection made."""

    def __init__(self, roots, **kwargs):
        super().__init__(**kwargs)
        self.roots = [Path(root).resolve() for root in roots]

    def fetch(self, url, headers=None):
        scheme = url.split(":", 1)[0].lower()
        if scheme == "data":
            return super().fetch(url, headers)   # decoded in memory, by urllib's DataHandler
        if url.startswith(STATIC_PREFIX):
            relative = unquote(urlsplit(url).path)[len("/static/"):]
            for root in self.roots:
                found = self._inside(root / relative)
                if found:
                    return self._file(found, url)
        elif scheme == "file":
            found = self._inside(Path(url2pathname(urlsplit(url).path)))
            if found:
                return self._file(found, url)
        raise ResourceRefused(f"PDF templates may not load {url[:200]}")

    def _inside(self, path):
        """The resolved file if it lies in one of the roots (so no "..", and no symbolic
        link out of them), else None."""
        resolved = path.resolve()
        if resolved.is_file() and any(resolved.is_relative_to(root) for root in self.roots):
            return resolved
        return None

    def _file(self, path, url):
        # WeasyPrint reads the type from the headers (a stylesheet must be text/css).
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": content_type})


@functools.lru_cache(maxsize=1)
def user_agent_stylesheet():
    return CSS(filename=str(USER_AGENT_CSS))


class Document(HTML):
    """WeasyPrint's HTML with the suite's lean user-agent style sheet
    (core/pdf_user_agent.css). WeasyPrint matches every rule of its own sheet against
    every element; a ten-page quote has thousands of cells. (Overrides a private
    method: WeasyPrint is pinned in requirements.txt, and tests/core/test_pdf.py checks
    the sheet is in use.)"""

    def _ua_stylesheets(self, forms=False):
        return [user_agent_stylesheet()]


# -- the engine's time per cell --------------------------------------------------------------
#
# A quote's time goes into its table cells: each is parsed, styled, laid out and drawn
# on its own. Three things the engine does again for every cell, although the answer is
# the same for all the cells of a column (they share one style object):
#
# - tinyhtml5 means to keep one regular expression per set of characters it scans for,
#   but files it under the wrong key (the expression, not the characters), so it builds
#   and looks up the expression again at every tag and text: ~5 % of a long quote.
# - WeasyPrint's strut (a line's height and baseline from the font) builds a string key
#   of 14 font properties for its cache, for every line and every text: ~4 %.
# - Each text's Pango layout gets a new font description, built from the same style: ~3 %.
#
# Together about a tenth of a long quote's time (measured on 250 and 354 lines).
#
# The fixes keep each answer where the engine would compute it again: the expressions in
# tinyhtml5's own cache, under the right key; the strut and the font description on the
# style object (WeasyPrint makes a new object for a changed style; it never changes the
# font of one whose text it has laid out). The PDF is the same to the byte
# (tests/core/test_pdf.py checks it). They are written for the versions pinned in
# requirements.txt; with any other version the engine runs as it is.

ENGINE_VERSIONS = {"weasyprint": "70.0", "tinyhtml5": "2.1.0"}
_stock = {}


class _CharactersRegex(dict):
    """tinyhtml5's cache of "the characters up to one of these" expressions, filled on
    first use under the key it looks them up by: (characters, opposite)."""

    def __missing__(self, key):
        characters, opposite = key
        regex = "".join(f"\\x{ord(character):02x}" for character in characters)
        expression = self[key] = re.compile(f"[{regex}]+" if opposite else f"[^{regex}]+")
        return expression


def _strut(style):
    """weasyprint.text.line_break.strut, once per style object."""
    try:
        return style.__dict__["_crm_strut"]
    except KeyError:
        result = style.__dict__["_crm_strut"] = _stock["strut"](style)
        return result


def _font_description(style):
    """weasyprint.text.fonts.get_font_description, once per style object (Pango copies
    the description into each layout: one object serves them all)."""
    try:
        return style.__dict__["_crm_font_description"]
    except KeyError:
        result = style.__dict__["_crm_font_description"] = _stock["font_description"](style)
        return result


def engine_is_pinned():
    return all(importlib.metadata.version(name) == version
               for name, version in ENGINE_VERSIONS.items())


def speed_up_engine():
    """Puts the three caches in place; True when they are (the pinned versions)."""
    if _stock:
        return True
    if not engine_is_pinned():
        log.info("PDF engine caches off: they are written for %s", ENGINE_VERSIONS)
        return False
    line_break = weasyprint.text.line_break
    _stock.update(regex=tinyhtml5.inputstream.characters_until_regex,
                  strut=weasyprint.layout.inline.strut,
                  font_description=line_break.get_font_description)
    tinyhtml5.inputstream.characters_until_regex = _CharactersRegex()
    weasyprint.layout.inline.strut = _strut
    line_break.get_font_description = _font_description
    return True


def stock_engine():
    """Takes the caches out again (tests compare the PDFs with and without them)."""
    if _stock:
        tinyhtml5.inputstream.characters_until_regex = _stock.pop("regex")
        weasyprint.layout.inline.strut = _stock.pop("strut")
        weasyprint.text.line_break.get_font_description = _stock.pop("font_description")


speed_up_engine()
