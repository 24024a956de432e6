"""Maximum lengths of the texts people type, in characters: one table for columns, forms and services.

Every text column is a bounded ``String(n)``; every text field of a form gets the same bound (the form base
class in ``web/forms.py`` adds it when a field declares none), rendered as ``maxlength`` and refused with
« 200 caractères au maximum. »; services that take text without a form cut or refuse it the same way.

========================================  ======  ===========================================================
What                                      Limit   Where
========================================  ======  ===========================================================
Email address                               254   users, invitations, employees, session contact, outbox
Person's first or last name                 100   employees
Person's full name                          200   users (« Prénom et nom »), session contact
Title, label, organisation name             200   actions, tenders, lots, criteria, organisations; any other
                                                  one-line text field without its own bound (default)
Reference code                               40   actions, tenders, Qualiopi certificate number
Address / commune                       300 / 120  organisations, sessions
Job title                                   150   employees
Reason of a decision (motif)                500   refusals, cancellations, postponements, admissibility
                                                  (300 for a referencing's suspension or withdrawal)
Score justification                       2 000   scores
Question / answer on a tender         3 000 / 6 000  tender questions
Practical information of a session        5 000   sessions (« Informations pratiques »)
Long text                                10 000   objectives, programme, prerequisites, public of an action;
                                                  context and specification of a tender; any other
                                                  multi-line field without its own bound (default)
Text of a response to a tender           20 000   programme and team of a response (a full technical offer)
Password                                    128   sign-in, sign-up, reset (hashing a huge text is a cost)
========================================  ======  ===========================================================

Not bounded here, on purpose: texts the platform writes itself from bounded inputs (the catalogue's
``search_text``, e-mail bodies in the outbox, an evaluator's signed declaration) stay ``Text``.
Line breaks count as one character (a browser's ``maxlength`` counts them so, then sends CR LF).
"""

EMAIL = 254
PERSON_NAME = 100
FULL_NAME = 200
TITLE = 200  # also the default of a one-line text field
REFERENCE = 40
ADDRESS = 300
CITY = 120
REASON = 500
JUSTIFICATION = 2_000
QUESTION = 3_000
ANSWER = 6_000
NOTES = 5_000
LONG_TEXT = 10_000  # also the default of a multi-line text field
RESPONSE_TEXT = 20_000
PASSWORD = 128


def too_long(bound: int) -> str:
    """The French refusal of a text beyond its bound: « 10 000 caractères au maximum. »"""
    from marketplace.formatting import number_fr

    return f"{number_fr(bound)} caractères au maximum."
