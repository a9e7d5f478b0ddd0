"""Server-side paging and full-text search, shared by every list in the product, and the one
search box that finds a record of any kind (`find_records`)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from crpm.models import is_digits, parse_int
from crpm.permissions import RULES, Actor, ensure

PAGE_BOUND = 2**62
# Past this a search says "1,000+": counting checks each match's row (its status), which costs
# most of a page's budget past it (bench/NOTES.md, "Search count cap").
COUNT_CAP = 1_000


def search_words(text: str) -> list[str]:
    """The words of what a person typed, lower case; no engine's query syntax survives."""
    return re.findall(r"\w+", text.lower())


def fts_query(text: str) -> str:
    """What a person typed as an FTS5 prefix query: every word must start some field's word."""
    return _fts_match(search_words(text))


def _fts_match(words: list[str]) -> str:
    return " AND ".join(f'"{word}"*' for word in words)


@dataclass(frozen=True)
class WordSearch:
    """How a table's rows matching every word typed are read on one engine: `source` is the
    FROM clause (the table as `r`), `condition` its filter with `params`, `order` the key
    its pages follow (the row's id)."""

    source: str
    condition: str
    params: dict
    order: str

    def ids(self) -> str:
        """The condition "id IN (the matching rows)", for a query of the table's own."""
        return f"id IN (SELECT r.id FROM {self.source} WHERE {self.condition})"


def _sqlite_words(table: str, words: list[str]) -> WordSearch:
    # CROSS JOIN keeps the FTS index as the outer loop; with a plain JOIN and a status filter
    # the planner may walk every active row and run the MATCH once per row.
    return WordSearch(
        f"{table}_fts f CROSS JOIN {table} r ON r.id = f.rowid",
        f"{table}_fts MATCH :match",
        {"match": _fts_match(words)},
        "f.rowid",
    )


def _postgresql_words(table: str, words: list[str]) -> WordSearch:
    """One regular expression per word on the trigram-indexed search_text (its migration,
    sql/migrations/postgresql/009_search.sql): the word starts a word, or, all digits, is
    found inside a run of digits (a phone typed without its country code)."""
    params = {
        f"word_{number}": rf"\m\d*{word}" if word.isdigit() else rf"\m{word}"
        for number, word in enumerate(words)
    }
    condition = " AND ".join(f"r.search_text ~* :{name}" for name in params)
    return WordSearch(f"{table} r", condition, params, "r.id")


WORD_SEARCH = {"sqlite": _sqlite_words, "postgresql": _postgresql_words}


def word_search(dialect: str, table: str, text: str) -> WordSearch | None:
    """The rows of `table` (customers or products) whose searched fields hold a word starting
    with each word of `text`; None when nothing was typed."""
    words = search_words(text)
    return WORD_SEARCH[dialect](table, words) if words else None


def capped_count(conn, sql: str, params) -> tuple[int, bool]:
    """count(*) of a query, stopping at COUNT_CAP; returns (count, capped)."""
    capped_sql = f"SELECT count(*) FROM ({sql} LIMIT {COUNT_CAP + 1}) AS matching"
    count = conn.execute(capped_sql, params).fetchone()[0]
    return min(count, COUNT_CAP), count > COUNT_CAP


def clamp_page(limit, offset, max_limit: int = 500) -> tuple[int, int]:
    limit = parse_int(limit or 50, "limit", minimum=-PAGE_BOUND, maximum=PAGE_BOUND)
    offset = parse_int(offset or 0, "offset", minimum=-PAGE_BOUND, maximum=PAGE_BOUND)
    return max(1, min(limit, max_limit)), max(0, offset)


# --- one search box for every kind of record ------------------------------------------------

