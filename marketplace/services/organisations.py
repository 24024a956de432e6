"""Creating organisations (OPCO, company, training organisation), attaching companies to their OPCO, and the
training organisation's Qualiopi certificate renewal."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select, true

from marketplace.extensions import db
from marketplace.formatting import date_fr, of_name, paris_today
from marketplace.models import (
    Company,
    IdccBranch,
    Membership,
    Opco,
    OpcoBranch,
    OpcoReference,
    Organisation,
    Referencing,
    ReferencingStatus,
    Region,
    TrainingProvider,
    User,
)
from marketplace.services import (
    accounts,
    audit,
    catalogue,
    identifiers,
    outbox,
    places,
    referencing_registry,
    storage,
)
from marketplace.services.errors import Collect, DomainError, InvalidForm
from marketplace.services.roles import ADMIN, Perm


def slugify(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:60] or "organisation"


SLUG_PATTERN = re.compile(r"[a-z0-9_-]{1,80}")


def by_slug(slug: str | None, model=Organisation):
    """The organisation a URL names, or None — also for strings no slug can be (NUL, 5 000 characters…),
    which never reach the database."""
    if not slug or not SLUG_PATTERN.fullmatch(slug):
        return None
    return db.session.scalar(select(model).where(model.slug == slug))


def unique_slug(name: str) -> str:
    """A URL slug derived from the name, suffixed with a number when already taken."""
    base = slugify(name)
    taken = set(db.session.scalars(select(Organisation.slug).where(Organisation.slug.like(f"{base}%"))))
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


def opco_for_idcc(idcc: str) -> Opco | None:
    """The OPCO on the platform that covers this IDCC branch, if any."""
    return db.session.scalar(select(Opco).join(OpcoBranch).where(OpcoBranch.idcc == idcc))


@dataclass(frozen=True)
class Attachment:
    """What the platform can say about a company's OPCO from its IDCC (used live at sign-up)."""

    idcc: str
    branch: IdccBranch | None
    opco: Opco | None
    reference_opco: OpcoReference | None

    @property
    def needs_declared_opco(self) -> bool:
        """No OPCO follows from the IDCC (unknown to the table, or 9999): the company states it."""
        return self.branch is None

    @property
    def message(self) -> str:
        if self.idcc == identifiers.IDCC_WITHOUT_AGREEMENT:
            return (
                "IDCC 9999 : sans convention collective, aucun OPCO ne se déduit automatiquement. Indiquez votre "
                "OPCO ; l'équipe de la plateforme le confirmera avant vos premières inscriptions."
            )
        if self.branch is None:
            return (
                f"L'IDCC {self.idcc} n'est pas dans notre table de correspondance. Vérifiez-le sur un bulletin de "
                "paie (rubrique « convention collective ») et indiquez votre OPCO : l'équipe de la plateforme le "
                "confirmera avant vos premières inscriptions."
            )
        if self.opco is not None:
            label = f" ({self.branch.label})" if self.branch else ""
            return f"Votre branche, IDCC {self.idcc}{label}, est rattachée à {self.opco.name}."
        if self.reference_opco is not None:
            return (
                f"Votre branche, IDCC {self.idcc} ({self.branch.label}), relève {of_name(self.reference_opco.name)}, "
                "qui n'est pas encore présent sur la plateforme. Vous pouvez créer votre compte : "
                "le catalogue apparaîtra dès que votre OPCO nous aura rejoints."
            )
        return (
            f"Aucun OPCO de la plateforme ne couvre l'IDCC {self.idcc}. Vérifiez le code sur un bulletin de "
            "paie (rubrique « convention collective ») ; vous pouvez créer votre compte, mais aucun catalogue "
            "ne vous sera proposé tant que votre branche n'est pas couverte."
        )


