-- Search on PostgreSQL: what SQLite's FTS5 tables do (../sqlite/001_core.sql, 004), with
-- trigram indexes. Each table gets one stored text of the words people look it up by, and a
-- GIN trigram index on it; crpm/services/search.py asks it one case-insensitive regular
-- expression per word typed: the word starts a word of the text (`\mword`) or, all digits,
-- is found in a run of digits (`\m\d*555`), as the phone's digits are searched on SQLite.
-- The phone's digits are spelled out again (a generated column cannot read phone_digits);
-- phones hold only digits, spaces and + - ( ), so this is the same text.
-- The extension is created where the store's schema is unless it exists already (the
-- database has one); search_text names no operator class's schema, so it must be on the
-- search path.

CREATE EXTENSION IF NOT EXISTS pg_trgm;

ALTER TABLE customers ADD COLUMN search_text text GENERATED ALWAYS AS (
    name || ' ' || (email COLLATE "default") || ' ' || company
    || ' ' || regexp_replace(phone, '[^0-9]', '', 'g')
) STORED;
CREATE INDEX customers_search ON customers USING gin (search_text gin_trgm_ops);

ALTER TABLE products ADD COLUMN search_text text GENERATED ALWAYS AS (
    (sku COLLATE "default") || ' ' || name || ' ' || category
) STORED;
CREATE INDEX products_search ON products USING gin (search_text gin_trgm_ops);
