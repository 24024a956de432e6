""" "Can this company enrol on this session?" as an ordered chain of checks, each with a French reason.

The same chain explains, in the catalogue, why the "S'inscrire" button is disabled, and refuses the POST.
Company-level checks are here; employee-level checks (already enrolled, busy at the same time) live in
services.enrolments, where they run under the session lock.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import bindparam, func, inspect, select
from sqlalchemy.orm import joinedload, lazyload

from marketplace.extensions import db
from marketplace.formatting import date_fr, of_name, plural
from marketplace.models import (
    ActionStatus,
    CollectiveAction,
    Company,
    Enrolment,
    EnrolmentStatus,
    Referencing,
    ReferencingStatus,
    SessionStatus,
    TrainingSession,
)
from marketplace.services import action_lists
from marketplace.services.identifiers import qualiopi_is_valid, size_band, size_band_label

# Statuses that count against the per-company caps: places held (confirmed, or awaiting the OPCO's
# approval). A waiting-list place (waiting or offered) does not: two employees waiting must not stop a
# third from taking a free seat; accepting an offer checks the caps again (services.waitlist).
COUNTED_FOR_CAPS = EnrolmentStatus.SEAT_HOLDING


@dataclass
class CompanyCounts:
    """How many places the company (all establishments of its SIREN) uses, per session and per action.

    An action belongs to one campaign: its yearly cap counts all its sessions, whatever year they start.
    """

    per_session: dict[int, int]
    per_action: dict[int, int]
    # The sessions' referencings, loaded in one query so the chain reads their state without one per session.
    referencings: dict[int, Referencing] = field(default_factory=dict)


def company_counts(company: Company, sessions: Iterable[TrainingSession]) -> CompanyCounts:
    """One grouped query whatever the number of sessions (for list pages), and one for the referencings.

    Caps are per company, i.e. per SIREN: a company with several establishments (SIRET) does not get
    the caps once per establishment. The company's enrolments on the sessions' actions are counted per
    session of those actions: the sessions' own counts are among them, the actions' counts their sums.
    """
    sessions = list(sessions)
    session_ids = {s.id for s in sessions}
    action_ids = {s.action_id for s in sessions}
    per_session: dict[int, int] = {}
    per_action: dict[int, int] = {}
    if action_ids:
        rows = db.session.execute(_COUNTS, {"siren": company.siren, "action_ids": list(action_ids)}).all()
        for session_id, action_id, count in rows:
            per_action[action_id] = per_action.get(action_id, 0) + count
            if session_id in session_ids:
                per_session[session_id] = count
    # Those loaded with their session (``session_for_company``) are not read again.
    referencings = {
        s.referencing_id: s.referencing for s in sessions if "referencing" not in inspect(s).unloaded
    }
    referencing_ids = {s.referencing_id for s in sessions} - set(referencings)
    # Without the referencing's joined action and provider: the sessions already hold them, and reloading
    # them would run the action's loaders (branches, regions, shares) a second time.
    if referencing_ids:
        referencings.update(
            (r.id, r)
            for r in db.session.scalars(
                select(Referencing)
                .where(Referencing.id.in_(referencing_ids))
                .options(lazyload(Referencing.action), lazyload(Referencing.provider))
            )
        )
    return CompanyCounts(per_session, per_action, referencings)


# Built once (building and keying a statement costs more than running it on the enrolment's path).
_COUNTS = (
    select(Enrolment.session_id, TrainingSession.action_id, func.count(Enrolment.id))
    .join(TrainingSession, TrainingSession.id == Enrolment.session_id)
    .where(
        Enrolment.company_id.in_(select(Company.id).where(Company.siren == bindparam("siren"))),
        TrainingSession.action_id.in_(bindparam("action_ids", expanding=True)),
        Enrolment.status.in_(COUNTED_FOR_CAPS),
    )
    .group_by(Enrolment.session_id, TrainingSession.action_id)
)


def funding_blocker(session: TrainingSession, referencing: Referencing | None = None) -> str | None:
    """Why the OPCO cannot fund this session now, or None.

    The OPCO funds only an organisation it still references on the action (an OPCO's suspension or
    withdrawal stops new enrolments and confirmations), holding a Qualiopi certificate for « actions de
    formation » valid on every day of the session, up to its last day (C. trav. L6316-1): a certificate
    expiring before the end does not do, whatever the date of the request. Checked when enrolling, accepting a
    waiting-list offer, approving an enrolment and confirming the session.
    """
    referencing = referencing or session.referencing
    provider = session.provider
    if referencing.status != ReferencingStatus.ACTIVE:
        why = f" ({referencing.status_reason})" if referencing.status_reason else ""
        if referencing.status == ReferencingStatus.WITHDRAWN:
            return (
                f"L'OPCO a retiré le référencement {of_name(provider.name)} sur cette action{why} : "
                "aucune inscription ni confirmation n'est possible sur ses sessions."
            )
        return (
            f"Le référencement {of_name(provider.name)} sur cette action est suspendu par l'OPCO{why} : "
            "aucune inscription ni confirmation n'est possible tant qu'il n'est pas réactivé."
        )
    if "actions_formation" not in provider.qualiopi_category_list:
        return (
            f"Le certificat Qualiopi {of_name(provider.name)} ne couvre pas les actions de formation : l'OPCO ne peut "
            "pas financer cette session (article L6316-1 du Code du travail)."
        )
    if not qualiopi_is_valid(provider.qualiopi_expires_on, session.end_date, provider.qualiopi_category_list):
        return (
            f"Le certificat Qualiopi {of_name(provider.name)} expire le {date_fr(provider.qualiopi_expires_on)}, avant "
            f"le dernier jour de la session ({date_fr(session.end_date)}) : l'OPCO ne finance que les sessions "
            "couvertes par un certificat valide jusqu'à leur fin (article L6316-1 du Code du travail)."
        )
    return None


def _session_closed_reason(session: TrainingSession) -> str | None:
    action = session.action
    if action.status != ActionStatus.PUBLISHED:
        return "Cette action n'est plus au catalogue de l'OPCO."
    if session.status == SessionStatus.OPEN:
        return None
    return {
        SessionStatus.DRAFT: "Cette session n'est pas encore ouverte aux inscriptions.",
        SessionStatus.CLOSED: "Les inscriptions sont closes pour cette session.",
        SessionStatus.CONFIRMED: "La session est confirmée et les inscriptions sont closes.",
        SessionStatus.IN_PROGRESS: "La session a commencé.",
        SessionStatus.COMPLETED: "La session est terminée.",
        SessionStatus.POSTPONED: "La session est reportée : les inscriptions rouvriront avec les nouvelles dates.",
        SessionStatus.CANCELLED: "La session est annulée.",
    }[session.status]


def blockers(
    company: Company, session: TrainingSession, today: date, counts: CompanyCounts, *, extra: int = 0
) -> list[str]:
    """Every reason, in order, why the company cannot enrol one more person now (empty: it can).

    ``extra`` counts places already taken earlier in the same request (several employees at once).
    """
    reasons: list[str] = []
    action = session.action
    closed = _session_closed_reason(session)
    if closed:
        reasons.append(closed)
    unfunded = funding_blocker(session, counts.referencings.get(session.referencing_id))
    if unfunded:
        reasons.append(unfunded)
    if today > session.registration_deadline:
        reasons.append(
            f"La date limite d'inscription ({date_fr(session.registration_deadline)}) est dépassée."
        )
    if company.opco_id is None:
        reasons.append("Votre entreprise n'est rattachée à aucun OPCO de la plateforme.")
    elif company.opco_id != session.opco_id:
        reasons.append(
            f"Cette action est financée par {action.opco.name}, qui n'est pas l'OPCO de votre entreprise."
        )
    if (
        action.idcc_codes
        and company.idcc not in action.idcc_codes
        and not _open_to_stated_branch(action, company)
    ):
        reasons.append(f"Cette action est réservée à d'autres branches que la vôtre (IDCC {company.idcc}).")
    band = size_band(company.headcount)
    if action.share_for(band) is None:
        reasons.append(
            f"Cette action n'est pas ouverte aux entreprises de votre taille ({size_band_label(band).lower()})."
        )
    if not action.is_national and company.region_code not in action.region_codes:
        names = ", ".join(sorted(action.region_names))
        reasons.append(f"Cette action est réservée aux entreprises des régions : {names}.")
    reasons += cap_blockers(
        session,
        counts,
        cap_per_session=action.cap_per_company_per_session,
        cap_per_year=action.cap_per_company_per_year,
        extra=extra,
    )
    return reasons


def cap_blockers(
    session: TrainingSession,
    counts: CompanyCounts,
    *,
    cap_per_session: int | None,
    cap_per_year: int | None,
    extra: int = 0,
) -> list[str]:
    """Why one more place would exceed the company's caps (per session, per year on the action)."""
    reasons: list[str] = []
    used_session = counts.per_session.get(session.id, 0) + extra
    if cap_per_session is not None and used_session >= cap_per_session:
        reasons.append(
            f"Votre entreprise a atteint le plafond de {plural(cap_per_session, 'place')} "
            "par entreprise sur cette session."
        )
    used_year = counts.per_action.get(session.action_id, 0) + extra
    if cap_per_year is not None and used_year >= cap_per_year:
        reasons.append(
            f"Votre entreprise a atteint le plafond de {plural(cap_per_year, 'place')} par an "
            f"sur cette action (campagne {session.action.campaign_year})."
        )
    return reasons


