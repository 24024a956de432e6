"""Isolation samples for enrolment routes: a session and an enrolment each tenant may reach."""

from marketplace.models import Opco


def add_samples(make, tenant) -> dict[str, int]:
    if tenant.kind == "company":
        company = tenant.org
        opco = make.opco(company.opco.code)
        session = make.session(make.action(opco), capacity_max=5)
        enrolment = make.enrolment(session, company, actor=tenant.admin)
        return {"session_id": session.id, "enrolment_id": enrolment.id}
    if tenant.kind == "opco":
        opco: Opco = tenant.org
        session = make.session(make.action(opco, requires_approval=True))
        company = make.company(opco_code=opco.code)
        enrolment = make.enrolment(session, company)
        return {"enrolment_id": enrolment.id}
    return {}