HIT_KINDS = ("customer", "product", "purchase", "ticket", "quote")
MAX_HITS = 20
# A record by its number: each kind's label for it.
BY_ID_SQL = {
    "customer": "SELECT id, name || ' · ' || email FROM customers"
    " WHERE id = :id AND status <> 'erased'",
    "product": "SELECT id, sku || ' · ' || name FROM products WHERE id = :id",
    "purchase": "SELECT pu.id, c.name || ' · ' || substr(pu.purchased_at, 1, 10)"
    " FROM purchases pu JOIN customers c ON c.id = pu.customer_id WHERE pu.id = :id",
    "ticket": "SELECT t.id, t.subject || ' · ' || c.name FROM tickets t"
    " JOIN customers c ON c.id = t.customer_id WHERE t.id = :id",
    "quote": "SELECT q.id, c.name || ' · ' || substr(q.created_at, 1, 10) FROM quotes q"
    " JOIN customers c ON c.id = q.customer_id WHERE q.id = :id",
}
# An invoice or credit note number finds its purchase.
DOCUMENT_SQL = (
    "SELECT i.purchase_id, i.number FROM invoices i WHERE i.number = :number COLLATE NOCASE"
    " UNION ALL SELECT i.purchase_id, n.number FROM credit_notes n"
    " JOIN invoices i ON i.id = n.invoice_id WHERE n.number = :number COLLATE NOCASE"
)
SKU_SQL = "SELECT id, sku || ' · ' || name FROM products WHERE sku = :text"
WORDS_OF = {  # kind: its table, its label, which rows never show
    "customer": ("customers", "r.name || ' · ' || r.email", "r.status <> 'erased'"),
    "product": ("products", "r.sku || ' · ' || r.name", "TRUE"),
}


@dataclass(frozen=True)
class Hit:
    """One record a search found: its kind (one of HIT_KINDS), number and a line naming it."""

    kind: str
    record_id: int
    label: str


def find_records(store, actor: Actor, text: str, limit: int = MAX_HITS) -> list[Hit]:
    """Records of any kind matching what a person typed, for staff: "#12" or "12" (that number
    of every kind), an invoice or credit note number (its purchase), an exact SKU, or words of
    a customer's name, e-mail, phone or company or a product's SKU, name or category. Tickets
    and quotes only for roles of the service desk. Erased customers are never found."""
    ensure(actor, "read_records")
    kinds = [kind for kind in HIT_KINDS if kind not in ("ticket", "quote")]
    if actor.role in RULES["service_desk_staff"]:
        kinds += ["ticket", "quote"]
    text = " ".join(str(text or "").split())[:200]
    if not text:
        return []
    number = text.removeprefix("#").strip()
    hits: list[Hit] = []
    with store.read() as conn:  # every kind from one snapshot
        if is_digits(number) and len(number) <= 18:
            for kind in kinds:
                hits += _hits(conn, kind, BY_ID_SQL[kind], {"id": int(number)})
        if text.startswith("#"):
            return hits[:limit]
        hits += _hits(conn, "purchase", DOCUMENT_SQL, {"number": text})
        hits += _hits(conn, "product", SKU_SQL, {"text": text})
        for kind in WORDS_OF:
            hits += _word_hits(conn, store.dialect, kind, text, limit)
    return _first_of_each(hits)[:limit]


def _first_of_each(hits: list[Hit]) -> list[Hit]:
    """The hits in order, each record once."""
    seen, unique = set(), []
    for hit in hits:
        if (hit.kind, hit.record_id) not in seen:
            seen.add((hit.kind, hit.record_id))
            unique.append(hit)
    return unique


def _word_hits(conn, dialect: str, kind: str, text: str, limit: int) -> list[Hit]:
    """The first records of a kind whose words start with the words typed (name, e-mail,
    phone, company; SKU, name, category), in id order."""
    table, label, shown = WORDS_OF[kind]
    found = word_search(dialect, table, text)
    if found is None:
        return []
    sql = (
        f"SELECT r.id, {label} FROM {found.source} WHERE {found.condition} AND {shown}"
        f" ORDER BY {found.order} LIMIT :limit"
    )
    return _hits(conn, kind, sql, {**found.params, "limit": limit})


def _hits(conn, kind: str, sql: str, params: dict) -> list[Hit]:
    return [Hit(kind, row[0], row[1]) for row in conn.execute(sql, params)]
