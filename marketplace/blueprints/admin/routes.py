"""Platform operator area: organisations, OPCO creation and branches, the email outbox."""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, select

from marketplace.blueprints.admin.forms import BranchesForm, CreateOpcoForm
from marketplace.extensions import db
from marketplace.models import (
    Company,
    IdccBranch,
    Membership,
    Opco,
    OpcoBranch,
    OpcoReference,
    Organisation,
    OutboxMessage,
    OutboxStatus,
    TrainingProvider,
)
from marketplace.services import organisations
from marketplace.services.errors import DomainError
from marketplace.web.forms import attach_error
from marketplace.web.guard import operator_required

bp = Blueprint("admin", __name__, url_prefix="/operateur")


def _create_form(offer_all: bool = False):
    """Offer the OPCOs not yet on the platform; on POST accept any reference code so the service explains."""
    form = CreateOpcoForm()
    present = set() if offer_all else set(db.session.scalars(select(Opco.code)))
    references = db.session.scalars(select(OpcoReference).order_by(OpcoReference.name)).all()
    form.code.choices = [("", "— Choisissez —")] + [(r.code, r.name) for r in references if r.code not in present]
    return form


@bp.get("/")
@operator_required
def dashboard():
    member_counts = dict(
        db.session.execute(
            select(Membership.organisation_id, func.count(Membership.id)).group_by(Membership.organisation_id)
        ).all()
    )
    orgs = db.session.scalars(select(Organisation).order_by(Organisation.kind, Organisation.name)).all()
    return render_template(
        "admin/dashboard.html", orgs=orgs, member_counts=member_counts, form=_create_form(),
        counts={
            "opco": sum(1 for o in orgs if o.kind == "opco"),
            "company": sum(1 for o in orgs if isinstance(o, Company)),
            "provider": sum(1 for o in orgs if isinstance(o, TrainingProvider)),
        },
    )


@bp.post("/opco")
@operator_required
def create_opco():
    form = _create_form(offer_all=True)
    if form.validate_on_submit():
        try:
            opco = organisations.create_opco(form.code.data, current_user)
        except DomainError as error:
            db.session.rollback()
            attach_error(form, error)
        else:
            db.session.commit()
            flash(
                f"{opco.name} est créé avec {len(opco.branches)} branche(s). Invitez maintenant son premier "
                "administrateur depuis la page des branches.",
                "success",
            )
            return redirect(url_for("admin.opco_branches", opco_id=opco.id))
    for errors in form.errors.values():
        for message in errors:
            flash(message, "error")
    return redirect(url_for("admin.dashboard"))


@bp.route("/opco/<int:opco_id>/branches", methods=["GET", "POST"])
@operator_required
def opco_branches(opco_id: int):
    opco = db.get_or_404(Opco, opco_id)
    # Branches already covered by another OPCO cannot be ticked here (an IDCC has one OPCO).
    taken = dict(
        db.session.execute(
            select(OpcoBranch.idcc, Opco.name).join(Opco, OpcoBranch.opco_id == Opco.id).where(Opco.id != opco.id)
        ).all()
    )
    form = BranchesForm()
    branches = db.session.scalars(select(IdccBranch).order_by(IdccBranch.idcc)).all()
    form.idcc.choices = [(b.idcc, f"{b.idcc} – {b.label}") for b in branches]
    if request.method == "GET":
        form.idcc.data = opco.idcc_codes
    elif form.validate_on_submit():
        try:
            organisations.set_opco_branches(opco, form.idcc.data or [], current_user)
        except DomainError as error:
            db.session.rollback()
            attach_error(form, error)
        else:
            db.session.commit()
            flash(f"Branches de {opco.name} enregistrées.", "success")
            return redirect(url_for("admin.opco_branches", opco_id=opco.id))
    return render_template("admin/opco_branches.html", opco=opco, form=form, branches=branches, taken=taken)


@bp.post("/opco/<int:opco_id>/inviter")
@operator_required
def invite_opco_admin(opco_id: int):
    from marketplace.services import accounts

    opco = db.get_or_404(Opco, opco_id)
    try:
        invitation = accounts.invite(opco, request.form.get("email", ""), "admin", current_user)
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
        flash(f"Invitation d'administrateur envoyée à {invitation.email}.", "success")
    return redirect(url_for("admin.opco_branches", opco_id=opco.id))


@bp.get("/courriels")
@operator_required
def outbox():
    page = request.args.get("page", 1, type=int) or 1
    messages = db.session.scalars(
        select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(50).offset((page - 1) * 50)
    ).all()
    return render_template("admin/outbox.html", messages=messages, labels=OutboxStatus.LABELS, page=page)


@bp.get("/courriels/<int:message_id>")
@operator_required
def outbox_message(message_id: int):
    message = db.get_or_404(OutboxMessage, message_id)
    return render_template("admin/outbox_message.html", message=message, labels=OutboxStatus.LABELS)
