"""core.pdf: where templates come from, the sandbox, what a template may load, page
numbers, and the download response."""
import base64
import io
import logging
import socket

import pytest
from jinja2.exceptions import SecurityError
from PIL import Image
from pypdf import PdfReader

from core import pdf
from tests.conftest import make_suite

ADDON = "pdf_fixture"   # a tiny addon with templates, written once for this module


@pytest.fixture(scope="module")
def addon_folder(tmp_path_factory):
    """An addons folder with one addon whose templates the tests override. Module-wide:
    an addon name is imported once per process, from one folder."""
    folder = tmp_path_factory.mktemp("pdf_addons")
    addon = folder / ADDON
    write(addon / "__manifest__.py", '{"name": "PDF fixture", "version": "1.0.0"}')
    write(addon / "templates" / "pdfdemo" / "doc.html",
          '{% extends "pdf/base.html" %}{% block body %}'
          '<p>{% include "pdfdemo/greeting.html" %}</p>{% endblock %}')
    write(addon / "templates" / "pdfdemo" / "greeting.html", "Greeting from the addon")
    return folder


@pytest.fixture
def site(tmp_path, database_url, addon_folder):
    """An installation with the fixture addon enabled and a client folder of PDF
    templates, named relative to config.ini."""
    suite = make_suite(tmp_path, database_url, addon_paths=[addon_folder], enabled=[ADDON],
                       extra="template_paths = client_pdf\n")
    site = Site(suite, tmp_path / "site" / "client_pdf")
    yield site
    suite.close()


class Site:
    def __init__(self, suite, client_folder):
        self.app = suite.app()
        self.client_folder = client_folder
        client_folder.mkdir(parents=True)

    def template(self, name, text):
        write(self.client_folder / name, text)

    def render(self, name, **context):
        with self.app.test_request_context():
            return pdf.render(name, **context)


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def text_of(document):
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(document)).pages)


def test_a_client_template_overrides_the_addons_and_the_cores(site):
    assert "Greeting from the addon" in text_of(site.render("pdfdemo/doc.html"))
    # Added while the site runs: it wins from the next document on.
    site.template("pdfdemo/greeting.html", "Greeting for {{ client }}")
    # The core's page set-up, replaced: an A5 page instead of A4.
    site.template("pdf/base.css", "@page { size: A5; }")
    document = site.render("pdfdemo/doc.html", client="ACME <Ltd>")
    assert "Greeting for ACME <Ltd>" in text_of(document)
    width, height = PdfReader(io.BytesIO(document)).pages[0].mediabox.upper_right
    assert (round(float(width)), round(float(height))) == (420, 595)   # A5 in points
    # Changed in place (compiled code is kept by the file's text): the change shows.
    site.template("pdfdemo/greeting.html", "Regards to {{ client }}")
    assert "Regards to ACME" in text_of(site.render("pdfdemo/doc.html", client="ACME"))


def test_values_are_escaped(site):
    site.template("escape.html", "<p>{{ value }}</p>")
    assert "<b>bold</b>" in text_of(site.render("escape.html", value="<b>bold</b>"))


def test_the_sandbox_keeps_templates_out_of_python_and_the_app(site):
    site.template("evil.html", "{{ ''.__class__.__mro__ }}")
    with pytest.raises(SecurityError):
        site.render("evil.html")
    site.template("globals.html", "{{ config is defined }} {{ url_for is defined }} "
                                  "{{ request is defined }} {{ _ is defined }}")
    assert "False False False True" in text_of(site.render("globals.html"))


def tiny_png():
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), "red").save(buffer, "PNG")
    return base64.b64encode(buffer.getvalue()).decode()


def test_the_fetcher_refuses_the_network_and_other_files(tmp_path):
    static = tmp_path / "templates" / "static"
    write(static / "logo.svg", "<svg xmlns='http://www.w3.org/2000/svg'/>")
    (static / "passwd").symlink_to("/etc/passwd")
    fetcher = pdf.StaticFetcher(pdf.static_roots([tmp_path / "templates"]))
    assert fetcher.fetch(pdf.BASE_URL + "static/logo.svg").content_type == "image/svg+xml"
    assert fetcher.fetch((static / "logo.svg").as_uri()).read().startswith(b"<svg")
    assert fetcher.fetch(f"data:image/png;base64,{tiny_png()}").read().startswith(b"\x89PNG")
    for url in ("http://127.0.0.1/logo.png", "https://example.com/x.css", "file:///etc/passwd",
                pdf.BASE_URL + "static/..%2F..%2F..%2Fetc/passwd", pdf.BASE_URL + "etc/passwd",
                pdf.BASE_URL + "static/passwd", "ftp://example.com/x"):
        with pytest.raises(pdf.ResourceRefused):
            fetcher.fetch(url)


def test_a_document_loads_data_images_and_nothing_else(site, monkeypatch, caplog):
    def no_network(*args, **kwargs):
        raise AssertionError("a PDF template reached for the network")
    monkeypatch.setattr(socket.socket, "connect", no_network)
    site.template("images.html", f"""
        <img src="data:image/png;base64,{tiny_png()}">
        <img src="http://127.0.0.1:9/tracker.png">
        <img src="file:///etc/passwd">
        <link rel="stylesheet" href="https://example.com/style.css">""")
    with caplog.at_level(logging.WARNING, logger="weasyprint"):
        document = site.render("images.html")
    page = PdfReader(io.BytesIO(document)).pages[0]
    assert len(page["/Resources"]["/XObject"]) == 1    # the data: image alone
    refused = [r.getMessage() for r in caplog.records if "may not load" in r.getMessage()]
    assert len(refused) == 3, refused


