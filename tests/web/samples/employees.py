"""Employee register: one employee of each company tenant."""


def add_samples(make, tenant) -> dict[str, int]:
    if tenant.kind != "company":
        return {}
    employee = make.employee(tenant.org, last_name="Échantillon", first_name="Isabelle")
    return {"employee_id": employee.id}
