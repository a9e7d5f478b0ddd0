-- Phone search by the digits people type, as ../004_customer_phone_search.sql: the phone's
-- digits as a generated column (STORED: PostgreSQL 15 has no virtual ones). SQLite's
-- phone_search column only feeds its FTS5 index and is not here; search on PostgreSQL needs an
-- index of its own (a trigram index on phone_digits would serve the same queries).

ALTER TABLE customers ADD COLUMN phone_digits text GENERATED ALWAYS AS (
    replace(replace(replace(replace(replace(phone, ' ', ''), '-', ''), '(', ''), ')', ''), '+', '')
) STORED;
