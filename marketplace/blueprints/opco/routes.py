"""OPCO staff area: dashboard, settings and the branches the OPCO covers."""

from flask import g, url_for
from flask_login import current_user
from wtforms import RadioField, StringField
from wtforms.fields.choices import SelectChoice

from marketplace.formatting import paris_today
from marketplace.services import opco_pages, opco_settings
from marketplace.services.roles import Perm
from marketplace.web.actions import render, submit
from marketplace.web.forms import Form
from marketplace.web.guard import require, tenant_blueprint

bp = tenant_blueprint("opco", __name__, "/opco", kind="opco")


@bp.get("/")
@require(Perm.VIEW_DASHBOARD)
def dashboard():
    data = opco_pages.dashboard(g.org, paris_today())
    return render(
        "opco/dashboard.html",
        companies=data.companies,
        members=data.members,
        pending_invitations=data.pending_invitations,
        board=data.board,
    )


@bp.get("/branches")
@require(Perm.VIEW_DASHBOARD)
def branches():
    return render(
        "opco/branches.html", branches=g.org.branches, counts=opco_pages.companies_per_branch(g.org)
    )


class SettingsForm(Form):
    # Read by the service (a whole number of hours, 1 to 168), which reports its refusal on this field.
    waitlist_offer_hours = StringField("Délai pour accepter une place libérée (en heures)")
    # Read by the service too (« ht » or « ttc »), which refuses anything else on this field.
    funding_basis = RadioField(
        "Base de la prise en charge",
        choices=[SelectChoice("ht", "Prix HT"), SelectChoice("ttc", "Prix TTC")],
        validate_choice=False,
    )
    # Read by the service (1 to 90 days; empty keeps the current value).
    convocation_days = StringField("Convocation envoyée N jours avant le début")
    # Read by the service (« subrogation » or « direct_purchase »; empty keeps the current value).
    funding_flow = RadioField(
        "Paiement de la part OPCO",
        choices=[SelectChoice("subrogation", "Subrogation"), SelectChoice("direct_purchase", "Achat direct")],
        validate_choice=False,
    )


@bp.route("/parametres", methods=["GET", "POST"])
@require(Perm.MANAGE_CATALOGUE)
def settings():
    form = SettingsForm()

    def page():
        errors = form.waitlist_offer_hours.errors
        basis_errors = form.funding_basis.errors
        days_errors = form.convocation_days.errors
        flow_errors = form.funding_flow.errors
        return render(
            "opco/settings.html",
            error=errors[0] if errors else None,
            basis_error=basis_errors[0] if basis_errors else None,
            days_error=days_errors[0] if days_errors else None,
            flow_error=flow_errors[0] if flow_errors else None,
        )

    return submit(
        form,
        lambda: opco_settings.update_opco_settings(
            g.org,
            form.waitlist_offer_hours.data or "",
            form.funding_basis.data,
            current_user,
            raw_convocation_days=form.convocation_days.data,
            raw_funding_flow=form.funding_flow.data,
        ),
        page=page,
        done=url_for("opco.settings"),
        message="Paramètres enregistrés.",
    )


# Routes of the OPCO area defined in their own modules, registered on the same blueprint.
from marketplace.blueprints.opco import (  # noqa: E402, F401
    approvals,
    budgets,
    catalogue,
    evaluation,
    invoices,
    payments,
    quality,
    referencings,
    reporting,
    service_fait,
    tenders,
)
