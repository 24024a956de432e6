"""Demo calls for tenders (part of `flask seed-demo`): one open with questions and two responses, one under
analysis with scores, one awarded whose referencings appear in the catalogue.

Everything goes through the tender, response and evaluation services at the dates it would have happened
(``now`` in the past for the tenders already closed), so the demo shows each step as users would live it.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from marketplace.models import CollectiveAction, Opco, TrainingProvider, User
from marketplace.services import (
    evaluation,
    evaluation_award,
    evaluation_scores,
    tender_questions,
    tender_responses,
    tenders,
)
from marketplace.services.tender_inputs import CriterionInput, LotInput, TenderInput
from marketplace.services.tender_responses import ResponseInput

CRITERIA = [
    CriterionInput("Valeur technique de l'offre", 40),
    CriterionInput("Équipe pédagogique et moyens", 20),
    CriterionInput("Prix", 30),
    CriterionInput("RSE et accessibilité", 10),
]
DOCUMENTS = ["technical_proposal", "qualiopi_certificate", "price_grid"]


def demo_pdf(title: str) -> bytes:
    """A small but real one-page PDF (readable by any viewer), for the demo's uploaded documents."""
    text = title.replace("\\", "").replace("(", "").replace(")", "").encode("latin-1", "replace")
    stream = b"BT /F1 16 Tf 72 770 Td (" + text + b") Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def _local(day: date, hour: int) -> datetime:
    """A Paris wall-clock time (the builder's inputs are Paris local times)."""
    return datetime.combine(day, time(hour))


def _utc(day: date, hour: int) -> datetime:
    """That Paris wall-clock time as the naive UTC datetime the database stores."""
    return tenders.paris_to_utc(_local(day, hour))


def _tender(
    opco: Opco,
    admin: User,
    reference: str,
    title: str,
    lots: list[LotInput],
    created: date,
    multi_award: bool = False,
) -> object:
    data = TenderInput(
        title=title,
        reference=reference,
        context="Les branches ont exprimé des besoins communs ; l'OPCO sélectionne des organismes de formation "
        "pour proposer des sessions financées aux entreprises adhérentes.",
        specification="Public : salariés des entreprises adhérentes.\nModalités : présentiel ou mixte, "
        "groupes de 6 à 12 stagiaires.\nAttendus : programme détaillé, évaluation des acquis, accessibilité "
        "aux personnes en situation de handicap.",
        questions_deadline=_local(created + timedelta(days=10), 12),
        submission_deadline=_local(created + timedelta(days=20), 12),
        expected_award_date=created + timedelta(days=35),
        multi_award=multi_award,
        required_documents=list(DOCUMENTS),
        lots=lots,
        criteria=list(CRITERIA),
    )
    now = _utc(created, 9)
    tender = tenders.create_tender(opco, data, admin, now=now)
    tenders.publish(tender, admin, now=now)
    return tender


def _respond(tender, lot, provider: TrainingProvider, admin: User, price: str, when: datetime):
    response = tender_responses.get_or_start(tender, lot, provider, admin, when)
    tender_responses.save_draft(
        response,
        ResponseInput(
            price_per_trainee=price,
            price_per_group="",
            duration_hours=str(lot.duration_hours or 14),
            programme="Jour 1 : apports et diagnostic. Jour 2 : mises en situation et évaluation.",
            team="Deux formateurs expérimentés du secteur, référent handicap identifié.",
        ),
        admin,
        when,
    )
    for kind in DOCUMENTS:
        tender_responses.add_document(
            response, kind, f"{kind}-{provider.slug}.pdf", demo_pdf(f"{provider.name} - {kind}"), admin, when
        )
    tender_responses.submit(response, admin, when)
    return response


