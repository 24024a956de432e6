"""An OPCO manages its budget envelopes: create, edit, and choose the envelope each action draws on.

The running figures (committed, realised, paid) are never edited here: only services.budgets moves them, under
the envelope's lock. Editing the allotted amount or the thresholds takes the same lock, and re-arms the alerts
above the new consumption (a raised envelope alerts again when it fills up).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from sqlalchemy import select

from marketplace.extensions import db
from marketplace.models import (
    BudgetEnvelope,
    CollectiveAction,
    Fund,
    IdccBranch,
    Opco,
    Region,
    User,
    WhenExhausted,
)
from marketplace.models.limits import TITLE
from marketplace.services import audit, budgets
from marketplace.services.errors import Collect, DomainError, InvalidForm, NotFound
from marketplace.services.french_numbers import decimal_fr
from marketplace.services.text import has_control

MAX_ALLOTTED_CENTS = 100_000_000_000  # 1 milliard d'euros


@dataclass
class EnvelopeInput:
    label: str = ""
    year: str | int = ""
    fund: str = ""
    idcc: str = ""
    region_code: str = ""
    allotted: str = ""
    thresholds: str = "80, 90, 100"
    when_exhausted: str = WhenExhausted.REFUSE


def envelope_or_404(opco: Opco, envelope_id: int) -> BudgetEnvelope:
    envelope = db.session.get(BudgetEnvelope, envelope_id)
    if envelope is None or envelope.opco_id != opco.id:
        raise NotFound("Cette enveloppe budgétaire n'existe pas.")
    return envelope


def _amount(value) -> int:
    try:
        amount = decimal_fr(value)
    except InvalidOperation:
        amount = Decimal("NaN")
    if amount is None:
        raise InvalidForm({"allotted": "Le montant alloué est obligatoire."})
    if not amount.is_finite() or amount.adjusted() > 12 or amount != amount.quantize(Decimal("0.01")):
        raise InvalidForm(
            {"allotted": "Le montant alloué doit être un montant en euros, par exemple 250 000,00."}
        )
    cents = int(amount * 100)
    if cents < 0 or cents > MAX_ALLOTTED_CENTS:
        raise InvalidForm(
            {"allotted": "Le montant alloué doit être compris entre 0 € et 1 milliard d'euros."}
        )
    return cents


def _thresholds(value: str) -> str:
    parts = [p.strip().removesuffix("%").strip() for p in (value or "").split(",") if p.strip()]
    if not parts or not all(p.isdigit() and 1 <= int(p) <= 200 for p in parts) or len(parts) > 6:
        raise InvalidForm(
            {
                "thresholds": "Les seuils d'alerte sont des pourcentages entre 1 et 200 séparés par des virgules, "
                "par exemple 80, 90, 100."
            }
        )
    return ",".join(str(t) for t in sorted({int(p) for p in parts}))


def _clean(data: EnvelopeInput) -> dict:
    checks = Collect()
    label = (data.label or "").strip()
    if not label:
        checks.errors.setdefault("label", "Le libellé de l'enveloppe est obligatoire.")
    elif len(label) > TITLE or has_control(label):
        checks.errors.setdefault(
            "label", f"Le libellé : {TITLE} caractères au maximum, sans caractère spécial."
        )
    year = str(data.year or "").strip()
    if not (year.isdigit() and 2000 <= int(year) <= 2100):
        checks.errors.setdefault("year", "L'année doit être une année sur quatre chiffres, par exemple 2026.")
    if data.fund not in Fund.LABELS:
        checks.errors.setdefault("fund", "Choisissez le fonds de l'enveloppe.")
    if data.when_exhausted not in WhenExhausted.LABELS:
        checks.errors.setdefault(
            "when_exhausted", "Choisissez ce qui se passe quand l'enveloppe est épuisée."
        )
    idcc = (data.idcc or "").strip() or None
    if idcc is not None and (len(idcc) > 4 or db.session.get(IdccBranch, idcc) is None):
        checks.errors.setdefault("idcc", "Cette branche (IDCC) n'existe pas.")
    region = (data.region_code or "").strip() or None
    if region is not None and (len(region) > 2 or db.session.get(Region, region) is None):
        checks.errors.setdefault("region_code", "Cette région n'existe pas.")
    allotted = checks.run(_amount, data.allotted)
    thresholds = checks.run(_thresholds, data.thresholds)
    checks.done()
    return {
        "label": label,
        "year": int(year),
        "fund": data.fund,
        "idcc": idcc,
        "region_code": region,
        "allotted_cents": allotted,
        "thresholds": thresholds,
        "when_exhausted": data.when_exhausted,
    }


def create_envelope(opco: Opco, data: EnvelopeInput, actor: User) -> BudgetEnvelope:
    clean = _clean(data)
    envelope = BudgetEnvelope(opco_id=opco.id, **clean)
    db.session.add(envelope)
    db.session.flush()
    audit.record(
        "budget.envelope_created", organisation_id=opco.id, actor=actor, obj=envelope, data=_snap(envelope)
    )
    return envelope


def update_envelope(envelope: BudgetEnvelope, data: EnvelopeInput, actor: User) -> BudgetEnvelope:
    clean = _clean(data)
    envelope = budgets.lock_envelope(envelope.id)
    before = _snap(envelope)
    for name, value in clean.items():
        setattr(envelope, name, value)
    envelope.alerted_pct = budgets.crossed_threshold(envelope)
    audit.record(
        "budget.envelope_updated",
        organisation_id=envelope.opco_id,
        actor=actor,
        obj=envelope,
        data={"before": before, "after": _snap(envelope)},
    )
    return envelope


def attach_action(opco: Opco, action_id: int, envelope_id: int | None, actor: User) -> CollectiveAction:
    """The envelope the action's new enrolments draw on (existing enrolments keep theirs); none: no rule."""
    action = db.session.get(CollectiveAction, action_id)
    if action is None or action.opco_id != opco.id:
        raise DomainError("Choisissez une action de votre catalogue.", field="action_id")
    if envelope_id is not None:
        envelope = db.session.get(BudgetEnvelope, envelope_id)
        if envelope is None or envelope.opco_id != opco.id:
            raise DomainError("Choisissez une de vos enveloppes.", field="envelope_id")
    previous = action.envelope_id
    action.envelope_id = envelope_id
    audit.record(
        "budget.action_attached",
        organisation_id=opco.id,
        actor=actor,
        obj=action,
        data={"envelope": envelope_id, "reference": action.reference}
        if envelope_id
        else {"envelope": previous, "reference": action.reference, "reason": "action retirée de l'enveloppe"},
    )
    return action


def detach_action(opco: Opco, action_id: int, envelope: BudgetEnvelope, actor: User) -> CollectiveAction:
    """The action stops drawing on ``envelope`` (its existing enrolments keep the envelope frozen on them)."""
    action = db.session.get(CollectiveAction, action_id)
    if action is None or action.opco_id != opco.id or action.envelope_id != envelope.id:
        raise NotFound("Cette action ne puise pas dans cette enveloppe.")
    return attach_action(opco, action_id, None, actor)


def envelope_choices(opco: Opco) -> list[tuple[int, str]]:
    rows = db.session.execute(
        select(BudgetEnvelope.id, BudgetEnvelope.year, BudgetEnvelope.label)
        .where(BudgetEnvelope.opco_id == opco.id)
        .order_by(BudgetEnvelope.year.desc(), BudgetEnvelope.label)
    ).all()
    return [(row.id, f"{row.year} – {row.label}") for row in rows]


def _snap(envelope: BudgetEnvelope) -> dict:
    return {
        "label": envelope.label,
        "year": envelope.year,
        "fund": envelope.fund,
        "allotted_cents": envelope.allotted_cents,
        "thresholds": envelope.thresholds,
        "when_exhausted": envelope.when_exhausted,
    }
