"""Administrator tabs: Users, Erase a person, Audit log. The account service refuses every one
of these handlers to anyone but an admin."""

from __future__ import annotations

import gradio as gr

from crpm.errors import ValidationError
from crpm.ui.common import (
    Pager,
    UIContext,
    clicked_id,
    fetch_page,
    guarded,
    info,
    md,
    optional_id,
    page_info,
    table,
)
from crpm.ui.confirm import ask_first

USER_COLUMNS = {
    "id": "ID",
    "username": "Login name",
    "role": "Role",
    "customer_id": "Customer",
    "state": "State",
    "last_login_at": "Last login (UTC)",
    "failed_logins": "Failed logins",
    "created_at": "Created (UTC)",
}
AUDIT_COLUMNS = {
    "id": "ID",
    "at": "When (UTC)",
    "actor": "Who",
    "action": "Action",
    "entity": "Record",
    "entity_id": "Record ID",
    "before": "Before",
    "after": "After",
}
ROLE_FILTERS = [("All", "all"), ("Admin", "admin"), ("Staff", "staff"), ("Customer", "customer")]
ACTIVE_FILTERS = [("All", "all"), ("Active", "active"), ("Inactive", "inactive")]
ROLES = ["staff", "admin", "customer"]
ENTITIES = ["", "user", "customer", "product", "purchase", "ticket", "quote", "person"]
CONFIRM_WORD = "ERASE"
ERASURE_EFFECT = (
    "Their account, sessions, tickets, quotes and identifying details go; their sales stay,"
    " anonymised, so revenue figures do not change."
)
ROLE_MEANS = {
    "admin": "everything staff do, plus user accounts, erasure and the audit log",
    "staff": "customers, products, purchases, reports, tickets and quotes, but no user accounts",
    "customer": "only their own profile, purchases, tickets and quotes",
}
USER_HINT = "pick a user in the list or type a user ID or login name"


def user_key(value) -> str:
    text = str(value or "").strip()
    if isinstance(value, float) and value.is_integer():
        text = str(int(value))
    if not text:
        raise ValidationError("user", USER_HINT)
    return text


