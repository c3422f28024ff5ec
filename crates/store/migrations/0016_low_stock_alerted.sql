-- Whether the farm was told a stock is low: one alert when it falls to its threshold, the
-- next only after it was restocked above it (domain::stock::low_stock_alert).
ALTER TABLE product_skus ADD COLUMN low_stock_alerted BIGINT NOT NULL DEFAULT 0;
ALTER TABLE finished_goods ADD COLUMN low_stock_alerted BIGINT NOT NULL DEFAULT 0;
