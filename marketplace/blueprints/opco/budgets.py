"""OPCO: budget envelopes — the overview with one bar per envelope, create and edit one, its ledger, and the
actions drawing on it."""

from __future__ import annotations

from flask import g, request, url_for
from flask_login import current_user

from marketplace.blueprints.opco.budget_forms import AttachForm, EnvelopeForm
from marketplace.blueprints.opco.routes import bp
from marketplace.models import BudgetEnvelope, CollectiveAction, Fund, WhenExhausted
from marketplace.services import budget_pages, envelopes, reference_lists
from marketplace.services.roles import Perm
from marketplace.web.actions import perform, render, submit
from marketplace.web.guard import get_owned, require
from marketplace.web.params import int_arg, page_arg, parse_int


def _envelope(envelope_id: int) -> BudgetEnvelope:
    return get_owned(BudgetEnvelope, envelope_id, column="opco_id")


def _input(form: EnvelopeForm) -> envelopes.EnvelopeInput:
    return envelopes.EnvelopeInput(
        label=form.label.data or "",
        year=form.year.data or "",
        fund=form.fund.data or "",
        idcc=form.idcc.data or "",
        region_code=form.region_code.data or "",
        allotted=form.allotted.data or "",
        thresholds=form.thresholds.data or "",
        when_exhausted=form.when_exhausted.data or "",
    )


def _with_regions(form: EnvelopeForm) -> EnvelopeForm:
    form.region_code.choices = [
        ("", "Toutes les régions"),
        *((r.code, r.name) for r in reference_lists.regions()),
    ]
    return form


@bp.get("/budgets")
@require(Perm.MANAGE_CATALOGUE)
def budgets():
    year = int_arg("annee", None, minimum=2000, maximum=2100)
    fund = request.args.get("fonds", "")
    return render("opco/budgets/list.html", data=budget_pages.overview(g.org, year, fund), funds=Fund.LABELS)


@bp.route("/budgets/nouvelle", methods=["GET", "POST"])
@require(Perm.MANAGE_CATALOGUE)
def budget_new():
    form = _with_regions(EnvelopeForm())
    if not form.is_submitted():
        form.thresholds.data = "80, 90, 100"
        form.when_exhausted.data = WhenExhausted.REFUSE
    return submit(
        form,
        lambda: envelopes.create_envelope(g.org, _input(form), current_user),
        page=lambda: render("opco/budgets/form.html", form=form, envelope=None),
        done=lambda envelope: url_for("opco.budget_detail", envelope_id=envelope.id),
        message="Enveloppe budgétaire créée.",
    )


@bp.get("/budgets/<int:envelope_id>")
@require(Perm.MANAGE_CATALOGUE)
def budget_detail(envelope_id: int):
    envelope = _envelope(envelope_id)
    data = budget_pages.detail(g.org, envelope, page_arg())
    form = AttachForm()
    form.action_id.choices = data.choices
    return render(
        "opco/budgets/detail.html",
        data=data,
        envelope=envelope,
        form=form,
        exhausted_labels=WhenExhausted.LABELS,
    )


@bp.route("/budgets/<int:envelope_id>/modifier", methods=["GET", "POST"])
@require(Perm.MANAGE_CATALOGUE)
def budget_edit(envelope_id: int):
    envelope = _envelope(envelope_id)
    form = _with_regions(EnvelopeForm())
    if not form.is_submitted():
        form.label.data = envelope.label
        form.year.data = str(envelope.year)
        form.fund.data = envelope.fund
        form.idcc.data = envelope.idcc or ""
        form.region_code.data = envelope.region_code or ""
        form.allotted.data = f"{envelope.allotted_cents // 100},{envelope.allotted_cents % 100:02d}"
        form.thresholds.data = ", ".join(str(t) for t in envelope.threshold_list)
        form.when_exhausted.data = envelope.when_exhausted
    return submit(
        form,
        lambda: envelopes.update_envelope(envelope, _input(form), current_user),
        page=lambda: render("opco/budgets/form.html", form=form, envelope=envelope),
        done=url_for("opco.budget_detail", envelope_id=envelope_id),
        message="Enveloppe budgétaire enregistrée.",
    )


@bp.post("/budgets/<int:envelope_id>/actions")
@require(Perm.MANAGE_CATALOGUE)
def budget_attach(envelope_id: int):
    envelope = _envelope(envelope_id)
    action_id = parse_int(request.form.get("action_id"))
    done = url_for("opco.budget_detail", envelope_id=envelope_id)
    return perform(
        lambda: envelopes.attach_action(g.org, action_id or 0, envelope.id, current_user),
        done=done,
        message="L'action puise désormais dans cette enveloppe (pour ses nouvelles inscriptions).",
    )


@bp.post("/budgets/<int:envelope_id>/actions/<int:action_id>/retirer")
@require(Perm.MANAGE_CATALOGUE)
def budget_detach(envelope_id: int, action_id: int):
    envelope = _envelope(envelope_id)
    action = get_owned(CollectiveAction, action_id, column="opco_id")
    return perform(
        lambda: envelopes.detach_action(g.org, action.id, envelope, current_user),
        done=url_for("opco.budget_detail", envelope_id=envelope_id),
        message="L'action ne puise plus dans cette enveloppe (les inscriptions déjà faites gardent la leur).",
    )
