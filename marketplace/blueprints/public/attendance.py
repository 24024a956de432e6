"""The trainee's signing page (no sign-in): reached by the personal link or the QR code of one half-day."""

from __future__ import annotations

from flask import abort, request, url_for

from marketplace.blueprints.provider.attendance_forms import SignForm
from marketplace.blueprints.public.routes import bp
from marketplace.models import SignMethod
from marketplace.services import attendance, attendance_pages
from marketplace.web.actions import render, submit
from marketplace.web.guard import public

VIA = {"qr": SignMethod.QR, "appareil": SignMethod.OF_DEVICE, "lien": SignMethod.LINK}


@bp.route("/emargement/<token>", methods=["GET", "POST"])
@public
def sign_attendance(token: str):
    data = attendance_pages.signing_page(token)
    if data is None:
        abort(404)
    form = SignForm()
    if not form.is_submitted():
        form.via.data = request.args.get("via", "lien")

    def page():
        return render("public/attendance/sign.html", data=data, form=form, token=token)

    signature = attendance.SignatureInput(
        method=VIA.get(form.via.data or "", SignMethod.LINK),
        signature=form.signature.data,
        certified=bool(form.certify.data),
        typed_name=form.typed_name.data or "",
        ip_address=request.remote_addr,
        user_agent=request.user_agent.string,
    )
    return submit(
        form,
        lambda: attendance.sign(data.row, signature),
        page=page,
        done=url_for("public.sign_attendance", token=token),
        message="Votre présence est enregistrée. Merci !",
    )
