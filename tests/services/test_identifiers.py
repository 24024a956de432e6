"""Identifiers (SIRET, NDA, APE, IDCC, Qualiopi, headcount, TVA) and the reference CSVs."""

from __future__ import annotations

import csv
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from marketplace.services.errors import InvalidIdentifier
from marketplace.services.identifiers import (
    QUALIOPI_CATEGORIES,
    SIZE_BANDS,
    VAT_REGIMES,
    format_nda,
    format_siret,
    normalise_digits,
    qualiopi_is_valid,
    siren_of,
    size_band,
    size_band_label,
    validate_ape,
    validate_headcount,
    validate_idcc,
    validate_nda,
    validate_qualiopi,
    validate_siret,
    vat_rate,
)

REFERENCE = Path(__file__).resolve().parents[2] / "marketplace" / "reference"
TODAY = date(2025, 6, 15)


def _read(name: str) -> list[dict[str, str]]:
    with (REFERENCE / name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


# --- normalise_digits ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "732 829 320 00074",
        "732.829.320.00074",
        "732-829-320-00074",
        "732\u00a0829\u202f320 00074",
        " 73282932000074 ",
    ],
)
def test_normalise_digits_strips_separators(raw):
    assert normalise_digits(raw) == "73282932000074"


def test_normalise_digits_keeps_letters():
    assert normalise_digits("62.02 a") == "6202a"


# --- SIRET -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("73282932000074", "73282932000074"),
        ("732 829 320 00074", "73282932000074"),
        ("35600000000048", "35600000000048"),  # La Poste head office: ordinary Luhn
        ("356 000 000 49837", "35600000049837"),  # La Poste establishment: sum of digits = 45
    ],
)
def test_validate_siret_accepts_valid_numbers(raw, expected):
    assert validate_siret(raw) == expected


def test_la_poste_establishment_fails_luhn_but_is_accepted():
    from stdnum import luhn

    assert not luhn.is_valid("35600000049837")
    assert sum(int(d) for d in "35600000049837") % 5 == 0
    assert validate_siret("35600000049837") == "35600000049837"


@pytest.mark.parametrize(
    "raw, fragment",
    [
        ("", "obligatoire"),
        ("7328293200007", "14 chiffres"),
        ("732829320000745", "14 chiffres"),
        ("7328293200007A", "que des chiffres"),
        ("73282932000075", "clé de contrôle"),
        ("35600000049838", "clé de contrôle"),  # La Poste, sum of digits not a multiple of 5
        ("35600000000049", "clé de contrôle"),  # head office with a wrong key
        ("00000000000000", "n'existe pas"),  # passes Luhn, but no establishment has it
        ("000 000 000 00000", "n'existe pas"),
    ],
)
def test_validate_siret_refuses(raw, fragment):
    with pytest.raises(InvalidIdentifier) as excinfo:
        validate_siret(raw)
    assert fragment in excinfo.value.message
    assert excinfo.value.field == "siret"


def test_bad_luhn_message_points_to_kbis():
    with pytest.raises(InvalidIdentifier) as excinfo:
        validate_siret("73282932000075")
    assert excinfo.value.message == (
        "Ce SIRET n'est pas valide (clé de contrôle incorrecte). "
        "Vérifiez-le sur votre extrait Kbis ou avis de situation Sirene."
    )


def test_siren_of_and_format_siret():
    assert siren_of("732 829 320 00074") == "732829320"
    assert siren_of("35600000049837") == "356000000"
    assert format_siret("73282932000074") == "732 829 320 00074"
    assert format_siret("732.829.320.00074") == "732 829 320 00074"
    assert format_siret("123") == "123"


def test_siren_of_refuses_invalid_siret():
    with pytest.raises(InvalidIdentifier):
        siren_of("73282932000075")


# --- NDA -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw, digits",
    [
        ("11 75 00492 75", "11750049275"),
        ("84 38 07651 38", "84380765138"),
        ("93 84 01544 84", "93840154484"),
        ("11756115775", "11756115775"),
        ("31.59.08984.59", "31590898459"),
    ],
)
def test_validate_nda_real_numbers_without_warning(raw, digits):
    assert validate_nda(raw) == (digits, None)