def first_blocker(
    company: Company, session: TrainingSession, today: date, counts: CompanyCounts
) -> str | None:
    reasons = blockers(company, session, today, counts)
    return reasons[0] if reasons else None


# Sessions a company may look at in its OPCO's catalogue (an enrolled company keeps seeing its sessions).
VISIBLE_STATUSES = (
    SessionStatus.OPEN,
    SessionStatus.CLOSED,
    SessionStatus.CONFIRMED,
    SessionStatus.POSTPONED,
)


def visible_sessions_query(company: Company):
    """Select of the sessions in the company's OPCO catalogue (published action, visible status)."""
    return _visible_sessions(company.opco_id)


def _visible_sessions(opco_id):
    return (
        select(TrainingSession)
        .join(CollectiveAction, CollectiveAction.id == TrainingSession.action_id)
        .where(
            TrainingSession.opco_id == opco_id,
            TrainingSession.status.in_(VISIBLE_STATUSES),
            CollectiveAction.status == ActionStatus.PUBLISHED,
        )
    )


def session_for_company(company: Company, session_id: int) -> TrainingSession | None:
    """The session if the company may see it: in its OPCO's catalogue, or one it has enrolments on.

    With what the chain and the funding figures read, in the same statement: the action's OPCO (its funding
    basis) and the referencing (without its own joined action and provider); the action's branches, regions
    and funding shares kept by the process (``action_lists``, checked against the version read here)."""
    if company.opco_id is not None:
        session = db.session.scalar(_VISIBLE_SESSION, {"opco_id": company.opco_id, "session_id": session_id})
        if session is not None:
            action_lists.attach(session.action)
            return session
    return db.session.scalar(
        select(TrainingSession)
        .join(Enrolment, Enrolment.session_id == TrainingSession.id)
        .where(TrainingSession.id == session_id, Enrolment.company_id == company.id)
        .limit(1)
    )


_WITH_CHAIN = (
    joinedload(TrainingSession.action).options(
        joinedload(CollectiveAction.opco),
        lazyload(CollectiveAction.branches),
        lazyload(CollectiveAction.regions),
        lazyload(CollectiveAction.funding_shares),
    ),
    joinedload(TrainingSession.referencing).options(
        lazyload(Referencing.action), lazyload(Referencing.provider)
    ),
)


_VISIBLE_SESSION = (
    _visible_sessions(bindparam("opco_id"))
    .where(TrainingSession.id == bindparam("session_id"))
    .options(*_WITH_CHAIN)
)


def _open_to_stated_branch(action, company) -> bool:
    """A company whose IDCC is outside the reference table (its OPCO stated, then confirmed by the operator)
    belongs to none of its OPCO's branches: it may join the actions open to all of them, not those reserved
    to some."""
    if company.opco_confirmed_at is None or company.declared_opco_code is None:
        return False
    return set(action.opco.idcc_codes) <= set(action.idcc_codes)
