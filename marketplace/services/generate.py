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

Split by sub-domain: this module holds the entry point (:func:`generate`, :func:`analyze`) and the parties and
the catalogue (OPCOs, training organisations, companies, employees, actions, referencings);
``generate_sessions`` writes the sessions, slots and enrolments; ``generate_common`` holds the vocabulary and
the bulk writer both use.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import select, text
from stdnum import luhn

from marketplace.extensions import db
from marketplace.formatting import paris_today
from marketplace.models import (
    ActionBranch,
    ActionRegion,
    CollectiveAction,
    Company,
    Employee,
    FundingShare,
    Opco,
    OpcoReference,
    Organisation,
    Referencing,
    Theme,
    TrainingProvider,
    utcnow,
)
from marketplace.models.catalogue import new_lists_version
from marketplace.services import organisations
from marketplace.services.generate_common import (
    BANDS,
    CITIES,
    DURATIONS,
    FIRST_NAMES,
    LAST_NAMES,
    LEVELS,
    METRO_REGIONS,
    PROVIDER_WORDS,
    SUBJECTS,
    Writer,
    next_id,
)
from marketplace.services.generate_sessions import write_sessions
from marketplace.services.reference_data import load_reference_data
from marketplace.services.search import fold, forget_providers


@dataclass
class Report:
    counts: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


def _siret(n: int) -> str:
    prefix = f"{40_000_000 + n:08d}"
    siren = prefix + luhn.calc_check_digit(prefix)
    body = siren + "0001"
    return body + luhn.calc_check_digit(body)


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
    writer = Writer()
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
    org_id = next_id(Organisation)
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
    employee_id = next_id(Employee)
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
    action_id = next_id(CollectiveAction)
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
    referencing_id = next_id(Referencing)
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
    written = write_sessions(
        writer,
        rng,
        sessions,
        enrolments,
        today=today,
        now=now,
        created=created,
        actions=actions,
        by_action=by_action,
        pool=pool,
        company_band=company_band,
        share_of=share_of,
        provider_vat=provider_vat,
        progress=progress,
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