def attachment_for_idcc(raw_idcc: str, today: date | None = None) -> Attachment:
    """What the IDCC says about the company's OPCO; an obsolete code is refused, naming the one to give."""
    idcc = identifiers.validate_idcc(raw_idcc)
    branch = db.session.get(IdccBranch, idcc)
    if (
        branch is not None
        and branch.replaced_by
        and (branch.ended_on is None or branch.ended_on <= (today or paris_today()))
    ):
        successor = db.session.get(IdccBranch, branch.replaced_by)
        since = f" le {date_fr(branch.ended_on)}" if branch.ended_on else ""
        name = f" ({successor.label})" if successor else ""
        raise DomainError(
            f"L'IDCC {idcc} n'est plus en vigueur : il a été remplacé par l'IDCC {branch.replaced_by}{name}{since}. "
            f"Indiquez {branch.replaced_by}.",
            field="idcc",
        )
    reference = db.session.get(OpcoReference, branch.opco_code) if branch else None
    return Attachment(idcc=idcc, branch=branch, opco=opco_for_idcc(idcc), reference_opco=reference)


def create_opco(code: str, actor: User | None, idcc_codes: list[str] | None = None) -> Opco:
    """Create an OPCO from the reference list; it covers its reference branches unless told otherwise.

    Companies that signed up before their OPCO joined are attached to it now.
    """
    reference = db.session.get(OpcoReference, code)
    if reference is None:
        raise DomainError("Cet OPCO ne fait pas partie de la liste de référence des 11 OPCO.", field="code")
    if db.session.scalar(select(Opco).where(Opco.code == code)) is not None:
        raise DomainError(f"{reference.name} est déjà présent sur la plateforme.", field="code")
    if idcc_codes is None:
        idcc_codes = list(
            db.session.scalars(
                select(IdccBranch.idcc).where(IdccBranch.opco_code == code, IdccBranch.replaced_by.is_(None))
            )
        )
    opco = Opco(name=reference.name, slug=unique_slug(reference.name), code=code)
    db.session.add(opco)
    db.session.flush()
    _set_branches(opco, idcc_codes)
    audit.record("opco.created", organisation_id=opco.id, actor=actor, obj=opco, data={"code": code})
    return opco


def set_opco_branches(opco: Opco, idcc_codes: list[str], actor: User | None) -> None:
    """Replace the IDCC branches an OPCO covers (an IDCC can belong to only one OPCO)."""
    for link in list(opco.branches):
        opco.branches.remove(link)
    db.session.flush()
    _set_branches(opco, idcc_codes)
    audit.record(
        "opco.branches_changed",
        organisation_id=opco.id,
        actor=actor,
        obj=opco,
        data={"idcc": sorted(idcc_codes)},
    )


def _set_branches(opco: Opco, idcc_codes: list[str]) -> None:
    for raw in sorted(set(idcc_codes)):
        idcc = identifiers.validate_idcc(raw)
        if idcc == identifiers.IDCC_WITHOUT_AGREEMENT:
            raise DomainError(
                "L'IDCC 9999 (sans convention collective) n'est la branche d'aucun OPCO.", field="idcc"
            )
        if db.session.get(IdccBranch, idcc) is None:
            raise DomainError(
                f"L'IDCC {idcc} n'est pas dans la table de référence des branches.", field="idcc"
            )
        other = opco_for_idcc(idcc)
        if other is not None and other.id != opco.id:
            raise DomainError(f"L'IDCC {idcc} est déjà couvert par {other.name}.", field="idcc")
        opco.branches.append(OpcoBranch(idcc=idcc))
    db.session.flush()
    _reattach_companies(opco)


