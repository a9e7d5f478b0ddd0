-- Full-text search over the fields people look customers and products up by.
CREATE VIRTUAL TABLE customers_fts USING fts5 (
    name, email, phone, company,
    content = 'customers', content_rowid = 'id', prefix = '2 3'
);
CREATE TRIGGER customers_fts_insert AFTER INSERT ON customers BEGIN
    INSERT INTO customers_fts (rowid, name, email, phone, company)
    VALUES (new.id, new.name, new.email, new.phone, new.company);
END;
CREATE TRIGGER customers_fts_delete AFTER DELETE ON customers BEGIN
    INSERT INTO customers_fts (customers_fts, rowid, name, email, phone, company)
    VALUES ('delete', old.id, old.name, old.email, old.phone, old.company);
END;
CREATE TRIGGER customers_fts_update AFTER UPDATE OF name, email, phone, company ON customers BEGIN
    INSERT INTO customers_fts (customers_fts, rowid, name, email, phone, company)
    VALUES ('delete', old.id, old.name, old.email, old.phone, old.company);
    INSERT INTO customers_fts (rowid, name, email, phone, company)
    VALUES (new.id, new.name, new.email, new.phone, new.company);
END;

CREATE VIRTUAL TABLE products_fts USING fts5 (
    sku, name, category,
    content = 'products', content_rowid = 'id', prefix = '2 3'
);
CREATE TRIGGER products_fts_insert AFTER INSERT ON products BEGIN
    INSERT INTO products_fts (rowid, sku, name, category)
    VALUES (new.id, new.sku, new.name, new.category);
END;
CREATE TRIGGER products_fts_delete AFTER DELETE ON products BEGIN
    INSERT INTO products_fts (products_fts, rowid, sku, name, category)
    VALUES ('delete', old.id, old.sku, old.name, old.category);
END;
CREATE TRIGGER products_fts_update AFTER UPDATE OF sku, name, category ON products BEGIN
    INSERT INTO products_fts (products_fts, rowid, sku, name, category)
    VALUES ('delete', old.id, old.sku, old.name, old.category);
    INSERT INTO products_fts (rowid, sku, name, category)
    VALUES (new.id, new.sku, new.name, new.category);
END;
