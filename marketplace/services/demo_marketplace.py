"""Demo marketplace (part of `flask seed-demo`): catalogues, referencings, sessions, employees, enrolments.

Built through the same services as the pages, at the dates they would have happened (past sessions are
created, filled, confirmed, started and completed "back then" by passing ``today``/``now``), so every
demo login shows a living marketplace: sessions past and future, some full with a waiting list, and
enrolments in every state.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sqlalchemy import select

from marketplace.extensions import db
from marketplace.models import Company, Enrolment, EnrolmentStatus, Opco, TrainingProvider, User
from marketplace.services import (
    catalogue,
    employees,
    enrolment_states,
    enrolments,
    referencings,
    sessions,
    waitlist,
)
from marketplace.services.action_input import ActionInput
from marketplace.services.employees import EmployeeInput
from marketplace.services.funding import FundingBasis
from marketplace.services.session_input import SessionInput, SlotInput

ALL_BANDS_FULL = {"<11": 100, "11-49": 100, "50-249": 70, "250-299": 50, "300+": 30}
SMALL_FIRST = {"<11": 100, "11-49": 100, "50-249": 50}

# (OPCO code, reference, title, theme, modality, hours, price €, shares, extra options)
ACTIONS = [
    (
        "akto",
        "AKTO-AC-2026-01",
        "Sauveteur secouriste du travail (SST)",
        "34",
        "presentiel",
        14,
        "420",
        ALL_BANDS_FULL,
        dict(
            objectives="Intervenir face à une situation d'accident du travail et mettre en application ses compétences "
            "en matière de prévention.",
            cap_per_company_per_session=3,
        ),
    ),
    (
        "akto",
        "AKTO-AC-2026-02",
        "Manager une équipe de proximité",
        "31",
        "mixte",
        21,
        "1 150",
        SMALL_FIRST,
        dict(
            objectives="Animer une équipe au quotidien, conduire un entretien professionnel, gérer les situations "
            "délicates.",
            requires_approval=True,
        ),
    ),
    (
        "akto",
        "AKTO-AC-2026-03",
        "Hygiène alimentaire en restauration commerciale (HACCP)",
        "22",
        "presentiel",
        14,
        "380",
        ALL_BANDS_FULL,
        dict(
            objectives="Appliquer les règles d'hygiène et le plan de maîtrise sanitaire en restauration.",
            is_national=False,
            region_codes=["93", "11", "84"],
        ),
    ),
    (
        "akto",
        "AKTO-AC-2026-04",
        "Bureautique : Excel perfectionnement",
        "32",
        "distanciel",
        7,
        "290",
        ALL_BANDS_FULL,
        dict(objectives="Tableaux croisés dynamiques, fonctions de recherche, graphiques."),
    ),
    (
        "atlas",
        "ATLAS-AC-2026-01",
        "Cybersécurité : les bons réflexes",
        "32",
        "distanciel",
        7,
        "350",
        ALL_BANDS_FULL,
        dict(objectives="Reconnaître l'hameçonnage, protéger ses accès, réagir à un incident."),
    ),
    (
        "atlas",
        "ATLAS-AC-2026-02",
        "RSE et transition écologique en entreprise",
        "34",
        "presentiel",
        14,
        "780",
        SMALL_FIRST,
        dict(objectives="Construire une démarche RSE adaptée à une PME."),
    ),
    (
        "opcoep",
        "EP-AC-2026-01",
        "Relation client et accueil téléphonique",
        "31",
        "presentiel",
        7,
        "260",
        ALL_BANDS_FULL,
        dict(objectives="Accueillir, écouter, traiter une réclamation avec courtoisie."),
    ),
    (
        "opcoep",
        "EP-AC-2026-02",
        "Anglais professionnel – niveau intermédiaire",
        "13",
        "mixte",
        30,
        "1 200",
        SMALL_FIRST,
        dict(objectives="Échanger à l'oral et à l'écrit dans des situations professionnelles courantes."),
    ),
]

# OPCO code -> provider indexes referenced on every action of that OPCO.
REFERENCED = {"akto": [0, 1], "atlas": [0, 2], "opcoep": [1, 3]}

EMPLOYEES = [
    ("Bernard", "Sophie", "Agent de propreté"),
    ("Thomas", "Lucas", "Chef d'équipe"),
    ("Petit", "Emma", "Assistante RH"),
    ("Robert", "Hugo", "Agent de propreté"),
    ("Richard", "Chloé", "Responsable d'exploitation"),
    ("Durand", "Louis", "Technicien"),
    ("Dubois", "Inès", "Comptable"),
    ("Moreau", "Nathan", "Commercial"),
]


def _slots(first_day: date, hours) -> list[SlotInput]:
    """Working-day half-days of 3 h 30 adding up to the action's duration (the last one shorter when 3 h 30
    does not divide it), as services.session_input.check_length requires."""
    slots = []
    left = int(hours * 60)  # minutes still to place
    day = first_day
    while left > 0:
        if day.weekday() < 5:
            for half_day, start in (("am", time(9)), ("pm", time(13, 30))):
                length = min(left, 210)
                if length <= 0:
                    break
                end = (datetime.combine(day, start) + timedelta(minutes=length)).time()
                slots.append(SlotInput(day, half_day, start, end))
                left -= length
        day += timedelta(days=1)
    return slots


def _next_monday(day: date, weeks: int) -> date:
    return day + timedelta(days=(7 - day.weekday()) % 7 + 7 * weeks)


def _at(day: date, hour: int = 10) -> datetime:
    return datetime.combine(day, time(hour))


def _offered(session):
    return db.session.scalar(
        select(Enrolment).where(
            Enrolment.session_id == session.id, Enrolment.status == EnrolmentStatus.OFFERED
        )
    )


def seed_marketplace(
    today: date,
    opcos: dict[str, Opco],
    opco_admins: dict[str, User],
    providers: list[TrainingProvider],
    provider_admins: list[User],
    companies: list[Company],
    company_admins: list[User],
) -> dict[str, int]:
    """Catalogue, sessions and enrolments for the demo organisations (the caller commits)."""
    long_ago = today - timedelta(days=120)
    # OPCO EP funds its share of the TTC price (its organisations are VAT-liable); AKTO and ATLAS keep the
    # default, the HT price: the demo shows both rules, with exempt (261-4-4° a), franchise and VAT-liable
    # organisations.
    opcos["opcoep"].funding_basis = FundingBasis.TTC
    actions = []
    for code, reference, title, theme, modality, hours, price, shares, extra in ACTIONS:
        data = ActionInput(
            title=title,
            reference=reference,
            theme_code=theme,
            modality=modality,
            duration_hours=hours,
            campaign_year=today.year,
            price=price,
            funding_shares=dict(shares),
            programme="Apports théoriques, mises en situation, évaluation des acquis en fin de session.",
            prerequisites="Aucun.",
            target_public="Salariés des entreprises adhérentes des branches couvertes.",
            **extra,
        )
        action = catalogue.create_action(opcos[code], data, opco_admins[code], today=today)
        catalogue.transition(action, "publish", opco_admins[code])
        actions.append((code, action))

    referenced = []
    for code, action in actions:
        for index in REFERENCED[code]:
            price_cents = action.price_cents - (
                2_000 if index else 0
            )  # a negotiated price at or below the ceiling
            ref = referencings.reference_provider(
                action,
                providers[index],
                long_ago,
                date(today.year + 1, 12, 31),
                price_cents,
                opco_admins[code],
                today=long_ago,
            )
            referenced.append((code, action, index, ref))

    staff = {}
    for company, admin in zip(companies, company_admins, strict=True):
        staff[company.id] = [
            employees.create_employee(
                company,
                EmployeeInput(last, first, f"{first.lower()}.{last.lower()}@{company.slug}.demo.test", job),
                admin,
            )
            for last, first, job in EMPLOYEES
        ]

    created = {"actions": len(actions), "referencings": len(referenced), "sessions": 0, "enrolments": 0}

    def open_session(ref, index, first_day, *, capacity=8, minimum=3, created_on=today, remote=False):
        provider = providers[index]
        data = SessionInput(
            referencing_id=ref.id,
            slots=_slots(first_day, ref.action.duration_hours),
            registration_deadline=first_day - timedelta(days=3),
            capacity_min=minimum,
            capacity_max=capacity,
            is_remote=remote,
            address="" if remote else provider.address,
            postal_code="" if remote else provider.postal_code,
            city="" if remote else provider.city,
            region_code=None if remote else provider.region_code,
            trainer_names="Claire Formatrice, Paul Intervenant",
            contact_name=provider_admins[index].full_name,
            contact_email=provider_admins[index].email,
            contact_phone="01 23 45 67 89",
        )
        session = sessions.create_session(provider, data, provider_admins[index], created_on)
        sessions.transition(session, "publish", provider_admins[index], now=_at(created_on))
        created["sessions"] += 1
        return session

    def enrol(company_index, session, people, when=None):
        company = companies[company_index]
        outcomes = enrolments.enrol(
            company, session.id, [p.id for p in people], company_admins[company_index], now=when
        )
        created["enrolments"] += sum(1 for o in outcomes if o.enrolment)
        return [o.enrolment for o in outcomes]

    remote_modalities = {"distanciel"}
    future_sessions = {}
    for code, action, index, ref in referenced:
        remote = action.modality in remote_modalities
        for weeks in (3, 9):
            first_day = _next_monday(today, weeks + index)
            session = open_session(ref, index, first_day, remote=remote)
            future_sessions.setdefault((code, action.reference), []).append(session)

    net_clair, brasserie, distrilyon = (
        0,
        1,
        2,
    )  # the AKTO companies of the demo (entreprise@, entreprise2@, …)
    sst = future_sessions[("akto", "AKTO-AC-2026-01")]
    manager = future_sessions[("akto", "AKTO-AC-2026-02")]
    haccp = future_sessions[("akto", "AKTO-AC-2026-03")]

    # A small SST session: full, with a waiting list, then a cancellation frees a seat that is offered.
    small = open_session(referenced[0][3], 0, _next_monday(today, 2), capacity=3, minimum=2)
    first_three = enrol(net_clair, small, staff[companies[net_clair].id][:2])
    enrol(brasserie, small, staff[companies[brasserie].id][:1])
    enrol(distrilyon, small, staff[companies[distrilyon].id][:2])  # both go to the waiting list
    enrol(net_clair, small, staff[companies[net_clair].id][2:3])  # third on the waiting list
    enrolments.cancel(first_three[0], company_admins[net_clair])  # the first waiting person gets an offer
    offered = _offered(small)
    waitlist.decline_offer(offered, company_admins[distrilyon])  # declined: offered to the next one
    late = _offered(small)
    enrolment_states.transition(late, "expire_offer", None)  # not answered in time: the next one gets it
    waitlist.offer_free_seats(small, None)
    enrol(brasserie, small, staff[companies[brasserie].id][4:5])  # and someone still waits

    # Ordinary confirmed enrolments on upcoming sessions.
    enrol(net_clair, sst[0], staff[companies[net_clair].id][3:5])
    enrol(brasserie, haccp[0], staff[companies[brasserie].id][1:4])
    enrol(distrilyon, sst[2], staff[companies[distrilyon].id][2:4])  # a VAT-liable organisation, funded HT
    # An action that needs AKTO's approval: one waits, one is approved, one is refused.
    pending = enrol(net_clair, manager[0], staff[companies[net_clair].id][5:8])
    enrolments.approve(pending[1], opco_admins["akto"], opcos["akto"].id)
    enrolments.refuse(
        pending[2],
        opco_admins["akto"],
        opcos["akto"].id,
        "Plafond annuel de la branche atteint pour cette action.",
    )
    # A session cancelled by its training organisation.
    cancelled = haccp[1]
    enrol(net_clair, cancelled, staff[companies[net_clair].id][6:8])
    sessions.transition(
        cancelled,
        "cancel",
        provider_admins[1] if cancelled.provider_id == providers[1].id else provider_admins[0],
        reason="Formateur indisponible : session reportée au trimestre prochain.",
    )
    # Other OPCOs' companies enrol too.
    for company_index, company in enumerate(companies[3:], start=3):
        key = {"atlas": ("atlas", "ATLAS-AC-2026-01"), "opcoep": ("opcoep", "EP-AC-2026-01")}.get(
            company.opco.code if company.opco else ""
        )
        if key:
            enrol(company_index, future_sessions[key][0], staff[company.id][:2])

    # A past session, lived through: created, filled, confirmed, started and completed at its dates.
    past_first_day = _next_monday(today - timedelta(days=70), 0)
    created_on = past_first_day - timedelta(days=30)
    past = open_session(referenced[0][3], 0, past_first_day, capacity=8, minimum=2, created_on=created_on)
    enrol(net_clair, past, staff[companies[net_clair].id][:3], when=_at(created_on + timedelta(days=2)))
    enrol(brasserie, past, staff[companies[brasserie].id][:2], when=_at(created_on + timedelta(days=3)))
    admin = provider_admins[0]
    sessions.transition(past, "confirm", admin, now=_at(past_first_day - timedelta(days=10)))
    sessions.transition(past, "start", admin, now=_at(past_first_day, 9))
    sessions.transition(past, "complete", admin, now=_at(past.end_date, 17))
    return created
