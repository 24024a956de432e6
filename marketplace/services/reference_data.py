"""Reference data shipped as CSV files under ``marketplace/reference/`` (loaded by `flask load-reference`).

Loading is an idempotent upsert keyed on each table's code: running it again after a CSV changes updates the
labels and adds the new rows. Rows that disappeared from a file are kept (organisations may point at them).
"""

from __future__ import annotations

import csv
from pathlib import Path

from marketplace.extensions import db
from marketplace.models import IdccBranch, OpcoReference, Region, Theme

REFERENCE_DIR = Path(__file__).resolve().parent.parent / "reference"

# (file, model, key column, columns copied from the file); OPCOs first, branches point at them.
_FILES: list[tuple[str, type, str, tuple[str, ...]]] = [
    ("opcos.csv", OpcoReference, "code", ("name", "sectors")),
    ("idcc.csv", IdccBranch, "idcc", ("label", "opco_code", "source")),
    ("regions.csv", Region, "code", ("name",)),
    ("themes.csv", Theme, "code", ("label", "system")),
]


def read_csv(name: str) -> list[dict[str, str]]:
    with (REFERENCE_DIR / name).open(encoding="utf-8", newline="") as handle:
        return [{k: (v or "").strip() for k, v in row.items()} for row in csv.DictReader(handle)]


def load_reference_data() -> dict[str, int]:
    """Upsert the four reference files; returns the number of rows per table. The caller commits."""
    counts: dict[str, int] = {}
    for filename, model, key, columns in _FILES:
        rows = read_csv(filename)
        for row in rows:
            obj = db.session.get(model, row[key])
            if obj is None:
                obj = model(**{key: row[key]})
                db.session.add(obj)
            for column in columns:
                if column in row and getattr(obj, column) != row[column]:
                    setattr(obj, column, row[column])
        db.session.flush()
        counts[model.__tablename__] = len(rows)
    return counts