def test_validate_nda_soft_warning_when_department_differs():
    digits, warning = validate_nda("11 75 00492 76")
    assert digits == "11750049276"
    assert warning is not None and "récépissé" in warning


@pytest.mark.parametrize(
    "raw, fragment",
    [
        ("", "obligatoire"),
        ("1175004927", "11 chiffres"),
        ("117500492755", "11 chiffres"),
        ("11 75 0049A 75", "que des chiffres"),
    ],
)
def test_validate_nda_refuses(raw, fragment):
    with pytest.raises(InvalidIdentifier) as excinfo:
        validate_nda(raw)
    assert fragment in excinfo.value.message
    assert excinfo.value.field == "nda"


def test_format_nda():
    assert format_nda("11750049275") == "11 75 00492 75"
    assert format_nda("11 75 00492 75") == "11 75 00492 75"
    assert format_nda("abc") == "abc"


# --- APE -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["62.02A", "6202a", "6202A", " 62 02 a ", "62.02.A"])
def test_validate_ape_forms(raw):
    assert validate_ape(raw) == "6202A"


def test_validate_ape_other_code():
    assert validate_ape("01.11z") == "0111Z"


@pytest.mark.parametrize("raw", ["", "6202", "620A", "62022A", "6202AB", "A6202"])
def test_validate_ape_refuses(raw):
    with pytest.raises(InvalidIdentifier) as excinfo:
        validate_ape(raw)
    assert excinfo.value.field == "ape"


# --- IDCC ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("16", "0016"),
        ("0016", "0016"),
        ("1", "0001"),
        ("573", "0573"),
        ("1486", "1486"),
        (" 3248 ", "3248"),
        ("IDCC 1979", "1979"),
    ],
)
def test_validate_idcc_pads(raw, expected):
    assert validate_idcc(raw) == expected


@pytest.mark.parametrize("raw", ["", "0000", "0", "12345", "14A6", "abc"])
def test_validate_idcc_refuses(raw):
    with pytest.raises(InvalidIdentifier) as excinfo:
        validate_idcc(raw)
    assert excinfo.value.field == "idcc"


# --- Qualiopi --------------------------------------------------------------------------------------


def _qualiopi(**overrides):
    kwargs = {
        "certifier": "AFNOR Certification",
        "number": "FR-2023/QUALIOPI.1234",
        "categories": ["actions_formation"],
        "issued_on": date(2023, 9, 1),
        "expires_on": date(2026, 8, 31),
        "today": TODAY,
    }
    kwargs.update(overrides)
    return validate_qualiopi(**kwargs)


def _qualiopi_error(**overrides) -> InvalidIdentifier:
    with pytest.raises(InvalidIdentifier) as excinfo:
        _qualiopi(**overrides)
    return excinfo.value


def test_qualiopi_categories_labels():
    assert list(QUALIOPI_CATEGORIES) == ["actions_formation", "bilans_competences", "vae", "apprentissage"]
    assert (
        QUALIOPI_CATEGORIES["vae"] == "Actions permettant de faire valider les acquis de l'expérience (VAE)"
    )


def test_validate_qualiopi_ok_returns_canonical_order_without_duplicates():
    cats = _qualiopi(categories=["apprentissage", "actions_formation", "apprentissage", " vae "])
    assert cats == ["actions_formation", "vae", "apprentissage"]


@pytest.mark.parametrize("certifier", ["", "   "])
def test_qualiopi_certifier_required(certifier):
    assert _qualiopi_error(certifier=certifier).field == "qualiopi_certifier"


@pytest.mark.parametrize("number", ["", "  ", "AB", "X" * 41, "FR#123", "N°1234"])
def test_qualiopi_number_format(number):
    assert _qualiopi_error(number=number).field == "qualiopi_number"


@pytest.mark.parametrize("number", ["ABC", "X" * 40, "2021/ICPF 1234-5.6"])
def test_qualiopi_number_accepted(number):
    assert _qualiopi(number=number) == ["actions_formation"]


def test_qualiopi_needs_a_category():
    error = _qualiopi_error(categories=[])
    assert error.field == "qualiopi_categories"
    assert "au moins une" in error.message