def test_page_numbers_in_the_footer(site):
    site.template("three.html", '{% extends "pdf/base.html" %}{% block body %}'
                                '<p>one</p><p style="break-before: page">two</p>'
                                '<p style="break-before: page">three</p>{% endblock %}')
    pages = PdfReader(io.BytesIO(site.render("three.html"))).pages
    assert len(pages) == 3
    assert "2 / 3" in pages[1].extract_text()


def test_the_response_is_a_pdf_download_with_a_safe_name():
    response = pdf.response(b"%PDF-1.7", "../../etc/报价单 Q-42.pdf")
    assert response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="Q-42.pdf"; '
        "filename*=UTF-8''%E6%8A%A5%E4%BB%B7%E5%8D%95%20Q-42.pdf")
    assert "no-store" in response.headers["Cache-Control"]
    plain = pdf.response(b"%PDF-1.7", 'labels"\r\n.pdf')
    assert plain.headers["Content-Disposition"] == 'attachment; filename="labels.pdf"'


def test_documents_use_the_lean_user_agent_sheet_and_it_keeps_the_basics(site):
    """The suite's user-agent sheet replaces WeasyPrint's (speed): hidden things stay
    hidden, headings bold and lists numbered, and the collector is back on after."""
    assert pdf.Document(string="<p>x</p>")._ua_stylesheets() == [pdf.user_agent_stylesheet()]
    site.template("basics.html", '{% extends "pdf/base.html" %}{% block body %}'
                                 '<p hidden>secret</p><title>no</title><ol><li>first</li>'
                                 '<li>second</li></ol>{% endblock %}')
    text = text_of(site.render("basics.html"))
    assert "secret" not in text and "first" in text and "1." in text and "2." in text
    import gc
    assert gc.isenabled()


def test_a_thread_reuses_its_font_configuration_for_a_while(monkeypatch):
    monkeypatch.setattr(pdf, "FONT_CONFIGURATION_USES", 2)
    monkeypatch.setattr(pdf, "_fonts", pdf.threading.local())
    first, second, third = (pdf.font_configuration() for _ in range(3))
    assert first is second and third is not first


# Text that goes through every path of the engine the caches touch: several sizes and
# line heights (number, length, normal, %), letter and word spacing, justified and
# wrapped lines, ::first-line and ::first-letter, decorations, languages, features,
# preserved spaces and tabs, a table header repeated over pages, comments, attributes in
# both quotes, character references, CDATA-like text in <pre>, an SVG with text.
VARIED = """{% extends "pdf/base.html" %}{% block style %}
body { line-height: 1.4; }
.a { font-size: 14pt; line-height: 20px; letter-spacing: 0.5pt; word-spacing: 2pt; }
.b { text-align: justify; line-height: normal; hyphens: auto; }
.b::first-line { font-size: 12pt; }
.c::first-letter { font-size: 24pt; }
.d { text-decoration: underline line-through; font-variant-numeric: tabular-nums;
     font-kerning: none; line-height: 150%; }
.e { white-space: pre-wrap; tab-size: 3; overflow-wrap: anywhere; width: 30mm; }
table.t { border-collapse: separate; border-spacing: 0; }
table.t td { padding: 1mm; } tr.odd { background: #eee; }
{% endblock %}{% block body %}
<!-- a comment --><p class="a" title='single "quoted"'>Spaced &amp; letters &lt;here&gt; &#x4E2D;文</p>
<p class="b" lang="en">{{ long }}</p>
<p class="c" lang="zh">中文段落，首字放大。{{ long[:200] }}</p>
<p class="d" lang="de">Durchgestrichen 0123456789 Fußgängerübergänge</p>
<pre>pre	tabs  and   spaces</pre>
<div class="e">	tab-indented averyveryveryverylongwordwithoutanybreak 长长长长长长长长长长</div>
<svg width="60" height="20"><text x="0" y="15" font-size="12">SVG 文本</text></svg>
<table class="t"><thead><tr><th>No.</th><th>Item</th><th>Amount</th></tr></thead><tbody>
{% for n in range(120) %}<tr{% if n is odd %} class="odd"{% endif %}><td>{{ n }}</td><td>产品 Product {{ n }}</td><td>{{ n * 7 }}.00</td></tr>{% endfor %}
</tbody></table>{% endblock %}"""


def test_the_engine_caches_change_nothing_in_the_pdf(site):
    """core.pdf_engine keeps three answers the engine would work out again for every
    cell (see there): the document must come out the same to the byte without them."""
    from core import pdf_engine
    assert pdf_engine.speed_up_engine() == pdf_engine.engine_is_pinned()
    site.template("varied.html", VARIED)
    long = " ".join(f"word{n} 词{n} extraordinarily" for n in range(80))
    documents = {}
    for name in ("varied.html", "pdfdemo/doc.html"):
        with_caches = site.render(name, long=long)
        pdf_engine.stock_engine()
        try:
            without = site.render(name, long=long)
        finally:
            pdf_engine.speed_up_engine()
        assert with_caches == without, name
        documents[name] = with_caches
    assert len(PdfReader(io.BytesIO(documents["varied.html"])).pages) >= 3
    assert "Product 119" in text_of(documents["varied.html"])
