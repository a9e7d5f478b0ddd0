"""The Gradio dashboard: one module per tab, composed here.

Each tab module has `build(ctx) -> list[dict]`: it lays out its components inside the open
`gr.Tab` and returns the events (as kwargs) that refresh it when the tab is shown. `TABS` lists
the tabs with the permission each needs; `tabs_for(actor)` decides which ones a role sees.
Hiding a tab is comfort only: every handler still goes through a service that checks the role.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

# Not a CRPM setting (crpm/config.py reads those): Gradio reads this once, when it is imported,
# so it is set here, before the import below: no analytics calls to the internet.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import gradio as gr  # noqa: E402

from crpm.config import Settings  # noqa: E402
from crpm.permissions import RULES, Actor  # noqa: E402
from crpm.ui import (  # noqa: E402
    account,
    admin,
    analytics,
    auth,
    customer_portal,
    customers,
    data,
    desk,
    downloads,
    home,
    products,
    purchases,
    search,
)
from crpm.ui.common import UIContext, guarded, login_line  # noqa: E402
from crpm.ui.style import CSS, HEAD, THEME  # noqa: E402

CONCURRENCY = 8  # services use one SQLite connection per worker thread
# Gradio keeps, for each browser session (every page load, every API client), a copy of every
# component's settings: 1.2 MB and 0.13 s for this page. It keeps 10,000 sessions by default,
# which grows the process by gigabytes; keep the most recently used. A session idle behind
# this many others loses what the server held for it (its gr.State: a cart, the record open).
SESSIONS_KEPT = 100


@dataclass(frozen=True)
class TabSpec:
    key: str
    label: str
    build: Callable[[UIContext], list[dict]]
    action: str  # the rule (crpm.permissions.RULES) that must name the role to show the tab


TABS = (
    TabSpec("home", "Home", home.build, "read_records"),
    TabSpec("customers", "Customers", customers.build, "read_records"),
    TabSpec("products", "Products", products.build, "read_records"),
    TabSpec("purchases", "Purchases", purchases.build, "manage_records"),
    TabSpec("analytics", "Analytics", analytics.build, "analytics"),
    TabSpec("desk", "Service desk", desk.build, "service_desk_staff"),
    TabSpec("data", "Import & export", data.build, "manage_records"),
    TabSpec("users", "Users", admin.build_users, "admin"),
    TabSpec("erase", "Erase a person", admin.build_erase, "admin"),
    TabSpec("audit", "Audit log", admin.build_audit, "admin"),
    TabSpec("my_purchases", "My purchases", customer_portal.build_purchases, "own_records"),
    TabSpec("my_tickets", "My tickets", customer_portal.build_tickets, "own_records"),
    TabSpec("my_quotes", "My quotes", customer_portal.build_quotes, "own_records"),
    TabSpec("account", "My account", account.build, "own_account"),
)
# Every page starts on Home, whose figures load in parallel with the role's tabs (staff see
# Home first). Once the tabs are shown, open the role's first tab (`allowed`: the keys,
# comma-separated) unless the selected one is already among them: Home for staff, or a tab the
# user picked while the page was loading.
START_TAB = "home"
OPEN_FIRST_TAB_JS = """(allowed) => {
  const keys = allowed.split(',');
  const current = document.querySelector('#crpm-tabs [role=tab][aria-selected=true]');
  const key = current && current.dataset.tabId;
  if (key && keys.includes(key)) return;
  document.querySelector(`#crpm-tabs [role=tab][data-tab-id="${keys[0]}"]`)?.click();
}"""


def tabs_for(actor: Actor) -> list[str]:
    """The keys of the tabs this actor's role may see, in display order: those whose rule names
    the role (for anyone's records or their own). The services still check every call."""
    return [tab.key for tab in TABS if actor.role in RULES[tab.action]]


def build_app(services, settings: Settings) -> gr.Blocks:
    ctx = UIContext(services, settings)
    # Gradio keeps a copy of every file a page offered (CSV exports, backups): drop them after
    # an hour so a long-running app does not fill the disk.
    with gr.Blocks(
        title="CRPM · Customers, products, purchases", delete_cache=(3600, 3600)
    ) as demo:
        with gr.Row(elem_classes="crpm-header", equal_height=True):
            gr.Markdown("# CRPM\nCustomers, products and purchases in one place.", scale=3)
            who = gr.Markdown(elem_classes="crpm-who", scale=1)
            role_tabs = gr.Textbox(visible=False)  # the keys of the role's tabs, for the browser
            auth.logout_button()
        search_box, search_hits = search.layout()
        tabs = {}
        # Gradio fires the initially selected tab's select on load (START_TAB's, for every role);
        # once the role's tabs are shown, OPEN_FIRST_TAB_JS opens the first one.
        with gr.Tabs(elem_id="crpm-tabs", selected=START_TAB) as main_tabs:
            for spec in TABS:
                with gr.Tab(spec.label, id=spec.key, elem_id=f"tab-{spec.key}") as tab:
                    refreshes = spec.build(ctx)
                for refresh in refreshes:
                    tab.select(**refresh)
                tabs[spec.key] = tab
        search.wire(ctx, search_box, search_hits, main_tabs)

        @guarded
        def show_role_tabs(request: gr.Request):
            actor = ctx.actor(request)
            allowed = tabs_for(actor)
            # A customer's login is their e-mail; they need no word for their role.
            role = f" ({actor.role})" if actor.is_staff else ""
            greeting = login_line(actor.username, role, breaks=True)
            # Gradio 6.31 ignores visible=False on a Tab update; "hidden" removes the tab. The
            # role's own tabs are left alone: every tab starts visible, and Gradio answers
            # visible=True by walking the whole tab to set each part visible again.
            shown = (gr.skip() if key in allowed else gr.Tab(visible="hidden") for key in tabs)
            return greeting, ",".join(allowed), gr.Textbox(visible=actor.is_staff), *shown

        # Selecting the role's first tab happens in the browser once the tabs are shown, and only
        # if the user has not picked a tab of their own meanwhile (no snap-back to Home).
        demo.load(
            show_role_tabs,
            None,
            [who, role_tabs, search_box, *tabs.values()],
            api_visibility="private",
        ).success(None, role_tabs, js=OPEN_FIRST_TAB_JS)
    demo.crpm_context = ctx
    demo.crpm_server = auth.server_app(services, settings)
    downloads.add_routes(demo.crpm_server, ctx)
    return demo


def launch(demo: gr.Blocks, settings: Settings, **kwargs):
    """Serve the dashboard behind the login pages; keyword arguments go to `Blocks.launch`.
    The analytics engine loads its copy of the store in the background once the app serves."""
    demo.queue(default_concurrency_limit=CONCURRENCY)
    demo.crpm_context.warm_up_analytics_in_background()
    return demo.launch(
        _app=demo.crpm_server,
        auth_dependency=demo.crpm_server.auth_dependency,
        ssr_mode=False,  # the login routes live in this Python app, not in a Node front
        server_name=settings.host,
        server_port=settings.port,
        share=settings.share,
        theme=THEME,
        css=CSS,
        head=HEAD,
        footer_links=["api"],
        max_file_size=settings.max_upload_bytes,
        # Gradio's own refusals of a value (a text for a number box, a table of the wrong
        # shape) say why instead of an empty error; every handler is `guarded`, so no crash
        # of ours reaches the page with its text (they all become GENERIC_ERROR).
        show_error=True,
        state_session_capacity=SESSIONS_KEPT,
        **kwargs,
    )
