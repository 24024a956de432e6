"""Where a training is delivered, as far as tax and public holidays care: the département.

VAT rates (art. 294 and 296 CGI) and public holidays (Alsace-Moselle, each overseas département) depend on
the place of delivery, so both read it from here: the session's postal code, else its region (overseas
regions are single départements), else — for a remote session — where the trainee's company is.
"""

from __future__ import annotations

# Overseas regions are single départements: INSEE region code → département code.
_OVERSEAS_REGIONS = {"01": "971", "02": "972", "03": "973", "04": "974", "06": "976"}
# Collectivités whose postal codes share the 971 prefix with Guadeloupe.
_SPECIAL_POSTAL_CODES = {"97133": "BL", "97150": "MF"}  # Saint-Barthélemy, Saint-Martin


def departement_of_postal_code(postal_code: str | None) -> str | None:
    """Département of a French postal code (CEDEX codes share it): « 57000 » → « 57 », « 97411 » → « 974 »,
    « 20000 » → « 2A », « 20200 » → « 2B », « 97133 » → « BL »; None when not a 5-digit code."""
    code = (postal_code or "").strip()
    if len(code) != 5 or not code.isdigit():
        return None
    if code in _SPECIAL_POSTAL_CODES:
        return _SPECIAL_POSTAL_CODES[code]
    if code.startswith(("97", "98")):
        return code[:3]
    if code.startswith("20"):
        return "2A" if code < "20200" else "2B"
    return code[:2]


def delivery_departement(
    postal_code: str | None, region_code: str | None, *, is_remote: bool = False, fallback_postal_code: str | None = None
) -> str | None:
    """Département where a training is delivered; None means mainland France, place unknown."""
    if not is_remote:
        found = departement_of_postal_code(postal_code)
        if found:
            return found
        if region_code in _OVERSEAS_REGIONS:
            return _OVERSEAS_REGIONS[region_code]
        if region_code:
            return None
    return departement_of_postal_code(fallback_postal_code)


def session_departement(session, company=None) -> str | None:
    """Where ``session`` is delivered (a remote session: where ``company`` is, else the organisation)."""
    return delivery_departement(
        session.postal_code,
        session.region_code,
        is_remote=session.is_remote,
        fallback_postal_code=(company if company is not None else session.provider).postal_code,
    )
