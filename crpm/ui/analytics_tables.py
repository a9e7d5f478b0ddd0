"""The tables of the Analytics tab: their titles, where each lives in `Analytics.page()`, the
headings shown, and how many rows the page shows (its CSV download holds them all)."""

from __future__ import annotations

PRODUCT_HEADINGS = {
    "sku": "SKU",
    "name": "Product",
    "category": "Category",
    "units_sold": "Units sold",
    "revenue_cents": "Revenue",
}
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
            "units_30d": "Sold 30 d",
            "days_of_cover": "Days of cover",
            "low_stock": "Low",
            "stock_value_cents": "Stock value",
        },
        100,
    ),
    "movements": (
        "Stock movements in the range (latest 200)",
        ("stock", "movements"),
        {
            "created_at": "Time (UTC)",
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


def table(result: dict, key: str):
    """One table of `Analytics.page()` as the page shows it (and its CSV holds it)."""
    frame = pick(result, TABLES[key][1])
    if key == "stock":
        return frame.sort_values(["low_stock", "days_of_cover"], ascending=[False, True])
    return frame
