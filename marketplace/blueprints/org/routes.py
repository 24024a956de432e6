"""Pages every organisation has, whatever its kind: members, invitations, activity log, profile."""

from __future__ import annotations

from flask import flash, g, request, url_for
from flask_login import current_user

from marketplace.blueprints.org.forms import AuditFilterForm, InviteForm, RoleForm
from marketplace.formatting import of_name, paris_today
from marketplace.models import Invitation, Membership, utcnow
from marketplace.services import accounts, audit, org_pages
from marketplace.services.errors import DomainError
from marketplace.services.roles import Perm, roles_for
from marketplace.web.actions import perform, render, submit, wants_fragment
from marketplace.web.guard import get_owned, require, tenant_blueprint
from marketplace.web.params import date_arg, int_arg, page_arg

bp = tenant_blueprint("org", __name__, "/org")

MEMBERS = "org/members.html"
INVITATIONS = "org/_invitations.html"


def _blank_invite_form() -> InviteForm:
    """An empty invitation form (also right after a POST), with the first non-administrator role chosen."""
    form = InviteForm(formdata=None)
    form.role.choices = org_pages.role_choices(g.org.kind)
    form.role.data = org_pages.default_invitation_role(g.org.kind)
    return form


def _members_page(invite_form: InviteForm | None = None, **extra):
    """The members page, or only its invitations block when htmx asks (the inline form swaps it in place)."""
    data = org_pages.members_page(g.org, utcnow())
    return render(
        MEMBERS, fragment=INVITATIONS, invite_form=invite_form or _blank_invite_form(), **vars(data), **extra
    )


def _members_again(error: DomainError):
    """A refused button on the members page: the page again (422), the message at the top."""
    return render(MEMBERS, **vars(org_pages.members_page(g.org, utcnow())), invite_form=_blank_invite_form())


@bp.get("/membres")
@require(Perm.MANAGE_MEMBERS)
def members():
    return render(MEMBERS, invite_form=_blank_invite_form(), **vars(org_pages.members_page(g.org, utcnow())))


@bp.post("/membres/inviter")
@require(Perm.MANAGE_MEMBERS)
def invite():
    """Inline invitation: with htmx the invitations block is swapped in place, else back to the members page."""
    form = InviteForm()
    form.role.choices = org_pages.role_choices(g.org.kind)

    def done(invitation: Invitation):
        message = f"Invitation envoyée à {invitation.email}."
        if wants_fragment():
            return _members_page(notice=message)
        flash(message, "success")
        return url_for("org.members")

    return submit(
        form,
        lambda: accounts.invite(g.org, form.email.data or "", form.role.data or "", current_user),
        page=lambda: _members_page(invite_form=form),
        done=done,
    )


@bp.post("/invitations/<int:invitation_id>/annuler")
@require(Perm.MANAGE_MEMBERS)
def revoke_invitation(invitation_id: int):
    invitation = get_owned(Invitation, invitation_id)
    email = invitation.email
    return perform(
        lambda: accounts.revoke_invitation(invitation, current_user),
        done=url_for("org.members"),
        message=f"L'invitation {of_name(email)} est annulée.",
        failed=_members_again,
    )


@bp.post("/membres/<int:membership_id>/role")
@require(Perm.MANAGE_MEMBERS)
def change_role(membership_id: int):
    membership = get_owned(Membership, membership_id)
    form = RoleForm()
    form.role.choices = org_pages.role_choices(g.org.kind)

    def action():
        if not form.validate():
            raise DomainError("Choisissez un rôle dans la liste.")
        accounts.change_role(membership, form.role.data, current_user)

    def message(_):
        label = roles_for(g.org.kind)[membership.role].label
        return f"{membership.user.full_name} a désormais le rôle « {label} »."

    return perform(action, done=url_for("org.members"), message=message, failed=_members_again)


@bp.post("/membres/<int:membership_id>/retirer")
@require(Perm.MANAGE_MEMBERS)
def remove_member(membership_id: int):
    membership = get_owned(Membership, membership_id)
    name = membership.user.full_name
    leaving = membership.user_id == current_user.id
    return perform(
        lambda: accounts.remove_member(membership, current_user),
        # Someone who removed themselves no longer sees this organisation: to the switcher.
        done=url_for("auth.switch") if leaving else url_for("org.members"),
        message=f"{name} n'a plus accès à {g.org.name}.",
        failed=_members_again,
    )


@bp.get("/journal")
@require(Perm.VIEW_AUDIT)
def audit_log():
    """The log, filtered; malformed or out-of-range filters are ignored (the page shows everything)."""
    form = AuditFilterForm(request.args)
    form.action.choices = [("", "Toutes les actions")] + audit.action_choices(g.org.kind)
    form.actor.choices = [("", "Toutes les personnes")] + org_pages.log_people(g.org)
    action = request.args.get("action", "")
    filters = {
        "action": action if action in dict(form.action.choices) and action else None,
        "actor_id": int_arg("actor"),
        "date_from": date_arg("date_from"),
        "date_to": date_arg("date_to"),
    }
    form.action.data = filters["action"] or ""
    form.actor.data = str(filters["actor_id"]) if filters["actor_id"] else ""
    form.date_from.data, form.date_to.data = filters["date_from"], filters["date_to"]
    for field in (form.action, form.actor, form.date_from, form.date_to):
        field.raw_data = None  # show the filters as applied, not what was typed
    result = audit.organisation_log(g.org.id, page=page_arg(), **filters)
    # The pagination links keep the filters that were applied.
    args = {
        name: str(value)
        for name, value in (
            ("action", filters["action"]),
            ("actor", filters["actor_id"]),
            ("date_from", filters["date_from"]),
            ("date_to", filters["date_to"]),
        )
        if value
    }
    return render(
        "org/audit.html",
        fragment="org/_audit_rows.html",
        form=form,
        events=result.items,
        total=result.total,
        page=result.page,
        pages=result.pages,
        args=args,
    )


@bp.get("/profil")
@require(Perm.VIEW_DASHBOARD)
def profile():
    return render("org/profile.html", org=g.org, today=paris_today())


from marketplace.blueprints.org import exports  # noqa: E402, F401