def _reattach_companies(opco: Opco) -> None:
    """Keep every company attached to the OPCO that covers its IDCC, after a change of branches."""
    covered = opco.idcc_codes
    confirmed_here = (Company.declared_opco_code == opco.code) & Company.opco_confirmed_at.is_not(None)
    left = db.session.scalars(
        select(Company).where(
            Company.opco_id == opco.id, Company.idcc.not_in(covered) if covered else true(), ~confirmed_here
        )
    ).all()
    for company in left:
        new_opco = opco_for_idcc(company.idcc)
        company.opco_id = new_opco.id if new_opco else None
        audit.record(
            "company.opco_detached",
            organisation_id=company.id,
            obj=company,
            data={"opco": opco.name, "idcc": company.idcc},
        )
        if new_opco is not None:
            audit.record(
                "company.opco_attached", organisation_id=company.id, obj=company, data={"opco": new_opco.name}
            )
    arriving = (
        db.session.scalars(
            select(Company).where(
                (Company.opco_id.is_(None)) | (Company.opco_id != opco.id), Company.idcc.in_(covered)
            )
        ).all()
        if covered
        else []
    )
    # Companies whose stated OPCO the operator confirmed (IDCC not in the table) join it too.
    arriving += db.session.scalars(select(Company).where(Company.opco_id.is_(None), confirmed_here)).all()
    for company in arriving:
        company.opco_id = opco.id
        audit.record(
            "company.opco_attached", organisation_id=company.id, obj=company, data={"opco": opco.name}
        )


@dataclass
class CompanyInput:
    name: str
    siret: str
    ape_code: str
    idcc: str
    headcount: str | int
    region_code: str
    address: str
    postal_code: str
    city: str
    # The OPCO the company states when its IDCC gives none (unknown to the table, or 9999); else ignored.
    declared_opco: str = ""
    # The year whose annual average ``headcount`` is; empty: last year.
    headcount_year: str | int = ""


@dataclass
class ProviderInput:
    name: str
    siret: str
    nda: str
    vat_regime: str
    region_code: str
    address: str
    postal_code: str
    city: str
    qualiopi_certifier: str
    qualiopi_number: str
    qualiopi_categories: list[str]
    qualiopi_issued_on: date | None
    qualiopi_expires_on: date | None


def _clean_address(name: str, region_code: str, address: str, postal_code: str, city: str) -> tuple[str, ...]:
    """Name and address checked; the region is the postal code's (regional funding depends on it), so an
    empty one is derived and another one refused. Returns (name, address, postal code, city, region).
    Every wrong field is reported at once (``InvalidForm``)."""
    checks = Collect()
    name = (name or "").strip()
    if len(name) < 2:
        checks.errors["name"] = "Indiquez la raison sociale."
    region_code = (region_code or "").strip()
    if region_code and db.session.get(Region, region_code) is None:
        checks.errors["region_code"] = "Choisissez une région dans la liste."
    address = (address or "").strip()
    if len(address) < 3:
        checks.errors["address"] = "Indiquez l'adresse (numéro et voie)."
    postal_code = checks.run(validate_postal_code, postal_code)
    city = (city or "").strip()
    if not city:
        checks.errors["city"] = "Indiquez la commune."
    if postal_code and "region_code" not in checks.errors:
        region_code = checks.run(places.region_for_address, postal_code, region_code)
    checks.done()
    return name, address, postal_code, city, region_code


def validate_postal_code(raw: str | None) -> str:
    """Five digits (CEDEX codes too); the sign-up form runs it as well, to show it with the other errors."""
    postal_code = (raw or "").strip()
    if not re.fullmatch(r"\d{5}", postal_code):
        raise DomainError("Le code postal doit comporter 5 chiffres.", field="postal_code")
    return postal_code


def check_siret_free(siret: str) -> None:
    """An establishment signs up once; the sign-up form runs it too, to show it with the other errors."""
    if db.session.scalar(select(Company.id).where(Company.siret == siret)) or db.session.scalar(
        select(TrainingProvider.id).where(TrainingProvider.siret == siret)
    ):
        raise DomainError(
            "Cet établissement (SIRET) est déjà inscrit sur la plateforme. "
            "Demandez une invitation à l'administrateur de son compte.",
            field="siret",
        )


