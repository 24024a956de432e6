"""Training organisation: attendance of its sessions (grid, half-day, trainer's attestation, amendments,
proofs, the feuille d'émargement PDF) and closing a session (service fait)."""

from __future__ import annotations

from flask import Response, abort, request, url_for
from flask_login import current_user

from marketplace.blueprints.provider.attendance_forms import (
    AbandonForm,
    AmendForm,
    AttestForm,
    MarksForm,
    ProofForm,
)
from marketplace.blueprints.provider.routes import bp
from marketplace.blueprints.provider.sessions import STATUS_BADGES
from marketplace.models import AttendanceStatus, SessionSlot, TrainingSession
from marketplace.services import attendance, attendance_marks, attendance_pages, attendance_proofs, delivery
from marketplace.services.roles import Perm
from marketplace.web.actions import perform, render, submit
from marketplace.web.guard import get_owned, require


def _session(session_id: int) -> TrainingSession:
    return get_owned(TrainingSession, session_id, column="provider_id")


def _slot(session: TrainingSession, slot_id: int) -> SessionSlot:
    slot = attendance.slot_of(session, slot_id)
    if slot is None:
        abort(404)
    return slot


def _overview_url(session_id: int) -> str:
    return url_for("provider.attendance_overview", session_id=session_id)


def _half_day_url(session_id: int, slot_id: int) -> str:
    return url_for("provider.attendance_half_day", session_id=session_id, slot_id=slot_id)


def _sign_url(token: str, via: str) -> str:
    return url_for("public.sign_attendance", token=token, via=via, _external=True)


def _client() -> tuple[str | None, str | None]:
    return request.remote_addr, request.user_agent.string


# --- The session's grid -------------------------------------------------------------------------------------


def _overview_page(session: TrainingSession, abandon_form: AbandonForm | None = None):
    data = attendance_pages.overview(session)
    form = abandon_form or AbandonForm(formdata=None)
    form.enrolment_id.choices = data.abandon_choices
    return render(
        "provider/attendance/overview.html",
        session=session,
        data=data,
        badges=attendance_pages.BADGES,
        session_badges=STATUS_BADGES,
        labels=AttendanceStatus.LABELS,
        abandon_form=form,
    )


@bp.get("/sessions/<int:session_id>/emargement")
@require(Perm.TAKE_ATTENDANCE)
def attendance_overview(session_id: int):
    return _overview_page(_session(session_id))


@bp.post("/sessions/<int:session_id>/cloturer")
@require(Perm.TAKE_ATTENDANCE)
def close_session(session_id: int):
    session = _session(session_id)
    return perform(
        lambda: delivery.close_session(session, current_user),
        done=_overview_url(session_id),
        message="La session est clôturée (service fait) : les heures de chaque stagiaire sont figées et la "
        "feuille d'émargement est émise.",
    )


@bp.post("/sessions/<int:session_id>/abandon")
@require(Perm.TAKE_ATTENDANCE)
def declare_abandon(session_id: int):
    session = _session(session_id)
    form = AbandonForm()
    form.enrolment_id.choices = attendance_pages.abandon_choices(session)
    return submit(
        form,
        lambda: delivery.declare_abandon(session, form.enrolment_id.data, form.reason.data, current_user),
        page=lambda: _overview_page(session, form),
        done=_overview_url(session_id),
        message="L'abandon est enregistré.",
    )


