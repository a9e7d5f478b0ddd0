-- Revenue and units per period (date_trunc by $grain: day, week starting Monday, or month, the
-- shop's: see shop_days.sql; $utc: a shop on UTC, whose periods are UTC's) in
-- [$date_from, $date_to): sales land in the period of purchased_at, returns in the period of
-- returned_at, cancelled purchases and their returns are left out, so the periods add up to the
-- summary's revenue. Sales come from the purchases' line totals (units, cents: kept by the
-- engine), one row per purchase rather than per line. Per product: product_trend.sql. Periods
-- without activity are filled with zeros by the engine.
WITH activity AS (
    SELECT purchased_at AS moment, units, cents
    FROM purchases
    WHERE cancelled_at IS NULL AND purchased_at >= $date_from AND purchased_at < $date_to
    UNION ALL
    SELECT returned_at, -quantity, -net_cents
    FROM returns
    WHERE NOT cancelled AND returned_at >= $date_from AND returned_at < $date_to
), shop AS (  -- the moments on the shop's clock (shop_days.sql)
    SELECT moment, units, cents FROM activity WHERE $utc
    UNION ALL
    SELECT a.moment + to_seconds(
               CASE WHEN a.moment < d.change_at THEN d.before_s ELSE d.after_s END),
           a.units, a.cents
    FROM activity a
    JOIN shop_days d ON d.utc_day = CAST(a.moment AS DATE)
    WHERE NOT $utc
)
SELECT CAST(date_trunc($grain, moment) AS DATE) AS period,
       CAST(sum(cents) AS BIGINT) AS revenue_cents,
       CAST(sum(units) AS BIGINT) AS units
FROM shop
GROUP BY 1
ORDER BY period
