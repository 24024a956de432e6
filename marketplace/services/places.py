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
        # Corse-du-Sud 200xx-201xx, Haute-Corse 202xx-206xx (CEDEX codes included).
        if code < "20200":
            return "2A"
        return "2B" if code < "20700" else None
    if code.startswith(("00", "96")):
        return None
    return code[:2]


# INSEE region code → its départements (Code officiel géographique, regions since 1 January 2016).
_REGION_DEPARTEMENTS: dict[str, tuple[str, ...]] = {
    "01": ("971",),
    "02": ("972",),
    "03": ("973",),
    "04": ("974",),
    "06": ("976",),
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
REGION_OF_DEPARTEMENT: dict[str, str] = {
    dep: region for region, deps in _REGION_DEPARTEMENTS.items() for dep in deps
}


def region_of_postal_code(postal_code: str | None) -> str | None:
    """INSEE code of the region of a postal code (CEDEX codes too: their first digits are the
    département's): « 75008 » → « 11 », « 20000 » → « 94 », « 97411 » → « 04 », « 92081 » → « 11 »;
    None when the code names no département of a French region (Monaco, Saint-Pierre-et-Miquelon…)."""
    return REGION_OF_DEPARTEMENT.get(departement_of_postal_code(postal_code) or "")


def region_for_address(postal_code: str, region_code: str | None) -> str:
    """The region of an address, derived from its postal code: a region given with it must be that one.

    Funding can be regional, so the region is never a free choice: an empty ``region_code`` is filled in,
    a different one is refused (``DomainError`` on ``region_code``, or on ``postal_code`` when the code
    names no French region).
    """
    from marketplace.extensions import db
    from marketplace.models import Region
    from marketplace.services.errors import DomainError

    region_names = {region.code: region.name for region in db.session.scalars(db.select(Region))}
    derived = region_of_postal_code(postal_code)
    if derived is None or derived not in region_names:
        raise DomainError(
            f"Le code postal {postal_code} ne correspond à aucun département d'une région française.",
            field="postal_code",
        )
    if region_code and region_code != derived:
        chosen = region_names.get(region_code, region_code)
        raise DomainError(
            f"Le code postal {postal_code} se trouve dans la région {region_names[derived]}, pas dans la "
            f"région {chosen} : corrigez le code postal ou laissez la région se déduire du code postal.",
            field="region_code",
        )
    return derived


def delivery_departement(
    postal_code: str | None,
    region_code: str | None,
    *,
    is_remote: bool = False,
    fallback_postal_code: str | None = None,
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
