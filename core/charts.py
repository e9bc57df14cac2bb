"""Charts for every addon's pages and PDFs: drawn on the server as SVG by pygal.

Why pygal (issue 14): one chart must serve the screens and the PDF reports, and
WeasyPrint runs no JavaScript. Apache ECharts (vendored, SVG renderer, zh locale) draws
only in a browser, so a report would need a second way to draw the same chart; a module
of our own would redo the axes, scales, legends and chart kinds that pygal has. pygal is
a well-kept Python library that writes plain SVG: the same markup goes inline in a page
and in a WeasyPrint document, needs no asset at all, and its text is real text in the
fonts named below, so Chinese labels come out in Noto Sans CJK (a Debian package the
set-up installs) in both. Its default output refers to tooltip scripts on a CDN and
carries an inline script: both are left out here (``js=[]`` and ``_without_scripts``),
and each bar gets an SVG <title> instead, which browsers show as a tooltip without any
script. The exact figures stay in the tables beside a chart.

In a template::

    {% from "core/charts.html" import chart %}
    {{ chart(won_chart, _('Won revenue by month')) }}

with ``won_chart = charts.bar_chart(labels, [(_("Won"), amounts)], value_text=money)``
built in the view.
"""
from decimal import Decimal
from unicodedata import east_asian_width

import pygal
from babel.numbers import format_compact_decimal
from flask import has_request_context
from flask_babel import get_locale
from markupsafe import Markup
from pygal.style import Style

# Bootstrap 4's font stack, then CJK fonts: the browser and WeasyPrint (Pango) both
# take each character from the first font that has it.
FONTS = ('-apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, "Noto Sans", '
         '"Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei", '
         "sans-serif")
# Bootstrap 4's colours, so a chart matches the buttons and badges around it.
BLUE, GREEN, RED, GREY, ORANGE, TEAL, PURPLE = ("#007bff", "#28a745", "#dc3545", "#6c757d",
                                                "#fd7e14", "#20c997", "#6f42c1")

LABEL_SIZE, MARGIN = 12, 8


def style(colors=(BLUE, GREEN, ORANGE, PURPLE, TEAL, RED, GREY)):
    return Style(
        background="transparent", plot_background="transparent",
        foreground="#495057", foreground_strong="#212529", foreground_subtle="#dee2e6",
        font_family=FONTS, label_font_size=LABEL_SIZE, major_label_font_size=LABEL_SIZE,
        legend_font_size=12, title_font_size=14, value_font_size=11,
        value_label_font_size=11, tooltip_font_size=12, no_data_font_size=16,
        colors=tuple(colors), opacity="1", opacity_hover=".8", transition="0s",
        guide_stroke_color="#dee2e6", major_guide_stroke_color="#ced4da")


def compact_number(value):
    """Axis ticks: 1.2K, 35M in English; 1.2万, 3500万 in Chinese."""
    # A chart drawn outside a request (a PDF by a job) counts in English.
    locale = (get_locale() if has_request_context() else None) or "en"
    return format_compact_decimal(value, locale=locale, fraction_digits=1)


def _number(value):
    # pygal computes in floats; money stays Decimal elsewhere and is only drawn here.
    return float(value) if isinstance(value, Decimal) else (value or 0)


def wide_text_room(labels, font_size):
    """Width pygal leaves out for labels in Chinese: it reckons every character at
    0.6 em, while a Chinese one takes a whole em, and a label on the left of
    horizontal bars would be cut off."""
    wide = max((sum(east_asian_width(ch) in "WF" for ch in label) for label in labels),
               default=0)
    return round(wide * 0.4 * font_size)


def _children(node, tag):
    # Comments are children too, with a function for a tag.
    return [child for child in node if isinstance(child.tag, str) and child.tag == tag]


def _without_scripts(labels, series, value_text, description):
    """An xml_filter: drop pygal's scripts (CSP, PDFs) and comments, name the chart by its
    description (pygal calls every chart "Pygal") and give each bar a <title>:
    "label: value", the tooltip browsers show by themselves."""
    def apply(root):
        for comment in [child for child in root if not isinstance(child.tag, str)]:
            root.remove(comment)   # pygal's credits, with addresses: not in our pages
        for defs in _children(root, "defs"):
            for script in _children(defs, "script"):
                defs.remove(script)
        for title in _children(root, "title"):
            title.text = str(description)
        root.set("role", "img")   # named by that title; the tables hold the numbers
        serie_groups = [group for group in root.iter()
                        if group.get("class", "").startswith("series serie-")
                        and len(group)]
        for (name, values), group in zip(series, serie_groups):
            bars = [bar for bar in group.iter() if bar.get("class") == "bar"]
            for label, value, bar in zip(labels, values, bars):
                title = bar.makeelement("title", {})
                title.text = f"{label}: {value_text(value)}" if len(series) == 1 \
                    else f"{label}, {name}: {value_text(value)}"
                bar.insert(0, title)
        return root
    return apply


def bar_chart(labels, series, value_text=str, horizontal=False, stacked=False,
              highlight=None, colors=None, description="", height=280, width=1000,
              print_values=False):
    """Bars as inline SVG (Markup), safe in a page and in a WeasyPrint PDF.

    ``labels``: the categories (months, stages, names). ``series``: [(name, [number per
    label])]; one series draws no legend. ``value_text`` writes a value as people read
    it (money with its separators). ``highlight``: {label index: colour} for single
    bars (an overdue month in red). ``description`` names the chart for screen readers
    and as its tooltip. ``width`` and ``height`` give the proportions (and the size of
    the text against them): the chart takes the width of its container."""
    labels, highlight = [str(label) for label in labels], dict(highlight or {})
    series = [(str(name), list(values)) for name, values in series]
    if horizontal:   # pygal draws the first label at the bottom: read top-down instead
        last = len(labels) - 1
        labels, highlight = labels[::-1], {last - i: color for i, color in highlight.items()}
        series = [(name, values[::-1]) for name, values in series]
    kind = {(False, False): pygal.Bar, (False, True): pygal.StackedBar,
            (True, False): pygal.HorizontalBar,
            (True, True): pygal.HorizontalStackedBar}[(horizontal, stacked)]
    chart = kind(
        style=style(colors) if colors else style(), js=[], disable_xml_declaration=True,
        explicit_size=False, width=width, height=height, show_legend=len(series) > 1,
        legend_at_bottom=True, legend_at_bottom_columns=min(len(series), 4) or 1,
        x_label_rotation=0 if horizontal or len(labels) <= 8 else -30,
        truncate_label=-1, truncate_legend=-1, show_x_guides=False,
        formatter=value_text, value_formatter=compact_number,
        print_values=print_values, margin=MARGIN, spacing=8, min_scale=4, max_scale=6,
        no_data_text="",
        margin_left=MARGIN + (wide_text_room(labels, LABEL_SIZE) if horizontal else 0))
    chart.add_xml_filter(_without_scripts(labels, series, value_text, description))
    chart.x_labels = labels
    for name, values in series:
        chart.add(name, [
            {"value": _number(value), "color": highlight[index]} if index in highlight
            else _number(value) for index, value in enumerate(values)])
    return Markup(chart.render(is_unicode=True))
