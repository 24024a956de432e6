"""funding rules: HT/TTC funding basis, VAT by place of delivery, figures and rules frozen on enrolments

Revision ID: e2b9d4c7a803
Revises: a7c3e9d1f201
Create Date: 2026-11-30 05:40:00

Existing enrolments get their figures frozen with the rules of the time they were made: the OPCOs funded on
the HT price (the only rule until now), the VAT rate of their organisation's regime at the place of the
session (services.funding), and the notice period and caps of their action as they are now.
"""
from decimal import ROUND_HALF_UP, Decimal

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'e2b9d4c7a803'
down_revision = 'a7c3e9d1f201'
branch_labels = None
depends_on = None

# A copy of services.places / services.funding as they are in this revision (migrations do not import the
# application, which will change after them).
_OVERSEAS_REGIONS = {"01": "971", "02": "972", "03": "973", "04": "974", "06": "976"}
_RATES = {"971": Decimal("0.085"), "972": Decimal("0.085"), "974": Decimal("0.085"), "973": Decimal(0),
          "976": Decimal(0), "975": Decimal(0), "BL": Decimal(0), "MF": Decimal(0), "986": Decimal(0),
          "987": Decimal(0), "988": Decimal(0)}


def _departement(postal_code, region_code, is_remote, fallback):
    def of(code):
        code = (code or "").strip()
        if len(code) != 5 or not code.isdigit():
            return None
        if code in ("97133", "97150"):
            return {"97133": "BL", "97150": "MF"}[code]
        if code.startswith(("97", "98")):
            return code[:3]
        return code[:2]

    if not is_remote:
        if of(postal_code):
            return of(postal_code)
        if region_code in _OVERSEAS_REGIONS:
            return _OVERSEAS_REGIONS[region_code]
        if region_code:
            return None
    return of(fallback)


def _rate(regime, departement):
    if regime != "assujetti":
        return Decimal(0)
    return _RATES.get(departement or "", Decimal("0.20"))


def upgrade():
    with op.batch_alter_table('opcos', schema=None) as batch_op:
        batch_op.add_column(sa.Column('funding_basis', sa.String(length=3), server_default='ht', nullable=False))
        batch_op.create_check_constraint(op.f('ck_opcos_funding_basis'), "funding_basis IN ('ht', 'ttc')")

    with op.batch_alter_table('collective_actions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('funding_basis', sa.String(length=3), nullable=True))
        batch_op.create_check_constraint(op.f('ck_collective_actions_funding_basis'), "funding_basis IN ('ht', 'ttc')")

    with op.batch_alter_table('enrolments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('vat_rate', sa.Numeric(precision=5, scale=4), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('vat_cents', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('price_ttc_cents', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('funding_basis', sa.String(length=3), server_default='ht', nullable=False))
        batch_op.add_column(sa.Column('opco_amount_cents', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('remainder_ttc_cents', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('cancellation_days', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('cap_per_session', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('cap_per_year', sa.Integer(), nullable=True))

    # Data: freeze the figures and the rules on the existing enrolments.
    bind = op.get_bind()
    rows = bind.execute(sa.text(
        "SELECT e.id, e.price_cents, e.funded_cents, p.vat_regime, s.postal_code, s.region_code, s.is_remote, "
        "c.postal_code, a.cancellation_days, a.cap_per_company_per_session, a.cap_per_company_per_year "
        "FROM enrolments e "
        "JOIN training_sessions s ON s.id = e.session_id "
        "JOIN collective_actions a ON a.id = s.action_id "
        "JOIN training_providers p ON p.id = e.provider_id "
        "JOIN companies c ON c.id = e.company_id"
    )).all()
    update = sa.text(
        "UPDATE enrolments SET vat_rate = :rate, vat_cents = :vat, price_ttc_cents = :ttc, funding_basis = 'ht', "
        "opco_amount_cents = :paid, remainder_ttc_cents = :rest, cancellation_days = :days, "
        "cap_per_session = :cap_session, cap_per_year = :cap_year WHERE id = :id"
    ).bindparams(sa.bindparam("rate", type_=sa.Numeric(5, 4)))
    for (id_, price, funded, regime, postal_code, region_code, is_remote, company_postal_code, days,
         cap_session, cap_year) in rows:
        rate = _rate(regime, _departement(postal_code, region_code, is_remote, company_postal_code))
        vat = int((Decimal(price) * rate).quantize(Decimal(1), rounding=ROUND_HALF_UP))
        bind.execute(update, {
            "id": id_, "rate": rate, "vat": vat, "ttc": price + vat, "paid": funded, "rest": price + vat - funded,
            "days": days, "cap_session": cap_session, "cap_year": cap_year,
        })

    with op.batch_alter_table('enrolments', schema=None) as batch_op:
        for column in ('vat_rate', 'vat_cents', 'price_ttc_cents', 'funding_basis', 'opco_amount_cents',
                       'remainder_ttc_cents'):
            batch_op.alter_column(column, server_default=None)
        batch_op.create_check_constraint(op.f('ck_enrolments_ttc_adds_up'), "price_cents + vat_cents = price_ttc_cents")
        batch_op.create_check_constraint(op.f('ck_enrolments_payers_add_up'), "opco_amount_cents + remainder_ttc_cents = price_ttc_cents")
        batch_op.create_check_constraint(op.f('ck_enrolments_funding_basis'), "funding_basis IN ('ht', 'ttc')")


def downgrade():
    with op.batch_alter_table('enrolments', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_enrolments_funding_basis'), type_='check')
        batch_op.drop_constraint(op.f('ck_enrolments_payers_add_up'), type_='check')
        batch_op.drop_constraint(op.f('ck_enrolments_ttc_adds_up'), type_='check')
        for column in ('cap_per_year', 'cap_per_session', 'cancellation_days', 'remainder_ttc_cents',
                       'opco_amount_cents', 'funding_basis', 'price_ttc_cents', 'vat_cents', 'vat_rate'):
            batch_op.drop_column(column)

    with op.batch_alter_table('collective_actions', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_collective_actions_funding_basis'), type_='check')
        batch_op.drop_column('funding_basis')

    with op.batch_alter_table('opcos', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_opcos_funding_basis'), type_='check')
        batch_op.drop_column('funding_basis')
