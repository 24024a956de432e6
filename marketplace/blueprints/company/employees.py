"""The company's register of employees: list with live search, add, edit, erase, CSV import."""

from __future__ import annotations

from flask import Response, abort, flash, g, redirect, render_template, request, url_for
from flask_login import current_user

from marketplace.blueprints.company.employee_forms import EmployeeForm, ImportForm
from marketplace.blueprints.company.routes import bp
from marketplace.extensions import db
from marketplace.models import ContractType, Employee, EmployeeCategory
from marketplace.services import employees as register
from marketplace.services.employees import EmployeeInput
from marketplace.services.errors import DomainError
from marketplace.services.roles import Perm
from marketplace.web.forms import attach_error
from marketplace.web.guard import get_owned, require

LABELS = {
    "contract_types": ContractType.LABELS,
    "categories": EmployeeCategory.LABELS,
    "contract_labels": list(ContractType.LABELS.values()),
    "category_labels": list(EmployeeCategory.LABELS.values()),
}


def _employee(employee_id: int) -> Employee:
    """An employee of the current company still in the register (erased ones have nothing left to edit)."""
    employee = get_owned(Employee, employee_id, column="company_id")
    if employee.erased_at is not None:
        abort(404)
    return employee


def _input(form: EmployeeForm) -> EmployeeInput:
    return EmployeeInput(
        last_name=form.last_name.data or "",
        first_name=form.first_name.data or "",
        email=form.email.data or "",
        job_title=form.job_title.data or "",
        contract_type=form.contract_type.data or "",
        category=form.category.data or "",
    )


@bp.get("/salaries")
@require(Perm.MANAGE_EMPLOYEES)
def employees():
    q = (request.args.get("q") or "").strip()
    include_erased = request.args.get("supprimes") == "1"
    page = request.args.get("page", 1, type=int) or 1
    result = register.list_employees(g.org, q=q or None, include_erased=include_erased, page=page)
    args = {k: v for k, v in {"q": q, "supprimes": "1" if include_erased else ""}.items() if v}
    g.vary_hx = True
    # A history restore asks for the whole page even though it comes from htmx.
    fragment = request.headers.get("HX-Request") and not request.headers.get("HX-History-Restore-Request")
    template = "company/employees/_rows.html" if fragment else "company/employees/index.html"
    return render_template(template, result=result, q=q, include_erased=include_erased, args=args, **LABELS)


@bp.route("/salaries/nouveau", methods=["GET", "POST"])
@require(Perm.MANAGE_EMPLOYEES)
def employee_new():
    form = EmployeeForm()
    status = 200
    if form.validate_on_submit():
        try:
            employee = register.create_employee(g.org, _input(form), current_user)
        except DomainError as error:
            db.session.rollback()
            attach_error(form, error)
        else:
            db.session.commit()
            flash(f"La fiche de {employee.full_name} est ajoutée au registre.", "success")
            return redirect(url_for("company.employees")), 303
    if form.is_submitted():
        status = 422
    return render_template("company/employees/form.html", form=form, employee=None, title="Ajouter un salarié"), status


@bp.route("/salaries/<int:employee_id>/modifier", methods=["GET", "POST"])
@require(Perm.MANAGE_EMPLOYEES)
def employee_edit(employee_id: int):
    employee = _employee(employee_id)
    form = EmployeeForm(obj=employee)
    status = 200
    if form.validate_on_submit():
        try:
            register.update_employee(employee, _input(form), current_user)
        except DomainError as error:
            db.session.rollback()
            attach_error(form, error)
        else:
            db.session.commit()
            flash(f"La fiche de {employee.full_name} est enregistrée.", "success")
            return redirect(url_for("company.employees")), 303
    if form.is_submitted():
        status = 422
    title = f"Modifier la fiche de {employee.full_name}"
    return render_template("company/employees/form.html", form=form, employee=employee, title=title), status


@bp.route("/salaries/<int:employee_id>/supprimer", methods=["GET", "POST"])
@require(Perm.MANAGE_EMPLOYEES)
def employee_erase(employee_id: int):
    """GET: what erasing means, and whether it is possible now; POST: erase."""
    employee = _employee(employee_id)
    if request.method == "POST":
        name = employee.full_name
        try:
            register.erase_employee(employee, current_user)
        except DomainError as error:
            db.session.rollback()
            flash(error.message, "error")
            return redirect(url_for("company.employee_erase", employee_id=employee_id)), 303
        db.session.commit()
        flash(f"Les données personnelles de {name} sont effacées du registre.", "success")
        return redirect(url_for("company.employees")), 303
    active = register.active_enrolment_count(employee)
    return render_template("company/employees/erase.html", employee=employee, active=active, **LABELS)


@bp.route("/salaries/importer", methods=["GET", "POST"])
@require(Perm.MANAGE_EMPLOYEES)
def employees_import():
    form = ImportForm()
    if not form.validate_on_submit():
        status = 422 if form.is_submitted() else 200
        return render_template("company/employees/import.html", form=form, report=None, **LABELS), status
    # Read one byte more than allowed, so the service can refuse an oversized file without loading it all.
    content = form.file.data.read(register.IMPORT_MAX_BYTES + 1)
    try:
        report = register.import_employees(g.org, content, current_user)
    except DomainError as error:
        db.session.rollback()
        form.file.errors = [error.message]
        return render_template("company/employees/import.html", form=form, report=None, **LABELS), 422
    db.session.commit()
    return render_template(
        "company/employees/import.html", form=ImportForm(formdata=None), report=report,
        filename=form.file.data.filename, **LABELS,
    )


@bp.get("/salaries/modele-salaries.csv")
@require(Perm.MANAGE_EMPLOYEES)
def employees_template():
    return Response(
        register.template_csv(),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="{register.TEMPLATE_FILENAME}"',
            "Content-Type": "text/csv; charset=utf-8",
        },
    )
