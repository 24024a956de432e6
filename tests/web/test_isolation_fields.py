"""Isolation of ids carried in form fields and query parameters (the route walker covers URL ids).

The forms of every page an organisation's administrator can open are read (as in tests/web/test_fuzz.py);
each field that carries an object id (``…_id``, ``…_ids``, ``lot_<id>``) must appear in ``FIELD_SAMPLES``,
which names the sample object it carries: a new id field fails this test until it is added. Each such
field is then sent, with the form's own values otherwise, carrying the id of the same kind of object
owned by the other organisation of the same kind: the answer is a refusal (or a page that ignores it), no
table gains or loses a row, and nothing links to the foreign object. Filters (``FILTERS``) given a foreign
id show nothing of the other organisation.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from marketplace.extensions import db
from marketplace.models import (
    CollectiveAction,
    Complaint,
    Enrolment,
    Invoice,
    Referencing,
    TenderLot,
    TenderResponse,
    TrainingSession,
    User,
)
from tests.web.test_fuzz import REFUSED, Fuzz, _data, read_forms, row_counts, targets
from tests.web.test_fuzz import fuzz as fuzz  # noqa: F401 - the fixture (tenants, samples, CSRF-protected app)

# Field name (rows numbered as ``-0-``, ``lot_<id>`` as ``lot_*``) -> the sample key of the object it carries.
FIELD_SAMPLES = {
    "employee_ids": "employee_id",
    "employee_id": "employee_id",
    "referencing_id": "referencing_id",
    "lots-0-action_id": "action_id",
    "action_id": "action_id",  # the action attached to a budget envelope (opco/budgets/detail.html)
    "invoice_ids": "opco_invoice_id",  # bulk validation in the OPCO's control queue (opco/invoices/queue.html)
    "enrolment_id": "enrolment_id",  # the enrolment a company's complaint is about (company/complaints/new.html)
    "provider_id": None,  # training organisations are not owned by an OPCO: any qualified one may be chosen
}
# Where the foreign object must not end up when the request is answered without a refusal.
LINKS = {
    "employee_id": lambda foreign: db.session.scalar(
        select(func.count()).select_from(Enrolment).where(Enrolment.employee_id == foreign)
    ),
    "referencing_id": lambda foreign: db.session.scalar(
        select(func.count()).select_from(TrainingSession).where(TrainingSession.referencing_id == foreign)
    ),
    "action_id": lambda foreign: db.session.scalar(
        select(func.count()).select_from(TenderLot).where(TenderLot.action_id == foreign)
    ),
    "enrolment_id": lambda foreign: db.session.scalar(
        select(func.count()).select_from(Complaint).where(Complaint.enrolment_id == foreign)
    ),
    "opco_invoice_id": lambda foreign: db.session.scalar(
        select(func.count()).select_from(Invoice).where(Invoice.id == foreign, Invoice.status != "issued")
    ),
    "response_id": lambda foreign: db.session.scalar(
        select(func.count())
        .select_from(Referencing)
        .join(TenderResponse, TenderResponse.provider_id == Referencing.provider_id)
        .where(TenderResponse.id == foreign)
    ),
}
# Values that make a creation form valid, so that the id field is what decides (checked with one's own id).
VALID = {
    "company.enrol": {},
    "company.new_complaint": {
        "subject": "Salle trop petite",
        "description": "Douze stagiaires pour dix places.",
    },
    "opco.tender_new": {
        "title": "Appel d'offres témoin",
        "reference": "AO-ISOLATION-1",
        "lots-0-title": "Lot témoin",
        "lots-0-expected_sessions": "2",
        "lots-0-expected_trainees": "20",
        "lots-0-max_price": "1 000",
        "lots-0-duration_hours": "14",
        "lots-0-theme_code": "{theme_code}",
        "criteria-0-label": "Prix",
        "criteria-0-weight": "100",
    },
}
# Id fields of forms the sample pages do not show (the award form needs a finished evaluation):
# (endpoint, kind, field name with {sample} placeholders, sample key of the object it carries).
UNSHOWN_FIELDS = [("opco.tender_award", "opco", "lot_{lot_id}", "response_id")]
# Query filters carrying an id: (endpoint, parameter, sample key, text of the foreign object that must not show).
FILTERS = [
    ("org.audit_log", "actor", "admin_id", "admin_name"),
    ("opco.referencings", "action", "action_id", "action_title"),
    ("company.catalogue", "provider_id", "catalogue_provider_id", "catalogue_title"),
]


def _field_key(name: str) -> str:
    name = re.sub(r"-\d+-", "-0-", name)
    return "lot_*" if re.fullmatch(r"lot_\d+", name) else name


def _carries_id(name: str) -> bool:
    return name.endswith(("_id", "_ids")) or bool(re.fullmatch(r"lot_\d+", name))


def _extra_samples(fz: Fuzz) -> None:
    """Sample ids the walker does not need but forms carry: a provider's referencing, texts to look for."""
    for kind, pair in fz.tenants.items():
        for tenant in pair:
            samples = tenant.samples
            samples["admin_id"] = tenant.admin.id
            samples["admin_name"] = db.session.get(User, tenant.admin.id).full_name
            if kind == "provider":
                samples["referencing_id"] = db.session.get(
                    TrainingSession, samples["session_id"]
                ).referencing_id
            if kind == "opco":
                samples["lot_id"] = db.session.scalar(
                    select(TenderLot.id).where(TenderLot.tender_id == samples["tender_id"]).limit(1)
                )
                action = db.session.get(CollectiveAction, samples["action_id"])
                samples["action_title"], samples["theme_code"] = action.title, action.theme_code
            if kind == "company":
                session = db.session.get(TrainingSession, samples["session_id"])
                samples["catalogue_provider_id"] = session.provider_id
                samples["catalogue_title"] = session.action.title


