"""The streaming CSV and XLSX writers: what Excel reads, and that they write before reading every row."""

from __future__ import annotations

import csv
import io
import os
from datetime import date, datetime

from openpyxl import load_workbook

from marketplace.services import export_writer

COLUMNS = ("Nom", "Montant", "Date", "Horodatage", "Note")
ROWS = 20_000


def many_rows(seen: list[int]):
    """``ROWS`` rows; ``seen[0]`` counts those read so far."""
    for i in range(ROWS):
        seen[0] += 1
        yield (
            f"Élève {i}",
            i,
            date(2026, 1, 1 + i % 28),
            datetime(2026, 3, 1, 8, 30),
            "=SOMME(A1)" if i == 7 else None,
        )


def test_csv_is_for_french_excel_and_leaves_before_the_rows_are_read():
    seen = [0]
    chunks = export_writer.csv_chunks(COLUMNS, many_rows(seen))
    first = next(chunks)
    assert first == "\ufeffNom;Montant;Date;Horodatage;Note\r\n".encode()
    assert seen[0] == 0  # the header left before the first row was read
    rest = list(chunks)
    assert len(rest) >= ROWS // export_writer.BATCH_ROWS  # written in batches, not at the end
    text = (first + b"".join(rest)).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))
    assert len(rows) == ROWS + 1
    assert rows[1] == ["Élève 0", "0", "01/01/2026", "01/03/2026 09:30", ""]  # stored UTC, shown in Paris
    assert rows[8][4] == "'=SOMME(A1)"  # never run as a formula
    assert text.count("\r\n") == ROWS + 1


def test_xlsx_streams_a_valid_workbook():
    seen = [0]
    chunks = export_writer.xlsx_chunks(COLUMNS, many_rows(seen), title="Élèves: 2026/27", widths=(30, 8))
    first = next(chunks)
    assert first.startswith(b"PK\x03\x04")
    assert seen[0] == 0  # the zip's first bytes left before the first row was read
    body = [first]
    for chunk in chunks:
        body.append(chunk)
        if len(body) == 3:
            assert seen[0] < ROWS  # later chunks leave while rows are still being read
    assert len(body) > 3
    workbook = load_workbook(io.BytesIO(b"".join(body)))
    sheet = workbook.active
    assert sheet.title == "Élèves 202627"  # characters Excel refuses in a sheet name are dropped
    assert [c.value for c in sheet[1]] == list(COLUMNS)
    assert all(c.font.bold for c in sheet[1])
    assert sheet.freeze_panes == "A2"
    assert sheet.max_row == ROWS + 1
    assert [c.value for c in sheet[2]] == [
        "Élève 0",
        0,
        datetime(2026, 1, 1),
        datetime(2026, 3, 1, 9, 30),
        None,
    ]
    assert sheet["B20001"].value == ROWS - 1
    formula = sheet["E9"]
    assert formula.value == "=SOMME(A1)" and formula.data_type == "s"
    assert sheet["C2"].number_format == "DD/MM/YYYY"
    assert sheet.column_dimensions["A"].width == 32
    assert sheet.column_dimensions["E"].width == len("Note") + 2  # the header's length by default


def test_xlsx_text_keeps_spaces_and_drops_what_xml_cannot_hold():
    rows = [(" devant", "A & B <c>", "nul\x00 ici", True)]
    body = b"".join(export_writer.xlsx_chunks(("a", "b", "c", "d"), rows))
    sheet = load_workbook(io.BytesIO(body)).active
    assert [c.value for c in sheet[2]] == [" devant", "A & B <c>", "nul ici", True]


def test_files_for_background_jobs(tmp_path):
    rows = [("Dupré", 1), ("Martin", 2)]
    csv_path = export_writer.csv_file(("Nom", "N"), rows, directory=str(tmp_path))
    xlsx_path = export_writer.xlsx_file(("Nom", "N"), rows, title="Liste", directory=str(tmp_path))
    assert os.path.dirname(csv_path) == str(tmp_path) and csv_path.endswith(".csv")
    with open(csv_path, "rb") as f:
        assert f.read() == "\ufeffNom;N\r\nDupré;1\r\nMartin;2\r\n".encode()
    sheet = load_workbook(xlsx_path).active
    assert [[c.value for c in r] for r in sheet.iter_rows()] == [["Nom", "N"], ["Dupré", 1], ["Martin", 2]]


def test_column_letters():
    assert [export_writer.column_letter(i) for i in (1, 26, 27, 52, 703)] == ["A", "Z", "AA", "AZ", "AAA"]