def create_company(data: CompanyInput, admin: User) -> Company:
    """Create a company with ``admin`` as its first administrator; its OPCO comes from its IDCC."""
    checks = Collect()
    cleaned = checks.run(
        _clean_address, data.name, data.region_code, data.address, data.postal_code, data.city
    )
    siret = checks.run(identifiers.validate_siret, data.siret)
    if siret:
        checks.run(check_siret_free, siret)
    ape = checks.run(identifiers.validate_ape, data.ape_code)
    attachment = checks.run(attachment_for_idcc, data.idcc)
    declared = checks.run(_declared_opco, attachment, data.declared_opco) if attachment else None
    headcount = checks.run(identifiers.validate_headcount, data.headcount)
    headcount_year = checks.run(validate_headcount_year, data.headcount_year, paris_today())
    checks.done()  # every wrong field at once
    name, address, postal_code, city, region_code = cleaned
    company = Company(
        name=name,
        slug=unique_slug(name),
        siret=siret,
        siren=identifiers.siren_of(siret),
        ape_code=ape,
        idcc=attachment.idcc,
        headcount=headcount,
        headcount_year=headcount_year,
        region_code=region_code,
        address=address,
        postal_code=postal_code,
        city=city,
        opco_id=attachment.opco.id if attachment.opco else None,
        declared_opco_code=declared,
    )
    db.session.add(company)
    db.session.flush()
    db.session.add(Membership(user=admin, organisation=company, role=ADMIN))
    audit.record(
        "org.created",
        organisation_id=company.id,
        actor=admin,
        obj=company,
        data={
            "kind": "company",
            "siret": siret,
            "idcc": attachment.idcc,
            "opco": attachment.opco.name if attachment.opco else None,
            "declared_opco": declared,
        },
    )
    return company


def _declared_opco(attachment: Attachment, raw: str | None) -> str | None:
    """The OPCO a company states when its IDCC gives none; required then, ignored otherwise."""
    if not attachment.needs_declared_opco:
        return None
    code = (raw or "").strip()
    if not code:
        raise DomainError(
            f"Aucun OPCO ne se déduit de l'IDCC {attachment.idcc} : indiquez le vôtre dans la liste "
            "(l'équipe de la plateforme le confirmera).",
            field="declared_opco",
        )
    if db.session.get(OpcoReference, code) is None:
        raise DomainError("Choisissez votre OPCO parmi les 11 OPCO de la liste.", field="declared_opco")
    return code


def create_provider(data: ProviderInput, admin: User, today: date) -> TrainingProvider:
    """Create a training organisation with ``admin`` as its first administrator."""
    checks = Collect()
    cleaned = checks.run(
        _clean_address, data.name, data.region_code, data.address, data.postal_code, data.city
    )
    siret = checks.run(identifiers.validate_siret, data.siret)
    if siret:
        checks.run(check_siret_free, siret)
    nda = checks.run(lambda: identifiers.validate_nda(data.nda)[0])
    if nda and db.session.scalar(select(TrainingProvider.id).where(TrainingProvider.nda == nda)):
        checks.errors.setdefault(
            "nda", "Ce numéro de déclaration d'activité est déjà utilisé par un autre organisme."
        )
    if data.vat_regime not in identifiers.VAT_REGIMES:
        checks.errors.setdefault("vat_regime", "Choisissez votre régime de TVA.")
    categories = checks.run(
        identifiers.validate_qualiopi,
        data.qualiopi_certifier,
        data.qualiopi_number,
        data.qualiopi_categories,
        data.qualiopi_issued_on,
        data.qualiopi_expires_on,
        today,
    )
    checks.done()  # every wrong field at once
    name, address, postal_code, city, region_code = cleaned
    provider = TrainingProvider(
        name=name,
        slug=unique_slug(name),
        siret=siret,
        siren=identifiers.siren_of(siret),
        nda=nda,
        vat_regime=data.vat_regime,
        region_code=region_code,
        address=address,
        postal_code=postal_code,
        city=city,
        qualiopi_certifier=data.qualiopi_certifier.strip(),
        qualiopi_number=data.qualiopi_number.strip(),
        qualiopi_categories=" ".join(categories),
        qualiopi_issued_on=data.qualiopi_issued_on,
        qualiopi_expires_on=data.qualiopi_expires_on,
    )
    db.session.add(provider)
    db.session.flush()
    db.session.add(Membership(user=admin, organisation=provider, role=ADMIN))
    audit.record(
        "org.created",
        organisation_id=provider.id,
        actor=admin,
        obj=provider,
        data={"kind": "provider", "siret": siret, "nda": nda},
    )
    return provider


