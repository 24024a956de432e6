"""places and reference data: IDCC rows dated and flagged obsolete, OPCO stated by a company and confirmed

Revision ID: a9e4c2d1b605
Revises: f5a1b3c9d204
Create Date: 2026-11-30 06:20:00

- ref_idcc: the date of each row's source, and for an obsolete code its successor and end date (0650 →
  3248 on 1 January 2024); `flask load-reference` fills them from marketplace/reference/idcc.csv.
- companies: the OPCO a company states when its IDCC is not in the table (or is 9999), and when the platform
  operator confirmed it.
- Existing companies, organisations and sessions get the region of their postal code (the region used to be
  picked freely: a Paris address could claim Occitanie and its regional funding).
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'a9e4c2d1b605'
down_revision = 'f5a1b3c9d204'
branch_labels = None
depends_on = None

# A copy of services.places as it is in this revision (migrations do not import the application).
_REGION_DEPARTEMENTS = {
    "01": ("971",), "02": ("972",), "03": ("973",), "04": ("974",), "06": ("976",),
    "11": ("75", "77", "78", "91", "92", "93", "94", "95"),
    "24": ("18", "28", "36", "37", "41", "45"),
    "27": ("21", "25", "39", "58", "70", "71", "89", "90"),
    "28": ("14", "27", "50", "61", "76"),
    "32": ("02", "59", "60", "62", "80"),
    "44": ("08", "10", "51", "52", "54", "55", "57", "67", "68", "88"),
    "52": ("44", "49", "53", "72", "85"),
    "53": ("22", "29", "35", "56"),
    "75": ("16", "17", "19", "23", "24", "33", "40", "47", "64", "79", "86", "87"),
    "76": ("09", "11", "12", "30", "31", "32", "34", "46", "48", "65", "66", "81", "82"),
    "84": ("01", "03", "07", "15", "26", "38", "42", "43", "63", "69", "73", "74"),
    "93": ("04", "05", "06", "13", "83", "84"),
    "94": ("2A", "2B"),
}
_REGION_OF = {dep: region for region, deps in _REGION_DEPARTEMENTS.items() for dep in deps}


def _region_of_postal_code(code):
    code = (code or "").strip()
    if len(code) != 5 or not code.isdigit() or code in ("97133", "97150"):
        return None
    if code.startswith(("97", "98")):
        dep = code[:3]
    elif code.startswith("20"):
        dep = "2A" if code < "20200" else ("2B" if code < "20700" else None)
    else:
        dep = code[:2]
    return _REGION_OF.get(dep or "")


def _derive_regions(bind, table, remote_column=None):
    rows = bind.execute(sa.text(
        f"SELECT id, postal_code, region_code FROM {table}"
        + (f" WHERE {remote_column} = :false" if remote_column else "")
    ), {"false": False} if remote_column else {}).fetchall()
    for row_id, postal_code, region_code in rows:
        derived = _region_of_postal_code(postal_code)
        if derived is not None and derived != region_code:
            bind.execute(sa.text(f"UPDATE {table} SET region_code = :region WHERE id = :id"),
                         {"region": derived, "id": row_id})


def upgrade():
    with op.batch_alter_table('ref_idcc', schema=None) as batch_op:
        batch_op.add_column(sa.Column('source_date', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('replaced_by', sa.String(length=4), nullable=True))
        batch_op.add_column(sa.Column('ended_on', sa.Date(), nullable=True))

    with op.batch_alter_table('companies', schema=None) as batch_op:
        batch_op.add_column(sa.Column('declared_opco_code', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('opco_confirmed_at', sa.DateTime(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_companies_declared_opco_code_ref_opcos'), 'ref_opcos',
                                    ['declared_opco_code'], ['code'])

    bind = op.get_bind()
    _derive_regions(bind, 'companies')
    _derive_regions(bind, 'training_providers')
    _derive_regions(bind, 'training_sessions', remote_column='is_remote')


def downgrade():
    # The regions derived from postal codes are kept: they are the right ones.
    with op.batch_alter_table('companies', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_companies_declared_opco_code_ref_opcos'), type_='foreignkey')
        batch_op.drop_column('opco_confirmed_at')
        batch_op.drop_column('declared_opco_code')

    with op.batch_alter_table('ref_idcc', schema=None) as batch_op:
        batch_op.drop_column('ended_on')
        batch_op.drop_column('replaced_by')
        batch_op.drop_column('source_date')
