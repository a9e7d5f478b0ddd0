"""Tax rates and the shop's sales settings, on the Products tab: staff manage rates and give a
product its rate; admins set the shop's details printed on invoices and whether prices include
tax. The services check every call (crpm/services/taxes.py)."""

from __future__ import annotations

from zoneinfo import available_timezones

import gradio as gr

from crpm.ui.common import (
    COUNT,
    Column,
    UIContext,
    data_table,
    guarded,
    info,
    md,
    required_id,
    table,
)
from crpm.ui.confirm import ask_first

RATE_COLUMNS = (
    Column("id", "ID", COUNT),
    Column("name", "Name"),
    Column("percent", "Rate (%)", COUNT),
    Column("status", "Status"),
)
DEFAULT_RATE = ("Shop default", "")
# A rate id typed over the API is the service's to judge (a retired or unknown one is refused).
ANY_RATE = {"allow_custom_value": True}
# How the rate forms name what the services call name and tax rate.
NEW_RATE_LABELS = {"name": "Rate name", "tax rate": "Rate (%)"}
RETIRE_LABELS = {"tax rate": "Rate to retire"}
# The zones a shop picks from (the IANA names of places, not the legacy aliases); one typed
# over the API is the service's to judge.
LEGACY_ZONES = ("Etc/", "US/", "SystemV/", "posix", "right/", "Canada/", "Brazil/", "Chile/")
ZONES = ["UTC", *sorted(
    name for name in available_timezones() if "/" in name and not name.startswith(LEGACY_ZONES)
)]  # fmt: skip
ANY_ZONE = {"allow_custom_value": True, "filterable": True}


class TaxHandlers:
    def __init__(self, ctx: UIContext):
        self.ctx = ctx
        self.taxes = ctx.services.taxes

    def _rates_view(self, actor) -> tuple:
        rates = self.taxes.rates(actor, include_retired=True)
        active = [(rate.label, rate.id) for rate in rates if rate.status == "active"]
        rows = [rate.to_dict() for rate in rates]
        return (
            table(rows, RATE_COLUMNS),
            gr.Dropdown(choices=active, value=None),
            gr.Dropdown(choices=[DEFAULT_RATE, *active], value=""),
            gr.Dropdown(choices=[DEFAULT_RATE, *active]),  # the shop's default keeps its value
        )

    @guarded
    def tax_rates(self, request: gr.Request):
        """Every tax rate (retired ones too), and the active ones as choices."""
        return self._rates_view(self.ctx.actor(request))

    @guarded(labels=NEW_RATE_LABELS)
    def add_tax_rate(self, name, percent, request: gr.Request):
        """A new named rate, e.g. "Reduced", "5.5"; its percentage never changes afterwards."""
        actor = self.ctx.actor(request)
        rate = self.taxes.add_rate(actor, name, percent)
        info(f"Tax rate {rate.label} added")
        return self._rates_view(actor)

    @guarded(labels=RETIRE_LABELS)
    def retire_tax_rate(self, rate_id, request: gr.Request):
        """No new sale takes a retired rate; its products fall back to the shop's default."""
        actor = self.ctx.actor(request)
        rate_id = required_id(rate_id, "tax rate", "pick the rate to retire")
        rate = self.taxes.retire_rate(actor, rate_id)
        info(f"Tax rate {rate.label} retired")
        return self._rates_view(actor)

    @guarded(labels=RETIRE_LABELS)
    def describe_retire_tax_rate(self, rate_id, request: gr.Request):
        """What retire_tax_rate would do (the confirmation's sentence)."""
        rate_id = required_id(rate_id, "tax rate", "pick the rate to retire")
        rate = self.taxes.get_rate(self.ctx.actor(request), rate_id)
        return (
            f"**Retire the tax rate {md(rate.label)}?** No new sale takes it, and the products"
            " sold at it fall back to the shop's default rate; past sales keep it."
        )

    @guarded
    def set_product_tax_rate(self, product_id, rate_id, request: gr.Request):
        """The selected product's own rate; empty sells it at the shop's default."""
        product_id = required_id(product_id, "product", "select a product above first")
        actor = self.ctx.actor(request)
        self.taxes.set_product_rate(actor, product_id, rate_id or None)
        product = self.ctx.services.products.get(actor, product_id)
        chosen = self.taxes.get_rate(actor, rate_id).label if rate_id else "the shop's default"
        return f"{md(product.sku)} {md(product.name)} now sells at {chosen}."

    @guarded
    def shop_settings(self, request: gr.Request):
        """The shop's name, address, tax number, payment note, prices with tax, default rate."""
        return self._settings_view(self.taxes.settings(self.ctx.actor(request)))

    @guarded
    def save_shop_settings(
        self,
        name,
        address,
        tax_number,
        payment_note,
        inclusive,
        default_rate,
        time_zone="",
        locale="",
        request: gr.Request = None,
    ):
        """Change the shop's settings (admins); later sales and invoices take them. An empty
        time zone or locale keeps the current one."""
        zone_and_locale = {"time_zone": time_zone, "locale": locale}
        settings = self.taxes.update_settings(
            self.ctx.actor(request),
            name=name,
            address=address,
            tax_number=tax_number,
            payment_note=payment_note,
            prices_include_tax=bool(inclusive),
            default_tax_rate_id=default_rate or None,
            **{key: value for key, value in zone_and_locale.items() if value},
        )
        info("Shop settings saved")
        return self._settings_view(settings)

    def _settings_view(self, settings) -> tuple:
        default = settings.default_tax_rate_id or ""
        return (
            settings.name,
            settings.address,
            settings.tax_number,
            settings.payment_note,
            settings.prices_include_tax,
            default,
            settings.time_zone,
            settings.locale,
        )


