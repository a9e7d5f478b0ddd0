"""Portal invitations over HTTP: staff ask for a link through gradio_client (`/invite_customer`);
the customer opens it, sets a password on the `/invite` page and logs in; the link then never
works again. Registration with such a customer's e-mail points them to an invitation."""

from __future__ import annotations

import re

import httpx
import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError

from crpm.permissions import SYSTEM
from crpm.services.invitations import token_hash
from crpm.ui.session import SESSION_COOKIE
from tests.api.conftest import STAFF_LOGIN, unique
from tests.support import store_snapshot

pytestmark = pytest.mark.api
PASSWORD = "portal-Invitee-Secret-3x"
UNUSABLE = "This invitation link cannot be used"


def token_of(link: str) -> str:
    return re.fullmatch(r".*/invite\?token=([\w-]+)", link).group(1)


def set_password(link: str, password: str, confirm: str | None = None, **headers):
    form = {"token": token_of(link), "password": password, "confirm": confirm or password}
    return httpx.post(link.split("?")[0], data=form, headers=headers)


def test_staff_invite_and_the_link_sets_a_password_once(app, call, new_customer, store):
    email = f"{unique('walkin')}@example.com"
    customer_id = new_customer("Wendy Walkin", email=email)
    link, note = call("invite_customer", customer_id)
    assert link.startswith(f"{app.url}invite?token=")
    assert "Wendy Walkin" in note and email in note and "works once" in note
    row = store.query_one("SELECT * FROM invitations WHERE customer_id = ?", (customer_id,))
    assert row["token_hash"] == token_hash(token_of(link)) and row["used_at"] is None

    opened = httpx.get(link)
    assert opened.status_code == 200 and "Welcome, Wendy Walkin" in opened.text
    assert f'value="{email}"' in opened.text and PASSWORD not in opened.text
    # the token in the address stays on this site and out of caches
    assert opened.headers["referrer-policy"] == "same-origin"
    assert opened.headers["cache-control"] == "no-store"
    differing = set_password(link, PASSWORD, "another-Secret-77")
    assert differing.status_code == 400 and "The passwords differ." in differing.text
    weak = set_password(link, "password123")
    assert weak.status_code == 400 and "most common passwords" in weak.text

    done = set_password(link, PASSWORD)
    assert done.status_code == 303 and done.headers["location"] == "login?notice=invited"
    assert "Your password is set" in httpx.get(f"{app.url}login?notice=invited").text
    customer = Client(app.url, auth=(email, PASSWORD), verbose=False)
    profile = customer.predict(api_name="/my_profile")
    assert email in str(profile) and "Wendy Walkin" in str(profile)

    before = store_snapshot(store, leave_out=("address_attempts", "sessions", "audit_log"))
    for again in (httpx.get(link), set_password(link, "yet-another-Secret-8")):
        assert again.status_code == 410 and UNUSABLE in again.text
        assert "was used already" in again.text and SESSION_COOKIE not in again.cookies
    assert store_snapshot(store, leave_out=("address_attempts", "sessions", "audit_log")) == before


def test_the_link_follows_the_address_a_proxy_forwards(app, new_customer):
    customer_id = new_customer("Pia Proxy")
    headers = {"X-Forwarded-Host": "shop.example", "X-Forwarded-Proto": "https"}
    proxied = Client(app.url, auth=STAFF_LOGIN, headers=headers, verbose=False)
    link, _note = proxied.predict(customer_id, api_name="/invite_customer")
    assert link.startswith("https://shop.example/invite?token=")


def test_the_page_shows_the_customers_name_as_text(call, new_customer):
    customer_id = new_customer("<img src=x onerror=alert(1)> Mal")
    link, note = call("invite_customer", customer_id)
    page = httpx.get(link).text
    assert "&lt;img src=x onerror=alert(1)&gt; Mal" in page and "<img" not in page
    assert "<img" not in note


def test_a_new_invitation_replaces_the_old_link(app, call, new_customer):
    customer_id = new_customer("Rita Replaced")
    old, _ = call("invite_customer", customer_id)
    new, _ = call("invite_customer", customer_id)
    assert old != new
    assert httpx.get(old).status_code == 410
    assert httpx.get(new).status_code == 200


def test_who_cannot_be_invited_is_a_readable_refusal(app, call, new_customer, store):
    email = f"{unique('reg')}@example.com"
    registered = app.services.accounts.register_customer("Reg Istered", email, PASSWORD)
    before = store.query_one("SELECT count(*) FROM invitations")[0]
    with pytest.raises(AppError, match=f"already has a login: they log in as {email}"):
        call("invite_customer", registered.customer_id)
    with pytest.raises(AppError, match="Customer: open a customer"):
        call("invite_customer", None)
    assert store.query_one("SELECT count(*) FROM invitations")[0] == before


def test_an_invitation_posted_from_another_site_is_refused(app, call, new_customer):
    customer_id = new_customer("Otto Origin")
    link, _ = call("invite_customer", customer_id)
    foreign = set_password(link, PASSWORD, Origin="http://evil.example")
    assert foreign.status_code == 403
    assert httpx.get(link).status_code == 200  # still unused


def test_registering_with_a_walk_in_customers_email_points_to_an_invitation(app, new_customer):
    email = f"{unique('known')}@example.com"
    customer_id = new_customer("Kim Known", email=email)
    form = {"name": "Kim", "email": email, "password": PASSWORD, "confirm": PASSWORD}
    answer = httpx.post(f"{app.url}register", data=form)
    assert answer.status_code == 303 and answer.headers["location"] == "login?notice=registered"
    notice = httpx.get(f"{app.url}login?notice=registered").text
    assert "ask the shop for an invitation" in notice
    assert (
        app.services.store.query_one("SELECT 1 FROM users WHERE customer_id = ?", (customer_id,))
        is None
    )
    assert app.services.customers.get(SYSTEM, customer_id).name == "Kim Known"
    assert "Ask the shop for an" in httpx.get(f"{app.url}register").text
