"""Demonstration data (`flask seed-demo`): three OPCOs, four training organisations, six companies.

Everything goes through the same services as the web pages (create_opco, create_company, create_provider,
create_user, invite), so the demo data passes the same validation and leaves the same audit trail.
SIRETs are made up but valid (Luhn on the SIREN and on the SIRET, computed by :func:`make_siret`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select
from stdnum import luhn

from marketplace.extensions import db
from marketplace.models import Membership, Opco, Organisation, User
from marketplace.services import accounts, audit, organisations
from marketplace.services.organisations import CompanyInput, ProviderInput
from marketplace.services.reference_data import load_reference_data
from marketplace.services.roles import ADMIN

DEMO_PASSWORD = "demo-marketplace-2026"
MARKER_EMAIL = "opco@demo.test"

# The fixed logins printed by `flask seed-demo` and `scripts/run.sh` (issue 2, point 9).
DEMO_LOGINS: list[tuple[str, str]] = [
    ("operateur@demo.test", "opérateur de la plateforme"),
    ("opco@demo.test", "administrateur de l'OPCO AKTO"),
    ("entreprise@demo.test", "administrateur d'une entreprise adhérente d'AKTO"),
    ("entreprise2@demo.test", "administrateur d'une autre entreprise adhérente d'AKTO"),
    ("of@demo.test", "administrateur d'un organisme de formation"),
]


def make_siret(siren_prefix: str, nic: str) -> str:
    """A valid SIRET from 8 digits of SIREN and 4 digits of NIC: both check digits computed (Luhn)."""
    if len(siren_prefix) != 8 or len(nic) != 4 or not (siren_prefix + nic).isdigit():
        raise ValueError("8 chiffres de SIREN et 4 chiffres de NIC attendus")
    siren = siren_prefix + luhn.calc_check_digit(siren_prefix)
    body = siren + nic
    return body + luhn.calc_check_digit(body)


# OPCO code -> (admin email, admin name), plus extra staff (email, name, role).
OPCOS = [
    (
        "akto",
        "opco@demo.test",
        "Claire Martin",
        [("opco-catalogue@demo.test", "Julien Bernard", "catalogue_manager")],
    ),
    ("atlas", "opco-atlas@demo.test", "Sophie Lefèvre", []),
    ("opcoep", "opco-ep@demo.test", "Nicolas Girard", []),
]

PROVIDERS = [
    dict(
        admin=("of@demo.test", "Isabelle Moreau"),
        name="Compétences & Territoires Formation",
        siret=make_siret("81234567", "0017"),
        nda="11755012375",
        vat_regime="exonere",
        region_code="11",
        address="18 rue de la Roquette",
        postal_code="75011",
        city="Paris",
        qualiopi_certifier="AFNOR Certification",
        qualiopi_number="FRCM-2024-10452",
        qualiopi_categories=["actions_formation", "bilans_competences"],
    ),
    dict(
        admin=("of2@demo.test", "Thomas Petit"),
        name="Atelier Numérique Formation",
        siret=make_siret("82345678", "0021"),
        nda="84690123469",
        vat_regime="assujetti",
        region_code="84",
        address="42 quai Perrache",
        postal_code="69002",
        city="Lyon",
        qualiopi_certifier="Bureau Veritas Certification",
        qualiopi_number="BV-QUA-118204",
        qualiopi_categories=["actions_formation"],
    ),
    dict(
        admin=("of3@demo.test", "Camille Roux"),
        name="Occitanie Sécurité Prévention",
        siret=make_siret("83456789", "0015"),
        nda="76310456731",
        vat_regime="franchise",
        region_code="76",
        address="7 allée Jean Jaurès",
        postal_code="31000",
        city="Toulouse",
        qualiopi_certifier="SGS ICS",
        qualiopi_number="FR24-QLP-5520",
        qualiopi_categories=["actions_formation", "apprentissage"],
    ),
    dict(
        admin=("of4@demo.test", "Yann Le Gall"),
        name="Breizh Management Académie",
        siret=make_siret("84567890", "0034"),
        nda="53350789035",
        vat_regime="assujetti",
        region_code="53",
        address="3 place de Bretagne",
        postal_code="35000",
        city="Rennes",
        qualiopi_certifier="ICPF",
        qualiopi_number="ICPF-Q-2025-0871",
        qualiopi_categories=["actions_formation", "vae"],
    ),
]

COMPANIES = [
    dict(
        admin=("entreprise@demo.test", "Marc Dubois"),
        name="Net & Clair Services",
        siret=make_siret("79123456", "0012"),
        ape_code="8121Z",
        idcc="3043",
        headcount=120,
        region_code="11",
        address="25 boulevard Voltaire",
        postal_code="75011",
        city="Paris",
    ),
    dict(
        admin=("entreprise2@demo.test", "Léa Fontaine"),
        name="Brasserie du Vieux-Port",
        siret=make_siret("79234567", "0015"),
        ape_code="5610A",
        idcc="1979",
        headcount=8,
        region_code="93",
        address="12 quai du Port",
        postal_code="13002",
        city="Marseille",
    ),
    dict(
        admin=("entreprise3@demo.test", "Pierre Lambert"),
        name="Distrilyon Négoce",
        siret=make_siret("79345678", "0028"),
        ape_code="4690Z",
        idcc="0573",
        headcount=320,
        region_code="84",
        address="110 avenue Jean Jaurès",
        postal_code="69007",
        city="Lyon",
    ),
    dict(
        admin=("entreprise4@demo.test", "Émilie Garnier"),
        name="Atlantique Ingénierie Conseil",
        siret=make_siret("79456789", "0013"),
        ape_code="7112B",
        idcc="1486",
        headcount=35,
        region_code="52",
        address="5 rue de Strasbourg",
        postal_code="44000",
        city="Nantes",
    ),
    dict(
        admin=("entreprise5@demo.test", "Hugo Mercier"),
        name="Crédit Rhénan",
        siret=make_siret("79567890", "0019"),
        ape_code="6419Z",
        idcc="2120",
        headcount=260,
        region_code="44",
        address="2 place Kléber",
        postal_code="67000",
        city="Strasbourg",
    ),
    dict(
        admin=("entreprise6@demo.test", "Manon Chevalier"),
        name="Salon Harmonie Coiffure",
        siret=make_siret("79678901", "0027"),
        ape_code="9602A",
        idcc="2596",
        headcount=4,
        region_code="28",
        address="9 rue du Gros-Horloge",
        postal_code="76000",
        city="Rouen",
    ),
]


@dataclass
class SeedResult:
    created: bool
    users: int = 0
    organisations: int = 0
    invitations: int = 0
    marketplace: dict[str, int] = field(default_factory=dict)
    logins: list[tuple[str, str]] = field(default_factory=list)


def demo_present() -> bool:
    return db.session.scalar(select(User.id).where(User.email == MARKER_EMAIL)) is not None


def _member(user: User, organisation: Organisation, role_code: str, actor: User | None) -> Membership:
    membership = Membership(user=user, organisation=organisation, role=role_code)
    db.session.add(membership)
    db.session.flush()
    audit.record(
        "member.joined",
        organisation_id=organisation.id,
        actor=actor or user,
        obj=membership,
        data={"email": user.email, "role": role_code},
    )
    return membership


def _trainee_information(provider, admin: User) -> None:
    """What the convocations print (L6353-8): référent handicap, règlement intérieur, signatory."""
    from marketplace.services import trainee_information

    trainee_information.update_provider(
        provider,
        trainee_information.TraineeInformation(
            disability_referent=admin.full_name,
            disability_referent_contact=f"{admin.email} — 01 23 45 67 89",
            internal_rules=(
                "Article 1 – Objet. Le présent règlement s'applique à toutes les personnes participant à une "
                "formation organisée par l'organisme.\n"
                "Article 2 – Horaires. Les stagiaires respectent les horaires indiqués sur la convocation et "
                "signent la feuille d'émargement à chaque demi-journée.\n"
                "Article 3 – Hygiène et sécurité. Chacun respecte les consignes de sécurité du lieu de formation.\n"
                "Article 4 – Sanctions. Tout manquement peut faire l'objet d'une sanction (C. trav. R6352-3)."
            ),
            signatory_name=admin.full_name,
            signatory_title="Directeur ou directrice",
        ),
        admin,
    )


def _seed_exports(opco: Opco, admin: User) -> dict[str, int]:
    """A finished export on the OPCO's « Exports » page (its enrolments, XLSX), ready to download."""
    from marketplace.services import export_jobs

    job = export_jobs.start(opco, ADMIN, admin, "inscriptions", "xlsx", "")
    export_jobs.produce_in_transaction(job, opco.kind)
    return {"exports": 1}


