"""Spreadsheet writers that stream: CSV for French Excel and XLSX, row by row, in flat memory.

One writer for the HTTP downloads (``web.actions.download`` streams the chunks) and for background export
jobs (``csv_file`` / ``xlsx_file`` write the same bytes to a temporary file). Rows come from any iterable,
typically a server-side cursor (``execution_options(yield_per=...)``): nothing is kept once written.

CSV: « ; » separator, UTF-8 with a BOM (else Excel reads Windows-1252), CRLF line ends, dates jj/mm/aaaa,
datetimes jj/mm/aaaa hh:mm in Europe/Paris.

XLSX: written by hand rather than with openpyxl or XlsxWriter, because both build the whole workbook before
the zip's first byte (openpyxl's write-only mode and XlsxWriter's ``constant_memory`` keep memory flat but
still write the sheet to a temporary file and zip it at the end: the first byte of a million rows would
leave after a minute). Here the zip is written to the response as it is produced (``zipfile`` on a
non-seekable stream, data descriptors after each member) with inline strings (no shared-strings table to
hold), a bold frozen header, column widths given up front, dates as real Excel dates.

Cells that a spreadsheet would run as a formula (starting with = + - @) are neutralised: prefixed with « ' »
in CSV, always text in XLSX (inline strings are never formulas).
"""

from __future__ import annotations

import csv
import io
import os
import re
import tempfile
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from decimal import Decimal
from xml.sax.saxutils import escape

from marketplace.formatting import date_fr, to_paris

CSV_CONTENT_TYPE = "text/csv; charset=utf-8"
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
MAX_WIDTH = 50
BATCH_ROWS = 500  # rows per chunk handed to the response: a few tens of KB
_ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_EXCEL_EPOCH = datetime(1899, 12, 30)


class Euros:
    """An amount in cents: French text with two decimals in CSV (« 1234,56 »), a number formatted
    « # ##0,00 » in XLSX, so a spreadsheet can add the column up."""

    __slots__ = ("cents",)

    def __init__(self, cents: int | None):
        self.cents = int(cents or 0)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Euros) and other.cents == self.cents

    def __repr__(self) -> str:
        return f"Euros({self.cents})"

    def text(self) -> str:
        sign = "-" if self.cents < 0 else ""
        units, rest = divmod(abs(self.cents), 100)
        return f"{sign}{units},{rest:02d}"

    def number(self) -> str:
        return self.text().replace(",", ".")


# --- CSV ---------------------------------------------------------------------------------------------------


def csv_value(value: object) -> str:
    """One cell as French Excel reads it; text that would run as a formula gets a leading « ' »."""
    if type(value) is str:  # the common case first: exports are mostly text
        return "'" + value if value.startswith(FORMULA_STARTS) else value
    if value is None:
        return ""
    if isinstance(value, Euros):
        return value.text()
    if isinstance(value, Decimal | float):
        return str(value).replace(".", ",")  # French Excel reads « 10,5 » as a number, « 10.5 » as text
    if isinstance(value, datetime):
        return f"{to_paris(value):%d/%m/%Y %H:%M}"
    if isinstance(value, date):
        return date_fr(value)
    text = str(value)
    if isinstance(value, str) and text.startswith(FORMULA_STARTS):
        text = "'" + text
    return text


def csv_chunks(columns: Sequence[str], rows: Iterable[Sequence[object]]) -> Iterator[bytes]:
    """The CSV file as UTF-8 chunks: the BOM and header first (sent at once), then ``BATCH_ROWS`` rows each."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(columns)
    yield ("\ufeff" + buffer.getvalue()).encode("utf-8")
    buffer.seek(0)
    buffer.truncate()
    pending = 0
    for row in rows:
        writer.writerow([csv_value(v) for v in row])
        pending += 1
        if pending == BATCH_ROWS:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
            pending = 0
    if pending:
        yield buffer.getvalue().encode("utf-8")


# --- XLSX --------------------------------------------------------------------------------------------------

_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/styles.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
    "</Types>"
)
_ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
    'Target="xl/workbook.xml"/></Relationships>'
)
_WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="{name}" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
    'Target="worksheets/sheet1.xml"/>'
    '<Relationship Id="rId2" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" '
    'Target="styles.xml"/></Relationships>'
)
# Cell styles: 0 plain, 1 bold (header), 2 date, 3 date and time, 4 amount (two decimals).
_STYLES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    '<numFmts count="2"><numFmt numFmtId="164" formatCode="DD/MM/YYYY"/>'
    '<numFmt numFmtId="165" formatCode="DD/MM/YYYY HH:MM"/></numFmts>'
    '<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="5"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="4" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)
_SHEET_START = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    '<sheetViews><sheetView workbookViewId="0">'
    '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
    "</sheetView></sheetViews>"
)


def column_letter(index: int) -> str:
    """1 → A, 27 → AA."""
    letters = ""
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def sheet_name(title: str) -> str:
    """A title Excel accepts as a sheet name: without []:*?/\\, 31 characters at most."""
    return "".join(c for c in title if c not in "[]:*?/\\")[:31].strip() or "Export"


def _text_cell(ref: str, text: str, style: int = 0) -> str:
    text = escape(_ILLEGAL_XML.sub("", text))
    space = ' xml:space="preserve"' if text[:1].isspace() or text[-1:].isspace() else ""
    styled = f' s="{style}"' if style else ""
    return f'<c r="{ref}"{styled} t="inlineStr"><is><t{space}>{text}</t></is></c>'


def _cell(ref: str, value: object) -> str:
    if type(value) is str:
        return _text_cell(ref, value)
    if value is None:
        return ""
    if isinstance(value, Euros):
        return f'<c r="{ref}" s="4"><v>{value.number()}</v></c>'
    if isinstance(value, bool):
        return f'<c r="{ref}" t="b"><v>{int(value)}</v></c>'
    if isinstance(value, int | float | Decimal):
        return f'<c r="{ref}"><v>{value}</v></c>'
    if isinstance(value, datetime):
        local = to_paris(value).replace(tzinfo=None)  # stored naive in UTC, shown in Paris
        serial = (local - _EXCEL_EPOCH).total_seconds() / 86400
        return f'<c r="{ref}" s="3"><v>{serial:.10f}</v></c>'
    if isinstance(value, date):
        return f'<c r="{ref}" s="2"><v>{(value - _EXCEL_EPOCH.date()).days}</v></c>'
    return _text_cell(ref, str(value))


class _Sink:
    """A write-only stream for ``zipfile`` (no ``tell``/``seek``: it writes data descriptors) that
    hands over what has been written so far."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def write(self, data: bytes) -> int:
        self.parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        data = b"".join(self.parts)
        self.parts.clear()
        return data


