"""Server-side paging and full-text search, shared by every list in the product."""

from __future__ import annotations

import re

from crpm.models import parse_int

PAGE_BOUND = 2**62
# Past this a search says "1,000+": counting checks each match's row (its status), which costs
# most of a page's budget past it (bench/NOTES.md, "Search count cap").
COUNT_CAP = 1_000


def fts_query(text: str) -> str:
    """What a person typed as an FTS5 prefix query: every word must start some field's word."""
    words = re.findall(r"\w+", text.lower())
    return " AND ".join(f'"{word}"*' for word in words)


def capped_count(conn, sql: str, params) -> tuple[int, bool]:
    """count(*) of a query, stopping at COUNT_CAP; returns (count, capped)."""
    capped_sql = f"SELECT count(*) FROM ({sql} LIMIT {COUNT_CAP + 1})"
    count = conn.execute(capped_sql, params).fetchone()[0]
    return min(count, COUNT_CAP), count > COUNT_CAP


def clamp_page(limit, offset, max_limit: int = 500) -> tuple[int, int]:
    limit = parse_int(limit or 50, "limit", minimum=-PAGE_BOUND, maximum=PAGE_BOUND)
    offset = parse_int(offset or 0, "offset", minimum=-PAGE_BOUND, maximum=PAGE_BOUND)
    return max(1, min(limit, max_limit)), max(0, offset)
