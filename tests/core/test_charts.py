"""core.charts: plain SVG that needs no script or outside file, readable labels (Chinese
too, and escaped), a tooltip per bar, and the same markup in a WeasyPrint PDF."""
import io
import re

from pypdf import PdfReader

from core import charts, pdf
from tests.conftest import ROOT, make_suite


def money(value):
    return f"{value:,.2f}"


def bar_titles(svg):
    """(label, value text) of each bar's tooltip, in the order of the markup."""
    return re.findall(r'<g class="bar"[^>]*><title>([^<:]*): ([^<]*)</title>', str(svg))


def test_a_chart_is_svg_without_scripts_or_outside_files():
    svg = charts.bar_chart(["一月", "Feb <b>", "Mar"], [("Won", [1200, 0, 35000.5])],
                           value_text=money, highlight={2: charts.RED},
                           description="Won revenue")
    text = str(svg)
    assert text.startswith("<svg") and 'role="img"' in text
    # No script (the page's CSP, WeasyPrint) and nothing loaded from elsewhere: pygal's
    # default points its tooltips at a CDN.
    assert "<script" not in text and "src=" not in text and "href" not in text
    assert "http" not in text.replace("http://www.w3.org/2000/svg", "")
    # The chart is named by its description, not "Pygal"; each bar has its tooltip,
    # user text escaped, Chinese kept.
    assert "<title>Won revenue</title>" in text and "Pygal" not in text
    assert bar_titles(svg) == [("一月", "1,200.00"), ("Feb &lt;b&gt;", "0.00"),
                               ("Mar", "35,000.50")]
    assert "<b>" not in text
    # The highlighted bar (an overdue month, say) has its own colour.
    assert re.search(r'<g class="bar" style="fill: #dc3545[^>]*><title>Mar:', text)
    assert len(re.findall("#dc3545", text)) == 2   # its fill and stroke


def test_horizontal_bars_read_from_the_top():
    svg = charts.bar_chart(["First", "Second", "Third"], [("Deals", [3, 2, 1])],
                           horizontal=True, value_text=str, highlight={0: charts.GREEN})
    tops = {label: float(y) for label, y in re.findall(
        r'<title>(\w+): \d+</title><rect x="[^"]*" y="([^"]+)"[^>]*>', str(svg))}
    assert tops["First"] < tops["Second"] < tops["Third"]
    assert re.search(r'<g class="bar" style="fill: #28a745[^>]*><title>First:', str(svg))


def test_the_same_chart_prints_in_a_pdf_with_chinese_labels(tmp_path, database_url):
    """WeasyPrint runs no JavaScript: the SVG is drawn as it is, its text in the CJK
    font, through the template macro later reports use."""
    suite = make_suite(tmp_path, database_url, addon_paths=[ROOT / "addons"],
                       extra="template_paths = client_pdf\n")
    folder = tmp_path / "site" / "client_pdf" / "report"
    folder.mkdir(parents=True)
    (folder / "chart.html").write_text(
        '{% extends "pdf/base.html" %}{% from "core/charts.html" import chart %}'
        "{% block body %}{{ chart(svg, 'Won revenue') }}{% endblock %}", encoding="utf-8")
    svg = charts.bar_chart(["一月", "二月"], [("赢单", [1200, 3400])], value_text=money,
                           description="赢单金额")
    try:
        app = suite.app()
        with app.test_request_context():
            document = pdf.render("report/chart.html", svg=svg)
    finally:
        suite.close()
    text = PdfReader(io.BytesIO(document)).pages[0].extract_text()
    assert "一月" in text and "二月" in text
