"""French identifiers and reference codes: SIRET, NDA, APE, IDCC, Qualiopi, headcount, TVA.

Pure functions, no Flask: each ``validate_*`` returns the normalised value or raises
:class:`~marketplace.services.errors.InvalidIdentifier` with a French message naming the field.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

from stdnum.exceptions import ValidationError
from stdnum.fr import siret as stdnum_siret

from marketplace.services.errors import InvalidIdentifier

# Separators people type or paste inside numbers: spaces (incl. no-break and narrow
# no-break spaces), dots, hyphens and dashes.
_SEPARATORS = re.compile(r"[\s.\-\u2010\u2011\u2012\u2013\u2014\u00a0\u202f]+")

LA_POSTE_SIREN = "356000000"


def normalise_digits(value: str) -> str:
    """Strip spaces (incl. no-break), dots and dashes; other characters are kept as typed."""
    return _SEPARATORS.sub("", value or "")


# --- SIRET / SIREN -----------------------------------------------------------------------------


def validate_siret(value: str) -> str:
    """Return the 14 digits of a valid SIRET.

    Rule: 14 digits, Luhn over the whole number (and over the SIREN). Exception La Poste
    (SIREN 356000000): establishments are valid when the sum of the 14 digits is a
    multiple of 5; only the head office 35600000000048 follows Luhn.
    """
    number = normalise_digits(value)
    if not number:
        raise InvalidIdentifier("Le SIRET est obligatoire.", field="siret")
    if not number.isdigit():
        raise InvalidIdentifier("Le SIRET ne doit contenir que des chiffres.", field="siret")
    if len(number) != 14:
        raise InvalidIdentifier("Le SIRET doit comporter 14 chiffres.", field="siret")
    if int(number) == 0:
        # 00000000000000 passes the Luhn check but is no establishment (as IDCC 0000 is no convention).
        raise InvalidIdentifier(
            "Le SIRET 000 000 000 00000 n'existe pas : indiquez celui de votre établissement "
            "(extrait Kbis ou avis de situation Sirene).",
            field="siret",
        )
    try:
        # python-stdnum implements the La Poste exception (checked in the tests).
        return stdnum_siret.validate(number)
    except ValidationError:
        raise InvalidIdentifier(
            "Ce SIRET n'est pas valide (clé de contrôle incorrecte). "
            "Vérifiez-le sur votre extrait Kbis ou avis de situation Sirene.",
            field="siret",
        ) from None


def siren_of(siret: str) -> str:
    """SIREN (first 9 digits) of a valid SIRET."""
    return validate_siret(siret)[:9]


def format_siret(siret: str) -> str:
    """Display form « 732 829 320 00074 »; anything not 14 digits is returned unchanged."""
    digits = normalise_digits(siret)
    if len(digits) != 14 or not digits.isdigit():
        return siret
    return f"{digits[0:3]} {digits[3:6]} {digits[6:9]} {digits[9:14]}"


# --- NDA (numéro de déclaration d'activité) -----------------------------------------------------


def validate_nda(value: str) -> tuple[str, str | None]:
    """Return ``(11 digits, warning or None)``.

    Only the length (11 digits) is enforced. Observed numbers follow RR DD NNNNN DD, so a
    soft warning is returned when digits 3–4 differ from digits 10–11.
    """
    number = normalise_digits(value)
    if not number:
        raise InvalidIdentifier("Le numéro de déclaration d'activité (NDA) est obligatoire.", field="nda")
    if not number.isdigit():
        raise InvalidIdentifier(
            "Le numéro de déclaration d'activité (NDA) ne doit contenir que des chiffres.", field="nda"
        )
    if len(number) != 11:
        raise InvalidIdentifier(
            "Le numéro de déclaration d'activité (NDA) doit comporter 11 chiffres.", field="nda"
        )
    warning = None
    if number[2:4] != number[9:11]:
        warning = (
            "Dans un numéro de déclaration d'activité, les chiffres 3-4 (département) sont "
            "habituellement répétés en fin de numéro : vérifiez-le sur votre récépissé de déclaration."
        )
    return number, warning


def format_nda(nda: str) -> str:
    """Display form « 11 75 00492 75 »; anything not 11 digits is returned unchanged."""
    digits = normalise_digits(nda)
    if len(digits) != 11 or not digits.isdigit():
        return nda
    return f"{digits[0:2]} {digits[2:4]} {digits[4:9]} {digits[9:11]}"


# --- APE / NAF and IDCC ---------------------------------------------------------------------------

_APE_RE = re.compile(r"^[0-9]{4}[A-Z]$")


def validate_ape(value: str) -> str:
    """Return the APE/NAF code as 4 digits + 1 uppercase letter (« 62.02A », « 6202a » → « 6202A »)."""
    code = normalise_digits(value).upper()
    if not code:
        raise InvalidIdentifier("Le code APE est obligatoire.", field="ape")
    if not _APE_RE.match(code):
        raise InvalidIdentifier(
            "Le code APE doit comporter 4 chiffres suivis d'une lettre (par exemple 62.02A).",
            field="ape",
        )
    return code


# « Sans convention collective » in the DSN: no branch, so no OPCO follows from it.
IDCC_WITHOUT_AGREEMENT = "9999"


def validate_idcc(value: str) -> str:
    """Return the IDCC zero-padded to 4 digits (« 16 » → « 0016 »); 1 to 4 digits, 0000 refused."""
    code = normalise_digits(value)
    if code.upper().startswith("IDCC"):
        code = code[4:]
    if not code:
        raise InvalidIdentifier("L'IDCC (convention collective) est obligatoire.", field="idcc")
    if not code.isdigit() or len(code) > 4:
        raise InvalidIdentifier(
            "L'IDCC doit comporter de 1 à 4 chiffres (par exemple 1486 pour Syntec).", field="idcc"
        )
    if int(code) == 0:
        raise InvalidIdentifier(
            "L'IDCC 0000 n'existe pas : indiquez le numéro de votre convention collective.", field="idcc"
        )
    return code.zfill(4)


# --- Qualiopi --------------------------------------------------------------------------------------

QUALIOPI_CATEGORIES: dict[str, str] = {
    "actions_formation": "Actions de formation",
    "bilans_competences": "Bilans de compétences",
    "vae": "Actions permettant de faire valider les acquis de l'expérience (VAE)",
    "apprentissage": "Actions de formation par apprentissage",
}

QUALIOPI_VALIDITY_YEARS = 3

_QUALIOPI_NUMBER_RE = re.compile(r"^[A-Za-z0-9 ./\-]{3,40}$")


def _add_years(day: date, years: int) -> date:
    """Same day ``years`` later; 29 February becomes 1 March in a non-leap year."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return date(day.year + years, 3, 1)


