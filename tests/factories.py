"""Factories for tests: plain functions over the services, so test data passes the real validation.

Every factory **commits** (so the rows are visible to requests made with the test client, which run in
their own session) and returns the object, still usable in the test's session. Defaults produce valid,
unique data: SIRETs pass Luhn (SIREN and SIRET), NDAs have 11 digits, Qualiopi certificates are valid today.

Use through the ``make`` fixture::

    admin = make.user()
    company = make.company(admin=admin)              # attached to AKTO (created if missing)
    provider = make.provider(qualiopi_expires_on=date(2024, 1, 1))   # an expired certificate
    make.member(company, make.user(), "hr")
    invitation, token = make.invitation(company, "x@exemple.fr", "viewer", actor=admin)
"""

from __future__ import annotations

import hashlib
import itertools
import secrets
from datetime import date, timedelta

from sqlalchemy import select

from marketplace.extensions import db
from marketplace.formatting import paris_today
from marketplace.models import (
    IdccBranch,
    Invitation,
    Membership,
    Opco,
    OpcoBranch,
    Organisation,
    User,
    utcnow,
)
from marketplace.services import accounts, organisations
from marketplace.services.demo import make_siret
from marketplace.services.organisations import CompanyInput, ProviderInput

DEFAULT_PASSWORD = "mot-de-passe-test-2026"

_seq = itertools.count(1)


def next_siret() -> str:
    """A fresh valid SIRET (SIREN 5xxxxxxx + Luhn, NIC + Luhn); never La Poste's SIREN."""
    n = next(_seq)
    return make_siret(f"{50_000_000 + n:08d}", f"{n % 10_000:04d}")


def next_nda(department: str = "75") -> str:
    """11 digits in the usual RR DD NNNNN DD shape (region 11, same department at both ends)."""
    return f"11{department}{next(_seq) % 100_000:05d}{department}"


