"""Writing rows to CSV and XLSX without holding them all in memory."""
import csv
import tempfile
from datetime import date, datetime
from decimal import Decimal

from flask import Response, send_file, stream_with_context
from openpyxl import Workbook
from werkzeug.utils import secure_filename

MIMETYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell(value):
    """A value as a spreadsheet cell. Text that a spreadsheet would run as a formula
    (=, +, -, @) is prefixed with a quote, so exported data cannot attack its reader."""
    if value is None:
        return ""
    if isinstance(value, (bool, int, float, Decimal, date, datetime)):
        return value
    text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


class _Echo:
    def write(self, value):
        return value


def iter_csv(headers, rows):
    # The byte-order mark lets Excel open UTF-8 (Chinese names) correctly.
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow(headers)
    for row in rows:
        yield writer.writerow([cell(v) for v in row])


def write_xlsx(headers, rows, target):
    """Stream rows into an XLSX file (openpyxl's write-only mode keeps memory flat)."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append(headers)
    for row in rows:
        sheet.append([cell(v) for v in row])
    book.save(target)


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
    """A download response: CSV streamed row by row, XLSX from a temporary file."""
    filename = secure_filename(filename)
    if fmt == "csv":
        return Response(stream_with_context(iter_csv(headers, rows)), mimetype=MIMETYPES["csv"],
                        headers={"Content-Disposition": f"attachment; filename={filename}"})
    spool = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)
    write_xlsx(headers, rows, spool)
    spool.seek(0)
    return send_file(spool, mimetype=MIMETYPES["xlsx"], as_attachment=True,
                     download_name=filename)
