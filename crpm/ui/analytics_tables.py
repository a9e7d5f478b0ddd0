"""The tables of the Analytics tab: their titles, where each lives in `Analytics.page()`, the
headings shown, and how many rows the page shows (its CSV download holds them all)."""

from __future__ import annotations

import pandas as pd

from crpm.analytics.periods import PRESETS

PRODUCT_HEADINGS = {
    "sku": "SKU",
    "name": "Product",
    "category": "Category",
    "units_sold": "Units sold",
    "revenue_cents": "Revenue",
}
# The stock table's units sold in the page's range; its heading names the range (headings_for).
SOLD_IN_RANGE = "units_in_range"
# key: (title, where in Analytics.page(), headings, rows shown on the page)
TABLES = {
    "trend": (
        "Revenue trend",
        ("trend",),
        {"period": "Period", "revenue_cents": "Revenue", "units": "Units"},
        None,
    ),
    "best_sellers": ("Best sellers", ("products", "best"), PRODUCT_HEADINGS, None),
    "least_sellers": ("Least sellers", ("products", "least"), PRODUCT_HEADINGS, None),
    "top_customers": (
        "Top customers",
        ("top_customers",),
        {
            "customer_id": "ID",
            "name": "Customer",
            "orders": "Orders",
            "units": "Units",
            "revenue_cents": "Revenue",
            "first_purchase": "First purchase",
            "last_purchase": "Last purchase",
        },
        None,
    ),
    "categories": (
        "Sales by category",
        ("products", "by_category"),
        {
            "category": "Category",
            "products": "Products",
            "units_sold": "Units sold",
            "revenue_cents": "Revenue",
        },
        None,
    ),
    "stock": (
        "Stock report",
        ("stock", "products"),
        {
            "sku": "SKU",
            "name": "Product",
            "status": "Status",
            "stock": "Stock",
            "reorder_level": "Reorder at",
            SOLD_IN_RANGE: "Sold in range",
            "days_of_cover": "Days of cover (30-day pace)",
            "low_stock": "Low",
            "stock_value_cents": "Stock value",
        },
        100,
    ),
    "movements": (
        "Stock movements in the range (latest 200)",
        ("stock", "movements"),
        {
            "created_at": "Time",
            "sku": "SKU",
            "kind": "Kind",
            "quantity": "Change",
            "stock_after": "Stock after",
            "purchase_id": "Purchase",
            "reason": "Reason",
        },
        None,
    ),
    "segments": (
        "RFM segments",
        ("rfm", "segments"),
        {"segment": "Segment", "customers": "Customers", "revenue_cents": "Revenue"},
        None,
    ),
    "tax": (
        "Tax collected per rate (returns deducted)",
        ("tax",),
        {
            "tax_rate": "Rate (%)",
            "net_cents": "Net",
            "tax_cents": "Tax",
            "gross_cents": "Gross",
            "discount_cents": "Discounts given",
        },
        None,
    ),
    "rfm_customers": (
        "Customers by RFM score",
        ("rfm", "customers"),
        {
            "customer_id": "ID",
            "name": "Customer",
            "recency_days": "Days since last",
            "frequency": "Orders",
            "monetary_cents": "Revenue",
            "r_score": "R",
            "f_score": "F",
            "m_score": "M",
            "segment": "Segment",
        },
        100,
    ),
}
CHARTS = ["trend", "best_sellers", "least_sellers", "top_customers", "categories", "segments"]


def pick(result: dict, path: tuple):
    for key in path:
        result = result[key]
    return result


def table(result: dict, key: str) -> pd.DataFrame:
    """One table of `Analytics.page()` as the page shows it (and its CSV holds it)."""
    frame = pick(result, TABLES[key][1])
    if key == "stock":
        return with_units_in_range(frame, result["products"]["by_product"]).sort_values(
            ["low_stock", "days_of_cover"], ascending=[False, True]
        )
    return frame


def with_units_in_range(stock: pd.DataFrame, by_product: pd.DataFrame) -> pd.DataFrame:
    """The stock report with each product's net units sold in the page's range (0 without
    sales), beside the engine's fixed last-30-days figure that its days of cover stand on."""
    sold = by_product.set_index("product_id")["units_sold"]
    units = stock["product_id"].map(sold).fillna(0).astype("int64")
    return stock.assign(**{SOLD_IN_RANGE: units})


def headings_for(key: str, preset: str) -> dict[str, str]:
    """The headings of table `key`, with the units sold in the range named after the preset
    ("Sold last 7 days"; "Sold in range" for custom days)."""
    headings = TABLES[key][2]
    if SOLD_IN_RANGE not in headings or preset not in PRESETS or preset == "Custom":
        return headings
    return {**headings, SOLD_IN_RANGE: f"Sold {preset.lower()}"}
