"""The parts of core.pdf that need WeasyPrint, imported with the first document (see
core.pdf): the fetcher that limits what a template may load, and the document class
with the suite's user-agent style sheet."""
import functools
import mimetypes
from pathlib import Path
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

from weasyprint import CSS, HTML
from weasyprint.urls import URLFetcher, URLFetcherResponse

from core.pdf import STATIC_PREFIX, USER_AGENT_CSS, ResourceRefused


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
