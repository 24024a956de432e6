"""Sign-in, sign-out, throttling, password reset, account page, CSRF, security headers, error pages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import select

from marketplace.models import AuditEvent, LoginAttempt, OutboxMessage, User
from tests.factories import DEFAULT_PASSWORD
from tests.web.pages import count, csrf_token, flashes, text, token_from, visible_text

NEW_PASSWORD = "nouveau-mot-de-passe-2026"


@pytest.fixture
def member(make):
    """A company administrator (company attached to AKTO)."""
    user = make.user(email="julie.roux@exemple.fr", full_name="Julie Roux")
    company = make.company(admin=user, name="Roux Nettoyage", opco_code="akto")
    return user, company


def post_login(client, email, password, **kwargs):
    return client.post("/connexion", data={"email": email, "password": password}, **kwargs)


# --- Sign-in and sign-out -------------------------------------------------------------------------


def test_login_page_is_in_french(client):
    response = client.get("/connexion")
    assert response.status_code == 200
    page = visible_text(response)
    assert "Connexion" in page and "Adresse e-mail" in page and "Mot de passe oublié ?" in page


def test_login_lands_on_the_dashboard(client, member, db_session):
    user, company = member
    response = post_login(client, "Julie.Roux@exemple.fr ", DEFAULT_PASSWORD)
    assert response.status_code == 303
    assert response.headers["Location"] == f"/entreprise/{company.slug}/"
    dashboard = client.get(response.headers["Location"])
    assert dashboard.status_code == 200
    assert "Roux Nettoyage — tableau de bord" in visible_text(dashboard)
    assert db_session.get(User, user.id).last_login_at is not None
    assert db_session.scalar(
        select(AuditEvent).where(AuditEvent.action == "auth.login", AuditEvent.organisation_id == company.id)
    )


def test_login_follows_a_local_next_but_not_another_site(client, member):
    user, company = member
    response = client.post(
        "/connexion?next=/compte", data={"email": user.email, "password": DEFAULT_PASSWORD}
    )
    assert response.headers["Location"] == "/compte"
    client.post("/deconnexion")
    response = client.post(
        "/connexion?next=//evil.example/", data={"email": user.email, "password": DEFAULT_PASSWORD}
    )
    assert response.headers["Location"] == f"/entreprise/{company.slug}/"


def test_wrong_password_is_refused_with_a_french_message(client, member, db_session):
    user, company = member
    response = post_login(client, user.email, "pas-le-bon-mot-de-passe")
    assert response.status_code == 401
    assert "Adresse e-mail ou mot de passe incorrect." in flashes(response)
    assert client.get("/compte").status_code == 302  # still signed out
    assert db_session.scalar(
        select(AuditEvent).where(
            AuditEvent.action == "auth.login_failed", AuditEvent.organisation_id == company.id
        )
    )


def test_unknown_email_gets_the_same_message(client, member):
    response = post_login(client, "inconnu@exemple.fr", DEFAULT_PASSWORD)
    assert response.status_code == 401
    assert "Adresse e-mail ou mot de passe incorrect." in flashes(response)


def test_empty_login_form_is_refused_in_french(client):
    response = client.post("/connexion", data={"email": "", "password": ""})
    assert response.status_code == 422
    assert "Ce champ est obligatoire." in text(response)


def test_logout(client, member, login, db_session):
    user, company = member
    login(client, user)
    assert client.get("/compte").status_code == 200

    response = client.post("/deconnexion")
    assert response.status_code == 303
    assert response.headers["Location"] == "/connexion"
    assert "Vous êtes déconnecté." in flashes(client.get("/connexion"))
    account = client.get("/compte")
    assert account.status_code == 302 and account.headers["Location"].startswith("/connexion")
    assert db_session.scalar(select(AuditEvent).where(AuditEvent.action == "auth.logout"))


def test_logout_is_post_only(client, member, login):
    login(client, member[0])
    assert client.get("/deconnexion").status_code == 405
    assert client.get("/compte").status_code == 200


# --- Throttling -----------------------------------------------------------------------------------


def test_login_is_throttled_with_growing_delays_then_allowed_again(app, client, member):
    user, company = member
    limit = app.config["LOGIN_MAX_FAILURES"]
    assert (limit, app.config["LOGIN_FIRST_DELAY_SECONDS"]) == (5, 30)
    start = datetime.now(UTC)
    with time_machine.travel(start, tick=False):
        for _ in range(limit):
            assert post_login(client, user.email, "mauvais-mot-de-passe").status_code == 401

        # Even the right password waits: the password is not checked at all.
        response = post_login(client, user.email, DEFAULT_PASSWORD)
        assert response.status_code == 401
        message = " ".join(flashes(response))
        assert "Trop de tentatives de connexion échouées. Réessayez dans 30 secondes" in message
        assert client.get("/compte").status_code == 302

    with time_machine.travel(start + timedelta(seconds=31), tick=False):
        # One more guess is allowed, and the next delay doubles.
        assert "Adresse e-mail ou mot de passe incorrect." in flashes(
            post_login(client, user.email, "encore-faux-123")
        )
        refused = post_login(client, user.email, DEFAULT_PASSWORD)
        assert "Réessayez dans 1 minute " in " ".join(flashes(refused)) + " "

    with time_machine.travel(start + timedelta(seconds=31 + 61), tick=False):
        response = post_login(client, user.email, DEFAULT_PASSWORD)
        assert response.status_code == 303
        assert response.headers["Location"] == f"/entreprise/{company.slug}/"
        client.post("/deconnexion")
        # A success clears the counters: four new mistakes do not delay the fifth attempt.
        for _ in range(limit - 1):
            post_login(client, user.email, "mauvais-mot-de-passe")
        assert post_login(client, user.email, DEFAULT_PASSWORD).status_code == 303


def test_one_address_cannot_lock_out_other_accounts(client, make, member):
    """30 failures from one address against other accounts (unknown or real) lock nobody else out."""
    user, company = member
    other = make.user(email="autre.compte@exemple.fr")
    for n in range(30):
        target = other.email if n % 3 == 0 else f"inconnu{n}@exemple.fr"
        assert post_login(client, target, "mauvais-mot-de-passe").status_code == 401
    response = post_login(client, user.email, DEFAULT_PASSWORD)
    assert response.status_code == 303
    assert response.headers["Location"] == f"/entreprise/{company.slug}/"


def test_an_account_guessed_from_many_addresses_is_delayed(app, client, member):
    """Per account, whatever the address: beyond LOGIN_ACCOUNT_MAX_FAILURES the account waits too."""
    user, _company = member
    limit = app.config["LOGIN_ACCOUNT_MAX_FAILURES"]
    start = datetime.now(UTC)
    with time_machine.travel(start, tick=False):
        for n in range(limit):
            response = post_login(
                client,
                user.email,
                "mauvais-mot-de-passe",
                environ_base={"REMOTE_ADDR": f"198.51.100.{n % 4 + 1}"},
            )
            assert "Adresse e-mail ou mot de passe incorrect." in flashes(response)
        refused = post_login(
            client, user.email, DEFAULT_PASSWORD, environ_base={"REMOTE_ADDR": "192.0.2.200"}
        )
        assert refused.status_code == 401
        assert "Trop de tentatives" in " ".join(flashes(refused))
    with time_machine.travel(start + timedelta(seconds=31), tick=False):
        ok = post_login(client, user.email, DEFAULT_PASSWORD, environ_base={"REMOTE_ADDR": "192.0.2.200"})
        assert ok.status_code == 303


def test_throttle_counts_failures_per_account(client, make, member):
    user, _company = member
    other = make.user(email="autre@exemple.fr")
    make.company(admin=other, opco_code="akto")
    for _ in range(5):
        post_login(client, user.email, "mauvais-mot-de-passe")
    # Another account from the same address is not locked by these five failures.
    assert post_login(client, other.email, DEFAULT_PASSWORD).status_code == 303


def test_failures_below_the_limit_do_not_lock(client, member):
    user, _company = member
    for _ in range(4):
        post_login(client, user.email, "mauvais-mot-de-passe")
    assert post_login(client, user.email, DEFAULT_PASSWORD).status_code == 303


# --- Password reset -------------------------------------------------------------------------------


def request_reset(client, email):
    return client.post("/mot-de-passe-oublie", data={"email": email})


NEUTRAL = (
    "Si un compte existe pour cette adresse, un e-mail avec un lien de réinitialisation vient d'être envoyé."
)


def test_password_reset_by_emailed_link(client, member, outbox):
    user, company = member
    response = request_reset(client, "julie.roux@exemple.fr")
    assert response.status_code == 303
    assert any(NEUTRAL in m for m in flashes(client.get(response.headers["Location"])))

    messages = outbox(user.email)
    assert len(messages) == 1
    mail = messages[0]
    assert mail.template == "password_reset"
    assert mail.subject == "Réinitialisation de votre mot de passe"
    assert "valable 60 minutes" in mail.body_text
    token = token_from(mail.body_text, "reinitialiser")

    form = client.get(f"/reinitialiser/{token}")
    assert form.status_code == 200
    assert "Choisir un nouveau mot de passe" in visible_text(form)

    mismatch = client.post(
        f"/reinitialiser/{token}", data={"password": NEW_PASSWORD, "confirm": "autre-chose-123"}
    )
    assert mismatch.status_code == 422
    assert "Les deux mots de passe ne correspondent pas." in text(mismatch)
    short = client.post(f"/reinitialiser/{token}", data={"password": "court", "confirm": "court"})
    assert "Le mot de passe doit comporter au moins 12 caractères." in text(short)

    done = client.post(f"/reinitialiser/{token}", data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert done.status_code == 303 and done.headers["Location"] == "/connexion"
    assert "Votre mot de passe a été modifié. Vous pouvez vous connecter." in flashes(
        client.get("/connexion")
    )

    assert post_login(client, user.email, DEFAULT_PASSWORD).status_code == 401
    assert post_login(client, user.email, NEW_PASSWORD).status_code == 303
    client.post("/deconnexion")

    # The same link cannot be used twice.
    again = client.get(f"/reinitialiser/{token}")
    assert again.status_code == 302 and again.headers["Location"] == "/mot-de-passe-oublie"
    assert any("Ce lien a déjà été utilisé" in m for m in flashes(client.get(again.headers["Location"])))
    reuse = client.post(
        f"/reinitialiser/{token}",
        data={"password": "troisieme-mot-de-passe", "confirm": "troisieme-mot-de-passe"},
    )
    assert reuse.status_code == 303
    assert post_login(client, user.email, "troisieme-mot-de-passe").status_code == 401


def test_expired_reset_link_is_refused(app, client, member, outbox):
    user, _company = member
    start = datetime.now(UTC)
    with time_machine.travel(start, tick=False):
        request_reset(client, user.email)
    token = token_from(outbox(user.email)[0].body_text, "reinitialiser")

    max_age = app.config["PASSWORD_RESET_MAX_AGE"]
    with time_machine.travel(start + timedelta(seconds=max_age + 60), tick=False):
        response = client.get(f"/reinitialiser/{token}")
        assert response.status_code == 302
        assert any("Ce lien a expiré" in m for m in flashes(client.get(response.headers["Location"])))
        post = client.post(
            f"/reinitialiser/{token}", data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
        )
        assert post.status_code == 303
    assert post_login(client, user.email, NEW_PASSWORD).status_code == 401
    assert post_login(client, user.email, DEFAULT_PASSWORD).status_code == 303


def test_reset_link_still_valid_just_before_an_hour(app, client, member, outbox):
    user, _company = member
    start = datetime.now(UTC)
    with time_machine.travel(start, tick=False):
        request_reset(client, user.email)
    token = token_from(outbox(user.email)[0].body_text, "reinitialiser")
    with time_machine.travel(start + timedelta(minutes=55), tick=False):
        assert client.get(f"/reinitialiser/{token}").status_code == 200


def test_tampered_reset_link_is_refused(client, member, outbox):
    user, _company = member
    request_reset(client, user.email)
    token = token_from(outbox(user.email)[0].body_text, "reinitialiser")
    response = client.get(f"/reinitialiser/{token[:-2]}xx")
    assert response.status_code == 302
    assert any("Ce lien n'est pas valide" in m for m in flashes(client.get(response.headers["Location"])))


def test_unknown_email_gets_the_same_neutral_message_and_no_email(client, member, outbox):
    response = request_reset(client, "personne@inconnu.fr")
    assert response.status_code == 303
    assert any(NEUTRAL in m for m in flashes(client.get(response.headers["Location"])))
    assert outbox() == []
    assert count(OutboxMessage) == 0


# --- Account page ---------------------------------------------------------------------------------


def test_account_page_changes_the_name(client, member, login, db_session):
    user, _company = member
    login(client, user)
    page = client.get("/compte")
    assert page.status_code == 200
    assert "julie.roux@exemple.fr" in visible_text(page)
    assert "Roux Nettoyage" in visible_text(page)  # "Mes organisations"

    response = client.post("/compte", data={"action": "profile", "profile-full_name": "Julie Roux-Martin"})
    assert response.status_code == 303
    assert "Vos informations ont été enregistrées." in flashes(client.get("/compte"))
    assert db_session.get(User, user.id).full_name == "Julie Roux-Martin"

    empty = client.post("/compte", data={"action": "profile", "profile-full_name": ""})
    assert "Ce champ est obligatoire." in text(empty)
    assert db_session.get(User, user.id).full_name == "Julie Roux-Martin"


def change_password(client, current, new, confirm=None):
    return client.post(
        "/compte",
        data={
            "action": "password",
            "password-current_password": current,
            "password-new_password": new,
            "password-confirm": confirm or new,
        },
    )


def test_account_page_changes_the_password(client, member, login, db_session):
    user, _company = member
    login(client, user)

    wrong = change_password(client, "pas-le-mot-de-passe", NEW_PASSWORD)
    assert wrong.status_code == 422
    assert "Le mot de passe actuel est incorrect." in text(wrong)
    assert db_session.get(User, user.id).check_password(DEFAULT_PASSWORD)

    short = change_password(client, DEFAULT_PASSWORD, "court")
    assert "Le mot de passe doit comporter au moins 12 caractères." in text(short)
    mismatch = change_password(client, DEFAULT_PASSWORD, NEW_PASSWORD, "autre-nouveau-mot")
    assert "Les deux mots de passe ne correspondent pas." in text(mismatch)
    assert db_session.get(User, user.id).check_password(DEFAULT_PASSWORD)

    done = change_password(client, DEFAULT_PASSWORD, NEW_PASSWORD)
    assert done.status_code == 303
    after = client.get("/compte")
    assert after.status_code == 200  # this session stays signed in
    assert "Votre mot de passe a été modifié." in flashes(after)
    assert db_session.get(User, user.id).check_password(NEW_PASSWORD)
    assert db_session.scalar(select(AuditEvent).where(AuditEvent.action == "auth.password_changed"))

    client.post("/deconnexion")
    assert post_login(client, user.email, DEFAULT_PASSWORD).status_code == 401
    assert post_login(client, user.email, NEW_PASSWORD).status_code == 303


def test_password_change_signs_out_other_sessions(app, member, login):
    user, company = member
    laptop, phone = app.test_client(), app.test_client()
    login(laptop, user)
    login(phone, user)
    assert phone.get(f"/entreprise/{company.slug}/").status_code == 200

    assert change_password(laptop, DEFAULT_PASSWORD, NEW_PASSWORD).status_code == 303

    assert laptop.get(f"/entreprise/{company.slug}/").status_code == 200
    stale = phone.get(f"/entreprise/{company.slug}/")
    assert stale.status_code == 302
    assert stale.headers["Location"].startswith("/connexion")


def test_password_reset_signs_out_other_sessions(app, member, login, outbox):
    user, company = member
    phone = app.test_client()
    login(phone, user)
    anonymous = app.test_client()
    request_reset(anonymous, user.email)
    token = token_from(outbox(user.email)[0].body_text, "reinitialiser")
    anonymous.post(f"/reinitialiser/{token}", data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    stale = phone.get(f"/entreprise/{company.slug}/")
    assert stale.status_code == 302 and stale.headers["Location"].startswith("/connexion")


# --- CSRF, headers, error pages, health -----------------------------------------------------------


@pytest.fixture
def csrf_app(app_factory):
    return app_factory(WTF_CSRF_ENABLED=True)


def test_post_without_csrf_token_is_refused_in_french(csrf_app, member):
    user, _company = member
    client = csrf_app.test_client()
    response = post_login(client, user.email, DEFAULT_PASSWORD)
    assert response.status_code == 400
    page = visible_text(response)
    assert "Formulaire expiré" in page
    assert "Rechargez la page et recommencez." in page
    assert "<html" in response.get_data(as_text=True) and 'lang="fr"' in response.get_data(as_text=True)
    assert client.get("/compte").status_code == 302  # not signed in


def test_post_with_csrf_token_is_accepted(csrf_app, member, db_session):
    user, company = member
    client = csrf_app.test_client()
    token = csrf_token(client.get("/connexion"))
    response = client.post(
        "/connexion", data={"email": user.email, "password": DEFAULT_PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 303
    assert response.headers["Location"] == f"/entreprise/{company.slug}/"

    # htmx requests send the token in a header (hx-headers on <body>).
    page = client.get(f"/org/{company.slug}/membres")
    header_token = csrf_token(page)
    without = client.post(
        f"/org/{company.slug}/membres/inviter",
        data={"email": "a@exemple.fr", "role": "hr"},
        headers={"HX-Request": "true"},
    )
    assert without.status_code == 400
    assert "<html" not in without.get_data(as_text=True)
    assert "Formulaire expiré" in text(without)
    with_header = client.post(
        f"/org/{company.slug}/membres/inviter",
        data={"email": "a@exemple.fr", "role": "hr"},
        headers={"HX-Request": "true", "X-CSRFToken": header_token},
    )
    assert with_header.status_code == 200
    assert "a@exemple.fr" in text(with_header)


def test_logout_without_csrf_token_is_refused(csrf_app, member):
    user, _company = member
    client = csrf_app.test_client()
    token = csrf_token(client.get("/connexion"))
    client.post("/connexion", data={"email": user.email, "password": DEFAULT_PASSWORD, "csrf_token": token})
    assert client.post("/deconnexion").status_code == 400
    assert client.get("/compte").status_code == 200  # still signed in


def test_security_headers(client):
    response = client.get("/connexion")
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "Referrer-Policy" in response.headers


def test_session_cookie_is_httponly_and_lax(client, member):
    user, _company = member
    response = post_login(client, user.email, DEFAULT_PASSWORD)
    cookie = response.headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_unknown_url_gets_a_french_404_page(client):
    response = client.get("/cette-page-n-existe-pas")
    assert response.status_code == 404
    page = visible_text(response)
    assert "Page introuvable" in page
    assert "Cette page n'existe pas ou vous n'y avez pas accès." in page
    assert "Revenir à l'accueil" in page


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json()["status"] == "ok"


def test_failed_attempts_are_recorded(client, member, db_session):
    user, _company = member
    post_login(client, user.email, "mauvais-mot-de-passe")
    attempts = db_session.scalars(select(LoginAttempt)).all()
    assert [(a.email, a.succeeded) for a in attempts] == [(user.email, False)]


# --- Open redirects -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example/",
        "/%09/evil.example",
        "/%5Cevil.example",  # "/\evil.example" once decoded
        "https:evil.example",
        "https://evil.example/",
        "/%0d/evil.example",
        "/%0a/evil.example",
        "/%2509/evil.example",  # double-encoded tab
        "%2F%2Fevil.example",
    ],
)
def test_next_never_leads_to_another_site(client, member, target):
    user, company = member
    response = client.post(
        f"/connexion?next={target}", data={"email": user.email, "password": DEFAULT_PASSWORD}
    )
    assert response.status_code == 303
    assert response.headers["Location"] == f"/entreprise/{company.slug}/"


@pytest.mark.parametrize(
    "target", ["/\\evil.example", "/\t/evil.example", "/\r/evil.example", "//evil.example"]
)
def test_raw_control_characters_and_backslashes_in_next_are_ignored(client, member, target):
    """The same values sent unencoded in the query string (as a hand-written request could)."""
    user, company = member
    response = client.post(
        "/connexion", query_string={"next": target}, data={"email": user.email, "password": DEFAULT_PASSWORD}
    )
    assert response.status_code == 303
    assert response.headers["Location"] == f"/entreprise/{company.slug}/"


# --- Throttling under parallel attempts, timing, proxies ------------------------------------------


@pytest.fixture
def counted_checks(monkeypatch):
    """Count the password-hash verifications of the sign-in (and slow them a little, like scrypt does)."""
    import threading
    import time

    from marketplace.services import authentication

    real = authentication.check_password_hash
    calls: list[str] = []
    lock = threading.Lock()

    def counting(password_hash, password):
        with lock:
            calls.append(password_hash)
        time.sleep(0.02)
        return real(password_hash, password)

    monkeypatch.setattr(authentication, "check_password_hash", counting)
    return calls


def test_parallel_wrong_passwords_cannot_pass_the_limit(app, member, counted_checks, db_session):
    """16 guesses at once: at most LOGIN_MAX_FAILURES of them reach the password check."""
    import threading

    user, _company = member
    email = user.email  # read here: the threads have no app context of the test
    limit = app.config["LOGIN_MAX_FAILURES"]
    barrier = threading.Barrier(16)
    statuses: list[int] = []

    def guess(n: int) -> None:
        client = app.test_client()
        barrier.wait()
        statuses.append(post_login(client, email, f"mauvais-mot-de-passe-{n}").status_code)

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert statuses == [401] * 16
    assert 1 <= len(counted_checks) <= limit
    # Every evaluated guess is logged; the refused ones were not even evaluated.
    logged = db_session.scalars(select(LoginAttempt).where(LoginAttempt.email == email)).all()
    assert len(logged) == len(counted_checks)


def test_unknown_email_goes_through_the_same_password_check(client, member, counted_checks):
    """No shortcut for an unknown address: one hash verification, of the same cost, on both paths."""
    user, _company = member
    post_login(client, "personne.inconnue@exemple.fr", "un-mot-de-passe-quelconque")
    post_login(client, user.email, "un-mot-de-passe-quelconque")
    assert len(counted_checks) == 2
    dummy, real = counted_checks
    assert dummy != real
    assert dummy.split("$")[0] == real.split("$")[0]  # same method and cost, e.g. scrypt:1024:8:1


def test_client_address_is_read_from_trusted_proxies_only(app, app_factory, member, db_session):
    user, _company = member
    forwarded = {"X-Forwarded-For": "203.0.113.7"}
    post_login(app.test_client(), user.email, "mauvais-mot-de-passe", headers=forwarded)
    proxied = app_factory(TRUSTED_PROXIES=1)
    post_login(proxied.test_client(), user.email, "mauvais-mot-de-passe", headers=forwarded)
    addresses = [a.ip_address for a in db_session.scalars(select(LoginAttempt).order_by(LoginAttempt.id))]
    assert addresses == ["127.0.0.1", "203.0.113.7"]


# --- Sessions end server-side ---------------------------------------------------------------------


def _session_cookie(client) -> str:
    cookie = client.get_cookie("session")
    assert cookie is not None, "pas de cookie de session"
    return cookie.value


def test_a_cookie_captured_before_sign_out_no_longer_opens_the_dashboard(app, client, member, login):
    user, company = member
    login(client, user)
    captured = _session_cookie(client)
    assert client.get(f"/entreprise/{company.slug}/").status_code == 200
    client.post("/deconnexion")

    replay = app.test_client()
    replay.set_cookie("session", captured)
    response = replay.get(f"/entreprise/{company.slug}/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/connexion")
    assert replay.get("/compte").status_code == 302


def test_session_cookie_holds_no_password_hash_material(app, client, member, login, db_session):
    user, _company = member
    login(client, user)
    data = app.session_interface.get_signing_serializer(app).loads(_session_cookie(client))
    password_hash = db_session.get(User, user.id).password_hash
    assert data["_user_id"] == f"{user.id}:{db_session.get(User, user.id).session_version}"
    salt_and_digest = password_hash.split("$", 1)[1]
    serialised = repr(data)
    for start in range(0, len(salt_and_digest) - 8):
        assert salt_and_digest[start : start + 8] not in serialised


# --- Rate limits ----------------------------------------------------------------------------------


@pytest.fixture
def limited_app(app_factory):
    """An app with the rate limits on (the suite turns them off); the shared limiter is put back after."""
    from marketplace.extensions import limiter

    try:
        yield app_factory(RATELIMIT_ENABLED=True)
    finally:
        limiter.reset()
        limiter.enabled = False


@pytest.mark.parametrize(
    ("url", "data"),
    [
        ("/mot-de-passe-oublie", {"email": "quelqu.un@exemple.fr"}),
        ("/inscription/entreprise", {"email": "quelqu.un@exemple.fr"}),
        ("/inscription/organisme", {"email": "quelqu.un@exemple.fr"}),
    ],
)
def test_sign_up_and_password_reset_are_rate_limited_in_french(limited_app, url, data):
    client = limited_app.test_client()
    statuses = [client.post(url, data=data).status_code for _ in range(11)]
    assert 429 not in statuses[:10]
    assert statuses[10] == 429
    page = visible_text(client.post(url, data=data))
    assert "Trop de requêtes" in page


def test_rate_limits_are_counted_in_redis_when_redis_is_configured():
    from marketplace.config import load_config

    with_redis = load_config({"TESTING": True, "REDIS_URL": "redis://cache.interne:6379/0"})
    assert with_redis["RATELIMIT_STORAGE_URI"] == "redis://cache.interne:6379/0"
    assert load_config({"TESTING": True, "REDIS_URL": None})["RATELIMIT_STORAGE_URI"] == "memory://"
