"""Pages every organisation has, whatever its kind: members, invitations, activity log, profile."""

from __future__ import annotations

from math import ceil

from flask import flash, g, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from marketplace.blueprints.org.forms import AuditFilterForm, InviteForm, RoleForm
from marketplace.extensions import db
from marketplace.models import Invitation, Membership, User, utcnow
from marketplace.services import accounts, audit
from marketplace.services.errors import DomainError
from marketplace.services.roles import Perm, is_admin_role, roles_for
from marketplace.web.forms import attach_error
from marketplace.web.guard import get_owned, require, tenant_blueprint

bp = tenant_blueprint("org", __name__, "/org")


def _role_choices():
    return [(code, r.label) for code, r in roles_for(g.org.kind).items()]


def _members_context(invite_form=None):
    memberships = db.session.scalars(
        select(Membership)
        .join(User)
        .where(Membership.organisation_id == g.org.id)
        .order_by(User.full_name)
    ).unique().all()
    invitations = db.session.scalars(
        select(Invitation)
        .where(
            Invitation.organisation_id == g.org.id,
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
        )
        .order_by(Invitation.created_at.desc())
    ).all()
    if invite_form is None:
        invite_form = InviteForm(formdata=None)  # a blank form, even right after a POST
        invite_form.role.choices = _role_choices()
        # Least surprise: invite with the first non-administrator role unless chosen otherwise.
        invite_form.role.data = next((c for c, _ in invite_form.role.choices if c != "admin"), None)
    admins = [m for m in memberships if is_admin_role(g.org.kind, m.role)]
    return {
        "memberships": memberships,
        "last_admin_id": admins[0].id if len(admins) == 1 else None,
        "invitations": invitations,
        "invite_form": invite_form,
        "roles": roles_for(g.org.kind),
        "role_choices": _role_choices(),
        "now": utcnow(),
    }


@bp.get("/membres")
@require(Perm.MANAGE_MEMBERS)
def members():
    return render_template("org/members.html", **_members_context())


@bp.post("/membres/inviter")
@require(Perm.MANAGE_MEMBERS)
def invite():
    """Inline invitation: with htmx the invitations block is swapped in place, else a full redirect."""
    form = InviteForm()
    form.role.choices = _role_choices()
    status = 200
    if form.validate_on_submit():
        try:
            invitation = accounts.invite(g.org, form.email.data, form.role.data, current_user)
        except DomainError as error:
            db.session.rollback()
            attach_error(form, error)
            status = 422
        else:
            db.session.commit()
            message = f"Invitation envoyée à {invitation.email}."
            if not request.headers.get("HX-Request"):
                flash(message, "success")
                return redirect(url_for("org.members"))
            context = _members_context()
            return render_template("org/_invitations.html", notice=message, **context)
    else:
        status = 422
    if request.headers.get("HX-Request"):
        context = _members_context(invite_form=form)
        return render_template("org/_invitations.html", **context), status
    return render_template("org/members.html", **_members_context(invite_form=form)), status


@bp.post("/invitations/<int:invitation_id>/annuler")
@require(Perm.MANAGE_MEMBERS)
def revoke_invitation(invitation_id: int):
    invitation = get_owned(Invitation, invitation_id)
    try:
        accounts.revoke_invitation(invitation, current_user)
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
        flash(f"L'invitation de {invitation.email} est annulée.", "success")
    return redirect(url_for("org.members"))


@bp.post("/membres/<int:membership_id>/role")
@require(Perm.MANAGE_MEMBERS)
def change_role(membership_id: int):
    membership = get_owned(Membership, membership_id)
    form = RoleForm()
    form.role.choices = _role_choices()
    if not form.validate_on_submit():
        flash("Choisissez un rôle dans la liste.", "error")
        return redirect(url_for("org.members")), 303
    try:
        accounts.change_role(membership, form.role.data, current_user)
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
        label = roles_for(g.org.kind)[membership.role].label
        flash(f"{membership.user.full_name} a désormais le rôle « {label} ».", "success")
    return redirect(url_for("org.members")), 303


@bp.post("/membres/<int:membership_id>/retirer")
@require(Perm.MANAGE_MEMBERS)
def remove_member(membership_id: int):
    membership = get_owned(Membership, membership_id)
    name = membership.user.full_name
    leaving = membership.user_id == current_user.id
    try:
        accounts.remove_member(membership, current_user)
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
        return redirect(url_for("org.members")), 303
    db.session.commit()
    flash(f"{name} n'a plus accès à {g.org.name}.", "success")
    if leaving:
        return redirect(url_for("auth.switch")), 303
    return redirect(url_for("org.members")), 303


@bp.get("/journal")
@require(Perm.VIEW_AUDIT)
def audit_log():
    form = AuditFilterForm(request.args)
    form.action.choices = [("", "Toutes les actions")] + sorted(
        audit.ACTION_LABELS.items(), key=lambda item: item[1]
    )
    people = db.session.scalars(
        select(User).join(Membership).where(Membership.organisation_id == g.org.id).order_by(User.full_name)
    ).all()
    form.actor.choices = [("", "Toutes les personnes")] + [(str(u.id), u.full_name) for u in people]
    form.validate()
    page = request.args.get("page", 1, type=int) or 1
    per_page = 25
    actor_id = int(form.actor.data) if (form.actor.data or "").isdigit() else None
    events, total = audit.organisation_log(
        g.org.id,
        action=form.action.data or None,
        actor_id=actor_id,
        date_from=form.date_from.data,
        date_to=form.date_to.data,
        page=page,
        per_page=per_page,
    )
    pages = max(1, ceil(total / per_page))
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    template = "org/_audit_rows.html" if request.headers.get("HX-Request") else "org/audit.html"
    g.vary_hx = True
    return render_template(template, form=form, events=events, total=total, page=page, pages=pages, args=args)


@bp.get("/profil")
@require(Perm.VIEW_DASHBOARD)
def profile():
    return render_template("org/profile.html", org=g.org, today=utcnow().date())
