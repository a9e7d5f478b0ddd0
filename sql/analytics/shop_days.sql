-- The shop's days, for the trends (trend.sql, product_trend.sql), kept as the temp table
-- shop_days: per UTC day (utc_day) that the range's activity touches, the offset in seconds of
-- the shop's time zone from UTC at the day's start (before_s), the UTC moment it changes that
-- day (change_at, NULL when it does not: zones change at most once a day) and the offset after
-- (after_s), laid out by the engine (crpm.shoplocale.utc_offsets). A moment's local time is the
-- moment plus its offset, so a day, week or month is the shop's even across a change to summer
-- time. Empty for a shop on UTC, whose days are UTC days.
CREATE OR REPLACE TEMP TABLE shop_days AS
SELECT CAST(unnest($utc_days) AS DATE) AS utc_day,
       CAST(unnest($before_s) AS INTEGER) AS before_s,
       CAST(unnest($change_at) AS TIMESTAMP) AS change_at,
       CAST(unnest($after_s) AS INTEGER) AS after_s