def set_waitlist_offer_hours(opco: Opco, raw_hours: str | int, actor: User) -> None:
    """How long a company has to accept a seat offered from the waiting list (1 hour to 7 days), in working
    hours: only Monday to Friday count, public holidays excluded (services.calendar.working_hours_after)."""
    try:
        hours = int(str(raw_hours).strip())
    except ValueError:
        raise DomainError(
            "Indiquez un nombre entier d'heures, entre 1 et 168.", field="waitlist_offer_hours"
        ) from None
    if not 1 <= hours <= 168:
        raise DomainError(
            "Le délai doit être compris entre 1 heure et 168 heures (7 jours).", field="waitlist_offer_hours"
        )
    previous = opco.waitlist_offer_hours
    opco.waitlist_offer_hours = hours
    audit.record(
        "opco.settings_changed",
        organisation_id=opco.id,
        actor=actor,
        obj=opco,
        data={"waitlist_offer_hours": [previous, hours]},
    )


# --- Qualiopi certificate renewal -------------------------------------------------------------------------


@dataclass
class QualiopiInput:
    """The renewed certificate as typed, and its PDF (original name, content)."""

    certifier: str
    number: str
    categories: list[str]
    issued_on: date | None
    expires_on: date | None
    filename: str = ""
    content: bytes = b""


def renew_qualiopi(
    provider: TrainingProvider, data: QualiopiInput, actor: User, today: date
) -> list[Referencing]:
    """Record the organisation's renewed Qualiopi certificate (audited) and lift the suspensions its lapse caused.

    Same rules as at sign-up (certifier, number, categories, issued on or before today, valid at most 3 years)
    and the certificate must be valid today; its PDF is required. When the new certificate covers « actions de
    formation », every referencing suspended automatically for the lapsed certificate is reactivated and its
    OPCO told; a referencing an OPCO suspended by hand stays suspended. Returns the reactivated referencings.
    """
    if data.expires_on is not None and data.expires_on < today:
        raise DomainError(
            "Ce certificat Qualiopi a déjà expiré : saisissez le certificat renouvelé, en cours de validité.",
            field="qualiopi_expires_on",
        )
    categories = identifiers.validate_qualiopi(
        data.certifier, data.number, data.categories, data.issued_on, data.expires_on, today
    )
    if not data.content:
        raise DomainError("Joignez le certificat Qualiopi au format PDF.", field="file")
    if not storage.safe_filename(data.filename).lower().endswith(".pdf"):
        raise DomainError("Le certificat doit être un fichier PDF.", field="file")
    stored = storage.store(data.filename, data.content)  # checked (PDF content, size) before it is written
    before = {
        "certifier": provider.qualiopi_certifier,
        "number": provider.qualiopi_number,
        "categories": provider.qualiopi_categories,
        "issued_on": provider.qualiopi_issued_on.isoformat(),
        "expires_on": provider.qualiopi_expires_on.isoformat(),
    }
    provider.qualiopi_certifier = " ".join(data.certifier.split())
    provider.qualiopi_number = " ".join(data.number.split())
    provider.qualiopi_categories = " ".join(categories)
    provider.qualiopi_issued_on = data.issued_on
    provider.qualiopi_expires_on = data.expires_on
    provider.qualiopi_document_key = stored.key
    provider.qualiopi_document_name = stored.filename
    after = {
        "certifier": provider.qualiopi_certifier,
        "number": provider.qualiopi_number,
        "categories": provider.qualiopi_categories,
        "issued_on": data.issued_on.isoformat(),
        "expires_on": data.expires_on.isoformat(),
    }
    audit.record(
        "provider.qualiopi_renewed",
        organisation_id=provider.id,
        actor=actor,
        obj=provider,
        data={"before": before, "after": after, "document": stored.filename},
    )
    if referencing_registry.qualiopi_suspension_reason(provider, today) is not None:
        return []  # e.g. the new certificate does not cover « actions de formation »
    lifted = list(
        db.session.scalars(
            select(Referencing)
            .where(
                Referencing.provider_id == provider.id,
                Referencing.status == ReferencingStatus.SUSPENDED,
                Referencing.suspended_for_qualiopi.is_(True),
            )
            .order_by(Referencing.opco_id, Referencing.id)
        )
    )
    by_opco: dict[int, list[Referencing]] = {}
    for referencing in lifted:
        catalogue.transition_referencing(referencing, "reactivate", actor)
        by_opco.setdefault(referencing.opco_id, []).append(referencing)
    contacts = accounts.member_emails(list(by_opco), "opco", Perm.MANAGE_CATALOGUE)
    for opco_id, referencings in by_opco.items():
        for email in contacts.get(opco_id, []):
            outbox.queue_email(
                email,
                "referencing_reactivated_qualiopi",
                organisation_id=opco_id,
                provider=provider,
                referencings=referencings,
                opco=db.session.get(Opco, opco_id),
            )
    return lifted


