"""The waiting-list offer window is counted in working hours: weekends and the public holidays of where the
training takes place do not count (issue 8, case 8)."""

from __future__ import annotations

from datetime import datetime

import pytest

from marketplace.extensions import db
from marketplace.formatting import paris_to_utc, to_paris
from marketplace.models import Enrolment
from marketplace.services import enrolments
from marketplace.services.calendar import working_hours_after


def paris(*args) -> datetime:
    """A Paris wall-clock time as the naive UTC instant stored."""
    return paris_to_utc(datetime(*args))


@pytest.mark.parametrize(
    ("start", "hours", "departement", "expected"),
    [
        # Friday 16:00 + 48 h: 8 h on Friday, 24 h on Monday, 16 h on Tuesday.
        (paris(2026, 11, 27, 16), 48, None, paris(2026, 12, 1, 16)),
        # Within the week nothing changes: Tuesday 10:00 + 24 h is Wednesday 10:00.
        (paris(2026, 12, 1, 10), 24, None, paris(2026, 12, 2, 10)),
        # Made on a Saturday: counting starts on Monday at 0:00.
        (paris(2026, 11, 28, 11), 48, None, paris(2026, 12, 2, 0)),
        # Ascension (Thursday 14 May 2026) does not count: Wednesday 16:00 + 48 h is Monday 16:00.
        (paris(2026, 5, 13, 16), 48, None, paris(2026, 5, 18, 16)),
        # 14 July 2026 is a Tuesday: Friday 10 July 16:00 + 48 h is Wednesday 15 July 16:00.
        (paris(2026, 7, 10, 16), 48, None, paris(2026, 7, 15, 16)),
        # Good Friday (3 April 2026) is a holiday in Moselle only, then Easter Monday everywhere.
        (paris(2026, 4, 2, 16), 24, "57", paris(2026, 4, 7, 16)),
        (paris(2026, 4, 2, 16), 24, None, paris(2026, 4, 3, 16)),
        # Across the change to summer time (Sunday 29 March 2026): still 16:00 on the Paris clock.
        (paris(2026, 3, 27, 16), 48, None, paris(2026, 3, 31, 16)),
    ],
)
def test_the_offer_window_counts_working_hours(start, hours, departement, expected):
    assert working_hours_after(start, hours, departement) == expected


@pytest.fixture
def waiting(make):
    """A full session of one seat with a second employee on its waiting list, and the company's HR."""
    company = make.company()
    hr = make.user()
    make.member(company, hr, "hr")
    akto = make.opco("akto")
    akto.waitlist_offer_hours = 48
    db.session.commit()
    session = make.session(make.action(akto), capacity_max=1)
    first = make.enrolment(session, company, actor=hr)
    second = make.enrolment(session, company, actor=hr)
    assert second.status == "waitlisted"
    return session, first, second, hr


def test_a_seat_freed_on_friday_afternoon_is_held_until_tuesday(waiting, outbox):
    session, first, second, hr = waiting
    friday = paris(2026, 11, 27, 16)
    enrolments.cancel(first, hr, now=friday)
    db.session.commit()
    offer = db.session.get(Enrolment, second.id)
    assert offer.status == "offered"
    deadline = to_paris(offer.offer_expires_at)
    assert (deadline.weekday(), deadline.day, deadline.hour, deadline.minute) == (1, 1, 16, 0)  # Tuesday 1st
    # Still live on Monday evening, gone on Tuesday evening.
    assert offer.offer_is_live(paris(2026, 11, 30, 20))
    assert not offer.offer_is_live(paris(2026, 12, 1, 16, 1))
    # The email gives the deadline and says how it is counted.
    [mail] = [m for m in outbox(hr.email) if "Une place s'est libérée" in m.subject]
    assert "01/12/2026 à 16h00" in mail.subject
    assert "heures ouvrées : du lundi au vendredi, hors jours fériés" in mail.body_text


def test_the_holidays_are_those_of_where_the_training_takes_place(waiting):
    session, first, second, hr = waiting
    session.postal_code, session.city, session.region_code = "57000", "Metz", "44"
    db.session.commit()
    enrolments.cancel(first, hr, now=paris(2026, 4, 2, 16))  # the Thursday before Good Friday
    db.session.commit()
    offer = db.session.get(Enrolment, second.id)
    # 48 h from Thursday 16:00 in Metz: Good Friday (Moselle) and Easter Monday skipped → Wednesday 16:00
    # (in Lyon, Good Friday counts: Tuesday 16:00).
    assert offer.offer_expires_at == paris(2026, 4, 8, 16)


def test_the_opco_settings_say_how_the_window_is_counted(client, login, make):
    akto = make.opco("akto")
    staff = make.user()
    make.member(akto, staff, "catalogue_manager")
    login(client, staff)
    page = client.get(f"/opco/{akto.slug}/parametres")
    assert page.status_code == 200
    assert "compté en heures ouvrées : du lundi au vendredi, hors jours fériés" in page.get_data(as_text=True)
