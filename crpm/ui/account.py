"""My account tab (every role): who you are, your contact details (customers) and your password.

A password goes from the form to the service and nowhere else: no handler returns, logs or
echoes it; the boxes are emptied after a change.
"""

from __future__ import annotations

import gradio as gr

from crpm.errors import ValidationError
from crpm.services.customers import PROFILE_FIELDS
from crpm.ui.common import UIContext, guarded, info, login_line

LABELS = {
    "name": "Name",
    "phone": "Phone",
    "company": "Company",
    "address": "Address",
    "city": "City",
    "country": "Country",
}
ROLE_TEXT = {
    "admin": "administrator: everything staff do, plus user accounts, erasure and the audit log",
    "staff": "staff: customers, products, purchases, reports and the service desk",
}
# After a password change every session of the account is closed, this one too.
TO_LOGIN = "() => { setTimeout(() => { window.location.href = 'login?notice=changed'; }, 1500); }"


class AccountHandlers:
    def __init__(self, ctx: UIContext):
        self.ctx = ctx
        self.accounts = ctx.services.accounts

    @guarded
    def my_profile(self, request: gr.Request):
        """Your login, role and (customers) contact details."""
        profile = self.accounts.profile(self.ctx.actor(request))
        return self._view(profile)

    @guarded
    def update_profile(self, name, phone, company, address, city, country, request: gr.Request):
        """A customer changes their own contact details (the e-mail is the login and stays)."""
        values = dict(
            zip(PROFILE_FIELDS, (name, phone, company, address, city, country), strict=True)
        )
        profile = self.accounts.update_profile(self.ctx.actor(request), **values)
        info("Your details are saved")
        return self._view(profile)

    def _view(self, profile: dict) -> tuple:
        is_customer = "customer_id" in profile
        about = ROLE_TEXT.get(profile["role"], "")
        if is_customer:  # no role to explain; the number the shop knows them by, to quote
            about = f"your customer number is {profile['customer_id']}"
        summary = login_line(profile["username"], f" · {about}")
        values = [profile.get(name, "") or "" for name in PROFILE_FIELDS]
        return summary, *values, gr.Column(visible=is_customer)

    @guarded
    def change_password(self, old_password, new_password, repeated, request: gr.Request):
        """Change your own password; every session is closed, so you log in again."""
        if new_password != repeated:
            raise ValidationError("repeat new password", "differs from the new password")
        self.accounts.change_password(self.ctx.actor(request), old_password, new_password)
        info("Password changed; please log in again with the new one")
        return "", "", ""


def build(ctx: UIContext) -> list[dict]:
    handlers = AccountHandlers(ctx)
    summary = gr.Markdown("Loading your account…", elem_id="account-summary")
    with gr.Row(equal_height=False):
        with gr.Column(scale=3, elem_classes="crpm-card", elem_id="account-profile") as details:
            gr.Markdown("### Your details")
            boxes = {}
            with gr.Row():
                boxes["name"] = gr.Textbox(label=LABELS["name"])
                boxes["phone"] = gr.Textbox(label=LABELS["phone"])
            boxes["company"] = gr.Textbox(label=LABELS["company"])
            boxes["address"] = gr.Textbox(label=LABELS["address"])
            with gr.Row():
                boxes["city"] = gr.Textbox(label=LABELS["city"])
                boxes["country"] = gr.Textbox(label=LABELS["country"])
            save = gr.Button("Save my details", variant="primary")
        with gr.Column(scale=2, elem_classes="crpm-card", elem_id="account-password"):
            gr.Markdown("### Change password\nAt least 10 characters; you log in again after.")
            old = gr.Textbox(label="Current password", type="password")
            new = gr.Textbox(label="New password", type="password")
            repeated = gr.Textbox(label="Repeat new password", type="password")
            change = gr.Button("Change password")

    fields = [boxes[name] for name in PROFILE_FIELDS]
    view = [summary, *fields, details]
    refresh = dict(fn=handlers.my_profile, inputs=None, outputs=view, api_visibility="private")
    gr.Button("Reload", size="sm").click(
        **{**refresh, "api_visibility": "public"}, api_name="my_profile"
    )
    save.click(handlers.update_profile, fields, view, api_name="update_profile")
    change.click(
        handlers.change_password,
        [old, new, repeated],
        [old, new, repeated],
        api_name="change_password",
    ).success(None, js=TO_LOGIN)
    return [refresh]
