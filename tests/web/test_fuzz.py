"""Fuzzer: no input breaks a request, and a refused request changes nothing.

Every route of ``app.url_map`` is visited with the tenants and sample objects of the route walker
(tests/web/test_isolation.py, tests/web/samples), on an app with CSRF protection on:

- **POST**: as a member allowed to act (with the form's CSRF token), the fields of the route's form are
  found by reading the pages the walker opens (``<form action=…>``), else in ``FIELDS`` below. The form's own
  values are sent once with each field in turn replaced by a huge integer (10**30) and by a text beyond every
  length bound (20 001 characters); typed fields (numbers, dates, choices, hidden ids) also get a negative
  number and a wrong type; then all fields empty, all fields absent, every field twice, every field with a
  NUL byte (400) and one field of 1 MB (413). Never a 5xx; when the answer is a refusal (4xx), the row
  counts of every table (the audit trail and the outbox included) are unchanged.
- **GET**: ids in the URL replaced by huge and negative values (404), and the usual query parameters (page,
  statut, etat, q, du, au, echeance, actor, action, lignes…) with huge, negative, absurd, far-date and long
  values, then each twice. Never a 5xx.

The control characters and the 1 MB body are refused before any view (marketplace/web/inputs.py), so they
are sent to the first route of each blueprint only; sample values are chosen by field kind (choices get an
unknown choice, typed fields a negative number and a wrong type, texts one character beyond the
``maxlength`` the page shows) to keep the run short.

A failure lists each case: method, URL, field and value kind, status, and for a server error the last line
of its traceback.
"""

from __future__ import annotations

import re
import traceback
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urlencode, urlsplit

import pytest
from sqlalchemy import text
from werkzeug.datastructures import MultiDict

from marketplace.extensions import db
from marketplace.models import CollectiveAction
from marketplace.web.guard import LOGIN, OPERATOR, TENANT
from tests.factories import DEFAULT_PASSWORD
from tests.web.test_isolation import BLUEPRINT_KINDS, NON_TENANT_PARAMS, _build_tenant

HUGE = str(10**30)
LONG = "x" * 20_001  # beyond every bound of models/limits.py, under the form memory limit (500 kB)
MEGA = "x" * (1024 * 1024)
NUL = "a\x00b"
REFUSED = {400, 403, 404, 405, 409, 413, 414, 422}
# Tables a refused request may still write to on purpose: a failed sign-in is counted.
MAY_CHANGE_WHEN_REFUSED = {"login_attempts"}