@pytest.fixture
def world(fuzz) -> tuple[Fuzz, dict[str, str]]:  # noqa: F811 - the fixture imported above
    """The fuzzer's tenants, with the POST forms of every page of the first organisation of each kind
    (``fuzz.forms``: action path -> form) and the kind of organisation that showed each."""
    _extra_samples(fuzz)
    kinds: dict[str, str] = {}
    for target in targets(fuzz, "GET"):
        if target.kind and target.user is not None:
            response = fuzz.visitor(target.user).client.get(target.url)
            if response.status_code == 200 and "html" in response.content_type:
                for form in read_forms(target.url, response.get_data(as_text=True)):
                    fuzz.forms.setdefault(form.action, form)
                    kinds.setdefault(form.action, target.kind)
    return fuzz, kinds


def _try(fz: Fuzz, kind: str, action: str, values: dict, name: str, sample: str, problems: list[str]) -> int:
    """POST the form of ``action`` as the first organisation of ``kind``, ``name`` carrying the id of the
    other organisation's ``sample`` object."""
    own, other = fz.tenants[kind]
    visitor = fz.visitor(own.admin)
    foreign = other.samples.get(sample)
    if foreign is None:
        problems.append(f"POST {action} : pas d'objet {sample!r} pour l'autre organisation ({kind})")
        return 0
    values[name] = [str(foreign)]
    links_before = LINKS[sample](foreign)
    before = row_counts()
    response = visitor.client.post(action, data=_data(values, visitor.token))
    after = row_counts()
    if response.status_code >= 500:
        problems.append(f"POST {action} {name}={foreign} (autre organisation) : {response.status_code}")
    elif response.status_code in REFUSED and before != after:
        changed = {t: (before[t], after[t]) for t in before if before[t] != after[t]}
        problems.append(f"POST {action} {name}={foreign} refusé mais des lignes ont changé : {changed}")
    elif response.status_code not in REFUSED and response.status_code not in (200, 302, 303):
        problems.append(f"POST {action} {name}={foreign} : {response.status_code}")
    if LINKS[sample](foreign) != links_before:
        problems.append(
            f"POST {action} {name}={foreign} : l'objet de l'autre organisation a été lié ({response.status_code})"
        )
    return 1


