"""Exports as small classes that yield a header and rows; ``export_writer`` streams them as CSV or XLSX.

CSV is written for French Excel: « ; » separator, UTF-8 with a BOM (else Excel reads it as Windows-1252),
CRLF line ends, dates jj/mm/aaaa. Cells that a spreadsheet would run as a formula (starting with = + - @)
are neutralised in both formats. Rows are read from a server-side cursor (``yield_per``) and written as they
come, so an export's memory does not grow with its rows (see bench/bench_export.py).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence

from sqlalchemy import case, func, select

from marketplace.extensions import db
from marketplace.formatting import to_paris
from marketplace.models import Company, Employee, Enrolment, EnrolmentStatus, TrainingSession
from marketplace.services import export_writer
from marketplace.services.identifiers import format_siret
from marketplace.services.session_pages import Trainees

CSV_MIMETYPE = export_writer.CSV_CONTENT_TYPE
XLSX_MIMETYPE = export_writer.XLSX_CONTENT_TYPE
CONTENT_TYPES = {"csv": CSV_MIMETYPE, "xlsx": XLSX_MIMETYPE}
STREAM_ROWS = 1_000  # rows fetched per round trip of the server-side cursor


class Exporter(ABC):
    """Subclasses set ``title``, ``filename_stem``, ``columns`` (and ``widths``) and yield ``rows()``.

    Cell values may be ``str``, ``int``, ``date``, ``datetime`` (shown in Europe/Paris) or ``None``.
    """

    title: str = "Export"
    filename_stem: str = "export"
    columns: Sequence[str] = ()
    widths: Sequence[int] | None = None  # XLSX column widths in characters (the header's length otherwise)

    @abstractmethod
    def rows(self) -> Iterable[Sequence[object]]:
        """The data rows, in the order of ``columns``."""

    def filename(self, extension: str) -> str:
        return f"{self.filename_stem}.{extension}"

    def content_type(self, extension: str) -> str:
        return CONTENT_TYPES[extension]

    def chunks(self, extension: str) -> Iterator[bytes]:
        """The file as it is written (``csv`` or ``xlsx``), for a streamed response or a file."""
        if extension == "csv":
            return export_writer.csv_chunks(self.columns, self.rows())
        return export_writer.xlsx_chunks(self.columns, self.rows(), title=self.title, widths=self.widths)

    def to_csv(self) -> bytes:
        return b"".join(self.chunks("csv"))

    def to_xlsx(self) -> bytes:
        return b"".join(self.chunks("xlsx"))


ERASED = "Salarié supprimé"


class SessionTraineesExport(Exporter):
    """The trainees of one session with their company and the state of their enrolment.

    Order: confirmed, awaiting approval (each by name, erased employees last), offered a seat (by expiry),
    waiting list (in order), then cancelled or refused (latest first), as on the session's page.
    An employee erased at the company's request appears as « Salarié supprimé », without email.
    Without ``trainees`` the rows are streamed from the database in that order.
    """

    columns = (
        "Nom",
        "Prénom",
        "E-mail",
        "Fonction",
        "Entreprise",
        "SIRET",
        "État de l'inscription",
        "Date d'inscription",
    )
    widths = (24, 18, 32, 24, 30, 17, 26, 12)

    def __init__(self, session: TrainingSession, trainees: Trainees | None = None):
        self.session = session
        self.trainees = trainees
        self.title = "Stagiaires"
        self.filename_stem = f"session-{session.id}-stagiaires"

    def source(self) -> Iterable[Sequence[object]]:
        """The rows of ``trainee_rows_query``: streamed from a server-side cursor, or from ``trainees``."""
        if self.trainees is None:
            return db.session.execute(
                trainee_rows_query(self.session.id).execution_options(yield_per=STREAM_ROWS)
            )
        return (
            (
                e.employee.last_name,
                e.employee.first_name,
                e.employee.email,
                e.employee.job_title,
                e.employee.erased_at,
                e.company.name,
                e.company.siret,
                e.status,
                e.created_at,
            )
            for e in self.trainees.all
        )

    def rows(self) -> Iterable[Sequence[object]]:
        for last, first, email, job, erased_at, company, siret, status, created_at in self.source():
            identity = (ERASED, "", "", "") if erased_at is not None else (last.upper(), first, email, job)
            yield (
                *identity,
                company,
                format_siret(siret),
                EnrolmentStatus.LABELS[status],
                to_paris(created_at).date() if created_at else None,
            )


_GROUPS = (
    (EnrolmentStatus.CONFIRMED,),
    (EnrolmentStatus.PENDING_APPROVAL,),
    (EnrolmentStatus.OFFERED,),
    (EnrolmentStatus.WAITLISTED,),
)


def trainee_columns():
    """The export's columns of enrolments (employee, company, state), without filter nor order."""
    return (
        select(
            Employee.last_name,
            Employee.first_name,
            Employee.email,
            Employee.job_title,
            Employee.erased_at,
            Company.name,
            Company.siret,
            Enrolment.status,
            Enrolment.created_at,
        )
        .join(Employee, Employee.id == Enrolment.employee_id)
        .join(Company, Company.id == Enrolment.company_id)
    )


def trainee_rows_query(session_id: int):
    """Every enrolment of the session, in the page's order (``session_pages.trainees``).

    Within the confirmed and awaiting groups, names sort with the database's ``lower()`` (PostgreSQL folds
    every letter, SQLite only A–Z).
    """
    E = Enrolment
    group = case(*((E.status.in_(g), i) for i, g in enumerate(_GROUPS)), else_=len(_GROUPS))
    by_name = group.in_((0, 1))
    return (
        trainee_columns()
        .where(E.session_id == session_id)
        .order_by(
            group,
            case((by_name, case((Employee.erased_at.is_(None), 0), else_=1)), else_=0),
            case((by_name, func.lower(Employee.last_name)), else_=""),
            case((by_name, func.lower(Employee.first_name)), else_=""),
            case((group == 2, case((E.offer_expires_at.is_(None), 1), else_=0)), else_=0),
            case((group == 2, E.offer_expires_at), else_=None),
            case((group == 3, case((E.waitlisted_at.is_(None), 1), else_=0)), else_=0),
            case((group == 3, E.waitlisted_at), else_=None),
            case((group == 4, E.updated_at), else_=None).desc(),
            case((group == 4, -E.id), else_=E.id),
        )
    )


def session_trainees(session: TrainingSession) -> SessionTraineesExport:
    """The trainees' export of one session, its rows streamed from the database as the file is written."""
    return SessionTraineesExport(session)