# Fields of POST routes whose form is not found on a page the walker opens (buttons in lists, or pages
# that show them only in some states). Values: a plausible choice; the fuzzer mutates each field.
FIELDS: dict[str, dict[str, str]] = {
    "auth.logout": {},
    # Card payments: Stripe.js posts the card's payment method id (company/card_payments/pay.html), htmx
    # polls the result page, the disconnect button; Stripe posts signed JSON to the webhook (no form).
    "company.start_card_payment": {"payment_method": "pm_fuzz000001"},
    "company.check_card_payment": {},
    "provider.stripe_disconnect": {},
    "public.stripe_webhook": {},
    # Invoices (provider/invoices): buttons shown on a draft invoice / a delivered session not yet invoiced.
    "provider.issue_invoice": {},
    "provider.prepare_invoices": {},
    "provider.credit_invoice": {"reason": "Heures corrigées", "amount": "10"},
    "auth.resend_confirmation": {},  # one button (auth/confirm_email.html): the CSRF token only
    "auth.confirm_email": {},  # one button (auth/confirm_link.html), shown for a valid token only
    # Buttons of the operator's queue (admin/opco_declarations.html), listed only for a company that stated
    # an OPCO the platform has not confirmed yet: the CSRF token only.
    "admin.confirm_company_opco": {},
    "admin.refuse_company_opco": {},
    "org.invite": {"email": "nouvelle.personne@exemple.fr", "role": "admin"},
    "org.change_role": {"role": "admin"},
    "org.revoke_invitation": {},
    "org.remove_member": {},
    "opco.approve": {},
    # « Retirer » button of an action drawing on an envelope (opco/budgets/detail.html): the CSRF token only;
    # the walker's sample action is another one, so the button is not on the page it opens.
    "opco.budget_detach": {},
    "opco.refuse": {"reason": "Le budget de l'action est épuisé."},
    "opco.action_transition": {"event": "publish"},
    "opco.referencing_transition": {"event": "suspend", "reason": "Contrôle qualité en cours."},
    "opco.referencings_transition": {"event": "suspend", "reason": "Contrôle qualité en cours."},
    "opco.tender_admissibility": {"decision": "admissible", "reason": "", "check_signed": "y"},
    "opco.tender_declaration": {"accept": "y"},
    "opco.tender_scores": {"submit_sheet": "0"},
    "opco.tender_award": {"valid_from": "2027-01-01", "valid_until": "2029-12-31"},
    "opco.tender_transition": {"event": "publish", "reason": "Aucune offre recevable."},
    "opco.tender_attachment_add": {},
    "opco.tender_attachment_remove": {},
    "opco.tender_answer": {"answer": "Oui, à distance en classe virtuelle.", "publish": "y"},
    "company.cancel_enrolment": {"reason": "Le salarié a quitté l'entreprise."},
    "company.replace_enrolment": {"employee_id": "1"},
    "company.accept_offer": {},
    "company.decline_offer": {},
    "provider.save_tender_response": {
        "price_per_trainee": "1 150,00",
        "price_per_group": "",
        "duration_hours": "14",
        "programme": "Programme détaillé.",
        "team": "Deux formatrices.",
        "action": "save",
    },
    "provider.submit_tender_response": {},
    "provider.withdraw_tender_response": {},
    "provider.upload_response_document": {"kind": "technical_offer"},
    "provider.remove_response_document": {},
    "provider.session_transition": {"event": "open"},
    "provider.tender_ask": {"question": "Le lot peut-il être réalisé à distance ?"},
    "provider.generate_certificates": {},  # shown only while a delivered session's documents are missing
    "opco.request_correction": {"reason": "Feuille d'émargement du 2e jour non signée."},
    # Invoice control and payment (opco/invoices/*.html, opco/payments/*.html): buttons and forms shown only
    # in some states of the invoice or batch; the organisation's answer only while the OPCO waits for it.
    "opco.take_invoices": {},
    "opco.validate_invoices": {"invoice_ids": "1"},
    "opco.start_invoice_control": {},
    "opco.request_invoice_info": {
        "info_request": "Feuilles d'émargement signées.",
        "info_deadline": "2030-01-15",
    },
    "opco.validate_invoice": {"validated_amount": "100,00", "adjustment_reason": "Une demi-journée non due."},
    "opco.reject_invoice": {"rejection_reason": "Session hors catalogue."},
    "opco.create_payment_batch": {"invoice_ids": "1", "execution_date": ""},
    "opco.download_sepa": {},
    "opco.mark_batch_paid": {},
    "provider.apply_bank_details": {},
    "provider.answer_invoice_request": {"message": "Feuilles déposées sur la plateforme."},
    # Convocations (provider/convocations/_section.html): the button shows only while confirmed trainees wait
    # for theirs, the link form only for a distance session.
    "provider.send_convocations": {},
    "provider.session_connection_url": {"connection_url": "https://visio.exemple.test/salle"},
    "admin.create_opco": {"code": "afdas"},
    "auth.reset_password": {
        "password": "Un mot de passe solide 2026",
        "confirm": "Un mot de passe solide 2026",
    },
    "admin.invite_opco_admin": {"email": "admin.opco@exemple.fr"},
    # Attendance (provider/attendance/*.html): shown once a half-day is opened (the sample one is not yet),
    # or only while a session is in progress; the trainee's page answers 404 for an unknown link.
    "provider.open_half_day": {},
    "provider.close_session": {},
    "provider.declare_abandon": {"enrolment_id": "1", "reason": "A quitté la formation."},
    "provider.mark_attendance": {"marks-0-attendance_id": "1", "marks-0-status": "present"},
    "provider.attest_half_day": {"trainer_name": "Claire Formatrice", "confirm": "y", "signature": ""},
    "provider.amend_attendance": {
        "attendance_id": "1",
        "status": "late",
        "minutes_missed": "30",
        "reason": "Erreur de saisie",
    },
    "provider.upload_attendance_proof": {"kind": "paper_sheet"},
    "public.sign_attendance": {"via": "qr", "certify": "y", "typed_name": "Inès Garcia", "signature": ""},
    # The questionnaire's page and its complaint form (public/survey/survey.html) answer 404 for an unknown link.
    "public.survey": {"objectives": "4", "comment": "Très bien", "anonymous": "y"},
    "public.survey_complaint": {"subject": "Salle trop petite", "description": "Douze pour dix places."},
    "public.trainee_complaint": {"subject": "Certificat", "description": "Mes heures sont fausses."},
}
# A creation form shows empty fields: its valid values are read from the edit page of a sample object.
BASELINE_FROM = {
    "opco.action_new": "opco.action_edit",
    "opco.referencing_new": "opco.referencing_edit",
    "opco.tender_new": "opco.tender_edit",
    "company.employee_new": "company.employee_edit",
    "provider.new_session": "provider.edit_session",
    "opco.tender_edit": "opco.tender_new",  # the sample tender is being evaluated: no builder page
}
# Query parameters the views read (unknown ones are ignored): each request sets all of them at once.
QUERY_PARAMS = [
    "page",
    "statut",
    "etat",
    "q",
    "du",
    "au",
    "date_from",
    "date_to",
    "echeance",
    "actor",
    "action",
    "lignes",
    "lots",
    "criteres",
    "supprimes",
    "sort",
    "theme",
    "region",
    "modality",
    "provider_id",
    "duration_min",
    "duration_max",
    "period",
    "status",
    "next",
    "siret",
    "idcc",
    "confirmer",
    "seats_only",
    "employee_id",
    "session_id",
    "tender_id",
    "lot_id",
    "opco",
]
QUERY_VALUES = {
    "huge": HUGE,
    "negative": "-1",
    "absurd": "1e400%' OR 1=1 --<script>2026-02-31",
    "far-date": "9999-12-31",
    "long": "z" * 1500,
}
URL_ID_VALUES = {"huge": HUGE, "negative": "-1"}  # 2**31 and 2**63 end the same way as 10**30


