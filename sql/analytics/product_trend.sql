-- Revenue and units per period and product (date_trunc by $grain: day, week starting Monday, or
-- month, the shop's: see shop_days.sql and trend.sql) in [$date_from, $date_to), for the
-- products listed in $product_ids: sales land in the period of purchased_at, returns in the
-- period of returned_at, cancelled purchases and their returns are left out. Periods without activity are filled with zeros by the engine.
WITH activity AS (
    SELECT purchased_at AS moment, product_id, quantity AS units, net_cents AS cents
    FROM sales
    WHERE NOT cancelled AND purchased_at >= $date_from AND purchased_at < $date_to
      AND list_contains($product_ids, product_id)
    UNION ALL
    SELECT returned_at, product_id, -quantity, -net_cents
    FROM returns
    WHERE NOT cancelled AND returned_at >= $date_from AND returned_at < $date_to
      AND list_contains($product_ids, product_id)
), shop AS (  -- the moments on the shop's clock (shop_days.sql)
    SELECT moment, product_id, units, cents FROM activity WHERE $utc
    UNION ALL
    SELECT a.moment + to_seconds(
               CASE WHEN a.moment < d.change_at THEN d.before_s ELSE d.after_s END),
           a.product_id, a.units, a.cents
    FROM activity a
    JOIN shop_days d ON d.utc_day = CAST(a.moment AS DATE)
    WHERE NOT $utc
)
SELECT CAST(date_trunc($grain, moment) AS DATE) AS period,
       product_id,
       CAST(sum(cents) AS BIGINT) AS revenue_cents,
       CAST(sum(units) AS BIGINT) AS units
FROM shop
GROUP BY ALL
ORDER BY period, product_id
