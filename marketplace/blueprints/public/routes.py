"""Public pages: home and accessibility statement."""

from flask import Blueprint, redirect, render_template
from flask_login import current_user
from sqlalchemy import select

from marketplace.extensions import db
from marketplace.models import Opco
from marketplace.web.guard import public
from marketplace.web.navigation import home_url_for

bp = Blueprint("public", __name__)


@bp.get("/")
@public
def home():
    if current_user.is_authenticated:
        return redirect(home_url_for(current_user))
    opcos = db.session.scalars(select(Opco).order_by(Opco.name)).all()
    return render_template("public/home.html", opcos=opcos)


@bp.get("/accessibilite")
@public
def accessibility():
    return render_template("public/accessibility.html")


@bp.get("/donnees-personnelles")
@public
def privacy():
    return render_template("public/privacy.html")


from marketplace.blueprints.public import catalogue  # noqa: E402, F401
