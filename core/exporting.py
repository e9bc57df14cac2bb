"""Writing rows to CSV and XLSX without holding them all in memory.

What is written reads back in unchanged (core.transfer). XLSX cells keep their types:
numbers, dates, yes/no and text, never a formula. CSV has no types: a cell that a
spreadsheet would run as a formula gets a leading apostrophe, which the import takes
off again (``unquote``), so that exported data cannot attack its reader."""
import csv
import re
import tempfile
import unicodedata
from datetime import date, datetime
from decimal import Decimal
from itertools import islice
from urllib.parse import quote

from flask import Response, send_file, stream_with_context
from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from werkzeug.utils import secure_filename

MIMETYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# A plain number ("-5", "+1.5") is no formula: a spreadsheet reads it as the number.
PLAIN_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
WIDTH_SAMPLE = 200     # rows read ahead to size the XLSX columns
MAX_WIDTH = 60


def neutralised(text):
    """CSV text as written: an apostrophe before text that starts like a formula (or
    does so after apostrophes of its own, so that ``unquote`` gives back exactly it)."""
    if text.lstrip("'").startswith(FORMULA_START) and not PLAIN_NUMBER.match(text):
        return "'" + text
    return text


def unquote(text):
    """A CSV cell as it was before ``neutralised``."""
    if text.startswith("'") and text[1:].lstrip("'").startswith(FORMULA_START):
        return text[1:]
    return text


def csv_cell(value):
    """A value as CSV text that the import reads back as the same value."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, (int, float, Decimal, date)):
        return str(value)
    return neutralised(str(value))


class _Echo:
    def write(self, value):
        return value


def iter_csv(headers, rows):
    # The byte-order mark lets Excel open UTF-8 (Chinese names) correctly.
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow([neutralised(str(h)) for h in headers])
    for row in rows:
        yield writer.writerow([csv_cell(v) for v in row])


def _xlsx_cell(sheet, value):
    """A value as an XLSX cell of its own type; text is always text (a leading "="
    stays text, no apostrophe is added)."""
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)   # Excel has no time zones
    if isinstance(value, date):
        return value
    if isinstance(value, Decimal):
        cell = WriteOnlyCell(sheet, value=value)
        places = -value.as_tuple().exponent if value.is_finite() else 0
        if places > 0:
            cell.number_format = "#,##0." + "0" * places
        return cell
    text = ILLEGAL_CHARACTERS_RE.sub("", str(value))   # control characters XLSX cannot hold
    if not text.startswith("="):
        return text
    cell = WriteOnlyCell(sheet, value=text)
    cell.data_type = "s"   # openpyxl takes "=..." for a formula
    return cell


def _width(value):
    """About how many characters wide a value shows (a Chinese character counts two)."""
    if value is None:
        return 0
    if isinstance(value, datetime):
        return 19
    if isinstance(value, date):
        return 10
    if isinstance(value, Decimal):
        return len(f"{value:,}")
    text = str(value)
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def write_xlsx(headers, rows, target):
    """Stream rows into an XLSX file (openpyxl's write-only mode keeps memory flat)."""
    book = Workbook(write_only=True)
    add_sheet(book, headers, rows)
    book.save(target)


def add_sheet(book, headers, rows, title=None):
    """A sheet of a write-only workbook with the rows, the header row bold and frozen
    and the columns as wide as the first rows need."""
    rows = iter(rows)
    sample = list(islice(rows, WIDTH_SAMPLE))
    sheet = book.create_sheet(title)
    sheet.freeze_panes = "A2"
    for index, header in enumerate(headers):
        widest = max([_width(header)] + [_width(row[index]) for row in sample
                                          if index < len(row)])
        sheet.column_dimensions[get_column_letter(index + 1)].width = min(widest + 2, MAX_WIDTH)
    bold = Font(bold=True)
    header_cells = []
    for header in headers:
        cell = WriteOnlyCell(sheet, value=str(header))
        cell.data_type, cell.font = "s", bold
        header_cells.append(cell)
    sheet.append(header_cells)
    for row in sample:
        sheet.append([_xlsx_cell(sheet, v) for v in row])
    for row in rows:
        sheet.append([_xlsx_cell(sheet, v) for v in row])
    return sheet


def write(fmt, headers, rows, target):
    """Write rows to a path or binary file object in 'csv' or 'xlsx'."""
    if fmt == "csv":
        if isinstance(target, (str, bytes)) or hasattr(target, "__fspath__"):
            with open(target, "w", encoding="utf-8", newline="") as handle:
                handle.writelines(iter_csv(headers, rows))
        else:
            for chunk in iter_csv(headers, rows):
                target.write(chunk.encode("utf-8"))
    elif fmt == "xlsx":
        write_xlsx(headers, rows, target)
    else:
        raise ValueError(f"unknown export format {fmt!r}; use csv or xlsx")


def response(fmt, filename, headers, rows):
    """A download response: CSV streamed row by row, XLSX from a temporary file. The
    file keeps its name in any language ("客户_2026-12-01.xlsx"), with an ASCII one for
    old browsers."""
    if fmt == "csv":
        return Response(stream_with_context(iter_csv(headers, rows)), mimetype=MIMETYPES["csv"],
                        headers={"Content-Disposition": _disposition(filename)})
    spool = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)
    write_xlsx(headers, rows, spool)
    spool.seek(0)
    download = send_file(spool, mimetype=MIMETYPES["xlsx"], as_attachment=True,
                         download_name="export.xlsx")
    download.headers["Content-Disposition"] = _disposition(filename)
    return download


def _disposition(filename):
    plain = secure_filename(filename) or "export"
    named = "".join(c for c in filename if c.isprintable() and c not in '/\\"')
    return f"attachment; filename={plain}; filename*=UTF-8''{quote(named)}"
