"""What both halves of the bench data generator share (``generate``: the parties and the catalogue;
``generate_sessions``: the sessions, slots and enrolments): the made-up vocabulary the rows draw from (places,
subjects, names, durations, size bands) and the bulk writer per database (COPY on PostgreSQL, executemany on
SQLite), with the chunking and the ids assigned before the rows are written.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from decimal import Decimal

from sqlalchemy import Table, func, select, text

from marketplace.extensions import db

CHUNK = 10_000

METRO_REGIONS = ["11", "24", "27", "28", "32", "44", "52", "53", "75", "76", "84", "93"]
CITIES = {
    "11": ("Paris", "75011"),
    "24": ("Orléans", "45000"),
    "27": ("Dijon", "21000"),
    "28": ("Rouen", "76000"),
    "32": ("Lille", "59000"),
    "44": ("Strasbourg", "67000"),
    "52": ("Nantes", "44000"),
    "53": ("Rennes", "35000"),
    "75": ("Bordeaux", "33000"),
    "76": ("Toulouse", "31000"),
    "84": ("Lyon", "69001"),
    "93": ("Marseille", "13001"),
}
SUBJECTS = [
    "Sécurité au travail",
    "Habilitation électrique",
    "Sauveteur secouriste du travail",
    "Gestes et postures",
    "Management d'équipe",
    "Prise de parole en public",
    "Excel",
    "Word et PowerPoint",
    "Anglais professionnel",
    "Espagnol professionnel",
    "Comptabilité générale",
    "Paie et déclarations sociales",
    "Relation client",
    "Négociation commerciale",
    "Hygiène alimentaire HACCP",
    "Conduite de chariots CACES R489",
    "Prévention des risques psychosociaux",
    "Cybersécurité",
    "Intelligence artificielle générative",
    "Recrutement et intégration",
    "Entretien professionnel",
    "Gestion du temps",
    "Soudure à l'arc",
    "Maintenance industrielle",
    "Lean management",
    "Qualité et amélioration continue",
    "Droit du travail",
    "Accueil téléphonique",
    "Réseaux sociaux",
    "Gestion de projet",
    "Tutorat en entreprise",
    "Éco-conduite",
    "Transition écologique",
    "Accessibilité numérique",
    "Langue des signes française",
]
LEVELS = ["initiation", "perfectionnement", "niveau 1", "niveau 2", "recyclage", "fondamentaux", "expert"]
PROVIDER_WORDS = [
    ("Institut", "Académie", "Centre", "Atelier", "École", "Campus", "Cabinet", "Maison"),
    (
        "des Métiers",
        "Sécurité Pro",
        "du Numérique",
        "Management",
        "des Langues",
        "Compétences",
        "Prévention",
        "de la Relation Client",
        "Industrie",
        "Bureautique",
        "Qualité",
        "Santé Travail",
    ),
]
FIRST_NAMES = [
    "Camille",
    "Léa",
    "Manon",
    "Chloé",
    "Inès",
    "Emma",
    "Lucas",
    "Hugo",
    "Louis",
    "Nathan",
    "Théo",
    "Jules",
    "Sarah",
    "Élodie",
    "Julien",
    "Mathieu",
    "Nicolas",
    "Sophie",
    "Karim",
    "Yasmine",
]
LAST_NAMES = [
    "Martin",
    "Bernard",
    "Dubois",
    "Thomas",
    "Robert",
    "Richard",
    "Petit",
    "Durand",
    "Leroy",
    "Moreau",
    "Simon",
    "Laurent",
    "Lefèvre",
    "Michel",
    "Garcia",
    "David",
    "Bertrand",
    "Roux",
    "Vincent",
    "Fournier",
]
DURATIONS = [
    Decimal("3.5"),
    Decimal("7"),
    Decimal("7"),
    Decimal("14"),
    Decimal("14"),
    Decimal("21"),
    Decimal("28"),
    Decimal("35"),
]
BANDS = ["<11", "11-49", "50-249", "250-299", "300+"]


def chunks(rows: Iterable, size: int = CHUNK) -> Iterator[list]:
    chunk = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def next_id(model) -> int:
    return int(db.session.scalar(select(func.coalesce(func.max(model.id), 0))) or 0) + 1


class Writer:
    """Bulk insert of dict rows: COPY on PostgreSQL, the driver's executemany on SQLite.

    Both skip SQLAlchemy's per-row parameter processing (the bind processors are applied here, once per
    column), and the load runs without the per-row foreign-key checks (the rows are consistent by
    construction): ``session_replication_role = replica`` for the transaction on PostgreSQL, no
    synchronous writes and a large page cache on SQLite. The triggers that keep the SQLite text index stay.
    """

    def __init__(self) -> None:
        bind = db.session.get_bind()
        self.dialect = bind.dialect
        self.postgres = self.dialect.name == "postgresql"
        if self.postgres:
            db.session.execute(text("SET LOCAL session_replication_role = replica"))
        else:
            raw = db.session.connection().connection.driver_connection
            for pragma in ("synchronous = OFF", "cache_size = -1000000", "temp_store = MEMORY"):
                raw.execute(f"PRAGMA {pragma}")

    def insert(self, table: Table, rows: Iterable[dict]) -> int:
        total = 0
        raw = db.session.connection().connection.driver_connection
        for chunk in chunks(rows):
            total += len(chunk)
            columns = list(chunk[0].keys())
            names = ", ".join(f'"{c}"' for c in columns)
            if self.postgres:
                with raw.cursor() as cursor, cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
                    for row in chunk:
                        copy.write_row([row[c] for c in columns])
            else:
                processors = [table.c[c].type._cached_bind_processor(self.dialect) for c in columns]
                marks = ", ".join("?" for _ in columns)
                raw.executemany(
                    f'INSERT INTO "{table.name}" ({names}) VALUES ({marks})',
                    [
                        tuple(
                            value if process is None or value is None else process(value)
                            for process, value in zip(processors, map(row.__getitem__, columns), strict=True)
                        )
                        for row in chunk
                    ],
                )
        return total

    def fix_sequences(self, tables: list[str]) -> None:
        if not self.postgres:
            return
        for name in tables:
            db.session.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                    f'(SELECT COALESCE(MAX(id), 1) FROM "{name}"))'
                )
            )
