"""French formatting shared by templates, emails, exports and service messages.

Dates jj/mm/aaaa, times in Europe/Paris, amounts « 1 234,56 € » with a narrow no-break space.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from functools import lru_cache
from zoneinfo import ZoneInfo

from babel.numbers import format_decimal

PARIS = ZoneInfo("Europe/Paris")
NNBSP = "\u202f"  # narrow no-break space, the French thousands separator


def to_paris(value: datetime) -> datetime:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(PARIS)


def paris_today(now: datetime | None = None) -> date:
    """« Today » for every rule and page: the date in Europe/Paris, not the server's (``date.today()``) nor
    UTC's — at 23:30 UTC on 31 December it is already 1 January in Paris. ``now``: the naive UTC time stored
    (``models.utcnow()``), default the current time."""
    return to_paris(now if now is not None else datetime.now(UTC)).date()


def paris_midnight_utc(day: date) -> datetime:
    """The naive UTC instant at which ``day`` begins in Paris (23:00 or 22:00 UTC the day before)."""
    return paris_to_utc(datetime.combine(day, datetime.min.time()))


def date_fr(value: date | datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = to_paris(value)
    return value.strftime("%d/%m/%Y")


def datetime_fr(value: datetime | None) -> str:
    if value is None:
        return ""
    local = to_paris(value)
    return f"{local:%d/%m/%Y} à {local:%H}h{local:%M}"


def money_fr(cents: int | Decimal | None, suffix: str = "") -> str:
    """Integer cents to « 1 234,56 € » (add suffix « HT » or « TTC » when relevant)."""
    if cents is None:
        return ""
    if isinstance(cents, int):  # the usual case, 20× faster than babel (a catalogue page formats 60 amounts)
        units, rest = divmod(abs(cents), 100)
        text = ("-" if cents < 0 else "") + _grouped(units) + f",{rest:02d}"
    else:
        amount = Decimal(cents) / 100
        text = format_decimal(amount, format="#,##0.00", locale="fr_FR").replace("\u00a0", NNBSP)
    return f"{text}\u00a0€" + (f" {suffix}" if suffix else "")


def number_fr(value: int | None) -> str:
    if value is None:
        return ""
    if isinstance(value, int):
        return ("-" if value < 0 else "") + _grouped(abs(value))
    return format_decimal(value, locale="fr_FR").replace("\u00a0", NNBSP)


def _grouped(units: int) -> str:
    """``1234567`` → « 1 234 567 » (narrow no-break spaces), as babel writes it for fr_FR."""
    return f"{units:,}".replace(",", NNBSP)


def paris_to_utc(local: datetime) -> datetime:
    """A naive Europe/Paris wall-clock time (as typed in a form) to the naive UTC time stored."""
    return local.replace(tzinfo=PARIS).astimezone(UTC).replace(tzinfo=None)


def utc_to_paris(value: datetime | None) -> datetime | None:
    """The stored naive UTC time as a naive Paris wall-clock time (to fill a datetime-local input)."""
    return None if value is None else to_paris(value).replace(tzinfo=None)


def dates_fr(start: date | None, end: date | None = None) -> str:
    """« le 11/01/2027 » for a single day, « du 11/01/2027 au 12/01/2027 » for a span (never « du X au X »)."""
    if start is None:
        return ""
    if end is None or end == start:
        return f"le {date_fr(start)}"
    return f"du {date_fr(start)} au {date_fr(end)}"


def session_dates(session) -> str:
    """A session's dates, read as « le … » or « du … au … »."""
    return dates_fr(session.start_date, session.end_date)


def plural(
    count: int | None, singular: str, plural_form: str | None = None, *, with_count: bool = True
) -> str:
    """« 1 confirmée », « 7 confirmées », « 0 place » (French: 0 and 1 take the singular). ``plural_form`` for
    irregular words (« 2 travaux ») and compound ones (« 2 places disponibles » from « place disponible »)."""
    n = count or 0
    if plural_form is None:
        plural_form = _plural_form(singular)
    word = singular if abs(n) < 2 else plural_form
    return f"{number_fr(n)} {word}" if with_count else word


@lru_cache(maxsize=1024)
def _plural_form(singular: str) -> str:
    """Each word made plural (a page asks for the same few words on every row: worked out once)."""
    return " ".join(_plural_word(word) for word in singular.split(" "))


def _plural_word(word: str) -> str:
    if not word or word[-1] in "sxz" or not word[-1].isalpha():
        return word
    if word.endswith(("au", "eu")):
        return word + "x"
    if word.endswith("al") and word not in {"bal", "festival", "récital", "carnaval", "chacal", "régal"}:
        return word[:-2] + "aux"
    return word + "s"


ELIDING = set("aeiouyàâäéèêëîïôöùûüœæAEIOUYÀÂÄÉÈÊËÎÏÔÖÙÛÜŒÆ")


def elide(word: str, text: str | None) -> str:
    """« de » + name with French elision: « d'Inès », « d'AKTO », « de Paul »; also « le »/« la » → « l' »,
    « que » → « qu' ». Only vowels elide: an initial h may be aspirated (« de Hugo »), so it keeps the word."""
    text = (text or "").strip()
    if text and text[0] in ELIDING:
        return f"{word[:-1]}'{text}"
    return f"{word} {text}"


def of_name(text: str | None) -> str:
    """« de » + a name, elided: the Jinja filter ``de`` (« fiche {{ employee.first_name|de }} »)."""
    return elide("de", text)


def sort_key_fr(text: str | None) -> tuple[str, str]:
    """Order words as a French reader expects: accents and case ignored first (« Échanges » among the E,
    not after « Z »), then the exact text to keep the order stable."""
    import unicodedata

    raw = text or ""
    base = "".join(c for c in unicodedata.normalize("NFKD", raw) if not unicodedata.combining(c))
    base = base.replace("œ", "oe").replace("Œ", "OE").replace("æ", "ae").replace("Æ", "AE")
    return (base.casefold(), raw)


def sorted_fr(items, key=None):
    """``sorted`` in French order (see ``sort_key_fr``); ``key`` picks the text of each item."""
    return sorted(items, key=lambda item: sort_key_fr(key(item) if key else item))
