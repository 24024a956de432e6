"""Creating organisations (OPCO, company, training organisation) and attaching companies to their OPCO.

What follows sign-up lives beside it: the Qualiopi renewal (:mod:`qualiopi`), an OPCO's settings
(:mod:`opco_settings`), a company's stated OPCO and headcount (:mod:`company_profile`)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

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
    Region,
    TrainingProvider,
    User,
)
from marketplace.services import (
    audit,
    company_profile,
    identifiers,
    places,
)
from marketplace.services.errors import Collect, DomainError
from marketplace.services.roles import ADMIN


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
    headcount_year = checks.run(company_profile.validate_headcount_year, data.headcount_year, paris_today())
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
