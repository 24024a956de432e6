"""Reference data shipped as files under marketplace/reference/ and loaded by `flask load-reference`."""

from datetime import date

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.extensions import db


class OpcoReference(db.Model):
    """One of the 11 OPCOs recognised by law (code, official name)."""

    __tablename__ = "ref_opcos"
    code: Mapped[str] = mapped_column(String(20), primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    sectors: Mapped[str] = mapped_column(String(400), default="")


class IdccBranch(db.Model):
    """A branch (convention collective, IDCC) and the OPCO it is attached to by France Compétences."""

    __tablename__ = "ref_idcc"
    idcc: Mapped[str] = mapped_column(String(4), primary_key=True)
    label: Mapped[str] = mapped_column(String(300))
    opco_code: Mapped[str] = mapped_column(ForeignKey("ref_opcos.code"))
    source: Mapped[str] = mapped_column(String(400), default="")
    # When the source was published (or the text it quotes signed): every row has one in idcc.csv.
    source_date: Mapped[date | None]
    # An obsolete code (e.g. 0650, replaced by 3248 on 1 January 2024): refused at sign-up, naming its successor.
    replaced_by: Mapped[str | None] = mapped_column(String(4))
    ended_on: Mapped[date | None]


class Region(db.Model):
    """French region with its INSEE code (18 since 2016)."""

    __tablename__ = "ref_regions"
    code: Mapped[str] = mapped_column(String(2), primary_key=True)
    name: Mapped[str] = mapped_column(String(80))


class Theme(db.Model):
    """Training theme (NSF group) used to classify collective actions."""

    __tablename__ = "ref_themes"
    code: Mapped[str] = mapped_column(String(10), primary_key=True)
    label: Mapped[str] = mapped_column(String(200))
    system: Mapped[str] = mapped_column(String(20), default="NSF")
