#!/usr/bin/env bash
# Measures print-core targets on this machine, loopback only:
#   - GET /api/v1/printers with 50 printers, wrk at 64 connections;
#   - POST /api/v1/jobs (queue a plate of sample-a.3mf) with wrk at 16 connections;
#   - POST /api/v1/files/parse-metadata with sample-a.3mf:
#     request time (body sent to answer read, the upload included), median and p90 over N calls.
# Usage: bench/print-core.sh [seconds=15] [calls=200]
# Needs a release build (cargo build --release -p printfarm), wrk and curl.
set -euo pipefail
secs="${1:-15}"
calls="${2:-200}"
root="$(cd "$(dirname "$0")/.." && pwd)"
fixture="$root/../shared/fixtures/3mf/sample-a.3mf"
source "$root/bench/tools/serve.sh"
for i in $(seq 1 50); do
  curl -sf -X POST "$base/api/v1/printers" -H "authorization: Bearer $token" -H "x-tenant-id: $farm" \
    -H 'content-type: application/json' \
    -d "{\"name\":\"P1S-$i\",\"model\":\"P1S\",\"serial_number\":\"01P00A1234567$(printf %02d "$i")\",\"access_code\":\"12345678\"}" >/dev/null
done

echo "GET /api/v1/printers (50 printers), 64 connections, ${secs} s:"
wrk -t2 -c64 -d"${secs}s" --latency -H "authorization: Bearer $token" -H "x-tenant-id: $farm" "$base/api/v1/printers" |
  grep -E "50%|90%|99%|Requests/sec|Non-2xx"

# Server time comes from the answer's Server-Timing header (request head to answer head, the
# upload's body read included); peak RSS (VmHWM) is read before and after each file size.
parse_metadata() {
  local file="$1" n="$2"
  for _ in $(seq 1 "$n"); do
    curl -s -o /dev/null -D - -H 'Expect:' -X POST "$base/api/v1/files/parse-metadata" \
      -H "authorization: Bearer $token" -H "x-tenant-id: $farm" -F "file=@$file" |
      sed -n 's/^server-timing: app;dur=\([0-9.]*\).*/\1/ip'
  done | python3 -c '
import sys
t = sorted(float(l) for l in sys.stdin if l.strip())
print(f"  server time median {t[len(t)//2]:.2f} ms, p90 {t[int(len(t)*0.9)]:.2f} ms over {len(t)} calls")'
}
hwm() { awk '/VmHWM/ {print int($2 / 1024)}' "/proc/$pid/status"; }
echo "POST /api/v1/files/parse-metadata (sample-a.3mf, $(stat -c %s "$fixture") bytes), ${calls} calls:"
parse_metadata "$fixture" "$calls"
echo "  peak RSS after: $(hwm) MiB"
big="$dir/big.3mf"
python3 "$root/bench/tools/big-3mf.py" "$fixture" "$big" 50
echo "POST /api/v1/files/parse-metadata (big.3mf, $(stat -c %s "$big") bytes), 20 calls:"
parse_metadata "$big" 20
echo "  peak RSS after: $(hwm) MiB"
file=$(curl -sf -X POST "$base/api/v1/files" -H "authorization: Bearer $token" -H "x-tenant-id: $farm" -F "file=@$fixture" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["id"])')
cat > "$dir/job.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"print_file_id":"$file","priority":"normal"}'
wrk.headers["content-type"] = "application/json"
LUA
echo "POST /api/v1/jobs, 16 connections, ${secs} s:"
wrk -t2 -c16 -d"${secs}s" --latency -s "$dir/job.lua" -H "authorization: Bearer $token" -H "x-tenant-id: $farm" "$base/api/v1/jobs" |
  grep -E "50%|90%|99%|Requests/sec|Non-2xx"
echo "RSS after: $(( $(awk '/VmRSS/ {print $2}' "/proc/$pid/status") / 1024 )) MiB"
