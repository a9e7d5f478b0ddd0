-- Units sold and revenue per product in [$date_from, $date_to), for EVERY product (zero when it
-- had no activity), so that the engine can rank best sellers (units desc, revenue desc, id),
-- least sellers among active products (units asc, revenue asc, id; zero sellers included) and sum
-- per category without another pass. From product_totals (product_totals.sql: sales at
-- purchased_at, returns at returned_at, cancelled purchases and their returns left out); the rows
-- add up to the summary's revenue.
SELECT p.id AS product_id, p.sku, p.name, p.category, p.status,
       coalesce(t.sold_units - t.returned_units, 0) AS units_sold,
       coalesce(t.sold_cents - t.returned_cents, 0) AS revenue_cents,
       t.product_id IS NOT NULL AS had_activity
FROM products p
LEFT JOIN product_totals t ON t.product_id = p.id
ORDER BY units_sold DESC, revenue_cents DESC, product_id
