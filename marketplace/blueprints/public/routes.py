"""Public pages: home and accessibility statement."""

from flask import Blueprint, redirect
from flask_login import current_user

from marketplace.services import public_pages
from marketplace.web.actions import render
from marketplace.web.guard import public
from marketplace.web.navigation import home_url_for

bp = Blueprint("public", __name__)


@bp.get("/")
@public
def home():
    if current_user.is_authenticated:
        return redirect(home_url_for(current_user))
    return render("public/home.html", opcos=public_pages.home_opcos())


@bp.get("/accessibilite")
@public
def accessibility():
    return render("public/accessibility.html")


@bp.get("/donnees-personnelles")
@public
def privacy():
    return render("public/privacy.html")


from marketplace.blueprints.public import attendance, catalogue, convocations, payments, survey, trainee  # noqa: E402, F401