# --- Reading forms out of pages ------------------------------------------------------------------------


@dataclass
class HtmlForm:
    action: str
    values: dict[str, list[str]] = field(default_factory=dict)  # what a browser sends as is
    choices: dict[str, list[str]] = field(default_factory=dict)  # options, radios, checkboxes, buttons
    typed: set[str] = field(default_factory=set)  # numbers, dates, hidden values
    chosen: set[str] = field(default_factory=set)  # selects, radios, checkboxes, buttons
    maxlength: dict[str, int] = field(default_factory=dict)
    files: set[str] = field(default_factory=set)


class FormReader(HTMLParser):
    """The POST forms of a page: action, the values a browser would send, the choices offered."""

    TEXT_TYPES = {"text", "email", "search", "tel", "password", "url", ""}

    def __init__(self, page_url: str):
        super().__init__(convert_charrefs=True)
        self.page_url = page_url
        self.forms: list[HtmlForm] = []
        self.current: HtmlForm | None = None
        self.select: str | None = None
        self.select_first: str | None = None
        self.select_chosen = False
        self.textarea: str | None = None
        self.buffer = ""

    def handle_starttag(self, tag, attrs):
        a = {k: (v if v is not None else "") for k, v in attrs}
        if tag == "form":
            method = (a.get("method") or a.get("hx-post") and "post" or "get").lower()
            if method == "post" or "hx-post" in a:
                action = a.get("hx-post") or a.get("action") or self.page_url
                self.current = HtmlForm(action=urlsplit(action).path)
            return
        form = self.current
        if form is None:
            return
        name = a.get("name")
        if tag == "input" and name:
            kind = a.get("type", "text").lower()
            value = a.get("value", "")
            if a.get("maxlength", "").isdigit():
                form.maxlength[name] = int(a["maxlength"])
            if kind in ("checkbox", "radio"):
                form.choices.setdefault(name, []).append(value or "on")
                form.chosen.add(name)
                if "checked" in a:
                    form.values.setdefault(name, []).append(value or "on")
            elif kind in ("submit", "button", "image"):
                form.choices.setdefault(name, []).append(value)
                form.chosen.add(name)
                form.values.setdefault(name, [value])
            elif kind == "file":
                form.files.add(name)
            else:
                form.values.setdefault(name, []).append(value)
                if kind not in self.TEXT_TYPES:
                    form.typed.add(name)
        elif tag == "button" and name:
            form.choices.setdefault(name, []).append(a.get("value", ""))
            form.chosen.add(name)
            form.values.setdefault(name, [a.get("value", "")])
        elif tag == "select" and name:
            self.select, self.select_first, self.select_chosen = name, None, False
            form.chosen.add(name)
        elif tag == "option" and self.select:
            value = a.get("value", "")
            form.choices.setdefault(self.select, []).append(value)
            if self.select_first is None:
                self.select_first = value
            if "selected" in a:
                form.values.setdefault(self.select, []).append(value)
                self.select_chosen = True
        elif tag == "textarea" and name:
            self.textarea, self.buffer = name, ""
            if a.get("maxlength", "").isdigit():
                form.maxlength[name] = int(a["maxlength"])

    def handle_data(self, data):
        if self.textarea:
            self.buffer += data

    def handle_endtag(self, tag):
        form = self.current
        if form is None:
            return
        if tag == "select" and self.select:
            if not self.select_chosen and self.select_first is not None:
                form.values.setdefault(self.select, []).append(self.select_first)
            self.select = None
        elif tag == "textarea" and self.textarea:
            form.values.setdefault(self.textarea, []).append(self.buffer.removeprefix("\n"))
            self.textarea = None
        elif tag == "form":
            self.forms.append(form)
            self.current = None