class AdminHandlers:
    def __init__(self, ctx: UIContext):
        self.ctx = ctx
        self.accounts = ctx.services.accounts

    # --- users ------------------------------------------------------------------------

    @guarded
    def list_users(self, role, active, search, page, page_size, request: gr.Request):
        """Logins by role, state and a part of the login name."""
        actor = self.ctx.actor(request)
        state = {"active": True, "inactive": False}.get(active)
        found, number = fetch_page(
            lambda limit, offset: self.accounts.list_users(
                actor, role=role, active=state, search=search or "", limit=limit, offset=offset
            ),
            page,
            page_size,
        )
        rows = [self._row(user) for user in found.items]
        return table(rows, USER_COLUMNS), page_info(found, number, "user", True), number

    @staticmethod
    def _row(user) -> dict:
        state = "active" if user.active else "inactive"
        if user.locked:
            state += f", locked until {user.locked_until}"
        return {**user.to_dict(), "state": state, "customer_id": user.customer_id or ""}

    def _done(self, user, what: str) -> str:
        info(f"{user.username}: {what}")
        row = self._row(user)
        return f"**#{user.id} {md(user.username)}** · {user.role} · {row['state']}"

    @guarded
    def create_user(self, username, password, role, customer_id, request: gr.Request):
        """Add a staff or admin login (or a login for a customer record, by its ID)."""
        user = self.accounts.create_user(
            self.ctx.actor(request),
            username,
            password,
            role,
            optional_id(customer_id, "customer"),
        )
        return self._done(user, f"created as {user.role}"), ""

    @guarded
    def set_role(self, user, role, request: gr.Request):
        changed = self.accounts.set_role(self.ctx.actor(request), user_key(user), role)
        return self._done(changed, f"role is now {changed.role}")

    @guarded
    def describe_set_role(self, user, role, request: gr.Request):
        """What set_role would do (the confirmation's sentence)."""
        target = self.accounts.get_user(self.ctx.actor(request), user_key(user))
        means = ROLE_MEANS.get(role)
        if means is None:
            raise ValidationError("role", f"pick one of {', '.join(ROLES)}")
        return (
            f"**Change the role of #{target.id} {md(target.username)} from {target.role} to"
            f" {role}?** They will be allowed {means}."
        )

    @guarded
    def describe_deactivate_user(self, user, request: gr.Request):
        """What deactivate_user would do (the confirmation's sentence)."""
        target = self.accounts.get_user(self.ctx.actor(request), user_key(user))
        return (
            f"**Deactivate the login #{target.id} {md(target.username)} ({target.role})?**"
            " They can no longer log in and their open sessions end now; their records stay."
        )

    @guarded
    def deactivate_user(self, user, request: gr.Request):
        changed = self.accounts.deactivate_user(self.ctx.actor(request), user_key(user))
        return self._done(changed, "deactivated; their sessions are closed")

    @guarded
    def reactivate_user(self, user, request: gr.Request):
        changed = self.accounts.reactivate_user(self.ctx.actor(request), user_key(user))
        return self._done(changed, "reactivated")

    @guarded
    def unlock_user(self, user, request: gr.Request):
        changed = self.accounts.unlock_user(self.ctx.actor(request), user_key(user))
        return self._done(changed, "unlocked")

    @guarded
    def reset_password(self, user, new_password, request: gr.Request):
        """Set a new password for someone; their sessions are closed."""
        changed = self.accounts.set_password(self.ctx.actor(request), user_key(user), new_password)
        return self._done(changed, "password reset; tell them the new one privately"), ""

    # --- erasure ----------------------------------------------------------------------

    def _erasure_targets(self, actor, customer_id, user) -> list[str]:
        """Who an erasure would remove, one Markdown line each."""
        customer_id = optional_id(customer_id, "customer")
        lines = []
        if str(user or "").strip():
            target = self.accounts.get_user(actor, user_key(user))
            lines.append(f"- login **#{target.id} {md(target.username)}** ({target.role})")
            customer_id = customer_id or target.customer_id
        if customer_id:
            self.accounts.list_users(actor, limit=1)  # admins only, like the erasure itself
            customer = self.ctx.services.customers.get(actor, customer_id)
            who = f"**#{customer.id} {md(customer.name)}** ({md(customer.email)})"
            lines.append(f"- customer {who}")
        if not lines:
            raise ValidationError("customer", "name the customer or the user to erase")
        return lines

    @guarded
    def preview_erasure(self, customer_id, user, request: gr.Request):
        """Who an erasure would remove, before anything happens."""
        lines = self._erasure_targets(self.ctx.actor(request), customer_id, user)
        return (
            "### This will erase\n" + "\n".join(lines) + f"\n\n{ERASURE_EFFECT} Type"
            f" **{CONFIRM_WORD}** below to confirm."
        )

    @staticmethod
    def _check_word(confirmation) -> None:
        if str(confirmation or "").strip() != CONFIRM_WORD:
            raise ValidationError("confirmation", f"type {CONFIRM_WORD} to confirm the erasure")

    @guarded
    def describe_erase_person(self, customer_id, user, confirmation, request: gr.Request):
        """What erase_person would do (the confirmation's sentence)."""
        self._check_word(confirmation)
        lines = self._erasure_targets(self.ctx.actor(request), customer_id, user)
        return (
            "**Erase this person for good?**\n" + "\n".join(lines) + f"\n\n{ERASURE_EFFECT}"
            " This cannot be undone."
        )

    @guarded
    def erase_person(self, customer_id, user, confirmation, request: gr.Request):
        """Delete a person entirely (design: Erasure); needs the word ERASE as confirmation."""
        self._check_word(confirmation)
        result = self.accounts.erase_person(
            self.ctx.actor(request),
            customer_id=optional_id(customer_id, "customer"),
            user=str(user or "").strip() or None,
        )
        info("The person is erased")
        shown = ", ".join(f"{md(key)}: {md(value)}" for key, value in sorted(result.items()))
        return f"Erased. {shown}", ""

    # --- audit ------------------------------------------------------------------------

    @guarded
    def audit_log(self, entity, entity_id, page, page_size, request: gr.Request):
        """Audit rows newest first, optionally for one kind of record and one ID."""
        actor = self.ctx.actor(request)
        found, number = fetch_page(
            lambda limit, offset: self.ctx.services.audit.list(
                actor,
                entity=entity or None,
                entity_id=optional_id(entity_id, "record ID"),
                limit=limit,
                offset=offset,
            ),
            page,
            page_size,
        )
        info = page_info(found, number, "audit row", bool(entity or entity_id))
        return table(found.items, AUDIT_COLUMNS), info, number

    @staticmethod
    @guarded
    def pick_row(event: gr.SelectData):
        return str(clicked_id(event))


