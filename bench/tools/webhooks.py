#!/usr/bin/env python3
"""Writes `count` signed Shopify orders/create deliveries, one per line:
delivery id, base64 HMAC-SHA256 of the body with `secret`, and the body (tab-separated).
Each order has `lines` lines of the SKUs BENCH-0001.. (as the bench seeds them)."""
import base64
import hashlib
import hmac
import json
import sys

count, secret, lines = int(sys.argv[1]), sys.argv[2].encode(), int(sys.argv[3])
for n in range(count):
    order = {
        "id": 820982911946154508 + n, "admin_graphql_api_id": f"gid://shopify/Order/{820982911946154508 + n}",
        "name": f"#{1000 + n}", "order_number": 1000 + n, "email": f"buyer{n}@example.com",
        "created_at": "2026-12-03T10:00:00-05:00", "updated_at": "2026-12-03T10:00:00-05:00",
        "cancelled_at": None, "currency": "USD", "total_price": "25.00", "subtotal_price": "20.00",
        "total_tax": "0.00", "total_discounts": "0.00",
        "total_shipping_price_set": {"shop_money": {"amount": "5.00", "currency_code": "USD"}},
        "customer": {"first_name": "Bench", "last_name": f"Buyer {n}", "email": f"buyer{n}@example.com"},
        "shipping_address": {"name": f"Bench Buyer {n}", "address1": "1 Loop Road", "city": "Localhost",
                             "province": "Kentucky", "zip": "40003", "country": "United States"},
        "line_items": [{"id": 466157049 + n * 100 + i, "sku": f"BENCH-{(n + i) % 200 + 1:04d}",
                        "title": "Bench part", "name": "Bench part", "quantity": 1, "price": "4.00"}
                       for i in range(lines)],
        "financial_status": "paid", "fulfillment_status": None,
    }
    body = json.dumps(order, separators=(",", ":"))
    sig = base64.b64encode(hmac.new(secret, body.encode(), hashlib.sha256).digest()).decode()
    print(f"bench-{n:08d}\t{sig}\t{body}")
