"""Sign-in, sign-up of a company or a training organisation, email confirmation, password reset, invitations,
account."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, request, url_for
from flask_login import current_user, login_user

from marketplace.blueprints.auth import forms
from marketplace.extensions import limiter
from marketplace.formatting import of_name, paris_today
from marketplace.services import accounts, authentication, organisations, reference_data
from marketplace.web.actions import perform, render, see_other, submit, with_status
from marketplace.web.forms import region_choices
from marketplace.web.guard import end_session, login_required, public, start_session
from marketplace.web.navigation import dashboard_url, home_url_for, safe_next

bp = Blueprint("auth", __name__)

UNAUTHORIZED = 401
GONE = 410


def _me():
    """The signed-in user as a plain object (services must not get the request-bound proxy)."""
    return current_user._get_current_object() if current_user.is_authenticated else None


# --- Sign-in and sign-out ------------------------------------------------------------------------------


@bp.route("/connexion", methods=["GET", "POST"])
@limiter.limit("20 per minute", methods=["POST"])
@public
def login():
    if current_user.is_authenticated:
        return redirect(home_url_for(current_user))
    form = forms.LoginForm()

    def page():
        return render("auth/login.html", form=form)

    def signed_in(outcome: authentication.SignIn):
        if outcome.user is None:
            # A refusal is still committed: the attempt feeds the throttle and the audit trail.
            flash(outcome.refusal, "error")
            return with_status(page(), UNAUTHORIZED)
        start_session(outcome.user)
        return safe_next(request.args.get("next")) or home_url_for(outcome.user)

    return submit(
        form, lambda: authentication.sign_in(form.email.data, form.password.data), page=page, done=signed_in
    )


@bp.post("/deconnexion")
@login_required
def logout():
    def signed_out(_result):
        end_session()
        return see_other(url_for("auth.login"))

    user = _me()
    return perform(lambda: authentication.sign_out(user), done=signed_out, message="Vous êtes déconnecté.")


# --- Sign-up -------------------------------------------------------------------------------------------


@bp.get("/inscription")
@public
def signup():
    return render("auth/signup_choice.html")


def _signup_form(form_class):
    """Ask the person's own fields only when nobody is signed in."""
    if current_user.is_authenticated:
        form = form_class()
    else:
        form = type(form_class.__name__, (form_class, forms.NewAccountFields), {})()
    form.region_code.choices = region_choices()
    return form


def _signup(form, template: str, create):
    """Both sign-ups: the same answer whether or not the address already has an account."""
    signed_in = _me()

    def action():
        account = None
        if signed_in is None:
            account = authentication.NewAccount(form.email.data, form.full_name.data, form.password.data)
        return authentication.sign_up(account, signed_in, create)

    def message(result: authentication.SignUp) -> str:
        if signed_in is not None:
            return f"Bienvenue ! Le compte {of_name(result.organisation.name)} est créé et vous en êtes l'administrateur."
        return (
            f"Un courriel de confirmation a été envoyé à {result.email}. "
            "Ouvrez le lien qu'il contient pour activer votre compte."
        )

    def done(result: authentication.SignUp) -> str:
        if signed_in is not None:
            return dashboard_url(result.organisation)
        return url_for("auth.confirmation_sent")

    return submit(form, action, page=lambda: render(template, form=form), done=done, message=message)


@bp.route("/inscription/entreprise", methods=["GET", "POST"])
@limiter.limit("10 per hour", methods=["POST"])
@public
def signup_company():
    form = _signup_form(forms.CompanySignupForm)
    form.declared_opco.choices = [("", "— Déduit de l'IDCC —")] + reference_data.opco_choices()

    def create(user):
        data = organisations.CompanyInput(
            name=form.name.data,
            siret=form.siret.data,
            ape_code=form.ape.data,
            idcc=form.idcc.data,
            headcount=form.headcount.data,
            headcount_year=form.headcount_year.data or "",
            region_code=form.region_code.data,
            address=form.address.data,
            postal_code=form.postal_code.data,
            city=form.city.data,
            declared_opco=form.declared_opco.data or "",
        )
        return organisations.create_company(data, user)

    return _signup(form, "auth/signup_company.html", create)


@bp.get("/inscription/verifier")
@public
def check_company():
    """Live check while typing: is the SIRET valid, which OPCO does the IDCC lead to (htmx fragment)."""
    check = authentication.signup_check(request.args.get("siret", ""), request.args.get("idcc", ""))
    return render("auth/_verification.html", siret_result=check.siret, idcc_result=check.idcc)


@bp.route("/inscription/organisme", methods=["GET", "POST"])
@limiter.limit("10 per hour", methods=["POST"])
@public
def signup_provider():
    form = _signup_form(forms.ProviderSignupForm)

    def create(user):
        data = organisations.ProviderInput(
            name=form.name.data,
            siret=form.siret.data,
            nda=form.nda.data,
            vat_regime=form.vat_regime.data,
            region_code=form.region_code.data,
            address=form.address.data,
            postal_code=form.postal_code.data,
            city=form.city.data,
            qualiopi_certifier=form.qualiopi_certifier.data,
            qualiopi_number=form.qualiopi_number.data,
            qualiopi_categories=form.qualiopi_categories.data,
            qualiopi_issued_on=form.qualiopi_issued_on.data,
            qualiopi_expires_on=form.qualiopi_expires_on.data,
        )
        return organisations.create_provider(data, user, today=paris_today())

    return _signup(form, "auth/signup_provider.html", create)