def test_qualiopi_unknown_category():
    assert _qualiopi_error(categories=["actions_formation", "conseil"]).field == "qualiopi_categories"


def test_qualiopi_dates_required():
    assert _qualiopi_error(issued_on=None).field == "qualiopi_issued_on"
    assert _qualiopi_error(expires_on=None).field == "qualiopi_expires_on"


def test_qualiopi_issue_date_not_in_future():
    assert _qualiopi(issued_on=TODAY, expires_on=date(2028, 6, 15)) == ["actions_formation"]
    error = _qualiopi_error(issued_on=date(2025, 6, 16), expires_on=date(2028, 6, 1))
    assert error.field == "qualiopi_issued_on"
    assert "futur" in error.message


def test_qualiopi_expiry_after_issue():
    error = _qualiopi_error(issued_on=date(2025, 6, 1), expires_on=date(2025, 6, 1))
    assert error.field == "qualiopi_expires_on"
    assert "postérieure" in error.message


def test_qualiopi_at_most_three_years():
    assert _qualiopi(issued_on=date(2023, 9, 1), expires_on=date(2026, 9, 1)) == ["actions_formation"]
    error = _qualiopi_error(issued_on=date(2023, 9, 1), expires_on=date(2026, 9, 2))
    assert error.field == "qualiopi_expires_on"
    assert "3 ans" in error.message


def test_qualiopi_three_years_from_29_february():
    leap_today = date(2025, 1, 1)
    assert _qualiopi(issued_on=date(2024, 2, 29), expires_on=date(2027, 3, 1), today=leap_today)
    error = _qualiopi_error(issued_on=date(2024, 2, 29), expires_on=date(2027, 3, 2), today=leap_today)
    assert error.field == "qualiopi_expires_on"


def test_qualiopi_expired_refused_at_sign_up():
    error = _qualiopi_error(issued_on=date(2022, 6, 14), expires_on=date(2025, 6, 14))
    assert error.field == "qualiopi_expires_on"
    assert "en cours de validité" in error.message


def test_qualiopi_expiring_today_is_accepted():
    assert _qualiopi(issued_on=date(2022, 6, 15), expires_on=TODAY) == ["actions_formation"]


def test_qualiopi_is_valid():
    cats = ["actions_formation", "vae"]
    assert qualiopi_is_valid(date(2026, 1, 1), TODAY, cats)
    assert qualiopi_is_valid(TODAY, TODAY, cats)
    assert not qualiopi_is_valid(date(2025, 6, 14), TODAY, cats)
    assert not qualiopi_is_valid(None, TODAY, cats)
    assert qualiopi_is_valid(date(2026, 1, 1), TODAY, cats, category="vae")
    assert not qualiopi_is_valid(date(2026, 1, 1), TODAY, cats, category="apprentissage")
    assert not qualiopi_is_valid(date(2026, 1, 1), TODAY, [])


# --- Headcount bands -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headcount, code",
    [
        (0, "<11"),
        (10, "<11"),
        (11, "11-49"),
        (49, "11-49"),
        (50, "50-249"),
        (249, "50-249"),
        (250, "250-299"),
        (299, "250-299"),
        (300, "300+"),
        (1_000_000, "300+"),
    ],
)
def test_size_band_boundaries(headcount, code):
    assert size_band(headcount) == code


def test_size_bands_are_ordered_and_labelled():
    assert [band[0] for band in SIZE_BANDS] == ["<11", "11-49", "50-249", "250-299", "300+"]
    assert size_band_label("<11") == "Moins de 11 salariés"
    assert size_band_label("300+") == "300 salariés et plus"
    with pytest.raises(ValueError):
        size_band_label("1000+")


@pytest.mark.parametrize(
    "raw, expected", [(1, 1), (42, 42), ("42", 42), (" 1 200 ", 1200), (1_000_000, 1_000_000)]
)
def test_validate_headcount_accepts(raw, expected):
    assert validate_headcount(raw) == expected


@pytest.mark.parametrize("raw", [-1, 1_000_001, "", "abc", "12.5", 12.5, True, None, "-3"])
def test_validate_headcount_refuses(raw):
    with pytest.raises(InvalidIdentifier) as excinfo:
        validate_headcount(raw)
    assert excinfo.value.field == "headcount"
    assert "effectif" in excinfo.value.message