def read_forms(page_url: str, html: str) -> list[HtmlForm]:
    reader = FormReader(page_url)
    reader.feed(html)
    return reader.forms


# --- The world ------------------------------------------------------------------------------------------


@dataclass
class Visitor:
    client: object
    token: str = ""


@dataclass
class Fuzz:
    app: object
    adapter: object
    tenants: dict
    operator: object
    operator_samples: dict
    invitation_token: str
    visitors: dict = field(default_factory=dict)
    forms: dict[str, HtmlForm] = field(default_factory=dict)  # action path -> form
    problems: list[str] = field(default_factory=list)
    requests: int = 0

    def visitor(self, user) -> Visitor:
        key = user.id if user is not None else None
        if key not in self.visitors:
            client = self.app.test_client()
            token = csrf_token(client, "/connexion")
            if user is not None:
                response = client.post(
                    "/connexion",
                    data={"email": user.email, "password": DEFAULT_PASSWORD, "csrf_token": token},
                )
                assert response.status_code in (302, 303), (
                    f"connexion de {user.email} : {response.status_code}"
                )
                token = csrf_token(client, "/compte")
            self.visitors[key] = Visitor(client, token)
        return self.visitors[key]

    def send(self, visitor: Visitor, method: str, url: str, what: str, **kwargs):
        """One request; a server error (raised in tests, or answered 5xx) becomes a problem line."""
        self.requests += 1
        try:
            response = visitor.client.open(url, method=method, follow_redirects=False, **kwargs)
        except Exception as error:  # noqa: BLE001 - the fuzzer reports every server error
            frames = traceback.extract_tb(error.__traceback__)
            ours = [f for f in frames if "/marketplace/" in f.filename] or frames
            where = ", ".join(f"{f.filename.split('/marketplace/')[-1]}:{f.lineno}" for f in ours[-2:])
            self.problems.append(
                f"{method} {url[:160]} [{what}] : erreur serveur {type(error).__name__}: "
                f"{str(error).splitlines()[0][:160]} ({where})"
            )
            return None
        if response.status_code >= 500:
            self.problems.append(f"{method} {url[:160]} [{what}] : {response.status_code}")
        return response


