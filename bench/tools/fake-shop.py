#!/usr/bin/env python3
"""A stand-in for Shopify's Admin GraphQL API for the benchmarks: answers the `shop` query
that connecting a shop asks (and nothing else), on the loopback port given."""
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SHOP = {"data": {"shop": {"name": "Bench shop", "myshopifyDomain": "bench.myshopify.com",
                          "currencyCode": "USD"}},
        "extensions": {"cost": {"requestedQueryCost": 1, "actualQueryCost": 1,
                                "throttleStatus": {"maximumAvailable": 2000.0,
                                                   "currentlyAvailable": 1999.0,
                                                   "restoreRate": 100.0}}}}


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length", 0)))
        body = json.dumps(SHOP).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
