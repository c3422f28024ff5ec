#!/usr/bin/env python3
"""Seeds a farm with N SKUs (10 per product) and their finished goods through the API, on one
kept-alive loopback connection; prints each finished good's id, one per line.

Usage: seed-stock.py PORT TOKEN FARM N
"""
import http.client
import json
import sys

port, token, farm, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
conn = http.client.HTTPConnection("127.0.0.1", int(port))
headers = {"authorization": f"Bearer {token}", "x-tenant-id": farm, "content-type": "application/json"}


def post(path, body):
    conn.request("POST", path, json.dumps(body), headers)
    answer = conn.getresponse()
    data = json.loads(answer.read())
    if answer.status >= 300:
        sys.exit(f"POST {path}: {answer.status} {data}")
    return data["data"]


colours = ["Red", "Blue", "Green", "Yellow", "Black", "White", "Orange", "Purple", "Grey", "Pink"]
for p in range(count // 10):
    product = post("/api/v1/products", {"name": f"Product {p:04}"})
    for c, colour in enumerate(colours):
        sku = post(f"/api/v1/products/{product['id']}/skus",
                   {"sku": f"P{p:04}-{colour.upper()}", "color": colour, "quantity": 2,
                    "stock_level": 100, "low_stock_threshold": 5, "price": 999})
        good = post("/api/v1/inventory", {"product_sku_id": sku["id"]})
        print(good["id"])