def csrf_token(client, url: str) -> str:
    page = client.get(url).get_data(as_text=True)
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page) or re.search(
        r'"X-CSRFToken": "([^"]+)"', page
    )
    return match.group(1) if match else ""


def row_counts() -> dict[str, int]:
    """Rows of every table but reference data, in one statement on a connection of its own."""
    tables = [t.name for t in db.metadata.sorted_tables if not t.name.startswith("ref_")]
    query = "SELECT " + ", ".join(f'(SELECT count(*) FROM "{name}") AS "{name}"' for name in tables)
    with db.engine.connect() as conn:
        row = conn.execute(text(query)).one()
    return dict(zip(tables, row, strict=True))


@pytest.fixture
def fuzz(app_factory, make) -> Fuzz:
    tenants = {
        kind: (_build_tenant(make, kind, "a"), _build_tenant(make, kind, "b"))
        for kind in ("opco", "company", "provider")
    }
    operator = make.user(email="operateur@exemple.fr", is_operator=True)
    from marketplace.models import OutboxMessage

    message = db.session.scalar(db.select(OutboxMessage))
    company = tenants["company"][0]
    _, invitation_token = make.invitation(
        company.org, "invitee.fuzz@exemple.fr", "viewer", actor=company.admin
    )
    csrf_app = app_factory(WTF_CSRF_ENABLED=True)
    return Fuzz(
        app=csrf_app,
        adapter=csrf_app.url_map.bind("localhost"),
        tenants=tenants,
        operator=operator,
        operator_samples={"opco_id": tenants["opco"][0].org.id, "message_id": message.id},
        invitation_token=invitation_token,
    )


# --- Routes, with the values that fill them -------------------------------------------------------------


@dataclass
class Target:
    endpoint: str
    method: str
    url: str
    user: object  # None: anonymous
    values: dict  # URL parameters used
    kind: str = ""


def _methods(rule) -> list[str]:
    return sorted(m for m in rule.methods if m not in {"HEAD", "OPTIONS"})


def targets(fz: Fuzz, method: str) -> list[Target]:
    """Every route for ``method``, as the person allowed to use it, with sample objects in the URL."""
    found: list[Target] = []
    company = fz.tenants["company"][0]
    for rule in fz.app.url_map.iter_rules():
        if rule.endpoint == "static" or method not in _methods(rule):
            continue
        view = fz.app.view_functions[rule.endpoint]
        access = getattr(view, "access", None)
        params = set(rule.arguments)
        if access == TENANT:
            blueprint = rule.endpoint.split(".")[0]
            kinds = BLUEPRINT_KINDS[blueprint] if method == "GET" else BLUEPRINT_KINDS[blueprint][:1]
            if blueprint == "org" and method == "POST":
                kinds = ["company"]
            for kind in kinds:
                own = fz.tenants[kind][0]
                values = {"org": own.org.slug}
                values.update({p: own.samples.get(p, NON_TENANT_PARAMS.get(p)) for p in params - {"org"}})
                if any(v is None for v in values.values()):
                    continue
                found.append(
                    Target(
                        rule.endpoint,
                        method,
                        fz.adapter.build(rule.endpoint, values, method=method),
                        own.admin,
                        values,
                        kind,
                    )
                )
            continue
        if access == OPERATOR:
            user, samples = fz.operator, fz.operator_samples
        elif access == LOGIN:
            user, samples = company.admin, {}
        else:
            user, samples = None, company.samples
        values = {}
        for p in params:
            if p == "token":
                values[p] = fz.invitation_token if "invitation" in rule.endpoint else "jeton-inexistant"
            else:
                values[p] = samples.get(p, NON_TENANT_PARAMS.get(p, 1))
        found.append(
            Target(
                rule.endpoint,
                method,
                fz.adapter.build(rule.endpoint, values, method=method),
                user,
                values,
                "",
            )
        )
    return found


# --- GET -----------------------------------------------------------------------------------------------