def test_ids_in_fields_and_filters_stay_inside_their_organisation(world):
    """One test, one world: building the tenants and reading every page is most of its time."""
    fz, kinds = world
    problems: list[str] = []
    tried = 0
    seen = {
        _field_key(n) for form in fz.forms.values() for n in [*form.values, *form.choices] if _carries_id(n)
    }
    if set(FIELD_SAMPLES) - seen:
        problems.append(f"FIELD_SAMPLES : champs qu'aucune page ne montre plus : {set(FIELD_SAMPLES) - seen}")
    for action, form in fz.forms.items():
        kind = kinds.get(action)
        id_fields = sorted({n for n in [*form.values, *form.choices] if _carries_id(n)})
        if not id_fields or not kind:
            continue
        try:
            endpoint, _ = fz.adapter.match(action, method="POST")
        except Exception:  # noqa: BLE001 - a form posting elsewhere than this app's routes
            continue
        values = dict(form.values)
        own_samples = fz.tenants[kind][0].samples
        values.update({k: [v.format(**own_samples)] for k, v in VALID.get(endpoint, {}).items()})
        for name in dict.fromkeys(_field_key(n) for n in id_fields):
            key = name
            if key not in FIELD_SAMPLES:
                problems.append(
                    f"{endpoint} : le champ {name!r} porte un identifiant inconnu de ce test "
                    "(ajoutez-le à FIELD_SAMPLES)"
                )
            elif FIELD_SAMPLES[key] is not None:
                tried += _try(fz, kind, action, dict(values), name, FIELD_SAMPLES[key], problems)
                if (
                    endpoint in VALID
                ):  # the same form with one's own object is accepted: the refusal was the id's
                    own = fz.tenants[kind][0]
                    visitor = fz.visitor(own.admin)
                    own_id = own.samples[FIELD_SAMPLES[key]]
                    links = LINKS[FIELD_SAMPLES[key]](own_id)
                    accepted = dict(values, **{name: [str(own_id)]})
                    response = visitor.client.post(action, data=_data(accepted, visitor.token))
                    if LINKS[FIELD_SAMPLES[key]](own_id) <= links:
                        problems.append(
                            f"POST {action} {name}={own_id} (objet de l'organisation) : "
                            f"{response.status_code}, rien n'a été lié : le formulaire témoin est invalide"
                        )
    for endpoint, kind, pattern, sample in UNSHOWN_FIELDS:
        own = fz.tenants[kind][0]
        arguments = next(fz.app.url_map.iter_rules(endpoint)).arguments
        action = fz.adapter.build(
            endpoint, {p: own.org.slug if p == "org" else own.samples[p] for p in arguments}
        )
        tried += _try(fz, kind, action, {}, pattern.format(**own.samples), sample, problems)
    _check_filters(fz, problems)
    assert not problems, "\n".join(problems)
    assert tried >= 4, f"seulement {tried} champs portant un identifiant essayés"


def _check_filters(fz: Fuzz, problems: list[str]) -> None:
    """A filter given another organisation's id shows nothing of it (and given one's own, shows it)."""
    for endpoint, param, sample, text_key in FILTERS:
        blueprint = endpoint.split(".")[0]
        kind = {"org": "company", "opco": "opco", "company": "company"}[blueprint]
        own, other = fz.tenants[kind]
        url = fz.adapter.build(endpoint, {"org": own.org.slug, param: other.samples[sample]})
        response = fz.visitor(own.admin).client.get(url)
        page = response.get_data(as_text=True)
        if response.status_code >= 500:
            problems.append(f"GET {url} : {response.status_code}")
        elif response.status_code == 200 and other.samples[text_key] in page:
            problems.append(f"GET {url} montre « {other.samples[text_key]} » de l'autre organisation")
        elif response.status_code not in (200, *REFUSED):
            problems.append(f"GET {url} : {response.status_code}")
        # The filter given the own object does show it: the check above can fail.
        own_url = fz.adapter.build(endpoint, {"org": own.org.slug, param: own.samples[sample]})
        own_page = fz.visitor(own.admin).client.get(own_url).get_data(as_text=True)
        if own.samples[text_key] not in own_page:
            problems.append(f"GET {own_url} ne montre pas « {own.samples[text_key]} » (test sans effet)")
