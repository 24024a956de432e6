"""The company's register of employees: list with live search, add, edit, erase, CSV import."""

from __future__ import annotations

from flask import Response, abort, g, request, url_for
from flask_login import current_user

from marketplace.blueprints.company.employee_forms import EmployeeForm, ImportForm
from marketplace.blueprints.company.routes import bp
from marketplace.formatting import of_name
from marketplace.models import ContractType, Employee, EmployeeCategory
from marketplace.services import employee_import, retention
from marketplace.services import employees as register
from marketplace.services.employees import EmployeeInput
from marketplace.services.roles import Perm
from marketplace.services.search import clean_text
from marketplace.web.actions import perform, render, submit
from marketplace.web.guard import get_owned, require
from marketplace.web.params import page_arg

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
    q = clean_text(request.args.get("q"), 200)
    include_erased = request.args.get("supprimes") == "1"
    result = register.list_employees(g.org, q=q or None, include_erased=include_erased, page=page_arg())
    args = {k: v for k, v in {"q": q, "supprimes": "1" if include_erased else ""}.items() if v}
    return render(
        "company/employees/index.html",
        fragment="company/employees/_rows.html",
        result=result,
        q=q,
        include_erased=include_erased,
        args=args,
        **LABELS,
    )


@bp.route("/salaries/nouveau", methods=["GET", "POST"])
@require(Perm.MANAGE_EMPLOYEES)
def employee_new():
    form = EmployeeForm()
    return submit(
        form,
        lambda: register.create_employee(g.org, _input(form), current_user),
        page=lambda: render(
            "company/employees/form.html", form=form, employee=None, title="Ajouter un salarié"
        ),
        done=url_for("company.employees"),
        message=lambda employee: f"La fiche {of_name(employee.full_name)} est ajoutée au registre.",
    )


@bp.route("/salaries/<int:employee_id>/modifier", methods=["GET", "POST"])
@require(Perm.MANAGE_EMPLOYEES)
def employee_edit(employee_id: int):
    employee = _employee(employee_id)
    form = EmployeeForm(obj=employee)
    return submit(
        form,
        lambda: register.update_employee(employee, _input(form), current_user),
        page=lambda: render(
            "company/employees/form.html",
            form=form,
            employee=employee,
            title=f"Modifier la fiche {of_name(employee.full_name)}",
        ),
        done=url_for("company.employees"),
        message=lambda saved: f"La fiche {of_name(saved.full_name)} est enregistrée.",
    )


@bp.route("/salaries/<int:employee_id>/supprimer", methods=["GET", "POST"])
@require(Perm.MANAGE_EMPLOYEES)
def employee_erase(employee_id: int):
    """GET: what erasing means, and whether it is possible now; POST: erase."""
    employee = _employee(employee_id)
    if request.method == "GET":
        active = register.active_enrolment_count(employee)
        return render("company/employees/erase.html", employee=employee, active=active, **LABELS)
    name = employee.full_name
    return perform(
        lambda: retention.erase_employee(employee, current_user),
        done=url_for("company.employees"),
        message=f"Les données personnelles {of_name(name)} sont effacées du registre.",
        failed=url_for("company.employee_erase", employee_id=employee_id),
    )


def _import_page(
    form: ImportForm, report: employee_import.ImportReport | None = None, filename: str | None = None
):
    return render("company/employees/import.html", form=form, report=report, filename=filename, **LABELS)


@bp.route("/salaries/importer", methods=["GET", "POST"])
@require(Perm.MANAGE_EMPLOYEES)
def employees_import():
    """The import's report is the answer to the POST itself (a line-by-line account, not a page to reload)."""
    form = ImportForm()

    def action():
        # One byte more than allowed, so the service can refuse an oversized file without loading it all.
        return employee_import.import_employees(
            g.org, form.file.data.read(employee_import.IMPORT_MAX_BYTES + 1), current_user
        )

    return submit(
        form,
        action,
        page=lambda: _import_page(form),
        done=lambda report: _import_page(ImportForm(formdata=None), report, form.file.data.filename),
    )


@bp.get("/salaries/modele-salaries.csv")
@require(Perm.MANAGE_EMPLOYEES)
def employees_template():
    return Response(
        employee_import.template_csv(),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="{employee_import.TEMPLATE_FILENAME}"',
            "Content-Type": "text/csv; charset=utf-8",
        },
    )