def fuzz_get(fz: Fuzz, target: Target, *, nul: bool, variants: bool = True) -> None:
    visitor = fz.visitor(target.user)
    response = fz.send(visitor, "GET", target.url, "page")
    if response is not None and response.status_code == 200 and "html" in response.content_type:
        for form in read_forms(target.url, response.get_data(as_text=True)):
            fz.forms.setdefault(form.action, form)
    if not variants:  # the same view for another kind of organisation
        return
    # Ids in the URL beyond what a row can have: 404.
    ids = {p: v for p, v in target.values.items() if isinstance(v, int)}
    if ids:
        for what, value in URL_ID_VALUES.items():
            url = target.url
            for sample in ids.values():
                url = re.sub(rf"/{sample}(?=/|$)", f"/{value}", url)
            response = fz.send(visitor, "GET", url, f"identifiant {what}")
            if response is not None and response.status_code != 404:
                fz.problems.append(
                    f"GET {url[:160]} [identifiant {what}] : {response.status_code} au lieu de 404"
                )
    # Query parameters: every usual one at once, with each kind of bad value, then each one twice.
    for what, value in QUERY_VALUES.items():
        query = urlencode({p: value for p in QUERY_PARAMS})
        fz.send(visitor, "GET", f"{target.url}?{query}", f"paramètres {what}")
    fz.send(
        visitor,
        "GET",
        f"{target.url}?{urlencode([(p, v) for p in QUERY_PARAMS for v in ('1', HUGE)])}",
        "paramètres répétés",
    )
    if nul:
        response = fz.send(visitor, "GET", f"{target.url}?q={NUL}&page=1", "octet nul")
        if response is not None and response.status_code != 400:
            fz.problems.append(f"GET {target.url} [octet nul] : {response.status_code} au lieu de 400")


# --- POST ----------------------------------------------------------------------------------------------


def _pattern(name: str) -> str:
    """Rows repeat: ``lots-3-title`` is fuzzed as ``lots-0-title`` only."""
    return re.sub(r"-\d+-", "-0-", name)


def _merge(first: HtmlForm, second: HtmlForm | None, action: str) -> HtmlForm:
    """``first``'s fields and values, completed by ``second``'s."""
    if second is None:
        return HtmlForm(
            action,
            dict(first.values),
            dict(first.choices),
            set(first.typed),
            set(first.chosen),
            dict(first.maxlength),
            set(first.files),
        )
    return HtmlForm(
        action,
        {**second.values, **first.values},
        {**second.choices, **first.choices},
        first.typed | second.typed,
        first.chosen | second.chosen,
        {**second.maxlength, **first.maxlength},
        first.files | second.files,
    )


def _baseline(fz: Fuzz, target: Target) -> HtmlForm:
    """The form as the page shows it (a creation form: with the values of a sample object's edit page)."""
    path = urlsplit(target.url).path
    form = fz.forms.get(path)
    source = BASELINE_FROM.get(target.endpoint)
    if source is not None:
        own = fz.tenants[target.kind][0].samples
        arguments = next(fz.app.url_map.iter_rules(source)).arguments
        source_url = fz.adapter.build(source, {p: target.values.get(p) or own.get(p) for p in arguments})
        template = fz.forms.get(urlsplit(source_url).path)
        if template is not None:
            merged = _merge(template, form, path)
            if "reference" in merged.values:
                merged.values["reference"] = ["FUZZ-1"]
            return merged
    if form is not None:
        return form
    extra = FIELDS.get(target.endpoint)
    if extra is None:
        fz.problems.append(
            f"POST {target.url} ({target.endpoint}) : formulaire introuvable, ajoutez-le à FIELDS"
        )
        extra = {}
    return HtmlForm(
        action=path,
        values={k: [v] for k, v in extra.items()},
        typed={k for k, v in extra.items() if k != "reason" and "@" not in v and " " not in v},
    )


def _data(values: dict[str, list[str]], token: str) -> MultiDict:
    data = [(k, v) for k, vs in values.items() for v in vs if k != "csrf_token"]
    return MultiDict([("csrf_token", token), *data])


