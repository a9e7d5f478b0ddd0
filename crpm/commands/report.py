"""Sales reports on the command line: python -m crpm report NAME [--from] [--to] [--format]."""

from __future__ import annotations

import csv
import json
import sys

from crpm.commands import UsageError, open_existing
from crpm.models import cents_to_decimal_text, format_money, parse_int
from crpm.permissions import SYSTEM

REPORTS = ("summary", "top-customers", "products", "trend", "stock", "rfm", "tax")
FORMATS = ("table", "csv", "json")
SUMMARY_KEYS = (
    "revenue_cents", "gross_sales_cents", "returns_cents", "units_sold", "orders",
    "average_order_value_cents", "active_customers", "new_customers", "products_sold",
    "stock_value_cents", "low_stock_count",
)  # fmt: skip
TOP_CUSTOMER_COLUMNS = (
    "customer_id", "name", "email", "orders", "units", "revenue_cents",
    "first_purchase", "last_purchase",
)  # fmt: skip
PRODUCT_COLUMNS = ("product_id", "sku", "name", "category", "units_sold", "revenue_cents")
STOCK_COLUMNS = (
    "product_id", "sku", "name", "category", "status", "stock", "reorder_level", "units_30d",
    "days_of_cover", "low_stock", "stock_value_cents",
)  # fmt: skip
RFM_COLUMNS = (
    "customer_id", "name", "email", "recency_days", "frequency", "monetary_cents",
    "r_score", "f_score", "m_score", "segment",
)  # fmt: skip


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "report",
        help="sales reports: " + ", ".join(REPORTS),
        description="Sales reports over [--from, --to): a date (YYYY-MM-DD) is the shop's day,"
        " in its time zone; a date-time without an offset is UTC.",
    )
    parser.add_argument("report", metavar="REPORT", help=" | ".join(REPORTS))
    parser.add_argument(
        "--from", dest="date_from", metavar="DATE", help="first day (or moment) counted"
    )
    parser.add_argument(
        "--to", dest="date_to", metavar="DATE", help="first day (or moment) NOT counted"
    )
    parser.add_argument("--limit", metavar="N", help="at most N rows (ranked reports: 10)")
    parser.add_argument("--format", default="table", metavar="FORMAT", help=" | ".join(FORMATS))
    parser.add_argument("--grain", default="day", metavar="GRAIN", help="trend: day|week|month")
    parser.add_argument(
        "--product", dest="product_ids", action="append", metavar="ID",
        help="trend: only this product, per product (repeatable)",
    )  # fmt: skip
    parser.add_argument("--least", action="store_true", help="products: least sellers instead")
    parser.add_argument("--segments", action="store_true", help="rfm: the segments' totals")
    parser.set_defaults(handler=run_report)


def run_report(args) -> int:
    from crpm.analytics import Analytics, DateRange
    from crpm.analytics.periods import GRAINS

    if args.report not in REPORTS:
        raise UsageError(f"unknown report {args.report!r} (choose from {', '.join(REPORTS)})")
    if args.format not in FORMATS:
        raise UsageError(f"--format must be one of {', '.join(FORMATS)}")
    if args.grain not in GRAINS:
        raise UsageError(f"--grain must be one of {', '.join(GRAINS)}")
    DateRange.parse(args.date_from, args.date_to)  # a bad date fails before the store is read
    analytics = Analytics(open_existing(args.db))
    try:
        result = REPORT_RUNNERS[args.report](analytics, args)
    finally:
        analytics.close()
    emit(result, args.format)
    return 0


def _span(args) -> dict:
    return {"date_from": args.date_from, "date_to": args.date_to}


def _limit(args, default):
    return default if args.limit in (None, "") else args.limit


def _summary(analytics, args):
    summary = analytics.summary(SYSTEM, **_span(args))
    return {key: getattr(summary, key) for key in SUMMARY_KEYS}


def _top_customers(analytics, args):
    frame = analytics.top_customers(SYSTEM, **_span(args), limit=_limit(args, 10))
    return frame[list(TOP_CUSTOMER_COLUMNS)]


def _products(analytics, args):
    lists = analytics.product_performance(SYSTEM, **_span(args), limit=_limit(args, 10))
    return lists["least" if args.least else "best"][list(PRODUCT_COLUMNS)]


def _trend(analytics, args):
    frame = analytics.trend(SYSTEM, **_span(args), grain=args.grain, product_ids=args.product_ids)
    return _head(frame, args)


def _stock(analytics, args):
    frame = analytics.stock_report(SYSTEM, **_span(args))["products"][list(STOCK_COLUMNS)]
    return _head(frame, args)


def _rfm(analytics, args):
    lists = analytics.rfm(SYSTEM, **_span(args))
    if args.segments:
        return lists["segments"]
    return _head(lists["customers"][list(RFM_COLUMNS)], args)


def _tax(analytics, args):
    return analytics.tax(SYSTEM, **_span(args))


def _head(frame, args):
    if args.limit in (None, ""):
        return frame
    return frame.head(parse_int(args.limit, "limit", minimum=1, maximum=10**9))


REPORT_RUNNERS = {
    "summary": _summary,
    "top-customers": _top_customers,
    "products": _products,
    "trend": _trend,
    "stock": _stock,
    "rfm": _rfm,
    "tax": _tax,
}


# --- printing ----------------------------------------------------------------------------------


def emit(result, fmt: str, out=None) -> None:
    """A summary (dict) or a report (DataFrame) as a table, CSV or JSON on stdout, given out by
    crpm.analytics.output: money as decimal text, in the table with thousands separators."""
    from crpm.analytics.output import public_name, public_record, public_records

    out = out or sys.stdout
    money = format_money if fmt == "table" else cents_to_decimal_text
    if isinstance(result, dict):
        data = public_record(result, money)
        rows = [{"figure": key, "value": value} for key, value in data.items()]
        columns = ["figure", "value"]
    else:
        data = rows = public_records(result, money)
        columns = [public_name(column) for column in result.columns]
    if fmt == "json":
        json.dump(data, out, indent=2)
        out.write("\n")
    else:
        _write_rows(rows, columns, fmt, out)


def _write_rows(rows: list[dict], columns: list[str], fmt: str, out) -> None:
    if fmt == "csv":
        writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return
    if not rows:
        out.write("(no rows)\n")
        return
    cells = [["" if row[c] is None else str(row[c]) for c in columns] for row in rows]
    widths = [
        max(len(column), *(len(line[i]) for line in cells)) for i, column in enumerate(columns)
    ]
    numeric = [all(_looks_numeric(line[i]) for line in cells) for i in range(len(columns))]
    header = "  ".join(_pad(c, w, False) for c, w in zip(columns, widths, strict=True))
    out.write(header.rstrip() + "\n")
    for line in cells:
        padded = (_pad(c, w, n) for c, w, n in zip(line, widths, numeric, strict=True))
        out.write("  ".join(padded).rstrip() + "\n")


def _pad(text: str, width: int, right: bool) -> str:
    return text.rjust(width) if right else text.ljust(width)


def _looks_numeric(text: str) -> bool:
    return text.replace(",", "").replace(".", "").lstrip("-").isdigit() or text == ""
