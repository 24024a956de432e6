"""Sign-in, sign-up of a company or a training organisation, password reset, invitations, account."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_user, logout_user

from marketplace.blueprints.auth import forms
from marketplace.extensions import db, limiter
from marketplace.services import accounts, audit, identifiers, organisations
from marketplace.services.errors import DomainError
from marketplace.web.forms import attach_error, region_choices
from marketplace.web.guard import login_required, public
from marketplace.web.navigation import dashboard_url, home_url_for, safe_next

bp = Blueprint("auth", __name__)


@bp.route("/connexion", methods=["GET", "POST"])
@limiter.limit("20 per minute", methods=["POST"])
@public
def login():
    if current_user.is_authenticated:
        return redirect(home_url_for(current_user))
    form = forms.LoginForm()
    status = 200
    if form.validate_on_submit():
        try:
            user = accounts.authenticate(form.email.data, form.password.data)
        except DomainError as error:
            db.session.commit()  # keep the failed attempt: it feeds the throttle and the audit trail
            flash(error.message, "error")
            status = 401
        else:
            db.session.commit()
            login_user(user)
            return redirect(safe_next(request.args.get("next")) or home_url_for(user))
    elif request.method == "POST":
        status = 400
    return render_template("auth/login.html", form=form), status


@bp.post("/deconnexion")
@login_required
def logout():
    for membership in current_user.memberships:
        audit.record("auth.logout", organisation_id=membership.organisation_id, actor=current_user)
    db.session.commit()
    logout_user()
    flash("Vous êtes déconnecté.", "success")
    return redirect(url_for("auth.login"))


@bp.get("/inscription")
@public
def signup():
    return render_template("auth/signup_choice.html")


def _signup_form(form_class):
    """Ask the person's own fields only when nobody is signed in."""
    if current_user.is_authenticated:
        form = form_class()
    else:
        form = type(form_class.__name__, (form_class, forms.NewAccountFields), {})()
    form.region_code.choices = region_choices()
    return form


def _signup_user(form):
    if current_user.is_authenticated:
        return current_user
    return accounts.create_user(form.email.data, form.full_name.data, form.password.data)


def _finish_signup(user, org):
    audit.record("auth.signup", organisation_id=org.id, actor=user, obj=org, data={"email": user.email})
    db.session.commit()
    login_user(user)
    flash(f"Bienvenue ! Le compte de {org.name} est créé et vous en êtes l'administrateur.", "success")
    return redirect(dashboard_url(org))


@bp.route("/inscription/entreprise", methods=["GET", "POST"])
@public
def signup_company():
    form = _signup_form(forms.CompanySignupForm)
    if form.validate_on_submit():
        data = organisations.CompanyInput(
            name=form.name.data, siret=form.siret.data, ape_code=form.ape.data, idcc=form.idcc.data,
            headcount=form.headcount.data, region_code=form.region_code.data, address=form.address.data,
            postal_code=form.postal_code.data, city=form.city.data,
        )
        try:
            user = _signup_user(form)
            company = organisations.create_company(data, user)
        except DomainError as error:
            db.session.rollback()
            attach_error(form, error)
        else:
            return _finish_signup(user, company)
    status = 400 if request.method == "POST" else 200
    return render_template("auth/signup_company.html", form=form), status


@bp.get("/inscription/verifier")
@public
def check_company():
    """Live check while typing: is the SIRET valid, which OPCO does the IDCC lead to (htmx fragment)."""
    siret_raw = request.args.get("siret", "").strip()
    idcc_raw = request.args.get("idcc", "").strip()
    siret_result = idcc_result = None
    if siret_raw:
        try:
            siret = identifiers.validate_siret(siret_raw)
            siret_result = ("ok", f"SIRET valide : {identifiers.format_siret(siret)} (SIREN {siret[:9]}).")
        except DomainError as error:
            siret_result = ("error", error.message)
    if idcc_raw:
        try:
            attachment = organisations.attachment_for_idcc(idcc_raw)
            idcc_result = ("ok" if attachment.opco else "warning", attachment.message)
        except DomainError as error:
            idcc_result = ("error", error.message)
    return render_template("auth/_verification.html", siret_result=siret_result, idcc_result=idcc_result)