def post_case(
    fz: Fuzz, visitor: Visitor, target: Target, what: str, data, expected: int | None = None
) -> None:
    """One POST; when it is refused, no table has gained or lost a row."""
    before = row_counts()
    response = fz.send(visitor, "POST", target.url, what, data=data)
    if response is None:
        return
    if expected is not None and response.status_code != expected:
        fz.problems.append(f"POST {target.url} [{what}] : {response.status_code} au lieu de {expected}")
    if response.status_code not in REFUSED:
        return
    after = row_counts()
    changed = {
        t: (before[t], after[t]) for t in before if before[t] != after[t] and t not in MAY_CHANGE_WHEN_REFUSED
    }
    if changed:
        fz.problems.append(
            f"POST {target.url} [{what}] refusé ({response.status_code}) mais des lignes ont changé : {changed}"
        )


def mutations(form: HtmlForm, name: str) -> dict[str, str]:
    """The bad values worth sending in one field, by what the field is."""
    if name in form.chosen:
        return {"entier énorme": HUGE, "choix inconnu": "abc'\"<>"}
    if name in form.typed:
        return {"entier énorme": HUGE, "négatif": "-1", "mauvais type": "abc'\"<>"}
    bound = form.maxlength.get(name) or form.maxlength.get(re.sub(r"-0-", "-1-", name))
    return {"entier énorme": HUGE, "texte trop long": "x" * (bound + 1) if bound else LONG}


def fuzz_post(fz: Fuzz, target: Target, visitor: Visitor, *, global_checks: bool) -> None:
    form = _baseline(fz, target)
    token = visitor.token
    names = list(dict.fromkeys(_pattern(n) for n in [*form.values, *form.choices] if n != "csrf_token"))
    for name in names:
        for what, value in mutations(form, name).items():
            values = dict(form.values)
            values[name] = [value]
            post_case(fz, visitor, target, f"{name} = {what}", _data(values, token))
    post_case(fz, visitor, target, "tout vide", _data({k: [""] for k in form.values}, token))
    post_case(
        fz,
        visitor,
        target,
        "champs en double",
        _data({k: [*v, HUGE] for k, v in form.values.items()} | {n: ["1", HUGE] for n in names}, token),
    )
    if global_checks:  # refused before any view: once per blueprint is enough
        post_case(fz, visitor, target, "aucun champ", _data({}, token))
        nul = dict(form.values)
        for name in names or ["champ"]:
            nul[name] = [NUL]
        post_case(fz, visitor, target, "octet nul", _data(nul, token), expected=400)
        big = dict(form.values)
        big[names[0] if names else "champ"] = [MEGA]
        post_case(fz, visitor, target, "1 Mo", _data(big, token), expected=413)


# The order matters: signing out, changing one's password or failing sign-in many times would end the
# sessions the other routes use, so these come last, each with a visitor of its own.
LAST = (
    "auth.logout",
    "auth.account",
    "auth.login",
    "auth.forgot_password",
    "auth.reset_password",
    "auth.signup_company",
    "auth.signup_provider",
    "auth.accept_invitation",
)


def test_no_input_breaks_a_request(fuzz, make):
    fz = fuzz
    checked_blueprints: set[tuple[str, str]] = set()

    def first_of_blueprint(target: Target) -> bool:
        key = (target.method, target.endpoint.split(".")[0])
        new = key not in checked_blueprints
        checked_blueprints.add(key)
        return new

    seen_endpoints: set[str] = set()
    for target in targets(fz, "GET"):
        fuzz_get(fz, target, nul=first_of_blueprint(target), variants=target.endpoint not in seen_endpoints)
        seen_endpoints.add(target.endpoint)
    posts = sorted(targets(fz, "POST"), key=lambda t: LAST.index(t.endpoint) + 1 if t.endpoint in LAST else 0)
    for target in posts:
        if target.endpoint in ("auth.logout", "auth.account"):
            visitor = fz.visitor(make.user(email=f"{target.endpoint.split('.')[1]}.fuzz@exemple.fr"))
        else:
            visitor = fz.visitor(target.user)
        fuzz_post(fz, target, visitor, global_checks=first_of_blueprint(target))
    assert not fz.problems, f"{len(fz.problems)} cas sur {fz.requests} requêtes :\n" + "\n".join(fz.problems)
    assert fz.requests > 1000


# --- The protections themselves, one by one -------------------------------------------------------------