class Factories:
    def user(
        self,
        email: str | None = None,
        password: str = DEFAULT_PASSWORD,
        full_name: str | None = None,
        *,
        is_operator: bool = False,
    ) -> User:
        n = next(_seq)
        user = accounts.create_user(
            email or f"personne{n}@exemple.test",
            full_name or f"Personne Test {n}",
            password,
            is_operator=is_operator,
        )
        db.session.commit()
        return user

    def operator(self, email: str | None = None) -> User:
        return self.user(email=email, is_operator=True)

    def opco(
        self, code: str = "akto", idcc_codes: list[str] | None = None, admin: User | None = None
    ) -> Opco:
        """The OPCO with this reference code (created through the service if missing).

        ``admin``: a user made administrator of it.
        """
        opco = db.session.scalar(select(Opco).where(Opco.code == code))
        if opco is None:
            opco = organisations.create_opco(code, actor=None, idcc_codes=idcc_codes)
            db.session.commit()
        if admin is not None:
            self.member(opco, admin, "admin")
        return opco

    def company(
        self,
        opco_code: str | None = "akto",
        *,
        headcount: int = 20,
        admin: User | None = None,
        name: str | None = None,
        idcc: str | None = None,
        siret: str | None = None,
        ape_code: str = "6202A",
        region_code: str = "11",
        postal_code: str = "75011",
        city: str = "Paris",
    ):
        """A company and its first administrator (a new user unless ``admin`` is given).

        ``opco_code``: the OPCO it is attached to (created if missing); the IDCC is one that OPCO covers.
        ``opco_code=None``: an IDCC whose OPCO is not on the platform, so the company has no OPCO.
        """
        if idcc is None:
            if opco_code is not None:
                idcc = self.opco(opco_code).idcc_codes[0]
            else:
                covered = select(OpcoBranch.idcc)
                idcc = db.session.scalar(
                    select(IdccBranch.idcc).where(IdccBranch.idcc.not_in(covered)).order_by(IdccBranch.idcc)
                )
        n = next(_seq)
        data = CompanyInput(
            name=name or f"Entreprise Test {n}",
            siret=siret or next_siret(),
            ape_code=ape_code,
            idcc=idcc,
            headcount=headcount,
            region_code=region_code,
            address=f"{n} rue de la République",
            postal_code=postal_code,
            city=city,
        )
        company = organisations.create_company(data, admin or self.user())
        db.session.commit()
        return company

    def provider(
        self,
        *,
        admin: User | None = None,
        name: str | None = None,
        qualiopi_expires_on: date | None = None,
        qualiopi_categories: list[str] | None = None,
        vat_regime: str = "exonere",
        siret: str | None = None,
        nda: str | None = None,
        region_code: str = "11",
    ):
        """A training organisation and its first administrator.

        Qualiopi defaults to issued a year ago, valid two more years. An ``qualiopi_expires_on`` in the past
        gives an expired certificate (validated as of its issue day, as if it had signed up back then).
        """
        today = paris_today()
        expires = qualiopi_expires_on or today + timedelta(days=730)
        issued = min(today - timedelta(days=365), expires - timedelta(days=30))
        n = next(_seq)
        data = ProviderInput(
            name=name or f"Organisme de formation Test {n}",
            siret=siret or next_siret(),
            nda=nda or next_nda(),
            vat_regime=vat_regime,
            region_code=region_code,
            address=f"{n} avenue de la Formation",
            postal_code="75010",
            city="Paris",
            qualiopi_certifier="AFNOR Certification",
            qualiopi_number=f"QUA-{n:06d}",
            qualiopi_categories=qualiopi_categories or ["actions_formation"],
            qualiopi_issued_on=issued,
            qualiopi_expires_on=expires,
        )
        provider = organisations.create_provider(data, admin or self.user(), today=min(today, issued))
        db.session.commit()
        return provider

    def member(self, org: Organisation, user: User | None = None, role: str = "admin") -> Membership:
        """Give ``user`` (a new user by default) access to ``org`` with ``role``."""
        membership = Membership(user=user or self.user(), organisation=org, role=role)
        db.session.add(membership)
        db.session.commit()
        return membership

    # --- Marketplace core: catalogue, sessions, employees, enrolments ---------------------------------
    # Written with the models directly (the catalogue and sessions services validate far more than a test
    # of another capability needs); every value is consistent with those services' rules.

    def action(
        self,
        opco: Opco | None = None,
        *,
        title: str | None = None,
        status: str = "published",
        price_cents: int = 100_000,
        shares: dict[str, int] | None = None,
        idcc_codes: list[str] | None = None,
        regions: list[str] | None = None,
        requires_approval: bool = False,
        cap_per_company_per_session: int | None = None,
        cap_per_company_per_year: int | None = None,
        cancellation_days: int = 10,
        theme_code: str = "31",
        modality: str = "presentiel",
        duration_hours: str = "14",
        campaign_year: int | None = None,
        objectives: str = "Acquérir les bases.",
    ):
        """A collective action of ``opco`` (AKTO by default), published, open to every size band at 100 %."""
        from decimal import Decimal

        from marketplace.models import ActionBranch, ActionRegion, CollectiveAction, FundingShare
        from marketplace.services.catalogue import search_text_for
        from marketplace.services.identifiers import SIZE_BANDS

        opco = opco or self.opco("akto")
        n = next(_seq)
        title = title or f"Action collective {n}"
        shares = shares if shares is not None else {code: 100 for code, *_ in SIZE_BANDS}
        action = CollectiveAction(
            opco_id=opco.id,
            reference=f"AC-{n:05d}",
            title=title,
            objectives=objectives,
            theme_code=theme_code,
            modality=modality,
            duration_hours=Decimal(duration_hours),
            campaign_year=campaign_year or paris_today().year,
            is_national=not regions,
            price_cents=price_cents,
            cap_per_company_per_session=cap_per_company_per_session,
            cap_per_company_per_year=cap_per_company_per_year,
            cancellation_days=cancellation_days,
            requires_approval=requires_approval,
            status=status,
            search_text=f"ac-{n:05d} {title} {objectives}".lower(),
            published_at=paris_today() if status == "published" else None,
        )
        action.branches = [
            ActionBranch(idcc=c) for c in (idcc_codes if idcc_codes is not None else opco.idcc_codes)
        ]
        action.regions = [ActionRegion(region_code=r) for r in (regions or [])]
        action.funding_shares = [FundingShare(size_band=b, percent=p) for b, p in shares.items()]
        action.search_text = search_text_for(action)
        db.session.add(action)
        db.session.commit()
        return action

    def referencing(
        self,
        action,
        provider=None,
        *,
        price_cents: int | None = None,
        status: str = "active",
        valid_from: date | None = None,
        valid_until: date | None = None,
    ):
        from marketplace.models import Referencing

        provider = provider or self.provider()
        referencing = Referencing(
            opco_id=action.opco_id,
            action_id=action.id,
            provider_id=provider.id,
            valid_from=valid_from or paris_today() - timedelta(days=30),
            valid_until=valid_until or paris_today() + timedelta(days=700),
            price_cents=action.price_cents if price_cents is None else price_cents,
            status=status,
        )
        db.session.add(referencing)
        db.session.commit()
        return referencing

    def session(
        self,
        action=None,
        provider=None,
        *,
        start: date | None = None,
        days: int | None = None,
        capacity_max: int = 10,
        capacity_min: int = 1,
        status: str = "open",
        registration_deadline: date | None = None,
        city: str = "Lyon",
        region_code: str = "84",
        is_remote: bool = False,
        price_cents: int | None = None,
    ):
        """A session of ``action`` by a referenced ``provider``: ``days`` full days (two half-days each), or by
        default consecutive half-days of 3 h 30 adding up to the action's duration (the last one shorter when
        needed), as services.session_input.check_length requires of a real session (14 h: two days)."""
        from datetime import datetime, time

        from marketplace.models import Referencing, SessionSlot, TrainingSession

        action = action or self.action()
        referencing = None
        if provider is not None:
            referencing = db.session.scalar(
                select(Referencing).where(
                    Referencing.action_id == action.id, Referencing.provider_id == provider.id
                )
            )
        if referencing is None:
            referencing = self.referencing(action, provider)
        start = start or paris_today() + timedelta(days=30)
        if days is not None:
            slots = [
                (start + timedelta(days=offset), half_day, begin, finish)
                for offset in range(days)
                for half_day, begin, finish in (("am", time(9), time(12, 30)), ("pm", time(13, 30), time(17)))
            ]
        else:
            slots, left, n = [], int(action.duration_hours * 60), 0
            while left > 0:
                length = min(left, 210)
                day, half_day = start + timedelta(days=n // 2), ("am", "pm")[n % 2]
                begin = time(9) if half_day == "am" else time(13, 30)
                slots.append(
                    (day, half_day, begin, (datetime.combine(day, begin) + timedelta(minutes=length)).time())
                )
                left, n = left - length, n + 1
        end = slots[-1][0]
        session = TrainingSession(
            action_id=action.id,
            provider_id=referencing.provider_id,
            opco_id=action.opco_id,
            referencing_id=referencing.id,
            status=status,
            start_date=start,
            end_date=end,
            registration_deadline=registration_deadline or start - timedelta(days=7),
            capacity_min=capacity_min,
            capacity_max=capacity_max,
            is_remote=is_remote,
            address="" if is_remote else "10 rue de la Formation",
            postal_code="" if is_remote else "69003",
            city="" if is_remote else city,
            region_code=None if is_remote else region_code,
            trainer_names="Claire Formatrice",
            contact_name="Paul Contact",
            contact_email="contact@of.test",
            price_cents=referencing.price_cents if price_cents is None else price_cents,
        )
        for day, half_day, begin, finish in slots:
            session.slots.append(SessionSlot(day=day, half_day=half_day, start_time=begin, end_time=finish))
        db.session.add(session)
        db.session.commit()
        return session

    def employee(
        self,
        company,
        *,
        last_name: str | None = None,
        first_name: str = "Camille",
        email: str | None = None,
        job_title: str = "Agent",
    ):
        from marketplace.models import Employee

        n = next(_seq)
        employee = Employee(
            company_id=company.id,
            last_name=last_name or f"Salarié{n}",
            first_name=first_name,
            email=email if email is not None else f"salarie{n}@exemple.test",
            job_title=job_title,
        )
        db.session.add(employee)
        db.session.commit()
        return employee

    def enrolment(self, session, company=None, employee=None, *, actor=None):
        """Enrol one employee through the enrolment service (confirmed, pending or waiting list)."""
        from marketplace.services import enrolments

        company = company or self.company()
        employee = employee or self.employee(company)
        actor = actor or self.user()
        [outcome] = enrolments.enrol(company, session.id, [employee.id], actor)
        assert outcome.enrolment is not None, outcome.reason
        db.session.commit()
        return outcome.enrolment

    # --- Calls for tenders ------------------------------------------------------------------------------
    # Written with the models directly, in any state, so each test starts where its capability begins.

    def tender(
        self,
        opco: Opco | None = None,
        *,
        status: str = "published",
        lots: int = 1,
        criteria: list[tuple[str, int]] | None = None,
        submission_deadline=None,
        questions_deadline=None,
        multi_award: bool = False,
        required_documents: list[str] | None = None,
        title: str | None = None,
        max_price_cents: int = 150_000,
        theme_code: str = "31",
        region_code: str | None = None,
    ):
        """A tender of ``opco`` (AKTO by default) with ``lots`` lots and four criteria totalling 100.

        Deadlines default to 20 days (submissions) and 10 days (questions) from now, in UTC.
        """
        from marketplace.models import Tender, TenderCriterion, TenderLot

        opco = opco or self.opco("akto")
        n = next(_seq)
        now = utcnow()
        tender = Tender(
            opco_id=opco.id,
            reference=f"AO-{n:05d}",
            title=title or f"Appel d'offres {n}",
            context="Renouvellement de l'offre de formation des branches.",
            specification="Cahier des charges : public, objectifs, modalités, volumes.",
            status=status,
            published_at=now if status != "draft" else None,
            questions_deadline=questions_deadline or now + timedelta(days=10),
            submission_deadline=submission_deadline or now + timedelta(days=20),
            expected_award_date=paris_today() + timedelta(days=45),
            multi_award=multi_award,
            required_documents=required_documents
            if required_documents is not None
            else ["technical_proposal"],
        )
        for number in range(1, lots + 1):
            tender.lots.append(
                TenderLot(
                    number=number,
                    title=f"Lot {number} – Formation {n}-{number}",
                    theme_code=theme_code,
                    region_code=region_code,
                    expected_sessions=4,
                    expected_trainees=40,
                    max_price_cents=max_price_cents,
                    duration_hours=14,
                )
            )
        for position, (label, weight) in enumerate(
            criteria or [("Valeur technique", 40), ("Équipe et moyens", 20), ("Prix", 30), ("RSE", 10)]
        ):
            tender.criteria.append(TenderCriterion(position=position, label=label, weight=weight))
        db.session.add(tender)
        db.session.commit()
        return tender

    def tender_response(
        self,
        tender,
        provider=None,
        *,
        lot=None,
        status: str = "submitted",
        price_per_trainee_cents: int = 120_000,
        documents: list[str] | None = None,
    ):
        """A response of ``provider`` to a lot (the first by default), with stored PDF documents."""
        from marketplace.models import ResponseDocument, TenderResponse
        from marketplace.services import storage

        provider = provider or self.provider()
        lot = lot or tender.lots[0]
        response = TenderResponse(
            tender_id=tender.id,
            lot_id=lot.id,
            provider_id=provider.id,
            opco_id=tender.opco_id,
            status=status,
            price_per_trainee_cents=price_per_trainee_cents,
            price_per_group_cents=price_per_trainee_cents * 8,
            duration_hours=14,
            programme="Jour 1 : fondamentaux. Jour 2 : mises en situation.",
            team="Deux formateurs certifiés.",
            submitted_at=utcnow() if status != "draft" else None,
        )
        for kind in documents if documents is not None else ["technical_proposal"]:
            stored = storage.store(f"{kind}.pdf", b"%PDF-1.4 document de test " + kind.encode())
            response.documents.append(
                ResponseDocument(
                    kind=kind,
                    filename=stored.filename,
                    storage_key=stored.key,
                    content_type=stored.content_type,
                    size=stored.size,
                )
            )
        db.session.add(response)
        db.session.commit()
        return response

    def invitation(
        self,
        org: Organisation,
        email: str | None = None,
        role: str = "admin",
        *,
        actor: User | None = None,
        expires_in: timedelta = timedelta(days=7),
    ) -> tuple[Invitation, str]:
        """A pending invitation with a known token (negative ``expires_in`` for an expired one).

        Written directly (no email); the token hash is computed like services.accounts does (sha256).
        """
        token = secrets.token_urlsafe(32)
        invitation = Invitation(
            organisation_id=org.id,
            email=(email or f"invite{next(_seq)}@exemple.test").lower(),
            role=role,
            token_hash=hashlib.sha256(token.encode()).hexdigest(),
            invited_by=actor,
            expires_at=utcnow() + expires_in,
        )
        db.session.add(invitation)
        db.session.commit()
        return invitation, token