@pytest.mark.parametrize("raw", [0, "0", " 0 "])
def test_a_company_without_employees_is_refused_it_belongs_to_a_faf(raw):
    with pytest.raises(InvalidIdentifier) as excinfo:
        validate_headcount(raw)
    assert excinfo.value.field == "headcount"
    assert "fonds d'assurance formation (FAF)" in excinfo.value.message


def test_size_band_refuses_negative():
    with pytest.raises(InvalidIdentifier):
        size_band(-1)


# --- TVA -------------------------------------------------------------------------------------------


def test_vat_regimes_and_rates():
    assert "261-4-4° a du CGI" in VAT_REGIMES["exonere"]
    assert "293 B du CGI" in VAT_REGIMES["franchise"]
    assert vat_rate("exonere") == Decimal("0")
    assert vat_rate("franchise") == Decimal("0")
    assert vat_rate("assujetti") == Decimal("0.20")
    with pytest.raises(InvalidIdentifier):
        vat_rate("autre")


# --- Reference CSVs --------------------------------------------------------------------------------

OPCO_CODES = {
    "afdas",
    "akto",
    "atlas",
    "constructys",
    "ocapiat",
    "opco2i",
    "opcoep",
    "mobilites",
    "sante",
    "opcommerce",
    "uniformation",
}


def test_opcos_csv():
    rows = _read("opcos.csv")
    assert list(rows[0]) == ["code", "name", "sectors"]
    assert len(rows) == 11
    assert {row["code"] for row in rows} == OPCO_CODES
    names = {row["code"]: row["name"] for row in rows}
    assert names["opcommerce"] == "L'Opcommerce"
    assert names["mobilites"] == "OPCO Mobilités"
    assert all(row["sectors"].strip() for row in rows)


def test_regions_csv():
    rows = _read("regions.csv")
    assert list(rows[0]) == ["code", "name"]
    codes = [row["code"] for row in rows]
    assert len(rows) == 18
    assert len(set(codes)) == 18
    assert all(len(code) == 2 and code.isdigit() for code in codes)
    names = {row["code"]: row["name"] for row in rows}
    assert names["01"] == "Guadeloupe"
    assert names["11"] == "Île-de-France"
    assert names["06"] == "Mayotte"


def test_idcc_csv():
    rows = _read("idcc.csv")
    assert list(rows[0]) == ["idcc", "label", "opco_code", "source", "source_date", "replaced_by", "ended_on"]
    assert len(rows) >= 35
    codes = [row["idcc"] for row in rows]
    assert len(set(codes)) == len(codes)
    for row in rows:
        assert validate_idcc(row["idcc"]) == row["idcc"]
        assert row["opco_code"] in OPCO_CODES, row
        assert row["label"].strip() and row["source"].strip()
        assert date.fromisoformat(row["source_date"]), row  # every row dated
        assert row["idcc"] != "9999"  # « sans convention »: no OPCO follows from it
    per_opco = {code: sum(row["opco_code"] == code for row in rows) for code in OPCO_CODES}
    assert per_opco["akto"] >= 3 and per_opco["atlas"] >= 3 and per_opco["opcoep"] >= 3
    mapping = {row["idcc"]: row["opco_code"] for row in rows}
    assert mapping["1486"] == "atlas"
    assert mapping["1596"] == mapping["1597"] == "constructys"
    assert per_opco["ocapiat"] >= 1  # OCAPIAT's companies can join
    obsolete = {row["idcc"]: (row["replaced_by"], row["ended_on"]) for row in rows if row["replaced_by"]}
    assert obsolete["0650"] == ("3248", "2024-01-01")
    assert all(successor in mapping for successor, _ in obsolete.values())


def test_themes_csv():
    rows = _read("themes.csv")
    assert list(rows[0]) == ["code", "label", "system"]
    assert 15 <= len(rows) <= 20
    assert len({row["code"] for row in rows}) == len(rows)
    assert all(row["system"] == "NSF" and len(row["code"]) == 2 for row in rows)
    labels = {row["code"]: row["label"] for row in rows}
    assert labels["31"] == "Échanges et gestion"
    assert labels["41"] == "Capacités individuelles et sociales"
