#!/usr/bin/env bash
# Measures the orders and Shopify targets on this machine, loopback only:
#   - webhook intake: wrk posts signed orders/create deliveries (each new, 3 lines) at 16
#     connections to /webhooks/shopify/{farm}/orders/create: verify, dedupe, store, queue
#     (the worker makes the orders beside it, sharing the one SQLite writer); rate, latency,
#     and how long the worker takes to turn them all into orders;
#   - replays: the same deliveries again (each a duplicate: answered, nothing stored);
#   - an order of 20 lines all short on stock (20 SKUs with a print file, none in stock)
#     becoming its 20 print jobs: POST /api/v1/orders, one at a time, server time
#     (Server-Timing) over 50 orders.
# Usage: bench/orders.sh [seconds=15] [deliveries=60000]
# Needs a release build (cargo build --release -p printfarm), wrk, curl and python3.
set -euo pipefail
secs="${1:-15}"
deliveries="${2:-60000}"
root="$(cd "$(dirname "$0")/.." && pwd)"
shop_port=$((40000 + RANDOM % 10000))
python3 "$root/bench/tools/fake-shop.py" "$shop_port" &
shop_pid=$!
export PRINTFARM_SHOPIFY_API_URL="http://127.0.0.1:$shop_port"
source "$root/bench/tools/serve.sh"
trap 'kill "$pid" "$shop_pid" 2>/dev/null || true; rm -rf "$dir"' EXIT
hdr=(-H "authorization: Bearer $token" -H "x-tenant-id: $farm" -H 'content-type: application/json')
secret="bench-app-secret"
until curl -sf -X POST "http://127.0.0.1:$shop_port/" -d "{}" >/dev/null; do sleep 0.05; done
curl -s "${hdr[@]}" -X POST "$base/api/v1/integrations/shopify/connect" \
  -d "{\"shop_domain\":\"bench.myshopify.com\",\"access_token\":\"shpat_bench\",\"webhook_secret\":\"$secret\"}" > connect.json
grep -q '"connected":true' connect.json || { echo "could not connect the fake shop: $(cat connect.json)"; exit 1; }

echo "seeding 200 SKUs (BENCH-0001..0200) with a print file, 1,000,000 in stock each ..."
file=$(curl -sf -H "authorization: Bearer $token" -H "x-tenant-id: $farm" \
  -F "file=@$root/../shared/fixtures/3mf/sample-a.3mf" "$base/api/v1/files" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["id"])')
product=$(curl -sf "${hdr[@]}" -X POST "$base/api/v1/products" -d "{\"name\":\"Bench part\",\"print_file_id\":\"$file\"}" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["id"])')
for n in $(seq 1 200); do
  printf '{"sku":"BENCH-%04d","color":"Yellow","quantity":1,"stock_level":1000000}' "$n" |
    curl -sf "${hdr[@]}" -X POST "$base/api/v1/products/$product/skus" -d @- >/dev/null
done

python3 "$root/bench/tools/webhooks.py" "$deliveries" "$secret" 3 > deliveries.tsv
cat > webhook.lua <<LUA
-- Each wrk thread sends its own share of the deliveries (thread k: rows k, k + 2, ...), so
-- the first pass sends every delivery once.
local threads = 0
function setup(thread) thread:set("offset", threads); threads = threads + 1 end
local rows = {}
for line in io.lines("$dir/deliveries.tsv") do
  local id, sig, body = line:match("([^\t]+)\t([^\t]+)\t(.*)")
  rows[#rows + 1] = { id = id, sig = sig, body = body }
end
local n = 0
request = function()
  local row = rows[(n * 2 + offset) % #rows + 1]
  n = n + 1
  return wrk.format("POST", "/webhooks/shopify/$farm/orders/create", {
    ["content-type"] = "application/json", ["x-shopify-topic"] = "orders/create",
    ["x-shopify-hmac-sha256"] = row.sig, ["x-shopify-shop-domain"] = "bench.myshopify.com",
    ["x-shopify-webhook-id"] = row.id, ["x-shopify-api-version"] = "2026-10" }, row.body)
end
LUA
queued() { curl -sf "$base/webhooks/health" | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["queued"])'; }
orders() { curl -sf "${hdr[@]}" "$base/api/v1/orders/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["total_orders"])'; }
echo "POST /webhooks/shopify/{farm}/orders/create (new deliveries, 3 lines each), 16 connections, ${secs} s:"
wrk -t2 -c16 -d"${secs}s" --latency -s webhook.lua "$base" | grep -E "50%|90%|99%|Requests/sec|Non-2xx|requests in"
start=$(date +%s.%N)
taken_at_end=$(orders)
until [ "$(queued)" = "0" ]; do sleep 0.2; done
end=$(date +%s.%N)
made=$(orders)
echo "  orders made: $made ($taken_at_end when wrk stopped; the rest in $(python3 -c "print(f'{$end - $start:.1f}')") s more)"
# Replays: only the deliveries already taken, so every one is a duplicate.
head -n "$made" deliveries.tsv > replays.tsv
sed "s|deliveries.tsv|replays.tsv|" webhook.lua > replay.lua
echo "The same deliveries again (all duplicates: answered, nothing stored), 16 connections, ${secs} s:"
wrk -t2 -c16 -d"${secs}s" --latency -s replay.lua "$base" | grep -E "50%|90%|99%|Requests/sec|Non-2xx"
until [ "$(queued)" = "0" ]; do sleep 0.2; done
echo "  orders after the replays: $(orders)"

echo "seeding 20 SKUs short on stock (SHORT-01..20, none in stock, a print file each) ..."
for n in $(seq 1 20); do
  printf '{"sku":"SHORT-%02d","color":"Yellow","quantity":1,"stock_level":0}' "$n" |
    curl -sf "${hdr[@]}" -X POST "$base/api/v1/products/$product/skus" -d @- >/dev/null
done
lines=$(python3 -c 'import json; print(json.dumps([{"sku": f"SHORT-{n:02d}", "quantity": 1, "unit_price": 400} for n in range(1, 21)]))')
echo "POST /api/v1/orders, 20 lines all short (20 jobs queued each), server time over 50 orders:"
for n in $(seq 1 50); do
  curl -s -o answer.json -D - "${hdr[@]}" -X POST "$base/api/v1/orders" \
    -d "{\"customer_name\":\"Bench $n\",\"items\":$lines}" | tr -d '\r' | awk -F'dur=' '/^server-timing/ {print $2}'
  python3 -c 'import json,sys; d=json.load(open("answer.json"))["data"]; assert len(d["jobs_queued"]) == 20, d' 
done | python3 -c '
import sys, statistics
ms = sorted(float(line) for line in sys.stdin if line.strip())
print(f"     median {statistics.median(ms):.1f} ms, p90 {ms[int(len(ms) * 0.9)]:.1f} ms, max {ms[-1]:.1f} ms ({len(ms)} orders, 20 jobs each)")'
echo "server warnings: $(grep -c WARN "$dir/server.log" || true); kinds:"
grep WARN "$dir/server.log" | sed -E 's/^[^ ]+ +WARN //' | cut -c1-60 | sort | uniq -c | sort -rn | head -5
echo "peak RSS: $(awk '/VmHWM/ {print int($2 / 1024)}' "/proc/$pid/status") MiB"