@bp.route("/inscription/organisme", methods=["GET", "POST"])
@public
def signup_provider():
    form = _signup_form(forms.ProviderSignupForm)
    if form.validate_on_submit():
        data = organisations.ProviderInput(
            name=form.name.data, siret=form.siret.data, nda=form.nda.data, vat_regime=form.vat_regime.data,
            region_code=form.region_code.data, address=form.address.data, postal_code=form.postal_code.data,
            city=form.city.data, qualiopi_certifier=form.qualiopi_certifier.data,
            qualiopi_number=form.qualiopi_number.data, qualiopi_categories=form.qualiopi_categories.data,
            qualiopi_issued_on=form.qualiopi_issued_on.data, qualiopi_expires_on=form.qualiopi_expires_on.data,
        )
        try:
            user = _signup_user(form)
            provider = organisations.create_provider(data, user, today=date.today())
        except DomainError as error:
            db.session.rollback()
            attach_error(form, error)
        else:
            return _finish_signup(user, provider)
    status = 400 if request.method == "POST" else 200
    return render_template("auth/signup_provider.html", form=form), status


@bp.route("/mot-de-passe-oublie", methods=["GET", "POST"])
@limiter.limit("10 per hour", methods=["POST"])
@public
def forgot_password():
    form = forms.ForgotPasswordForm()
    if form.validate_on_submit():
        accounts.request_password_reset(form.email.data)
        db.session.commit()
        flash(
            "Si un compte existe pour cette adresse, un e-mail avec un lien de réinitialisation vient d'être "
            "envoyé. Le lien est valable une heure.",
            "success",
        )
        return redirect(url_for("auth.login"))
    status = 400 if request.method == "POST" else 200
    return render_template("auth/forgot_password.html", form=form), status


@bp.route("/reinitialiser/<token>", methods=["GET", "POST"])
@public
def reset_password(token: str):
    try:
        accounts.user_for_reset_token(token)
    except DomainError as error:
        flash(error.message, "error")
        return redirect(url_for("auth.forgot_password"))
    form = forms.ResetPasswordForm()
    if form.validate_on_submit():
        try:
            accounts.reset_password(token, form.password.data)
        except DomainError as error:
            db.session.rollback()
            attach_error(form, error)
        else:
            db.session.commit()
            flash("Votre mot de passe a été modifié. Vous pouvez vous connecter.", "success")
            return redirect(url_for("auth.login"))
    status = 400 if request.method == "POST" else 200
    return render_template("auth/reset_password.html", form=form), status


@bp.route("/invitation/<token>", methods=["GET", "POST"])
@public
def accept_invitation(token: str):
    try:
        invitation = accounts.invitation_for_token(token)
    except DomainError as error:
        return render_template("auth/invitation_invalid.html", message=error.message), 410
    form = forms.InvitationAcceptForm()
    existing = accounts.user_exists(invitation.email)
    if form.validate_on_submit():
        if existing and not current_user.is_authenticated:
            flash("Un compte existe déjà pour cette adresse : connectez-vous pour accepter l'invitation.", "info")
            return redirect(url_for("auth.login", next=request.path))
        try:
            membership = accounts.accept_invitation(
                token,
                current_user if current_user.is_authenticated else None,
                full_name=form.full_name.data or "",
                password=form.password.data or "",
            )
        except DomainError as error:
            db.session.rollback()
            attach_error(form, error)
        else:
            db.session.commit()
            login_user(membership.user)
            flash(f"Vous avez rejoint {membership.organisation.name}.", "success")
            return redirect(dashboard_url(membership.organisation))
    status = 400 if request.method == "POST" else 200
    return render_template("auth/invitation.html", form=form, invitation=invitation, existing=existing), status


@bp.route("/compte", methods=["GET", "POST"])
@login_required
def account():
    profile = forms.AccountForm(prefix="profile", obj=current_user)
    password = forms.ChangePasswordForm(prefix="password")
    if request.method == "POST" and request.form.get("action") == "profile" and profile.validate():
        try:
            accounts.update_profile(current_user, profile.full_name.data)
        except DomainError as error:
            db.session.rollback()
            attach_error(profile, error)
        else:
            db.session.commit()
            flash("Vos informations ont été enregistrées.", "success")
            return redirect(url_for("auth.account"))
    if request.method == "POST" and request.form.get("action") == "password" and password.validate():
        try:
            accounts.change_password(current_user, password.current_password.data, password.new_password.data)
        except DomainError as error:
            db.session.rollback()
            attach_error(password, error)
        else:
            db.session.commit()
            login_user(current_user._get_current_object())  # the session id embeds the hash: refresh it
            flash("Votre mot de passe a été modifié.", "success")
            return redirect(url_for("auth.account"))
    status = 400 if request.method == "POST" else 200
    return render_template("auth/account.html", profile=profile, password=password), status


@bp.get("/espaces")
@login_required
def switch():
    memberships = sorted(current_user.memberships, key=lambda m: m.organisation.name.lower())
    return render_template("auth/switch.html", memberships=memberships)
