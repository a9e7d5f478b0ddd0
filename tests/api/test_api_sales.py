"""Sales through the dashboard's API: tax rates, a product's rate, discounts priced live, the
invoice and credit note as PDF downloads (own documents only), the shop's settings, the tax
report."""

from __future__ import annotations

import html
import io
import re
import uuid

import httpx
import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError
from pypdf import PdfReader

from tests.api.conftest import ADMIN_PASSWORD

pytestmark = pytest.mark.api


def login(app, username: str, password: str) -> dict:
    answer = httpx.post(f"{app.url}login", data={"username": username, "password": password})
    assert answer.status_code == 200, answer.text
    return dict(answer.cookies)


def customer_login(app) -> tuple[int, dict, Client]:
    """A registered customer: (customer id, session cookies, a gradio_client logged in)."""
    email, password = f"buyer{uuid.uuid4().hex[:6]}@example.com", "sales-Buyer-Secret-41"
    actor = app.services.accounts.register_customer("Θεά Buyer", email, password)
    client = Client(app.url, auth=(email, password), verbose=False)
    return actor.customer_id, login(app, email, password), client


def hrefs(text: str) -> list[str]:
    return [html.unescape(href) for href in re.findall(r'href="([^"]+)"', text)]


def pdf_text(answer: httpx.Response) -> str:
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/pdf"
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(answer.content)).pages)


def test_a_sale_with_tax_and_discounts_and_its_documents(app, call, new_product):
    table, *_ = call("add_tax_rate", f"Reduced {uuid.uuid4().hex[:4]}", "5.5")
    rate_id = max(row[0] for row in table["data"])
    product_id = new_product(price="10.00", stock=20)
    note = call("set_product_tax_rate", product_id, rate_id)
    assert "now sells at" in note and "5.5%" in note
    buyer_id, buyer_cookies, _ = customer_login(app)
    lines = [{"product_id": product_id, "quantity": 3, "discount": "10%"}]
    cart, summary = call("preview_purchase", buyer_id, lines, "1.00")
    row = dict(zip(cart["headers"], cart["data"][0], strict=True))
    # 30.00 - 3.00 line discount - 1.00 purchase discount = 26.00 net; 5.5% = 1.43 tax
    assert (row["Discount"], row["Tax"], row["Net"], row["Gross"]) == (
        "$4.00",
        "5.5%",
        "$26.00",
        "$27.43",
    )
    assert "Net $26.00 · tax $1.43" in summary and "Total $27.43" in summary
    purchase_id, receipt, emptied = call("record_purchase", buyer_id, lines, "1.00")
    assert "$27.43" in receipt and emptied == []
    _, details, *_ = call("return_items", app.services.purchases.get(
        app.services.accounts.actor_for("dashboard"), purchase_id
    ).lines[0].id, 1, "dented")  # fmt: skip
    invoice_link, credit_link = hrefs(details)
    staff = dict(app.client.cookies)
    invoice = pdf_text(httpx.get(f"{app.url}{invoice_link}", cookies=staff))
    assert "Θεά Buyer" in invoice and "$27.43" in invoice and "5.5%" in invoice
    assert "dented" in pdf_text(httpx.get(f"{app.url}{credit_link}", cookies=staff))
    # the buyer downloads their own; another customer and a visitor get nothing
    assert "$27.43" in pdf_text(httpx.get(f"{app.url}{invoice_link}", cookies=buyer_cookies))
    _, other_cookies, _ = customer_login(app)
    for link in (invoice_link, credit_link):
        other = httpx.get(f"{app.url}{link}", cookies=other_cookies)
        assert other.status_code == 404 and "Θεά" not in other.text
        assert httpx.get(f"{app.url}{link}").status_code == 401
    assert rate_id in [row[0] for row in call("tax_rates")[0]["data"]]
    table, *_ = call("retire_tax_rate", rate_id)
    assert [row[3] for row in table["data"] if row[0] == rate_id] == ["retired"]


def test_the_customer_finds_their_invoices_in_my_purchases(app, call, new_product):
    buyer_id, cookies, client = customer_login(app)
    purchase_id, *_ = call(
        "record_purchase", buyer_id, [{"product_id": new_product(), "quantity": 1}]
    )
    _, info, _ = client.predict(1, 25, api_name="/my_purchases")
    (link,) = hrefs(info)
    assert link == f"download/invoice/{purchase_id}.pdf"
    assert "INV-" in pdf_text(httpx.get(f"{app.url}{link}", cookies=cookies))


def test_shop_settings_are_read_by_staff_and_changed_by_admins(app, call):
    assert len(call("shop_settings")) == 8
    with pytest.raises(AppError, match="permission denied"):
        call("save_shop_settings", "Staff Shop", "", "", "", False, "")
    admin = Client(app.url, auth=("admin", ADMIN_PASSWORD), verbose=False)
    saved = admin.predict(
        "API Shop", "1 Road\nTown", "VAT-99", "Thanks!", False, "", api_name="/save_shop_settings"
    )
    assert list(saved) == [
        "API Shop",
        "1 Road\nTown",
        "VAT-99",
        "Thanks!",
        False,
        "",
        "UTC",
        "en_US",
    ]


def test_the_tax_report_endpoint_gives_figures_per_rate(app, call, new_customer, new_product):
    call(
        "record_purchase",
        new_customer(),
        [{"product_id": new_product(price="2.00"), "quantity": 5}],
    )
    rows = call("tax_report", "", "")
    zero = next(row for row in rows if row["tax_rate"] == "0")
    assert set(zero) == {"tax_rate", "net", "tax", "gross", "discount"}
    assert float(zero["net"]) >= 10.00 and zero["tax"] == "0.00"