def xlsx_chunks(
    columns: Sequence[str],
    rows: Iterable[Sequence[object]],
    *,
    title: str = "Export",
    widths: Sequence[int] | None = None,
) -> Iterator[bytes]:
    """The XLSX file as chunks of the zip, produced while ``rows`` are read (``BATCH_ROWS`` rows each).

    ``widths`` are the columns' widths in characters (at least the header's length), capped at 50: they
    come first in the sheet, before any row, so they cannot be measured on the data.
    """
    sink = _Sink()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=5) as archive:
        archive.writestr("[Content_Types].xml", _CONTENT_TYPES)
        archive.writestr("_rels/.rels", _ROOT_RELS)
        archive.writestr("xl/workbook.xml", _WORKBOOK.format(name=escape(sheet_name(title), {'"': "&quot;"})))
        archive.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        archive.writestr("xl/styles.xml", _STYLES)
        letters = [column_letter(i) for i in range(1, len(columns) + 1)]
        given = list(widths or ())
        sized = [max(given[i] if i < len(given) else 0, len(c)) for i, c in enumerate(columns)]
        cols = "".join(
            f'<col min="{i}" max="{i}" width="{min(w + 2, MAX_WIDTH)}" customWidth="1"/>'
            for i, w in enumerate(sized, start=1)
        )
        header = "".join(
            _text_cell(f"{letter}1", name, 1) for letter, name in zip(letters, columns, strict=True)
        )
        # Without ZIP64 (some Excel versions warn about it) a sheet holds up to 2 GiB of XML: about 5 million
        # rows of ten columns, far beyond what Excel opens (1 048 576 rows).
        with archive.open("xl/worksheets/sheet1.xml", "w") as sheet:
            sheet.write(
                (_SHEET_START + (f"<cols>{cols}</cols>" if cols else "") + "<sheetData>").encode("utf-8")
            )
            sheet.write(f'<row r="1">{header}</row>'.encode())
            yield sink.take()
            parts: list[str] = []
            number = 1
            for row in rows:
                number += 1
                cells = "".join(
                    _cell(f"{letter}{number}", v) for letter, v in zip(letters, row, strict=False)
                )
                parts.append(f'<row r="{number}">{cells}</row>')
                if len(parts) == BATCH_ROWS:
                    sheet.write("".join(parts).encode("utf-8"))
                    parts.clear()
                    data = sink.take()
                    if data:
                        yield data
            if parts:
                sheet.write("".join(parts).encode("utf-8"))
            sheet.write(b"</sheetData></worksheet>")
    yield sink.take()


# --- Files for background jobs ------------------------------------------------------------------------------


def _to_file(chunks: Iterator[bytes], suffix: str, directory: str | None) -> str:
    handle, path = tempfile.mkstemp(suffix=suffix, dir=directory)
    try:
        with os.fdopen(handle, "wb") as out:
            for chunk in chunks:
                out.write(chunk)
    except BaseException:
        os.unlink(path)
        raise
    return path


def csv_file(columns: Sequence[str], rows: Iterable[Sequence[object]], directory: str | None = None) -> str:
    """The CSV written to a new temporary file (the caller moves or deletes it); returns its path."""
    return _to_file(csv_chunks(columns, rows), ".csv", directory)


def xlsx_file(
    columns: Sequence[str],
    rows: Iterable[Sequence[object]],
    *,
    title: str = "Export",
    widths: Sequence[int] | None = None,
    directory: str | None = None,
) -> str:
    """The XLSX written to a new temporary file (the caller moves or deletes it); returns its path."""
    return _to_file(xlsx_chunks(columns, rows, title=title, widths=widths), ".xlsx", directory)
