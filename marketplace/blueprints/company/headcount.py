"""The company's headcount: the annual average of the previous year, which the company states again each
year (its size band sets its funding shares and the actions open to it)."""

from __future__ import annotations

from flask import g, url_for
from flask_login import current_user
from wtforms import StringField

from marketplace.blueprints.company.routes import bp
from marketplace.formatting import number_fr, paris_today
from marketplace.services import company_profile
from marketplace.services.roles import Perm
from marketplace.web.actions import render, submit
from marketplace.web.forms import Form
from marketplace.web.guard import require


class HeadcountForm(Form):
    # Both read by the service, which refuses 0, absurd numbers and a year other than N-1 (or N-2) on them.
    headcount = StringField(
        "Effectif moyen annuel",
        description="Nombre moyen de salariés sur l'année, par exemple 1 200.",
    )
    headcount_year = StringField(
        "Année de cet effectif",
        description="L'effectif moyen annuel de l'année précédente (année N-1).",
    )


@bp.route("/effectif", methods=["GET", "POST"])
@require(Perm.MANAGE_MEMBERS)  # the administrator's permission: the headcount sets the funding shares
def headcount():
    company = g.org
    form = HeadcountForm(data={"headcount": company.headcount, "headcount_year": company.headcount_year})
    today = paris_today()
    return submit(
        form,
        lambda: company_profile.update_headcount(
            company, form.headcount.data or "", form.headcount_year.data, current_user, today
        ),
        page=lambda: render("company/headcount.html", form=form, last_year=today.year - 1),
        done=url_for("company.dashboard"),
        message=lambda saved: (
            f"Effectif enregistré : {number_fr(saved.headcount)} salarié{'s' if saved.headcount > 1 else ''} "
            f"en moyenne en {saved.headcount_year}."
        ),
    )