# --- Email confirmation --------------------------------------------------------------------------------


@bp.get("/inscription/confirmation")
@public
def confirmation_sent():
    return render("auth/confirmation_sent.html")


@bp.get("/confirmation")
@login_required
def confirmation():
    """The page an unconfirmed person sees (also in place of every organisation page until confirmed)."""
    if current_user.email_confirmed:
        return redirect(home_url_for(current_user))
    return render("auth/confirm_email.html", user=current_user)


@bp.post("/confirmation/renvoyer")
@limiter.limit("5 per hour")
@login_required
def resend_confirmation():
    user = _me()
    return perform(
        lambda: authentication.send_confirmation(user),
        done=url_for("auth.confirmation"),
        message=f"Un nouveau courriel de confirmation a été envoyé à {user.email}.",
    )


@bp.route("/confirmer/<token>", methods=["GET", "POST"])
@limiter.limit("20 per hour", methods=["POST"])
@public
def confirm_email(token: str):
    """The emailed link opens a page with a button: a mail scanner fetching the link confirms nothing."""
    problem = authentication.confirmation_problem(token)
    if problem:
        flash(problem, "error")
        target = home_url_for(current_user) if current_user.is_authenticated else url_for("auth.login")
        return redirect(target, code=303 if request.method == "POST" else 302)
    form = forms.ConfirmEmailForm()

    def confirmed(user):
        start_session(user)
        return home_url_for(user)

    return submit(
        form,
        lambda: authentication.confirm_email(token),
        page=lambda: render("auth/confirm_link.html", form=form),
        done=confirmed,
        message="Merci : votre adresse électronique est confirmée.",
    )


# --- Password reset ------------------------------------------------------------------------------------


@bp.route("/mot-de-passe-oublie", methods=["GET", "POST"])
@limiter.limit("10 per hour", methods=["POST"])
@public
def forgot_password():
    form = forms.ForgotPasswordForm()
    return submit(
        form,
        lambda: accounts.request_password_reset(form.email.data),
        page=lambda: render("auth/forgot_password.html", form=form),
        done=url_for("auth.login"),
        message=(
            "Si un compte existe pour cette adresse, un e-mail avec un lien de réinitialisation vient d'être "
            "envoyé. Le lien est valable une heure."
        ),
    )


@bp.route("/reinitialiser/<token>", methods=["GET", "POST"])
@public
def reset_password(token: str):
    problem = accounts.reset_link_problem(token)
    if problem:
        flash(problem, "error")
        return redirect(url_for("auth.forgot_password"), code=303 if request.method == "POST" else 302)
    form = forms.ResetPasswordForm()
    return submit(
        form,
        lambda: accounts.reset_password(token, form.password.data),
        page=lambda: render("auth/reset_password.html", form=form),
        done=url_for("auth.login"),
        message="Votre mot de passe a été modifié. Vous pouvez vous connecter.",
    )


# --- Invitations ---------------------------------------------------------------------------------------


@bp.route("/invitation/<token>", methods=["GET", "POST"])
@public
def accept_invitation(token: str):
    invitation, problem = authentication.invitation_or_problem(token)
    if invitation is None:
        return render("auth/invitation_invalid.html", message=problem, status=GONE)
    form = forms.InvitationAcceptForm()
    existing = accounts.user_exists(invitation.email)
    if form.is_submitted() and existing and not current_user.is_authenticated:
        flash("Un compte existe déjà pour cette adresse : connectez-vous pour accepter l'invitation.", "info")
        return see_other(url_for("auth.login", next=request.path))
    user = _me()

    def joined(membership):
        start_session(membership.user)
        return dashboard_url(membership.organisation)

    return submit(
        form,
        lambda: authentication.join_by_invitation(
            token, user, full_name=form.full_name.data or "", password=form.password.data or ""
        ),
        page=lambda: render("auth/invitation.html", form=form, invitation=invitation, existing=existing),
        done=joined,
        message=lambda membership: f"Vous avez rejoint {membership.organisation.name}.",
    )


# --- Account -------------------------------------------------------------------------------------------


@bp.route("/compte", methods=["GET", "POST"])
@login_required
def account():
    profile = forms.AccountForm(prefix="profile", obj=current_user)
    password = forms.ChangePasswordForm(prefix="password")
    user = _me()

    def page():
        return render("auth/account.html", profile=profile, password=password)

    def renewed(_result):
        login_user(user)  # this browser's cookie carries the new session version; the others' do not
        return url_for("auth.account")

    action = request.form.get("action") if request.method == "POST" else None
    if action == "profile":
        return submit(
            profile,
            lambda: accounts.update_profile(user, profile.full_name.data),
            page=page,
            done=url_for("auth.account"),
            message="Vos informations ont été enregistrées.",
        )
    if action == "password":
        return submit(
            password,
            lambda: accounts.change_password(
                user, password.current_password.data, password.new_password.data
            ),
            page=page,
            done=renewed,
            message="Votre mot de passe a été modifié.",
        )
    return page()


@bp.get("/espaces")
@login_required
def switch():
    return render("auth/switch.html", memberships=authentication.memberships_by_name(_me()))
