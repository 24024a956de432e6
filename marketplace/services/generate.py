"""A large synthetic marketplace for performance work (`flask generate`, bench/bench_catalogue.py).

Everything is written with bulk inserts (COPY on PostgreSQL, executemany on SQLite), in chunks, with ids
assigned here so that children can point at their parents without reading them back. The data is
consistent with the rules the services hold:

- every session belongs to a published (or archived) action of its OPCO, through a referencing of its
  training organisation, at the referencing's price;
- a company enrols only on its own OPCO's sessions, an employee at most once live per session;
- ``seats_held`` is exactly the number of confirmed and awaiting-approval enrolments, never above capacity;
  full sessions have a waiting list, a few have a live waiting-list offer.

Not for production data: no audit trail, no emails. Reference data and missing OPCOs are created through the
usual services first.
"""

from __future__ import annotations

import functools
import math
import random
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as clock
from decimal import Decimal

from sqlalchemy import Table, func, select, text
from stdnum import luhn

from marketplace.extensions import db
from marketplace.formatting import paris_today
from marketplace.models import (
    ActionBranch,
    ActionRegion,
    CollectiveAction,
    Company,
    Employee,
    Enrolment,
    FundingShare,
    Opco,
    OpcoReference,
    Organisation,
    Referencing,
    SessionSlot,
    Theme,
    TrainingProvider,
    TrainingSession,
    utcnow,
)
from marketplace.models.catalogue import new_lists_version
from marketplace.services import funding, organisations
from marketplace.services.reference_data import load_reference_data
from marketplace.services.search import fold, forget_providers

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


@dataclass
class Report:
    counts: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


def _siret(n: int) -> str:
    prefix = f"{40_000_000 + n:08d}"
    siren = prefix + luhn.calc_check_digit(prefix)
    body = siren + "0001"
    return body + luhn.calc_check_digit(body)


def _chunks(rows: Iterable, size: int = CHUNK) -> Iterator[list]:
    chunk = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _next_id(model) -> int:
    return int(db.session.scalar(select(func.coalesce(func.max(model.id), 0))) or 0) + 1


class _Writer:
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
        for chunk in _chunks(rows):
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