def validate_qualiopi(
    certifier: str,
    number: str,
    categories: list[str],
    issued_on: date | None,
    expires_on: date | None,
    today: date,
) -> list[str]:
    """Check a Qualiopi certificate at sign-up and return its categories in canonical order.

    Rules: certifier and number required (number: 3–40 letters, digits, spaces, « - », « . »,
    « / »); at least one known category; issued_on ≤ today; issued_on < expires_on ≤
    issued_on + 3 years; a certificate already expired (expires_on < today) is refused.
    """
    if not (certifier or "").strip():
        raise InvalidIdentifier("Indiquez l'organisme certificateur Qualiopi.", field="qualiopi_certifier")
    cleaned_number = " ".join((number or "").split())
    if not cleaned_number:
        raise InvalidIdentifier("Le numéro du certificat Qualiopi est obligatoire.", field="qualiopi_number")
    if not _QUALIOPI_NUMBER_RE.match(cleaned_number):
        raise InvalidIdentifier(
            "Le numéro du certificat Qualiopi doit comporter de 3 à 40 caractères "
            "(lettres, chiffres, espaces, tirets, points ou barres obliques).",
            field="qualiopi_number",
        )

    chosen = {c.strip() for c in categories or [] if c and c.strip()}
    unknown = chosen - QUALIOPI_CATEGORIES.keys()
    if unknown:
        raise InvalidIdentifier(
            "Catégorie d'action Qualiopi inconnue : " + ", ".join(sorted(unknown)) + ".",
            field="qualiopi_categories",
        )
    if not chosen:
        raise InvalidIdentifier(
            "Cochez au moins une catégorie d'action certifiée par Qualiopi.", field="qualiopi_categories"
        )

    if issued_on is None:
        raise InvalidIdentifier(
            "La date de délivrance du certificat Qualiopi est obligatoire.", field="qualiopi_issued_on"
        )
    if expires_on is None:
        raise InvalidIdentifier(
            "La date de fin de validité du certificat Qualiopi est obligatoire.", field="qualiopi_expires_on"
        )
    if issued_on > today:
        raise InvalidIdentifier(
            "La date de délivrance du certificat Qualiopi ne peut pas être dans le futur.",
            field="qualiopi_issued_on",
        )
    if expires_on <= issued_on:
        raise InvalidIdentifier(
            "La date de fin de validité du certificat Qualiopi doit être postérieure à sa date de délivrance.",
            field="qualiopi_expires_on",
        )
    if expires_on > _add_years(issued_on, QUALIOPI_VALIDITY_YEARS):
        raise InvalidIdentifier(
            "Un certificat Qualiopi est valable 3 ans au plus : vérifiez la date de fin de validité.",
            field="qualiopi_expires_on",
        )
    if expires_on < today:
        raise InvalidIdentifier(
            "Ce certificat Qualiopi a expiré : un certificat en cours de validité est nécessaire "
            "pour s'inscrire comme organisme de formation.",
            field="qualiopi_expires_on",
        )
    return [code for code in QUALIOPI_CATEGORIES if code in chosen]


