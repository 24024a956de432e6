"""What typed text may contain: one definition of the control characters no field ever means.

C0 controls except tab, line feed and carriage return, and DEL. PostgreSQL refuses NUL in any text; the
others are invisible and only come from copy-paste accidents or attacks. The web layer refuses them for
every request before any view (``web/inputs.py``); services check them again for text that does not come
through a form (CSV imports, commands).
"""

from __future__ import annotations

import re
import unicodedata

CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
UNSAFE_MESSAGE = "Ce champ contient des caractères non autorisés."


def has_control(text) -> bool:
    """True when ``text`` is a string holding control characters (NUL…) other than tabs and line breaks."""
    return isinstance(text, str) and CONTROL_CHARACTERS.search(text) is not None


def search_key(text: str) -> str:
    """Lower-case and accent-free form of a text (« Sécurité » → « securite »), for substring searches.

    Kept here, without dependencies, because the models use it too (``Organisation.search_name``).
    """
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))