def seed_tenders(
    today: date,
    opcos: dict[str, Opco],
    opco_admins: dict[str, User],
    providers: list[TrainingProvider],
    provider_admins: list[User],
    awarded_action: CollectiveAction,
) -> dict[str, int]:
    """Three AKTO/ATLAS tenders at three stages (the caller commits)."""
    akto, akto_admin = opcos["akto"], opco_admins["akto"]
    atlas, atlas_admin = opcos["atlas"], opco_admins["atlas"]

    # 1. Published, answers still open: questions (one answered publicly) and two responses.
    created = today - timedelta(days=5)
    open_tender = _tender(
        akto,
        akto_admin,
        f"AKTO-AO-{today.year}-03",
        "Prévention des risques professionnels en propreté",
        [
            LotInput("Prévention des TMS – Île-de-France", "34", "11", 6, 60, "900", 14),
            LotInput("Risque chimique – national", "34", None, 4, 40, "1 100", 14),
        ],
        created,
    )
    question = tender_questions.ask_question(
        open_tender,
        providers[1],
        provider_admins[1],
        "Les sessions peuvent-elles se dérouler dans les locaux des entreprises ?",
        now=_utc(created + timedelta(days=1), 10),
    )
    tender_questions.answer_question(
        question,
        akto_admin,
        "Oui, en intra-entreprise si au moins 6 stagiaires sont réunis.",
        True,
        now=_utc(created + timedelta(days=2), 10),
    )
    tender_questions.ask_question(
        open_tender,
        providers[0],
        provider_admins[0],
        "Le bordereau de prix doit-il distinguer les frais de déplacement ?",
        now=_utc(created + timedelta(days=3), 10),
    )
    _respond(
        open_tender,
        open_tender.lots[0],
        providers[0],
        provider_admins[0],
        "850",
        _utc(created + timedelta(days=4), 15),
    )
    _respond(
        open_tender,
        open_tender.lots[1],
        providers[1],
        provider_admins[1],
        "1 050",
        _utc(created + timedelta(days=4), 16),
    )

    # 2. Under analysis: closed, admissibility decided, scored by the AKTO administrator.
    created = today - timedelta(days=30)
    analysed = _tender(
        akto,
        akto_admin,
        f"AKTO-AO-{today.year}-02",
        "Accueil et relation client en hôtellerie-restauration",
        [LotInput("Accueil client – national", "31", None, 5, 50, "700", 14)],
        created,
    )
    first = _respond(
        analysed,
        analysed.lots[0],
        providers[0],
        provider_admins[0],
        "650",
        _utc(created + timedelta(days=12), 11),
    )
    second = _respond(
        analysed,
        analysed.lots[0],
        providers[1],
        provider_admins[1],
        "590",
        _utc(created + timedelta(days=14), 11),
    )
    after = _utc(created + timedelta(days=21), 9)
    tenders.close_due_tenders(after)
    tenders.start_analysis(analysed, akto_admin, now=after)
    _evaluate(analysed, [(first, [4, 4, 3, 4]), (second, [3, 3, 5, 3])], akto, akto_admin, after)

    # 3. Awarded: the winner is referenced on a published ATLAS action, visible in the catalogue.
    created = today - timedelta(days=60)
    awarded = _tender(
        atlas,
        atlas_admin,
        f"ATLAS-AO-{today.year}-01",
        awarded_action.title,
        [
            LotInput(
                awarded_action.title,
                awarded_action.theme_code,
                None,
                8,
                80,
                f"{awarded_action.price_cents // 100}",
                7,
                awarded_action.id,
            )
        ],
        created,
    )
    winner = _respond(
        awarded,
        awarded.lots[0],
        providers[3],
        provider_admins[3],
        f"{awarded_action.price_cents // 100 - 30}",
        _utc(created + timedelta(days=15), 11),
    )
    other = _respond(
        awarded,
        awarded.lots[0],
        providers[1],
        provider_admins[1],
        f"{awarded_action.price_cents // 100 - 10}",
        _utc(created + timedelta(days=16), 11),
    )
    after = _utc(created + timedelta(days=21), 9)
    tenders.close_due_tenders(after)
    tenders.start_analysis(awarded, atlas_admin, now=after)
    _evaluate(awarded, [(winner, [5, 4, 4, 4]), (other, [3, 4, 4, 3])], atlas, atlas_admin, after)
    award_day = (after + timedelta(days=3)).date()
    evaluation_award.award(
        awarded,
        atlas_admin,
        atlas,
        {awarded.lots[0].id: [winner.id]},
        valid_from=award_day,
        valid_until=date(today.year + 1, 12, 31),
        now=_utc(award_day, 10),
    )
    return {"tenders": 3}


def _evaluate(tender, scored, opco: Opco, evaluator: User, now: datetime) -> None:
    """Declare every response admissible, sign the statement, and submit one score sheet per response."""
    for response, _values in scored:
        checklist = {code: True for code in evaluation.MANUAL_CHECKLIST}
        evaluation.decide_admissibility(
            response, evaluator, opco, admissible=True, checklist=checklist, reason=None, now=now
        )
    evaluation_scores.sign_declaration(tender, evaluator, True, now=now)
    for response, values in scored:
        scores = {
            criterion.id: (
                value,
                "Appréciation argumentée d'après le mémoire technique et le bordereau de prix.",
            )
            for criterion, value in zip(tender.criteria, values, strict=True)
        }
        evaluation_scores.save_scores(response, evaluator, scores, submit=True, now=now)
