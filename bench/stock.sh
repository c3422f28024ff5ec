#!/usr/bin/env bash
# Measures the catalogue and stock targets on this machine, loopback only:
#   - seeds a farm with 5,000 SKUs (one product per 10 SKUs), each with its finished good;
#   - POST /api/v1/inventory/{id}/adjust (+1 / -1 with a reason, spread over every good) with
#     wrk at 16 connections until 200,000 adjustments are recorded (rate and latency reported);
#   - GET /api/v1/skus?page=N&limit=50 and GET /api/v1/inventory?page=N&limit=50 at 16
#     connections (pages spread over the catalogue), latency percentiles;
#   - the dashboard's /stock page, 50 pages one at a time: server time (Server-Timing).
# Usage: bench/stock.sh [seconds=15] [adjustments=200000]
# Needs a release build (cargo build --release -p printfarm), wrk, curl and python3.
set -euo pipefail
secs="${1:-15}"
adjustments="${2:-200000}"
root="$(cd "$(dirname "$0")/.." && pwd)"
source "$root/bench/tools/serve.sh"

echo "seeding 5,000 SKUs with their finished goods ..."
python3 "$root/bench/tools/seed-stock.py" "$port" "$token" "$farm" 5000 > goods.txt
echo "  $(wc -l < goods.txt) finished goods"

cat > adjust.lua <<LUA
local ids = {}
for line in io.lines("$dir/goods.txt") do ids[#ids + 1] = line end
local n = 0
request = function()
  n = n + 1
  local id = ids[(n * 7919) % #ids + 1]
  -- Up then down, so stock never runs out and every call is a real adjustment.
  local change = (math.floor(n / #ids) % 2 == 0) and 1 or -1
  return wrk.format("POST", "/api/v1/inventory/" .. id .. "/adjust", nil,
    '{"adjustment":' .. change .. ',"reason":"bench"}')
end
LUA
hdr=(-H "authorization: Bearer $token" -H "x-tenant-id: $farm" -H 'content-type: application/json')
echo "POST /api/v1/inventory/{id}/adjust, 16 connections, ${secs} s (measured):"
wrk -t2 -c16 -d"${secs}s" --latency -s adjust.lua "${hdr[@]}" "$base" |
  grep -E "50%|90%|99%|Requests/sec|Non-2xx"
done_so_far() {
  python3 - "$dir" <<'PY'
import sqlite3, sys, glob
db = glob.glob(sys.argv[1] + "/**/*.db", recursive=True)[0]
print(sqlite3.connect(db).execute("SELECT COUNT(*) FROM audit_logs WHERE action = 'inventory.adjusted'").fetchone()[0])
PY
}
have=$(done_so_far)
if [ "$have" -lt "$adjustments" ]; then
  echo "  topping up to $adjustments adjustments (have $have) ..."
  left=$((adjustments - have))
  # At the rate just measured, with a margin; wrk stops at the time, not the count.
  rate=$(( have / secs + 1 ))
  wrk -t2 -c16 -d"$(( left / rate + 5 ))s" -s adjust.lua "${hdr[@]}" "$base" >/dev/null
  echo "  $(done_so_far) adjustments recorded"
fi

for list in skus inventory; do
  cat > "$list.lua" <<LUA
local n = 0
request = function()
  n = n + 1
  return wrk.format("GET", "/api/v1/$list?limit=50&page=" .. (n % 100 + 1))
end
LUA
  echo "GET /api/v1/$list (pages of 50 of 5,000), 16 connections, ${secs} s:"
  wrk -t2 -c16 -d"${secs}s" --latency -s "$list.lua" "${hdr[@]}" "$base" |
    grep -E "50%|90%|99%|Requests/sec|Non-2xx"
done
# The dashboard's stock page (100 SKUs a page of 5,000), one at a time: its server time, from
# the Server-Timing header every answer carries.
echo "GET /stock (pages of 100 of 5,000), server time over 50 pages:"
for page in $(seq 1 50); do
  curl -s -o /dev/null -D - -H "cookie: printfarm.session_token=$token; pf_farm=$farm" \
    "$base/stock?page=$page" | tr -d '\r' | awk -F'dur=' '/^server-timing/ {print $2}'
done | python3 -c '
import sys, statistics
ms = sorted(float(line) for line in sys.stdin if line.strip())
print(f"     median {statistics.median(ms):.2f} ms, p90 {ms[int(len(ms) * 0.9)]:.2f} ms, max {ms[-1]:.2f} ms ({len(ms)} pages)")'
echo "peak RSS: $(awk '/VmHWM/ {print int($2 / 1024)}' "/proc/$pid/status") MiB"
