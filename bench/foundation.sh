#!/usr/bin/env bash
# Measures the foundation's targets on this machine, loopback only:
#   - time from `printfarm serve` on an empty data directory to a ready answer;
#   - idle memory (RSS) after start;
#   - GET /api/v1/tenants for a signed-in user with wrk at 64 connections (latency percentiles).
# Usage: bench/foundation.sh [seconds=20] [connections=64]
# Needs a release build (cargo build --release -p printfarm) and wrk (apt-get install wrk).
set -euo pipefail
secs="${1:-20}"
conns="${2:-64}"
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="${PRINTFARM_BIN:-$root/target/release/printfarm}"
[ -x "$bin" ] || { echo "build first: cargo build --release -p printfarm"; exit 1; }
command -v wrk >/dev/null || { echo "install wrk: apt-get install wrk"; exit 1; }
dir="$(mktemp -d)"
port=$((20000 + RANDOM % 20000))
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$dir"' EXIT

cd "$dir"
start=$(date +%s%N)
RUST_LOG=warn "$bin" serve --listen "127.0.0.1:$port" >/dev/null 2>&1 &
pid=$!
until curl -sf "http://127.0.0.1:$port/health/ready" >/dev/null; do sleep 0.005; done
ready_ms=$(( ($(date +%s%N) - start) / 1000000 ))
sleep 1
idle_kb=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
echo "ready after ${ready_ms} ms on an empty data directory; idle RSS $((idle_kb / 1024)) MiB (${idle_kb} kB)"

token=$(curl -sf -X POST "http://127.0.0.1:$port/api/v1/auth/register" -H 'content-type: application/json' \
  -d '{"email":"bench@example.com","password":"correct horse battery","name":"Bench","company_name":"Bench Farm"}' |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["token"])')
for i in 2 3 4; do
  curl -sf -X POST "http://127.0.0.1:$port/api/v1/tenants" -H "authorization: Bearer $token" \
    -H 'content-type: application/json' -d "{\"company_name\":\"Bench Farm $i\"}" >/dev/null
done

echo "GET /api/v1/tenants (4 farms), ${conns} connections, 2 wrk threads, ${secs} s:"
wrk -t2 -c"$conns" -d"${secs}s" --latency -H "authorization: Bearer $token" "http://127.0.0.1:$port/api/v1/tenants" |
  grep -E "Latency|50%|75%|90%|99%|Requests/sec|Non-2xx|Socket errors"
after_kb=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
echo "RSS after load: $((after_kb / 1024)) MiB"
