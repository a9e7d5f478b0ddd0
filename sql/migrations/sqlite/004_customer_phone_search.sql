-- Phone search by the digits people type: '5551234567' finds '+1 (555) 123-4567'.
-- FTS5 matches word prefixes, and a phone's formatting splits it into several words, so the
-- index also gets the phone's digits and every suffix of them down to seven digits (a prefix
-- of a suffix is any run of digits, with or without the country code).

ALTER TABLE customers ADD COLUMN phone_digits TEXT GENERATED ALWAYS AS (
    replace(replace(replace(replace(replace(phone, ' ', ''), '-', ''), '(', ''), ')', ''), '+', '')
) VIRTUAL;

ALTER TABLE customers ADD COLUMN phone_search TEXT GENERATED ALWAYS AS (
    CASE WHEN length(phone_digits) < 7 THEN phone_digits ELSE
        phone_digits
        || CASE WHEN length(phone_digits) > 7 THEN ' ' || substr(phone_digits, 2) ELSE '' END
        || CASE WHEN length(phone_digits) > 8 THEN ' ' || substr(phone_digits, 3) ELSE '' END
        || CASE WHEN length(phone_digits) > 9 THEN ' ' || substr(phone_digits, 4) ELSE '' END
        || CASE WHEN length(phone_digits) > 10 THEN ' ' || substr(phone_digits, 5) ELSE '' END
        || CASE WHEN length(phone_digits) > 11 THEN ' ' || substr(phone_digits, 6) ELSE '' END
        || CASE WHEN length(phone_digits) > 12 THEN ' ' || substr(phone_digits, 7) ELSE '' END
        || CASE WHEN length(phone_digits) > 13 THEN ' ' || substr(phone_digits, 8) ELSE '' END
        || CASE WHEN length(phone_digits) > 14 THEN ' ' || substr(phone_digits, 9) ELSE '' END
    END
) VIRTUAL;

DROP TRIGGER customers_fts_insert;
DROP TRIGGER customers_fts_delete;
DROP TRIGGER customers_fts_update;
DROP TABLE customers_fts;

CREATE VIRTUAL TABLE customers_fts USING fts5 (
    name, email, phone, company, phone_search,
    content = 'customers', content_rowid = 'id', prefix = '2 3'
);
CREATE TRIGGER customers_fts_insert AFTER INSERT ON customers BEGIN
    INSERT INTO customers_fts (rowid, name, email, phone, company, phone_search)
    VALUES (new.id, new.name, new.email, new.phone, new.company, new.phone_search);
END;
CREATE TRIGGER customers_fts_delete AFTER DELETE ON customers BEGIN
    INSERT INTO customers_fts (customers_fts, rowid, name, email, phone, company, phone_search)
    VALUES ('delete', old.id, old.name, old.email, old.phone, old.company, old.phone_search);
END;
CREATE TRIGGER customers_fts_update AFTER UPDATE OF name, email, phone, company ON customers BEGIN
    INSERT INTO customers_fts (customers_fts, rowid, name, email, phone, company, phone_search)
    VALUES ('delete', old.id, old.name, old.email, old.phone, old.company, old.phone_search);
    INSERT INTO customers_fts (rowid, name, email, phone, company, phone_search)
    VALUES (new.id, new.name, new.email, new.phone, new.company, new.phone_search);
END;
INSERT INTO customers_fts (customers_fts) VALUES ('rebuild');