def test_a_nul_byte_in_the_sign_in_form_gets_the_french_page_and_counts_nothing(client, make):
    user = make.user()
    before = row_counts()
    response = client.post("/connexion", data={"email": user.email + "\x00", "password": DEFAULT_PASSWORD})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Le texte envoyé contient des caractères non autorisés" in page
    assert row_counts() == before  # not even a failed attempt: the view never ran


@pytest.mark.parametrize("character", ["\x00", "\x01", "\x0b", "\x1f"])
def test_control_characters_are_refused_in_queries_and_forms(client, character):
    assert client.get("/catalogue", query_string={"q": f"a{character}b"}).status_code == 400
    assert client.post("/mot-de-passe-oublie", data={"email": f"a{character}@exemple.fr"}).status_code == 400


def test_tabs_and_line_breaks_are_ordinary_text(client):
    response = client.get("/catalogue", query_string={"q": "gestion\tde\r\nprojet"})
    assert response.status_code == 200


def test_a_url_too_long_gets_the_french_page(client):
    response = client.get("/catalogue?q=" + "a" * 2100)
    assert response.status_code == 414
    assert "Adresse trop longue" in response.get_data(as_text=True)
    assert client.get("/catalogue?q=" + "a" * 1900).status_code == 200


def test_a_form_body_beyond_the_form_limit_is_refused(client):
    response = client.post("/mot-de-passe-oublie", data={"email": "x" * 600_000})
    assert response.status_code == 413
    assert "Envoi trop volumineux" in response.get_data(as_text=True)


def test_every_form_of_the_application_bounds_its_texts(app):
    """Every form derives from web.forms.Form, so every text field carries a maxlength and refuses more."""
    from flask_wtf import FlaskForm
    from wtforms import StringField

    import marketplace.blueprints as blueprints
    from marketplace.web.forms import Form

    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    forms = [c for c in subclasses(FlaskForm) if c.__module__.startswith(blueprints.__name__)]
    assert len(forms) > 20
    assert [c.__qualname__ for c in forms if not issubclass(c, Form)] == []
    with app.test_request_context(method="POST"):
        for form_class in forms:
            form = form_class(meta={"csrf": False})
            for field in form:
                for inner in _leaves(field):
                    if isinstance(inner, StringField):
                        assert inner.flags.maxlength, (
                            f"{form_class.__name__}.{inner.name} sans longueur maximale"
                        )


def _leaves(field):
    """A field, or the fields inside a FieldList / FormField."""
    if field.type == "FieldList":
        for entry in field.entries:
            yield from _leaves(entry)
    elif field.type == "FormField":
        for inner in field.form:
            yield from _leaves(inner)
    else:
        yield field


def test_a_long_text_beyond_its_bound_is_refused_at_its_field_with_the_limit_shown(client, make, login):
    """The « objectifs » of an action: the page shows the bound, one character more is refused in French,
    and the bound itself is accepted with line breaks as the browser counts them (CR LF sent, LF kept)."""
    from tests.web.test_opco_catalogue import form_data

    opco = make.opco("akto")
    admin = make.user()
    make.member(opco, admin, "admin")
    login(client, admin)
    url = f"/opco/{opco.slug}/catalogue/nouvelle"
    page = client.get(url).get_data(as_text=True)
    assert re.search(r'<textarea[^>]*maxlength="10000"[^>]*name="objectives"', page)
    assert "10\u202f000 caractères au maximum." in page

    before = row_counts()
    response = client.post(url, data=form_data(objectives="x" * 10_001))
    assert response.status_code == 422
    assert "10\u202f000 caractères au maximum." in response.get_data(as_text=True)
    assert row_counts() == before

    exactly = "x" * 9_000 + "\r\n" * 1_000  # the browser counts 10 000, sends 11 000
    response = client.post(url, data=form_data(objectives=exactly))
    assert response.status_code in (302, 303)  # 303 once the catalogue views end through web.actions
    action = db.session.scalar(db.select(CollectiveAction).where(CollectiveAction.opco_id == opco.id))
    assert len(action.objectives) <= 10_000 and "\r" not in action.objectives
