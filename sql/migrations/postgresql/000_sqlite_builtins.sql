-- What SQLite has built in and the shared migrations use, made on PostgreSQL before them (a
-- store made before this file existed has them already: hence IF NOT EXISTS, OR REPLACE).

-- SQLite's COLLATE NOCASE: a column compares, and its unique index holds, whatever the case, so
-- `WHERE email = ?` finds 'Ann@Example.com' from 'ann@example.com' on both engines.
CREATE COLLATION IF NOT EXISTS nocase
    (provider = icu, locale = 'und-u-ks-level2', deterministic = false);

-- SQLite's instr(), which services use to find text inside text (byte-wise, as there).
CREATE OR REPLACE FUNCTION instr(haystack text, needle text) RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN strpos(haystack COLLATE "C", needle COLLATE "C");
