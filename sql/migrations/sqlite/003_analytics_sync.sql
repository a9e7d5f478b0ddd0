-- Each row edited in place is listed by a trigger.

CREATE TRIGGER analytics_purchases_update AFTER UPDATE ON purchases BEGIN
    INSERT INTO analytics_changes (entity, entity_id) VALUES ('purchase', new.id);
END;
CREATE TRIGGER analytics_purchases_delete AFTER DELETE ON purchases BEGIN
    INSERT INTO analytics_changes (entity, entity_id) VALUES ('purchase', old.id);
END;
CREATE TRIGGER analytics_customers_update AFTER UPDATE ON customers BEGIN
    INSERT INTO analytics_changes (entity, entity_id) VALUES ('customer', new.id);
END;
CREATE TRIGGER analytics_customers_delete AFTER DELETE ON customers BEGIN
    INSERT INTO analytics_changes (entity, entity_id) VALUES ('customer', old.id);
END;
CREATE TRIGGER analytics_products_update
AFTER UPDATE OF sku, name, category, description, price_cents, reorder_level, status, created_at
ON products BEGIN
    INSERT INTO analytics_changes (entity, entity_id) VALUES ('product', new.id);
END;
CREATE TRIGGER analytics_products_delete AFTER DELETE ON products BEGIN
    INSERT INTO analytics_changes (entity, entity_id) VALUES ('product', old.id);
END;
