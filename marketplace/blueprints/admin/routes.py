"""Platform operator area: organisations, OPCO creation and branches, the email outbox, scheduled jobs."""

from flask import Blueprint, abort, request, url_for
from flask_login import current_user

from marketplace.blueprints.admin.forms import BranchesForm, CreateOpcoForm, RunJobForm
from marketplace.formatting import of_name, plural
from marketplace.models import JobStatus, OutboxStatus, utcnow
from marketplace.services import accounts, admin_pages, company_profile, organisations, scheduler
from marketplace.services import outbox as outbox_service
from marketplace.web.actions import perform, render, submit
from marketplace.web.guard import operator_required
from marketplace.web.params import page_arg

bp = Blueprint("admin", __name__, url_prefix="/operateur")


def _create_form() -> CreateOpcoForm:
    """Offer the OPCOs not yet on the platform; a POST may name any code, the service explains a refusal."""
    form = CreateOpcoForm()
    form.code.choices = [("", "— Choisissez —")] + admin_pages.opco_choices()
    return form


def _dashboard(form: CreateOpcoForm):
    return render("admin/dashboard.html", form=form, **vars(admin_pages.dashboard()))


@bp.get("/")
@operator_required
def dashboard():
    return _dashboard(_create_form())


@bp.post("/opco")
@operator_required
def create_opco():
    form = _create_form()
    return submit(
        form,
        lambda: organisations.create_opco(form.code.data, current_user),
        page=lambda: _dashboard(form),
        done=lambda opco: url_for("admin.opco_branches", opco_id=opco.id),
        message=lambda opco: (
            f"{opco.name} est créé avec {plural(len(opco.branches), 'branche')}. Invitez maintenant son premier "
            "administrateur depuis la page des branches."
        ),
    )


def _opco(opco_id: int):
    opco = admin_pages.opco(opco_id)
    if opco is None:
        abort(404)
    return opco


def _branches_page(opco, form: BranchesForm | None = None, data: admin_pages.BranchesPage | None = None):
    data = data or admin_pages.branches_page(opco)
    if form is None:
        form = BranchesForm(formdata=None)
        form.idcc.choices = data.choices
        form.idcc.data = opco.idcc_codes
    return render("admin/opco_branches.html", opco=opco, form=form, branches=data.branches, taken=data.taken)


@bp.route("/opco/<int:opco_id>/branches", methods=["GET", "POST"])
@operator_required
def opco_branches(opco_id: int):
    opco = _opco(opco_id)
    data = admin_pages.branches_page(opco)
    form = BranchesForm()
    form.idcc.choices = data.choices
    if request.method == "GET":
        form.idcc.data = opco.idcc_codes
    return submit(
        form,
        lambda: organisations.set_opco_branches(opco, form.idcc.data or [], current_user),
        page=lambda: _branches_page(opco, form, data),
        done=url_for("admin.opco_branches", opco_id=opco.id),
        message=f"Branches {of_name(opco.name)} enregistrées.",
    )


@bp.post("/opco/<int:opco_id>/inviter")
@operator_required
def invite_opco_admin(opco_id: int):
    opco = _opco(opco_id)
    return perform(
        lambda: accounts.invite(opco, request.form.get("email", ""), "admin", current_user),
        done=url_for("admin.opco_branches", opco_id=opco.id),
        message=lambda invitation: f"Invitation d'administrateur envoyée à {invitation.email}.",
        failed=lambda error: _branches_page(opco),
    )


@bp.get("/opco-a-confirmer")
@operator_required
def opco_declarations():
    return render("admin/opco_declarations.html", companies=admin_pages.opco_declarations())


@bp.post("/entreprises/<int:company_id>/opco/confirmer")
@operator_required
def confirm_company_opco(company_id: int):
    return perform(
        lambda: company_profile.confirm_declared_opco(company_id, current_user, utcnow()),
        done=url_for("admin.opco_declarations"),
        message=lambda company: f"OPCO {of_name(company.name)} confirmé : {company.declared_opco.name}.",
    )


@bp.post("/entreprises/<int:company_id>/opco/refuser")
@operator_required
def refuse_company_opco(company_id: int):
    return perform(
        lambda: company_profile.refuse_declared_opco(company_id, current_user),
        done=url_for("admin.opco_declarations"),
        message=lambda company: (
            f"OPCO indiqué par {company.name} non confirmé : l'entreprise reste sans OPCO."
        ),
    )


@bp.get("/courriels")
@operator_required
def outbox():
    result = admin_pages.outbox_page(page_arg())
    return render(
        "admin/outbox.html",
        messages=result.items,
        labels=OutboxStatus.LABELS,
        page=result.page,
        pages=result.pages,
        total=result.total,
    )


@bp.get("/courriels/<int:message_id>")
@operator_required
def outbox_message(message_id: int):
    message = admin_pages.outbox_message(message_id)
    if message is None:
        abort(404)
    return render(
        "admin/outbox_message.html",
        message=message,
        labels=OutboxStatus.LABELS,
        body=outbox_service.readable_body(message),
        masked=outbox_service.smtp_configured(),
    )


@bp.get("/taches")
@operator_required
def scheduled_jobs():
    return render(
        "admin/scheduled_jobs.html",
        rows=admin_pages.scheduled_jobs(),
        labels=JobStatus.LABELS,
        triggers=scheduler.TRIGGER_LABELS,
    )


@bp.post("/taches/lancer")
@operator_required
def run_job():
    form = RunJobForm()
    return perform(
        lambda: scheduler.run_now(form.job.data, current_user),
        done=url_for("admin.scheduled_jobs"),
        message=lambda result: f"« {result.job.label} » exécutée : {result.message}",
    )


@bp.get("/webhooks-stripe")
@operator_required
def stripe_webhooks():
    """Deliveries refused (signature) or failed, for the operator; never a payload, a key or a secret."""
    from marketplace.services import stripe_webhooks as webhooks

    return render("admin/stripe_webhooks.html", events=webhooks.failed_deliveries())