def qualiopi_document(provider: TrainingProvider) -> tuple[str, bytes] | None:
    """The organisation's certificate PDF (name, content), or None when none was given."""
    if not provider.qualiopi_document_key:
        return None
    return provider.qualiopi_document_name or "certificat-qualiopi.pdf", storage.storage().read(
        provider.qualiopi_document_key
    )


FUNDING_BASES = {"ht": "prix HT", "ttc": "prix TTC"}
# How the OPCO pays its share to the training organisation (services.invoicing); an action may override it.
FUNDING_FLOWS = {"subrogation": "Subrogation de paiement", "direct_purchase": "Achat direct"}


def update_opco_settings(
    opco: Opco,
    raw_hours: str | int,
    raw_basis: str | None,
    actor: User,
    raw_convocation_days: str | int | None = None,
    raw_funding_flow: str | None = None,
) -> None:
    """The OPCO's settings page: the waiting-list offer window and the price its funded shares apply to
    (HT: the company pays the VAT on the whole price; TTC: the OPCO funds its share of the VAT too), and how
    many days before a session the convocations go out (empty: unchanged).
    An action may override the basis; enrolments already made keep the figures frozen on them."""
    basis = (raw_basis or "").strip().lower() or opco.funding_basis
    if basis not in FUNDING_BASES:
        raise DomainError(
            "Choisissez si la prise en charge porte sur le prix HT ou sur le prix TTC.", field="funding_basis"
        )
    days = _convocation_days(raw_convocation_days, opco.convocation_days)
    flow = (raw_funding_flow or "").strip() or opco.funding_flow
    if flow not in FUNDING_FLOWS:
        raise DomainError("Choisissez « Subrogation de paiement » ou « Achat direct ».", field="funding_flow")
    set_waitlist_offer_hours(opco, raw_hours, actor)
    if flow != opco.funding_flow:
        audit.record(
            "opco.settings_changed",
            organisation_id=opco.id,
            actor=actor,
            obj=opco,
            data={"funding_flow": [opco.funding_flow, flow]},
        )
        opco.funding_flow = flow
    if days != opco.convocation_days:
        audit.record(
            "opco.settings_changed",
            organisation_id=opco.id,
            actor=actor,
            obj=opco,
            data={"convocation_days": [opco.convocation_days, days]},
        )
        opco.convocation_days = days
    if basis != opco.funding_basis:
        previous = opco.funding_basis
        opco.funding_basis = basis
        audit.record(
            "opco.settings_changed",
            organisation_id=opco.id,
            actor=actor,
            obj=opco,
            data={"funding_basis": [previous, basis]},
        )


CONVOCATION_DAYS = (1, 90)


