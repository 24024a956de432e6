"""Automatic checks of an OPCO invoice before payment (R6332-26): each a French line, OK or KO.

The OPCO pays what was done and proven, at the negotiated price: every half-day of the session attested
(locked by the trainer or proven by a document), a certificate of realisation for each trainee charged, the
minutes and amounts of each line equal to the figures frozen on the enrolment at closing, the referencing
valid on the session's dates, and no unit price above the negotiated one. The checks only read; the control
queue (services.invoice_control_pages) computes them for a whole page in a few queries (``checks_for``).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from marketplace.extensions import db
from marketplace.formatting import money_fr
from marketplace.models import (
    Document,
    DocumentKind,
    Enrolment,
    HalfDayAttestation,
    Invoice,
    LineKind,
    Referencing,
    SessionSlot,
    SessionStatus,
    TrainingSession,
)

PER_HOUR = "per_hour"
GROUP = "group"


@dataclass(frozen=True)
class Check:
    label: str
    ok: bool
    detail: str = ""


@dataclass(frozen=True)
class CheckReport:
    checks: list[Check]

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    @property
    def failed(self) -> int:
        return sum(1 for c in self.checks if not c.ok)


def _negotiated_unit(referencing: Referencing) -> int | None:
    """The price a line's unit may not exceed, per the referencing's pricing mode."""
    if referencing.pricing_mode == PER_HOUR:
        return referencing.hourly_rate_cents
    if referencing.pricing_mode == GROUP:
        return referencing.group_price_cents
    return referencing.price_cents


def checks_for(invoices: list[Invoice]) -> dict[int, CheckReport]:
    """The automatic checks of each invoice, read in a fixed number of queries whatever their count."""
    if not invoices:
        return {}
    session_ids = {i.session_id for i in invoices}
    sessions = {
        s.id: s
        for s in db.session.scalars(select(TrainingSession).where(TrainingSession.id.in_(session_ids)))
    }
    referencings = {
        r.id: r
        for r in db.session.scalars(
            select(Referencing).where(Referencing.id.in_({s.referencing_id for s in sessions.values()}))
        )
    }
    slots = dict(
        db.session.execute(
            select(SessionSlot.session_id, func.count(SessionSlot.id))
            .where(SessionSlot.session_id.in_(session_ids))
            .group_by(SessionSlot.session_id)
        ).all()
    )
    attested = dict(
        db.session.execute(
            select(HalfDayAttestation.session_id, func.count(func.distinct(HalfDayAttestation.slot_id)))
            .where(
                HalfDayAttestation.session_id.in_(session_ids),
                (HalfDayAttestation.attested_at.is_not(None))
                | (HalfDayAttestation.proof_document_id.is_not(None)),
            )
            .group_by(HalfDayAttestation.session_id)
        ).all()
    )
    enrolment_ids = {line.enrolment_id for i in invoices for line in i.lines if line.enrolment_id}
    enrolments = {
        e.id: e for e in db.session.scalars(select(Enrolment).where(Enrolment.id.in_(enrolment_ids)))
    }
    certified = set(
        db.session.scalars(
            select(Document.enrolment_id).where(
                Document.enrolment_id.in_(enrolment_ids),
                Document.kind == DocumentKind.CERTIFICATE,
                Document.superseded_by_id.is_(None),
            )
        )
    )
    return {
        i.id: _report(i, sessions[i.session_id], referencings, slots, attested, enrolments, certified)
        for i in invoices
    }


def check(invoice: Invoice) -> CheckReport:
    return checks_for([invoice])[invoice.id]


def _report(invoice, session, referencings, slots, attested, enrolments, certified) -> CheckReport:
    checks: list[Check] = []
    total_slots = slots.get(session.id, 0)
    done_slots = attested.get(session.id, 0)
    delivered = session.status == SessionStatus.DELIVERED
    checks.append(
        Check(
            "Chaque demi-journée de la session est attestée",
            delivered and total_slots > 0 and done_slots >= total_slots,
            f"{done_slots} demi-journée(s) attestée(s) sur {total_slots}"
            + ("" if delivered else " ; la session n'est pas clôturée (service fait)"),
        )
    )
    trainee_lines = [
        line for line in invoice.lines if line.kind == LineKind.TRAINING and line.enrolment_id is not None
    ]
    missing = [
        line.label
        for line in trainee_lines
        if (line.minutes_done or 0) > 0 and line.enrolment_id not in certified
    ]
    checks.append(
        Check(
            "Un certificat de réalisation pour chaque stagiaire facturé",
            not missing,
            "Manquant : " + ", ".join(missing) if missing else f"{len(trainee_lines)} stagiaire(s)",
        )
    )
    wrong_minutes, wrong_amounts = [], []
    for line in trainee_lines:
        enrolment = enrolments.get(line.enrolment_id)
        if enrolment is None or enrolment.session_id != invoice.session_id:
            wrong_minutes.append(line.label)
            continue
        if line.minutes_done != enrolment.attended_minutes:
            wrong_minutes.append(line.label)
        if line.amount_ht_cents > enrolment.funded_cents:
            wrong_amounts.append(
                f"{line.label} ({money_fr(line.amount_ht_cents)} > {money_fr(enrolment.funded_cents)})"
            )
    checks.append(
        Check(
            "Les heures facturées sont celles réalisées (figées à la clôture)",
            not wrong_minutes,
            "Écart : " + ", ".join(wrong_minutes) if wrong_minutes else "",
        )
    )
    lines_ht = sum(line.amount_ht_cents for line in invoice.lines)
    lines_vat = sum(line.vat_cents for line in invoice.lines)
    totals_ok = lines_ht == invoice.total_ht_cents and lines_vat == invoice.vat_cents
    checks.append(
        Check(
            "Les montants correspondent à la prise en charge figée et le total à la somme des lignes",
            not wrong_amounts and totals_ok,
            "; ".join(
                [*(f"Au-delà de la prise en charge : {w}" for w in wrong_amounts)]
                + (
                    []
                    if totals_ok
                    else [
                        f"Somme des lignes {money_fr(lines_ht)} HT ≠ total {money_fr(invoice.total_ht_cents)} HT"
                    ]
                )
            ),
        )
    )
    referencing = referencings.get(session.referencing_id)
    valid = bool(
        referencing
        and referencing.is_valid_on(session.start_date)
        and referencing.is_valid_on(session.end_date)
    )
    checks.append(
        Check(
            "Le référencement de l'organisme était valide aux dates de la session",
            valid,
            f"du {referencing.valid_from:%d/%m/%Y} au {referencing.valid_until:%d/%m/%Y}, {referencing.status}"
            if referencing
            else "aucun référencement",
        )
    )
    ceiling = _negotiated_unit(referencing) if referencing else None
    above = [
        line.label
        for line in invoice.lines
        if line.kind == LineKind.TRAINING and (ceiling is None or line.unit_price_cents > ceiling)
    ]
    checks.append(
        Check(
            "Le prix unitaire ne dépasse pas le prix négocié",
            not above,
            ("Au-delà : " + ", ".join(above) + " ; " if above else "")
            + (
                f"prix négocié {money_fr(ceiling)} HT"
                if ceiling is not None
                else "prix négocié non renseigné"
            ),
        )
    )
    return CheckReport(checks)