def seed_demo(today: date) -> SeedResult:
    """Create the demo data unless it is already there; the caller commits (once)."""
    if demo_present():
        return SeedResult(created=False, logins=DEMO_LOGINS)
    load_reference_data()
    users: list[User] = []

    def user(email: str, name: str, **kwargs) -> User:
        u = accounts.create_user(email, name, DEMO_PASSWORD, **kwargs)
        users.append(u)
        return u

    operator = user("operateur@demo.test", "Agnès Operatrice", is_operator=True)

    opcos: dict[str, Opco] = {}
    opco_admins: dict[str, User] = {}
    for code, admin_email, admin_name, staff in OPCOS:
        opco = organisations.create_opco(code, actor=operator)
        opcos[code] = opco
        admin = user(admin_email, admin_name)
        opco_admins[code] = admin
        _member(admin, opco, ADMIN, operator)
        for email, name, role_code in staff:
            _member(user(email, name), opco, role_code, admin)

    # Qualiopi: issued on the 1st of the month a year ago, valid three years (so valid today).
    issued = date(today.year - 1, today.month, 1)
    providers = []
    provider_admins = []
    for spec in PROVIDERS:
        spec = dict(spec)
        email, name = spec.pop("admin")
        data = ProviderInput(
            **spec, qualiopi_issued_on=issued, qualiopi_expires_on=issued.replace(year=issued.year + 3)
        )
        provider_admins.append(user(email, name))
        providers.append(organisations.create_provider(data, provider_admins[-1], today))
        _trainee_information(providers[-1], provider_admins[-1])

    companies = []
    company_admins = []
    for spec in COMPANIES:
        spec = dict(spec)
        email, name = spec.pop("admin")
        company_admins.append(user(email, name))
        companies.append(organisations.create_company(CompanyInput(**spec), company_admins[-1]))

    # Two invitations wait for an answer (their emails are in the outbox).
    invitations = [
        accounts.invite(opcos["akto"], "controle-akto@demo.test", "controller", opco_admins["akto"]),
        accounts.invite(companies[0], "rh@demo.test", "hr", company_admins[0]),
    ]
    db.session.flush()
    from marketplace.services.demo_marketplace import seed_marketplace

    marketplace = seed_marketplace(
        today, opcos, opco_admins, providers, provider_admins, companies, company_admins
    )
    db.session.flush()
    from marketplace.models import CollectiveAction
    from marketplace.services.demo_tenders import seed_tenders

    rse = db.session.scalar(select(CollectiveAction).where(CollectiveAction.reference == "ATLAS-AC-2026-02"))
    marketplace.update(seed_tenders(today, opcos, opco_admins, providers, provider_admins, rse))
    db.session.flush()
    from marketplace.services.demo_delivery import seed_delivery

    marketplace.update(seed_delivery(today, providers, provider_admins, companies, company_admins))
    from marketplace.services.demo_money import seed_delivered_sessions

    marketplace.update(seed_delivered_sessions(today, providers, provider_admins, companies, company_admins))
    from marketplace.services.demo_quality import seed_cold_session

    marketplace.update(seed_cold_session(today, providers, provider_admins, companies, company_admins))
    db.session.flush()
    from marketplace.services.demo_budgets import seed_budgets

    marketplace.update(seed_budgets(today, opcos, opco_admins))
    db.session.flush()
    from marketplace.services.demo_money import seed_money

    marketplace.update(seed_money(today, opcos, opco_admins, providers, provider_admins))
    db.session.flush()
    from marketplace.services.demo_quality import seed_quality

    marketplace.update(
        seed_quality(opcos, opco_admins, providers, provider_admins, companies, company_admins)
    )
    marketplace.update(_seed_exports(opcos["akto"], opco_admins["akto"]))
    from marketplace.services.demo_reporting import seed_reporting

    marketplace.update(seed_reporting(today, providers, provider_admins, companies, company_admins))
    return SeedResult(
        created=True,
        marketplace=marketplace,
        users=len(users),
        organisations=len(opcos) + len(providers) + len(companies),
        invitations=len(invitations),
        logins=DEMO_LOGINS,
    )