def _convocation_days(raw: str | int | None, current: int) -> int:
    """Days before the start when convocations go out: a whole number from 1 to 90 (empty: unchanged)."""
    text = str(raw if raw is not None else "").strip()
    if not text:
        return current
    low, high = CONVOCATION_DAYS
    try:
        days = int(text)
    except ValueError:
        raise DomainError(
            f"Indiquez un nombre entier de jours, entre {low} et {high}.", field="convocation_days"
        ) from None
    if not low <= days <= high:
        raise DomainError(
            f"Les convocations partent entre {low} et {high} jours avant le début de la session.",
            field="convocation_days",
        )
    return days


# --- OPCO stated by a company, confirmed by the platform operator --------------------------------------------


def _pending_company(company_id: int) -> Company:
    company = db.session.get(Company, company_id)
    if company is None or company.declared_opco_code is None or company.opco_confirmed_at is not None:
        raise DomainError("Cette entreprise n'a pas d'OPCO en attente de confirmation.")
    return company


def confirm_declared_opco(company_id: int, actor: User, now: datetime) -> Company:
    """The operator checked the OPCO a company stated (IDCC outside the table): the company is attached to it
    (now, or when that OPCO joins the platform) and may enrol. The reference table itself is not changed:
    one company's word is not a source for its branch."""
    company = _pending_company(company_id)
    company.opco_confirmed_at = now
    opco = db.session.scalar(select(Opco).where(Opco.code == company.declared_opco_code))
    company.opco_id = opco.id if opco else None
    audit.record(
        "company.opco_confirmed",
        organisation_id=company.id,
        actor=actor,
        obj=company,
        data={"idcc": company.idcc, "opco": company.declared_opco_code},
    )
    if opco is not None:
        audit.record(
            "company.opco_attached", organisation_id=company.id, obj=company, data={"opco": opco.name}
        )
    return company


def refuse_declared_opco(company_id: int, actor: User) -> Company:
    """The stated OPCO is not the company's: it stays without OPCO and states another one."""
    company = _pending_company(company_id)
    refused = company.declared_opco_code
    company.declared_opco_code = None
    audit.record(
        "company.opco_refused",
        organisation_id=company.id,
        actor=actor,
        obj=company,
        data={"idcc": company.idcc, "opco": refused},
    )
    return company


# --- Headcount ---------------------------------------------------------------------------------------------


def validate_headcount_year(raw: str | int | None, today: date) -> int:
    """The year of the headcount: the annual average of the previous year (« effectif moyen annuel de
    l'année N-1 »), or of the year before while that average is not yet known (early in the year).

    Empty means last year; any other year is refused.
    """
    last = today.year - 1
    text = str(raw if raw is not None else "").strip()
    if not text:
        return last
    message = (
        f"L'effectif est la moyenne annuelle de l'année précédente : indiquez l'année {last} "
        f"(ou {last - 1} si la moyenne de {last} n'est pas encore connue)."
    )
    if not (text.isascii() and text.isdigit() and len(text) == 4):
        raise DomainError(message, field="headcount_year")
    year = int(text)
    if not last - 1 <= year <= last:
        raise DomainError(message, field="headcount_year")
    return year


def update_headcount(
    company: Company, raw_headcount: str | int, raw_year: str | int | None, actor: User, today: date
) -> Company:
    """The company states its headcount again (a new year's average): audited with the values before and
    after; the size band (funding shares, eligibility) follows from it for the enrolments made from now on,
    those already made keep the band frozen on them."""
    errors = {}
    try:
        headcount = identifiers.validate_headcount(raw_headcount)
    except DomainError as error:
        errors["headcount"] = error.message
    try:
        year = validate_headcount_year(raw_year, today)
    except DomainError as error:
        errors["headcount_year"] = error.message
    if errors:
        raise InvalidForm(errors)
    before = (company.headcount, company.headcount_year, identifiers.size_band(company.headcount))
    after = (headcount, year, identifiers.size_band(headcount))
    if before == after:
        return company
    company.headcount, company.headcount_year = headcount, year
    audit.record(
        "company.headcount_changed",
        organisation_id=company.id,
        actor=actor,
        obj=company,
        data={
            "headcount": [before[0], after[0]],
            "headcount_year": [before[1], after[1]],
            "size_band": [before[2], after[2]],
        },
    )
    return company
