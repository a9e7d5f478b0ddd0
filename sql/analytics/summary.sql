-- Sales summary over purchases in [$date_from, $date_to), from the range's totals
-- (product_totals.sql and customer_totals.sql, built first by the engine) and the store copy.
-- Tables are the engine's DuckDB copy (see crpm/analytics.py): sales = purchase lines with their
-- purchase's customer, time and cancelled flag; returns = purchase_returns likewise.
--   gross_sales  the lines' net (after discounts, before tax) over purchases not cancelled, at
--                purchased_at (with no tax and no discount: quantity x unit price)
--   returns      the returned units' share of their line's net, at returned_at; returns on a purchase
--                that was cancelled later are left out too (its sale is already out of gross)
--   revenue      gross_sales - returns; units_sold likewise in units
--   orders       purchases not cancelled; active_customers: distinct buyers of those orders
--   new_customers  customers whose first purchase ever (not cancelled) falls in the range
--                  (first_purchases: kept by the engine, one row per customer who bought)
--   products_sold  distinct products on lines of those orders
--   stock_value  current stock x current price over every product (range-independent);
--   low_stock_count  active products with stock <= reorder level (range-independent)
WITH sold AS (
    SELECT CAST(coalesce(sum(sold_cents), 0) AS BIGINT) AS gross_sales_cents,
           CAST(coalesce(sum(returned_cents), 0) AS BIGINT) AS returns_cents,
           CAST(coalesce(sum(sold_units), 0) - coalesce(sum(returned_units), 0) AS BIGINT)
               AS units_sold,
           count(*) FILTER (WHERE sold_lines > 0) AS products_sold
    FROM product_totals
), ordered AS (
    SELECT CAST(coalesce(sum(orders), 0) AS BIGINT) AS orders,
           count(*) FILTER (WHERE orders > 0) AS active_customers
    FROM customer_totals
), newcomers AS (
    SELECT count(*) AS new_customers
    FROM first_purchases
    WHERE first_at >= $date_from AND first_at < $date_to
), shelf AS (
    SELECT CAST(coalesce(sum(stock * price_cents), 0) AS BIGINT) AS stock_value_cents,
           count(*) FILTER (WHERE status = 'active' AND stock <= reorder_level) AS low_stock_count
    FROM products
)
SELECT sold.gross_sales_cents - sold.returns_cents AS revenue_cents,
       sold.gross_sales_cents,
       sold.returns_cents,
       sold.units_sold,
       ordered.orders,
       ordered.active_customers,
       newcomers.new_customers,
       sold.products_sold,
       shelf.stock_value_cents,
       shelf.low_stock_count
FROM sold, ordered, newcomers, shelf
