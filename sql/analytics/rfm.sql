-- RFM over customers with at least one purchase (not cancelled) in [$date_from, $date_to), from
-- customer_totals (customer_totals.sql):
--   recency_days   whole days from the last such purchase to $as_of (the range's end, or now)
--   frequency      those purchases (orders)
--   monetary_cents the customer's revenue in the range (same rules as top customers)
-- The engine scores them (crpm/analytics.py, rfm_scores): 1-5 per measure,
-- 1 + floor(5 x (rank - 1) / n) with rank counted from the worst value (oldest, fewest, least),
-- so ties share a score and 5 is the best fifth; then segments, first match wins:
-- champions (r>=4, f>=4, m>=4), loyal (r>=3, f>=3), new (r>=4: recent, few orders),
-- promising (r=3), at risk (f>=3: used to buy, not lately), lost (the rest). Rows come unordered:
-- the engine ranks them (monetary desc, frequency desc, customer id) after scoring.
SELECT customer_id, last_purchase,
       CAST(date_diff('second', last_purchase, $as_of) // 86400 AS BIGINT) AS recency_days,
       orders AS frequency,
       revenue_cents AS monetary_cents
FROM customer_totals
WHERE orders > 0