@bp.get("/sessions/<int:session_id>/emargement.pdf")
@require(Perm.TAKE_ATTENDANCE)
def attendance_sheet_pdf(session_id: int):
    data, filename = attendance_pages.sheet_pdf(_session(session_id))
    response = Response(data, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


# --- One half-day -------------------------------------------------------------------------------------------


def _half_day_page(session, slot, marks_form=None, attest_form=None, amend_form=None, proof_form=None):
    data = attendance_pages.half_day(session, slot, _sign_url)
    if marks_form is None and attest_form is not None:
        marks_form = attest_form  # a refused attestation shows the presences it was sent with
    if marks_form is None:
        marks_form = MarksForm(formdata=None, data={"marks": [_mark_data(line.row) for line in data.lines]})
    if attest_form is None:
        attest_form = AttestForm(formdata=None, trainer_name=session.trainer_names or current_user.full_name)
    if amend_form is None:
        amend_form = AmendForm(formdata=None)
    amend_form.attendance_id.choices = [
        (line.row.id, line.row.enrolment.employee.display_name) for line in data.lines
    ]
    return render(
        "provider/attendance/half_day.html",
        session=session,
        slot=slot,
        data=data,
        marks_form=marks_form,
        attest_form=attest_form,
        amend_form=amend_form,
        proof_form=proof_form or ProofForm(formdata=None),
        badges=attendance_pages.BADGES,
        labels=AttendanceStatus.LABELS,
    )


def _mark_data(row) -> dict:
    return {
        "attendance_id": row.id,
        "status": row.status or "",
        "minutes_missed": row.minutes_missed or None,
        "excuse_reason": row.excuse_reason or "",
    }


@bp.get("/sessions/<int:session_id>/emargement/<int:slot_id>")
@require(Perm.TAKE_ATTENDANCE)
def attendance_half_day(session_id: int, slot_id: int):
    session = _session(session_id)
    return _half_day_page(session, _slot(session, slot_id))


@bp.post("/sessions/<int:session_id>/emargement/<int:slot_id>/ouvrir")
@require(Perm.TAKE_ATTENDANCE)
def open_half_day(session_id: int, slot_id: int):
    session = _session(session_id)
    slot = _slot(session, slot_id)
    return perform(
        lambda: attendance.open_half_day(session, slot, current_user),
        done=_half_day_url(session_id, slot_id),
        message="La demi-journée est ouverte : chaque stagiaire peut signer avec son lien ou son QR code.",
    )


@bp.post("/sessions/<int:session_id>/emargement/<int:slot_id>/presences")
@require(Perm.TAKE_ATTENDANCE)
def mark_attendance(session_id: int, slot_id: int):
    session = _session(session_id)
    slot = _slot(session, slot_id)
    form = MarksForm()
    return submit(
        form,
        lambda: attendance_marks.mark(session, slot, form.mark_inputs(), current_user),
        page=lambda: _half_day_page(session, slot, marks_form=form),
        done=_half_day_url(session_id, slot_id),
        message="Les présences sont enregistrées.",
    )


@bp.post("/sessions/<int:session_id>/emargement/<int:slot_id>/attester")
@require(Perm.TAKE_ATTENDANCE)
def attest_half_day(session_id: int, slot_id: int):
    session = _session(session_id)
    slot = _slot(session, slot_id)
    form = AttestForm()
    return submit(
        form,
        lambda: attendance_marks.attest(session, slot, form.to_input(*_client()), current_user),
        page=lambda: _half_day_page(session, slot, attest_form=form),
        done=_half_day_url(session_id, slot_id),
        message="La demi-journée est attestée et verrouillée : une modification passe désormais par une "
        "rectification motivée.",
    )


@bp.post("/sessions/<int:session_id>/emargement/<int:slot_id>/rectifier")
@require(Perm.TAKE_ATTENDANCE)
def amend_attendance(session_id: int, slot_id: int):
    session = _session(session_id)
    slot = _slot(session, slot_id)
    form = AmendForm()
    form.attendance_id.choices = attendance_pages.line_choices(slot)
    return submit(
        form,
        lambda: attendance_marks.amend(session, slot, form.to_input(), form.reason.data, current_user),
        page=lambda: _half_day_page(session, slot, amend_form=form),
        done=_half_day_url(session_id, slot_id),
        message="La rectification est enregistrée avec son motif.",
    )


@bp.post("/sessions/<int:session_id>/emargement/<int:slot_id>/preuve")
@require(Perm.TAKE_ATTENDANCE)
def upload_attendance_proof(session_id: int, slot_id: int):
    session = _session(session_id)
    slot = _slot(session, slot_id)
    form = ProofForm()
    upload = form.file.data
    return submit(
        form,
        lambda: attendance_proofs.upload_proof(
            session, slot, form.kind.data, upload.filename or "", upload.read(), current_user
        ),
        page=lambda: _half_day_page(session, slot, proof_form=form),
        done=_half_day_url(session_id, slot_id),
        message="La preuve de la demi-journée est déposée ; la demi-journée est verrouillée.",
    )


@bp.get("/sessions/<int:session_id>/preuves/<int:proof_id>")
@require(Perm.TAKE_ATTENDANCE)
def attendance_proof_file(session_id: int, proof_id: int):
    """A half-day's uploaded proof (paper scan, connection export), checked against its hash."""
    found = attendance_pages.proof_file(_session(session_id), proof_id)
    if found is None:
        abort(404)
    data, document = found
    response = Response(data, mimetype=document.content_type)
    response.headers["Content-Disposition"] = f'attachment; filename="{document.filename}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response
