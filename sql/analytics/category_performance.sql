-- Per category ('(none)' for products without one) in [$date_from, $date_to): the products with
-- activity in the range, their net units and revenue, from product_totals (product_totals.sql),
-- so the rows add up to the summary's revenue. Ranked by revenue, then category name.
SELECT CASE WHEN p.category = '' THEN '(none)' ELSE p.category END AS category,
       count(*) AS products,
       CAST(sum(t.sold_units - t.returned_units) AS BIGINT) AS units_sold,
       CAST(sum(t.sold_cents - t.returned_cents) AS BIGINT) AS revenue_cents
FROM product_totals t
JOIN products p ON p.id = t.product_id
GROUP BY 1
ORDER BY revenue_cents DESC, category
