-- The analytics engine keeps a columnar copy of the store in DuckDB, brought up to date on every
-- report by reading rows past its id high-water marks. Inserts need nothing more (ids only grow),
-- but a few tables are also edited in place: a purchase gets cancelled_at, a customer or product
-- is edited, deactivated or erased. These triggers list each such row here, append-only, so the
-- engine re-reads exactly those rows. Stock is not logged: it moves only through stock_movements,
-- which the engine reads anyway, so a sale adds no extra write here.

CREATE TABLE analytics_changes (
    id         INTEGER PRIMARY KEY,
    entity     TEXT NOT NULL CHECK (entity IN ('customer', 'product', 'purchase')),
    entity_id  INTEGER NOT NULL
);