def qualiopi_is_valid(
    expires_on: date | None,
    today: date,
    categories: list[str],
    category: str = "actions_formation",
) -> bool:
    """True when the certificate covers ``category`` and is still valid today (expiry day included)."""
    return expires_on is not None and expires_on >= today and category in (categories or [])


# --- Headcount bands -------------------------------------------------------------------------------

HEADCOUNT_MAX = 1_000_000

# (code, label, min, max) — max None for the open upper band; bounds inclusive.
SIZE_BANDS: list[tuple[str, str, int, int | None]] = [
    ("<11", "Moins de 11 salariés", 0, 10),
    ("11-49", "De 11 à 49 salariés", 11, 49),
    ("50-249", "De 50 à 249 salariés", 50, 249),
    ("250-299", "De 250 à 299 salariés", 250, 299),
    ("300+", "300 salariés et plus", 300, None),
]


def validate_headcount(value: int | str) -> int:
    """Return the headcount typed by a company: an integer between 1 and 1 000 000 (« 1 200 » accepted).

    0 is refused: a company without employees is funded by a FAF (fonds d'assurance formation of the
    self-employed), not by an OPCO.
    """
    number = _headcount_number(value)
    if number == 0:
        raise InvalidIdentifier(
            "Une entreprise sans salarié ne relève pas d'un OPCO : la formation des travailleurs "
            "indépendants est financée par un fonds d'assurance formation (FAF). Indiquez l'effectif "
            "salarié de l'entreprise (au moins 1).",
            field="headcount",
        )
    return number


def _headcount_number(value: int | str) -> int:
    """The headcount as an integer between 0 and 1 000 000, or InvalidIdentifier."""
    message = "L'effectif doit être un nombre entier de salariés compris entre 1 et 1 000 000."
    if isinstance(value, bool):
        raise InvalidIdentifier(message, field="headcount")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str):
        text = re.sub(r"[\s\u00a0\u202f]+", "", value)
        if not text.isdigit():
            raise InvalidIdentifier(message, field="headcount")
        number = int(text)
    else:
        raise InvalidIdentifier(message, field="headcount")
    if not 0 <= number <= HEADCOUNT_MAX:
        raise InvalidIdentifier(message, field="headcount")
    return number


def size_band(headcount: int) -> str:
    """Code of the headcount band (10 → « <11 », 11 → « 11-49 », 300 → « 300+ »)."""
    number = _headcount_number(headcount)  # 0 (rows from before it was refused) is in the first band
    for code, _label, low, high in SIZE_BANDS:
        if number >= low and (high is None or number <= high):
            return code
    raise AssertionError("unreachable: bands cover 0..∞")  # pragma: no cover


def size_band_label(code: str) -> str:
    """French label of a band code; ValueError for an unknown code."""
    for band_code, label, _low, _high in SIZE_BANDS:
        if band_code == code:
            return label
    raise ValueError(f"Tranche d'effectif inconnue : {code!r}")


# --- TVA -------------------------------------------------------------------------------------------

VAT_REGIMES: dict[str, str] = {
    "exonere": "Exonéré de TVA – article 261-4-4° a du CGI",
    "franchise": "TVA non applicable – article 293 B du CGI",
    "assujetti": "Assujetti à la TVA (20 %)",
}

_VAT_RATES: dict[str, Decimal] = {
    "exonere": Decimal("0"),
    "franchise": Decimal("0"),
    "assujetti": Decimal("0.20"),
}


def vat_rate(regime: str) -> Decimal:
    """TVA rate of a regime: 0 when exempt (261-4-4° a) or under franchise (293 B), else 0.20."""
    try:
        return _VAT_RATES[regime]
    except KeyError:
        raise InvalidIdentifier("Régime de TVA inconnu.", field="vat_regime") from None
