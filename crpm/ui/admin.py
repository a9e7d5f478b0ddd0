"""Administrator tabs: Users, Erase a person, Audit log. The account service refuses every one
of these handlers to anyone but an admin."""

from __future__ import annotations

import json

import gradio as gr

from crpm.errors import ValidationError
from crpm.permissions import ensure
from crpm.services.search import find_records
from crpm.ui.common import (
    COUNT,
    DATE,
    Column,
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
from crpm.ui.pickers import PICKER_LIMIT, Pickers, picker
from crpm.ui.search import choice_label

USER_COLUMNS = (
    Column("id", "ID", COUNT),
    Column("username", "Login name"),
    Column("role", "Role"),
    Column("state", "State"),
    Column("customer_id", "Customer", COUNT),
    Column("last_login_at", "Last login", DATE),
    Column("failed_logins", "Failed logins", COUNT),
    Column("created_at", "Created", DATE),
)
AUDIT_COLUMNS = (
    Column("id", "ID", COUNT),
    Column("at", "When", DATE),
    Column("actor", "Who"),
    Column("action", "Action"),
    Column("entity", "Record"),
    Column("entity_id", "Record ID", COUNT),
    Column("change", "Change"),
)
NOTHING = "(empty)"


def audit_change(before: str | None, after: str | None) -> str:
    """An audit row's stored fields (JSON) in words: "field: old → new" for a change, the value
    alone for a record made, "field was value" for one removed."""
    old, new = _fields(before), _fields(after)
    return "; ".join(_field_change(key, old, new) for key in sorted(old.keys() | new.keys()))


def _fields(stored: str | None) -> dict:
    if not stored:
        return {}
    try:
        fields = json.loads(stored)
    except ValueError:
        return {"value": stored}
    return fields if isinstance(fields, dict) else {"value": fields}


def _field_change(key: str, old: dict, new: dict) -> str:
    if key not in old:
        return f"{key}: {_shown(new[key])}"
    if key not in new:
        return f"{key} was {_shown(old[key])}"
    return f"{key}: {_shown(old[key])} → {_shown(new[key])}"


def _shown(value) -> str:
    return NOTHING if value in (None, "") else str(value)


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
# "customer:12" -> the kind and number the audit log filters on; nothing picked: all of the kind.
SPLIT_HIT = (
    "(hit, kind) => { const [k, n] = String(hit || '').split(':');"
    " return n ? [k, Number(n)] : [kind, null]; }"
)
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
        self.pickers = Pickers(ctx)

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
        shown = table(rows, USER_COLUMNS, self.ctx.shop.time)
        return shown, page_info(found, number, "user", True), number

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
        actor = self.ctx.actor(request)
        target = self.accounts.get_user(actor, user_key(user))
        login = f"#{target.id} {md(target.username)} ({target.role})"
        if not target.active:
            return f"**The login {login} is already inactive.** Nothing changes."
        kept = "What they recorded and the audit log stay."
        if target.customer_id:
            customer = self.ctx.services.customers.get(actor, target.customer_id)
            kept = (
                f"Customer #{customer.id} {md(customer.name)} stays as it is, with every purchase,"
                " ticket and quote; only the portal login stops."
            )
        return (
            f"**Deactivate the login {login}?** They can no longer log in, and if they are logged"
            f" in now, they are logged out at their next click. {kept} Reactivate lets them in"
            " again."
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
        self.ctx.resync_analytics_in_background()
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
        rows = [{**row, "change": audit_change(row["before"], row["after"])} for row in found.items]
        return table(rows, AUDIT_COLUMNS, self.ctx.shop.time), info, number

    @guarded
    def find_audit_records(self, query, kind, request: gr.Request):
        """The audit filter's picker: records of the kind (any kind when none) matching the
        query, as choices ("customer:12"), the first one picked; and the kind and ID the log is
        then filtered on (the picked record's kind, or the kind as it was)."""
        actor = self.ctx.actor(request)
        ensure(actor, "admin")  # admins only, like the log it filters
        kinds = [kind] if kind else list(ENTITIES[1:])

        def choose(text):
            return record_choices(self.ctx, self.pickers, actor, text, kinds)

        query, choices = Pickers.search(query, choose)
        found = Pickers.dropdown("record", query, choices)
        if not choices:
            return found, kind or "", None
        picked_kind, _, number = choices[0][1].partition(":")
        return found, picked_kind, int(number)

    @guarded
    def pick_user_row(self, event: gr.SelectData, request: gr.Request):
        """A clicked row's login, picked in the "Change a user" form."""
        user = self.accounts.get_user(self.ctx.actor(request), clicked_id(event))
        return gr.Dropdown(choices=[(Pickers.user_label(user), user.id)], value=user.id)


def record_choices(ctx: UIContext, pickers: Pickers, actor, query: str, kinds: list) -> list:
    """(label, "kind:id") of the records of these kinds a query finds: logins by name or #ID,
    other records as the search box finds them (inactive ones too, never erased customers)."""
    choices = []
    if "user" in kinds:
        users = pickers.users(actor, query)
        choices += [(f"User {pickers.user_label(user)}", f"user:{user.id}") for user in users]
    hits = find_records(ctx.services.store, actor, query)
    choices += [(choice_label(hit), f"{hit.kind}:{hit.record_id}") for hit in hits
                if hit.kind in kinds]  # fmt: skip
    return choices[:PICKER_LIMIT]


def build_users(ctx: UIContext) -> list[dict]:
    handlers = AdminHandlers(ctx)
    private = {"api_visibility": "private"}
    with gr.Row(equal_height=True):
        role = gr.Dropdown(ROLE_FILTERS, value="all", label="Role")
        active = gr.Dropdown(ACTIVE_FILTERS, value="all", label="State")
        search = gr.Textbox(label="Login name contains", placeholder="then Enter")
    pager = Pager.build("Users", USER_COLUMNS, "user", "users-table")
    refresh = pager.wire(
        handlers.list_users,
        [role, active, search],
        [role.input, active.input, search.submit],
        "list_users",
    )
    with gr.Row(equal_height=False):
        with gr.Column(elem_classes="crpm-card", elem_id="user-manage"):
            gr.Markdown("### Change a user\nClick a row above or find the login.")
            with gr.Row(equal_height=True):
                user = picker(
                    handlers.pickers.find_users, "Find the login", "Login name or #ID", "User"
                ).chosen
            with gr.Row(equal_height=True):
                new_role = gr.Dropdown(ROLES, value="staff", label="Role")
                set_role = gr.Button("Set role", variant="stop", scale=0, min_width=100)
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
            add_role = gr.Dropdown(ROLES, value="staff", label="Role")
            with gr.Row(equal_height=True):
                customer = picker(
                    handlers.pickers.find_customers, "Find the customer (customer logins)",
                    "Name, e-mail or phone", "Customer",
                ).chosen  # fmt: skip
            add = gr.Button("Add login", variant="primary")
            added = gr.Markdown()

    pager.table.select(handlers.pick_user_row, None, user, **private)
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
            customer = picker(
                handlers.pickers.find_any_customers, "Find the customer",
                "Name, e-mail or phone", "Customer",
            ).chosen  # fmt: skip
        with gr.Row(equal_height=True):
            user = picker(
                handlers.pickers.find_users, "or find the login", "Login name", "Login"
            ).chosen
        check = gr.Button("Check who this is")
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
        query = gr.Textbox(
            label="Find the record", placeholder="Name, e-mail, SKU, login or #number"
        )
        record = gr.Dropdown(
            [], label="Record (empty: all)", allow_custom_value=True, interactive=True
        )
    # The picked record's number: set by the picker, never typed.
    entity_id = gr.Number(label="Record ID", visible=False)
    pager = Pager.build("Audit log (newest first)", AUDIT_COLUMNS, "audit row", "audit-table")
    refresh = pager.wire(handlers.audit_log, [entity, entity_id], [], "audit_log")
    first_page = dict(fn=None, inputs=None, outputs=pager.page, js="() => 1")
    # A new search or kind picks the first match and shows its rows; picking another match
    # among those found is browser work until the log is fetched.
    gr.on(
        [query.change, query.submit, entity.input],
        handlers.find_audit_records,
        [query, entity],
        [record, entity, entity_id],
        trigger_mode="always_last",
        show_progress="hidden",
        api_visibility="private",
    ).then(**first_page).then(**refresh)
    record.input(None, [record, entity], [entity, entity_id], js=SPLIT_HIT).then(**first_page).then(
        **refresh
    )
    return [refresh]