def generate(
    sessions: int = 100_000,
    enrolments: int = 1_000_000,
    *,
    seed: int = 1,
    today: date | None = None,
    progress: Callable[[str], None] = print,
) -> Report:
    """Write a marketplace of ``sessions`` sessions and about ``enrolments`` enrolments (the caller commits).

    Sizes follow from the number of sessions and enrolments: one action per 50 sessions, one training
    organisation per 250 sessions, one company per 50 enrolments, ten employees per company.
    """
    rng = random.Random(seed)
    today = today or paris_today()
    now = utcnow()
    report = Report()
    writer = _Writer()
    started = time.perf_counter()

    def step(name: str, count: int, since: float) -> None:
        elapsed = time.perf_counter() - since
        report.counts[name] = count
        report.seconds[name] = elapsed
        rate = f", {count / elapsed:,.0f}/s" if elapsed > 0 else ""
        progress(f"  {name:<18} {count:>10,} lignes en {elapsed:6.1f} s{rate}".replace(",", " "))

    # --- OPCOs (through the service) ---------------------------------------------------------------------
    t0 = time.perf_counter()
    load_reference_data()
    existing = set(db.session.scalars(select(Opco.code)))
    for code in db.session.scalars(select(OpcoReference.code).order_by(OpcoReference.code)):
        if code not in existing:
            organisations.create_opco(code, actor=None)
    db.session.flush()
    opcos = db.session.scalars(select(Opco).order_by(Opco.id)).all()
    opco_idcc = {o.id: o.idcc_codes for o in opcos}
    opcos = [o for o in opcos if opco_idcc[o.id]]
    themes = list(db.session.scalars(select(Theme.code).order_by(Theme.code)))
    step("OPCO", len(opcos), t0)

    n_actions = max(len(opcos) * 2, sessions // 50)
    n_providers = max(5, sessions // 250)
    n_companies = max(len(opcos) * 2, enrolments // 50)
    employees_per_company = 10
    org_id = _next_id(Organisation)
    created = now

    # --- Training organisations ----------------------------------------------------------------------------
    t0 = time.perf_counter()
    provider_ids = list(range(org_id, org_id + n_providers))
    org_id += n_providers
    provider_vat: dict[int, str] = {}
    orgs, details = [], []
    for i, pid in enumerate(provider_ids):
        region = rng.choice(METRO_REGIONS)
        city, postal = CITIES[region]
        name = f"{rng.choice(PROVIDER_WORDS[0])} {rng.choice(PROVIDER_WORDS[1])} {city} {i + 1}"
        vat = rng.choices(["exonere", "franchise", "assujetti"], [6, 1, 3])[0]
        provider_vat[pid] = vat
        orgs.append(
            dict(
                id=pid,
                kind="provider",
                name=name,
                search_name=fold(name),  # bulk inserts bypass the model, which keeps it otherwise
                slug=f"gen-of-{pid}",
                created_at=created,
            )
        )
        siret = _siret(pid)
        details.append(
            dict(
                id=pid,
                siret=siret,
                siren=siret[:9],
                nda=f"98{pid % 100:02d}{pid % 100_000:05d}{pid % 100:02d}",
                vat_regime=vat,
                region_code=region,
                address=f"{i + 1} rue de la Formation",
                postal_code=postal,
                city=city,
                qualiopi_certifier="AFNOR Certification",
                qualiopi_number=f"GEN-{pid:07d}",
                qualiopi_categories="actions_formation",
                qualiopi_issued_on=today - timedelta(days=365),
                qualiopi_expires_on=today + timedelta(days=730),
            )
        )
    writer.insert(Organisation.__table__, orgs)
    writer.insert(TrainingProvider.__table__, details)
    step("organismes", n_providers, t0)

    # --- Companies and employees ---------------------------------------------------------------------------
    t0 = time.perf_counter()
    company_ids = list(range(org_id, org_id + n_companies))
    org_id += n_companies
    company_opco: dict[int, int] = {}
    company_band: dict[int, str] = {}
    headcounts = [(3, 0.4), (25, 0.3), (120, 0.2), (270, 0.03), (800, 0.07)]
    orgs, details = [], []
    for i, cid in enumerate(company_ids):
        opco = opcos[i % len(opcos)]
        region = rng.choice(METRO_REGIONS)
        city, postal = CITIES[region]
        base = rng.choices([h for h, _ in headcounts], [w for _, w in headcounts])[0]
        headcount = max(1, int(base * rng.uniform(0.5, 1.4)))
        band = _band(headcount)
        company_opco[cid] = opco.id
        company_band[cid] = band
        orgs.append(
            dict(
                id=cid,
                kind="company",
                name=f"Entreprise {LAST_NAMES[i % 20]} {i + 1}",
                search_name=fold(f"Entreprise {LAST_NAMES[i % 20]} {i + 1}"),
                slug=f"gen-entreprise-{cid}",
                created_at=created,
            )
        )
        siret = _siret(cid)
        details.append(
            dict(
                id=cid,
                siret=siret,
                siren=siret[:9],
                ape_code="6202A",
                idcc=rng.choice(opco_idcc[opco.id]),
                headcount=headcount,
                headcount_year=today.year - 1,  # COPY on PostgreSQL skips the model's defaults
                region_code=region,
                address=f"{i + 1} avenue des Entreprises",
                postal_code=postal,
                city=city,
                opco_id=opco.id,
            )
        )
    writer.insert(Organisation.__table__, orgs)
    writer.insert(Company.__table__, details)
    del orgs, details
    step("entreprises", n_companies, t0)

    t0 = time.perf_counter()
    employee_id = _next_id(Employee)
    pool: dict[int, list[tuple[int, int]]] = {o.id: [] for o in opcos}  # opco -> (employee, company)

    def employee_rows() -> Iterator[dict]:
        nonlocal employee_id
        for cid in company_ids:
            for _ in range(employees_per_company):
                first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
                pool[company_opco[cid]].append((employee_id, cid))
                yield dict(
                    id=employee_id,
                    company_id=cid,
                    last_name=last,
                    first_name=first,
                    email=f"{fold(first)}.{fold(last)}.{employee_id}@exemple.test",
                    job_title="Technicien",
                    contract_type="cdi",
                    category=rng.choice(["ouvrier", "employe", "technicien", "cadre"]),
                    erased_at=None,
                    created_at=created,
                )
                employee_id += 1

    step("salariés", writer.insert(Employee.__table__, employee_rows()), t0)

    # --- Actions, eligibility, funding, referencings -----------------------------------------------------------
    t0 = time.perf_counter()
    action_id = _next_id(CollectiveAction)
    actions: list[dict] = []
    branches, regions, shares = [], [], []
    theme_labels = dict(db.session.execute(select(Theme.code, Theme.label)).all())
    for i in range(n_actions):
        opco = opcos[i % len(opcos)]
        subject = rng.choice(SUBJECTS)
        title = f"{subject} — {rng.choice(LEVELS)}"
        reference = f"AC-{opco.code.upper()}-{today.year}-{i + 1:05d}"
        objectives = (
            f"Acquérir les compétences clés en {subject.lower()} ; mettre en pratique sur des cas concrets "
            "issus de l'entreprise ; évaluer ses acquis."
        )
        theme = rng.choice(themes)
        status = rng.choices(["published", "draft", "archived"], [90, 5, 5])[0]
        modality = rng.choices(["presentiel", "distanciel", "mixte"], [6, 3, 1])[0]
        lowered = " ".join([reference, title, objectives, theme_labels[theme]]).lower()
        plain = fold(lowered)
        action = dict(
            id=action_id,
            opco_id=opco.id,
            reference=reference,
            title=title,
            objectives=objectives,
            programme="Jour 1 : les bases.\nJour 2 : mises en situation.",
            prerequisites="Aucun.",
            target_public="Salariés des entreprises adhérentes.",
            theme_code=theme,
            modality=modality,
            duration_hours=rng.choice(DURATIONS),
            campaign_year=today.year,
            is_national=rng.random() > 0.15,
            price_cents=rng.randrange(30_000, 250_000, 500),
            cap_per_company_per_session=rng.choice([None, None, 2, 3, 5]),
            cap_per_company_per_year=rng.choice([None, None, None, 10, 20]),
            cancellation_days=rng.choice([5, 10, 15]),
            requires_approval=rng.random() < 0.2,
            status=status,
            search_text=lowered if plain == lowered else f"{lowered} {plain}",
            published_at=today - timedelta(days=rng.randrange(1, 300)) if status != "draft" else None,
            created_at=created,
            lists_version=new_lists_version(),  # never one a process may keep for another database
        )
        actions.append(action)
        idccs = opco_idcc[opco.id]
        chosen = idccs if rng.random() < 0.9 or len(idccs) == 1 else rng.sample(idccs, len(idccs) - 1)
        branches += [dict(action_id=action_id, idcc=code) for code in chosen]
        if not action["is_national"]:
            regions += [dict(action_id=action_id, region_code=code) for code in rng.sample(METRO_REGIONS, 3)]
        large = rng.choice([None, 50, 30])
        for band, percent in zip(BANDS, [100, 100, rng.choice([50, 70, 80]), 50, large], strict=True):
            if percent is not None:
                shares.append(dict(action_id=action_id, size_band=band, percent=percent))
        action_id += 1
    writer.insert(CollectiveAction.__table__, actions)
    writer.insert(ActionBranch.__table__, branches)
    writer.insert(ActionRegion.__table__, regions)
    writer.insert(FundingShare.__table__, shares)
    share_of = {(s["action_id"], s["size_band"]): s["percent"] for s in shares}
    step("actions", n_actions, t0)

    t0 = time.perf_counter()
    referencing_id = _next_id(Referencing)
    referencings: list[dict] = []
    by_action: dict[int, list[dict]] = {}
    for action in actions:
        for pid in rng.sample(provider_ids, min(len(provider_ids), rng.randint(1, 4))):
            row = dict(
                id=referencing_id,
                opco_id=action["opco_id"],
                action_id=action["id"],
                provider_id=pid,
                valid_from=today - timedelta(days=180),
                valid_until=today + timedelta(days=540),
                price_cents=action["price_cents"] - rng.choice([0, 0, 1_000, 5_000]),
                status="active",
                status_reason=None,
                created_at=created,
            )
            referencings.append(row)
            by_action.setdefault(action["id"], []).append(row)
            referencing_id += 1
    writer.insert(Referencing.__table__, referencings)
    step("référencements", len(referencings), t0)

    # --- Sessions, slots, enrolments (streamed, chunk by chunk) ---------------------------------------------
    t0 = time.perf_counter()
    listable = [a for a in actions if a["status"] == "published"]
    archived = [a for a in actions if a["status"] == "archived"] or listable
    plans = [_plan_session(rng, today) for _ in range(sessions)]
    # Scale the free seats taken so that the total number of enrolments is close to the target.
    planned = sum(p.total for p in plans)
    _rescale(rng, plans, planned, enrolments)
    session_id = _next_id(TrainingSession)
    slot_id = _next_id(SessionSlot)
    enrolment_id = _next_id(Enrolment)
    written = {"sessions": 0, "créneaux": 0, "inscriptions": 0}
    for batch in _chunks(plans, 5_000):
        session_rows, slot_rows, enrolment_rows = [], [], []
        for plan in batch:
            action = rng.choice(archived if rng.random() < 0.03 else listable)
            referencing = rng.choice(by_action[action["id"]])
            region = rng.choice(METRO_REGIONS)
            remote = action["modality"] == "distanciel"
            city, postal = CITIES[region]
            days = _working_days(plan.start, max(1, math.ceil(float(action["duration_hours"]) / 7)))
            holders = plan.holders
            session_rows.append(
                dict(
                    id=session_id,
                    action_id=action["id"],
                    provider_id=referencing["provider_id"],
                    opco_id=action["opco_id"],
                    referencing_id=referencing["id"],
                    action_title=action["title"],
                    action_duration_hours=action["duration_hours"],
                    status=plan.status,
                    start_date=days[0],
                    end_date=days[-1],
                    registration_deadline=days[0] - timedelta(days=7),
                    capacity_min=min(plan.capacity, rng.randint(3, 6)),
                    capacity_max=plan.capacity,
                    seats_held=holders,
                    is_remote=remote,
                    address="" if remote else f"{session_id % 200 + 1} rue du Stage",
                    postal_code="" if remote else postal,
                    city="" if remote else city,
                    region_code=None if remote else region,
                    trainer_names="Formateur référent",
                    contact_name="Service inscriptions",
                    contact_email=f"inscriptions{referencing['provider_id']}@exemple.test",
                    contact_phone="01 23 45 67 89",
                    price_cents=referencing["price_cents"],
                    notes="",
                    status_reason=None,
                    postponed_at=None,
                    created_at=created,
                )
            )
            for day in days:
                for half, start, end in (("am", clock(9), clock(12, 30)), ("pm", clock(13, 30), clock(17))):
                    slot_rows.append(
                        dict(
                            id=slot_id,
                            session_id=session_id,
                            day=day,
                            half_day=half,
                            start_time=start,
                            end_time=end,
                        )
                    )
                    slot_id += 1
            people = rng.sample(pool[action["opco_id"]], min(plan.total, len(pool[action["opco_id"]])))
            statuses = plan.statuses(rng, action["requires_approval"])
            for (employee, company), status in zip(people, statuses, strict=False):
                band = company_band[company]
                percent = share_of.get((action["id"], band))
                price = referencing["price_cents"]
                # Generated places are all in mainland France; the OPCOs fund on the HT price (the default).
                figures = _funding(price, percent, provider_vat[referencing["provider_id"]])
                at = datetime.combine(plan.start - timedelta(days=rng.randint(8, 60)), clock(10))
                enrolment_rows.append(
                    dict(
                        id=enrolment_id,
                        session_id=session_id,
                        company_id=company,
                        employee_id=employee,
                        opco_id=action["opco_id"],
                        provider_id=referencing["provider_id"],
                        status=status,
                        price_cents=price,
                        funded_cents=figures.funded_cents,
                        remainder_cents=figures.remainder_cents,
                        vat_rate=figures.vat_rate,
                        vat_cents=figures.vat_cents,
                        price_ttc_cents=figures.price_ttc_cents,
                        funding_basis=figures.basis,
                        opco_amount_cents=figures.opco_amount_cents,
                        remainder_ttc_cents=figures.remainder_ttc_cents,
                        size_band=band,
                        cancellation_days=action["cancellation_days"],
                        cap_per_session=action["cap_per_company_per_session"],
                        cap_per_year=action["cap_per_company_per_year"],
                        requested_by_id=None,
                        waitlisted_at=at if status in ("waitlisted", "offered") else None,
                        offer_expires_at=now + timedelta(hours=30) if status == "offered" else None,
                        decided_at=None,
                        cancelled_at=at + timedelta(days=2) if status == "cancelled" else None,
                        is_late_cancellation=False,
                        status_reason=None,
                        created_at=at,
                        updated_at=at,
                    )
                )
                enrolment_id += 1
            session_id += 1
        written["sessions"] += writer.insert(TrainingSession.__table__, session_rows)
        written["créneaux"] += writer.insert(SessionSlot.__table__, slot_rows)
        written["inscriptions"] += writer.insert(Enrolment.__table__, enrolment_rows)
        if written["sessions"] % 20_000 == 0 or written["sessions"] == sessions:
            progress(
                f"    … {written['sessions']:,} sessions, {written['inscriptions']:,} inscriptions".replace(
                    ",", " "
                )
            )
    for name, count in written.items():
        report.counts[name] = count
    step("sessions+inscr.", written["inscriptions"] + written["sessions"] + written["créneaux"], t0)

    t0 = time.perf_counter()
    writer.fix_sequences(
        [
            "organisations",
            "employees",
            "collective_actions",
            "action_branches",
            "action_regions",
            "funding_shares",
            "referencings",
            "training_sessions",
            "session_slots",
            "enrolments",
        ]
    )
    db.session.flush()
    forget_providers()  # the catalogue's kept lists of organisations per OPCO (bulk rows bypass the ORM)
    step("séquences", 0, t0)
    report.seconds["total"] = time.perf_counter() - started
    return report


def analyze() -> None:
    """Refresh the planner statistics after a bulk load (run after the loading transaction is committed).

    PostgreSQL also gets a VACUUM, which sets the visibility map so that index-only scans are possible at
    once (autovacuum would do it later on its own).
    """
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    else:
        db.session.execute(text("ANALYZE"))
        db.session.commit()


@functools.lru_cache(maxsize=65_536)
def _funding(price_cents: int, percent: int | None, vat_regime: str) -> funding.Funding:
    """Funding figures, computed once per price, share and VAT regime (millions of enrolments, few cases)."""
    return funding.compute(price_cents, percent, funding.vat_rate_for(vat_regime, None))


def _band(headcount: int) -> str:
    if headcount <= 10:
        return "<11"
    if headcount <= 49:
        return "11-49"
    if headcount <= 249:
        return "50-249"
    if headcount <= 299:
        return "250-299"
    return "300+"


def _working_days(start: date, count: int) -> list[date]:
    days, day = [], start
    while len(days) < count:
        if day.weekday() < 5:
            days.append(day)
        day += timedelta(days=1)
    return days


@dataclass
class _Plan:
    """How one session is filled: its status and how many seat holders, waiting people, history rows."""

    status: str
    start: date
    capacity: int
    holders: int
    waiting: int = 0
    offered: int = 0
    history: int = 0

    @property
    def total(self) -> int:
        return self.holders + self.waiting + self.offered + self.history

    @property
    def full(self) -> bool:
        return self.holders + self.offered >= self.capacity

    def statuses(self, rng: random.Random, requires_approval: bool) -> list[str]:
        if self.status == "cancelled":
            return ["session_cancelled"] * self.total
        held = [
            "pending_approval" if requires_approval and rng.random() < 0.3 else "confirmed"
            for _ in range(self.holders)
        ]
        return (
            held
            + ["offered"] * self.offered
            + ["waitlisted"] * self.waiting
            + [
                rng.choice(["cancelled", "cancelled", "refused", "offer_expired"])
                for _ in range(self.history)
            ]
        )


def _plan_session(rng: random.Random, today: date) -> _Plan:
    capacity = rng.randint(8, 20)
    if rng.random() < 0.10:  # past sessions, done
        start = today - timedelta(days=rng.randint(10, 200))
        return _Plan("completed", start, capacity, rng.randint(capacity // 2, capacity))
    start = today + timedelta(days=rng.randint(0, 365))
    status = rng.choices(
        ["open", "registrations_closed", "confirmed", "draft", "cancelled"], [80, 5, 8, 4, 3]
    )[0]
    if status == "draft":
        return _Plan(status, start, capacity, 0)
    if status == "cancelled":
        return _Plan(status, start, capacity, 0, history=rng.randint(0, capacity))
    roll = rng.random()
    if roll < 0.12:  # full, with a waiting list
        return _Plan(status, start, capacity, capacity, waiting=rng.randint(1, 5), history=rng.randint(0, 2))
    if roll < 0.13 and start > today:  # the last seat offered to the first person waiting (no offer once
        # the session's first day has come: services.waitlist.offer_free_seats stops offering then)
        return _Plan(status, start, capacity, capacity - 1, waiting=rng.randint(1, 3), offered=1)
    return _Plan(status, start, capacity, rng.randint(0, capacity - 1), history=rng.randint(0, 1))


def _rescale(rng: random.Random, plans: list[_Plan], planned: int, target: int) -> None:
    """Move the total number of enrolments towards ``target`` by changing free-seat sessions only."""
    adjustable = [
        p for p in plans if p.status in ("open", "registrations_closed", "confirmed") and not p.full
    ]
    if not adjustable:
        return
    delta = target - planned
    guard = 0
    while delta != 0 and guard < 50:
        guard += 1
        for plan in rng.sample(adjustable, len(adjustable)):
            if delta > 0 and plan.holders < plan.capacity - 1:
                plan.holders += 1
                delta -= 1
            elif delta > 0:
                plan.history += 1
                delta -= 1
            elif delta < 0 and plan.history > 0:
                plan.history -= 1
                delta += 1
            elif delta < 0 and plan.holders > 0:
                plan.holders -= 1
                delta += 1
            if delta == 0:
                break