def build_users(ctx: UIContext) -> list[dict]:
    handlers = AdminHandlers(ctx)
    private = {"api_visibility": "private"}
    with gr.Row(equal_height=True):
        role = gr.Dropdown(ROLE_FILTERS, value="all", label="Role")
        active = gr.Dropdown(ACTIVE_FILTERS, value="all", label="State")
        search = gr.Textbox(label="Login name contains", placeholder="then Enter")
    pager = Pager.build("Users", list(USER_COLUMNS.values()), "user", "users-table")
    refresh = pager.wire(
        handlers.list_users,
        [role, active, search],
        [role.input, active.input, search.submit],
        "list_users",
    )
    with gr.Row(equal_height=False):
        with gr.Column(elem_classes="crpm-card", elem_id="user-manage"):
            gr.Markdown("### Change a user\nClick a row above or type an ID or login name.")
            user = gr.Textbox(label="User")
            with gr.Row(equal_height=True):
                new_role = gr.Dropdown(ROLES, value="staff", label="Role")
                set_role = gr.Button("Set role", scale=0, min_width=100)
            set_role_yes = ask_first(
                set_role, handlers.describe_set_role, [user, new_role], "Yes, change the role"
            )
            with gr.Row():
                deactivate = gr.Button("Deactivate", variant="stop")
                reactivate = gr.Button("Reactivate")
                unlock = gr.Button("Unlock")
            deactivate_yes = ask_first(
                deactivate, handlers.describe_deactivate_user, [user], "Yes, deactivate the login"
            )
            with gr.Row(equal_height=True):
                reset_to = gr.Textbox(label="New password", type="password")
                reset = gr.Button("Reset password", scale=0, min_width=140)
            outcome = gr.Markdown()
        with gr.Column(elem_classes="crpm-card", elem_id="user-add"):
            gr.Markdown("### Add a login\nStaff and admins; a customer login needs its record.")
            username = gr.Textbox(label="Login name")
            password = gr.Textbox(label="Password (at least 10 characters)", type="password")
            with gr.Row():
                add_role = gr.Dropdown(ROLES, value="staff", label="Role")
                customer = gr.Number(label="Customer ID (customer logins)")
            add = gr.Button("Add login", variant="primary")
            added = gr.Markdown()

    pager.table.select(handlers.pick_row, None, user, **private)
    add.click(
        handlers.create_user,
        [username, password, add_role, customer],
        [added, password],
        api_name="create_user",
    ).success(**refresh)
    set_role_yes.click(handlers.set_role, [user, new_role], outcome, api_name="set_role").success(
        **refresh
    )
    for button, handler in (
        (deactivate_yes, handlers.deactivate_user),
        (reactivate, handlers.reactivate_user),
        (unlock, handlers.unlock_user),
    ):
        button.click(handler, user, outcome, api_name=handler.__name__).success(**refresh)
    reset.click(
        handlers.reset_password, [user, reset_to], [outcome, reset_to], api_name="reset_password"
    ).success(**refresh)
    return [refresh]


def build_erase(ctx: UIContext) -> list[dict]:
    handlers = AdminHandlers(ctx)
    gr.Markdown(
        "### Erase a person\nRemoves a person entirely: login, sessions, tickets, quotes and"
        " identifying details. Sales rows stay with an anonymised customer. This cannot be undone."
    )
    with gr.Column(elem_classes="crpm-card", elem_id="erase-person"):
        with gr.Row(equal_height=True):
            customer = gr.Number(label="Customer ID")
            user = gr.Textbox(label="or user (ID or login name)")
            check = gr.Button("Check who this is", scale=0, min_width=160)
        preview = gr.Markdown()
        with gr.Row(equal_height=True):
            confirmation = gr.Textbox(label=f"Type {CONFIRM_WORD} to confirm")
            erase = gr.Button("Erase this person", variant="stop", scale=0, min_width=160)
        erase_yes = ask_first(
            erase,
            handlers.describe_erase_person,
            [customer, user, confirmation],
            "Yes, erase this person",
        )
        outcome = gr.Markdown()
    check.click(handlers.preview_erasure, [customer, user], preview, api_name="preview_erasure")
    erase_yes.click(
        handlers.erase_person,
        [customer, user, confirmation],
        [outcome, confirmation],
        api_name="erase_person",
    )
    return []


def build_audit(ctx: UIContext) -> list[dict]:
    handlers = AdminHandlers(ctx)
    with gr.Row(equal_height=True):
        entity = gr.Dropdown(ENTITIES, value="", label="Record kind", allow_custom_value=True)
        entity_id = gr.Number(label="Record ID")
    pager = Pager.build(
        "Audit log (newest first)", list(AUDIT_COLUMNS.values()), "audit row", "audit-table"
    )
    return [
        pager.wire(
            handlers.audit_log, [entity, entity_id], [entity.input, entity_id.submit], "audit_log"
        )
    ]