def build(ctx: UIContext, product_id) -> None:
    """The section under the product forms (loaded when opened); `product_id` is the selected
    product's box."""
    handlers = TaxHandlers(ctx)
    with gr.Accordion("Tax rates and shop settings", open=False, elem_id="tax-settings") as section:
        rates = data_table(RATE_COLUMNS, "Tax rates", max_height=240, elem_id="tax-rates")
        with gr.Row(equal_height=True):
            rate_name = gr.Textbox(label="Rate name", placeholder="Standard", scale=2)
            rate_percent = gr.Textbox(label="Rate (%)", placeholder="20", scale=1)
            add = gr.Button("Add rate", scale=0, min_width=110)
        with gr.Row(equal_height=True):
            retire_choice = gr.Dropdown(
                [], label="Rate to retire", allow_custom_value=True, scale=3
            )
            retire = gr.Button("Retire rate", variant="stop", scale=0, min_width=110)
        retire_yes = ask_first(
            retire, handlers.describe_retire_tax_rate, [retire_choice], "Yes, retire the rate"
        )
        with gr.Row(equal_height=True):
            product_rate = gr.Dropdown(
                [DEFAULT_RATE], value="", label="Rate of the selected product", **ANY_RATE
            )
            set_rate = gr.Button("Set for selected product", scale=0, min_width=200)
        set_note = gr.Markdown()
        gr.Markdown("#### Shop (admins): printed on every invoice and credit note")
        with gr.Row():
            shop_name = gr.Textbox(label="Shop name")
            tax_number = gr.Textbox(label="Tax number")
        shop_address = gr.Textbox(label="Shop address", lines=3)
        payment_note = gr.Textbox(label="Payment note", placeholder="Paid in full, thank you.")
        with gr.Row(equal_height=True):
            inclusive = gr.Checkbox(label="Prices include tax")
            default_rate = gr.Dropdown([DEFAULT_RATE], value="", label="Default rate", **ANY_RATE)
        with gr.Row(equal_height=True):
            time_zone = gr.Dropdown(
                ZONES,
                value="",
                label="Time zone",
                info="the shop's days and the times shown",
                **ANY_ZONE,
            )
            locale = gr.Textbox(
                value="",
                label="Locale",
                placeholder="en_US",
                info="numbers and money: en_US, de_DE, fr_FR",
            )
            save = gr.Button("Save shop settings", variant="primary", scale=0, min_width=180)
    rate_outputs = [rates, retire_choice, product_rate, default_rate]
    details = [shop_name, shop_address, tax_number, payment_note]
    settings = [*details, inclusive, default_rate, time_zone, locale]
    section.expand(handlers.tax_rates, None, rate_outputs, api_name="tax_rates").success(
        handlers.shop_settings, None, settings, api_name="shop_settings"
    )
    add.click(
        handlers.add_tax_rate, [rate_name, rate_percent], rate_outputs, api_name="add_tax_rate"
    )
    retire_yes.click(
        handlers.retire_tax_rate, retire_choice, rate_outputs, api_name="retire_tax_rate"
    )
    set_rate.click(
        handlers.set_product_tax_rate,
        [product_id, product_rate],
        set_note,
        api_name="set_product_tax_rate",
    )
    save.click(handlers.save_shop_settings, settings, settings, api_name="save_shop_settings")
