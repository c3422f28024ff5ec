#!/usr/bin/env bash
# Measures the worklist target on this machine, loopback only: a farm with 10,000 open
# tasks (made through POST /api/v1/worklist, a third high priority), then, one request at
# a time, the server time (Server-Timing) of:
#   - the dashboard's /worklist page (the floor's order: high priority first, then oldest)
#     and its fragment with a kind filter;
#   - GET /api/v1/worklist?status=open (newest first) and /api/v1/worklist/stats.
# Usage: bench/worklist.sh [tasks=10000]
# Needs a release build (cargo build --release -p printfarm), curl and python3.
set -euo pipefail
tasks="${1:-10000}"
root="$(cd "$(dirname "$0")/.." && pwd)"
source "$root/bench/tools/serve.sh"
echo "seeding $tasks open tasks ..."
python3 - "$port" "$token" "$farm" "$tasks" <<'PY'
import http.client, json, sys
port, token, farm, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
kinds = ["collection", "filament_change", "assembly", "maintenance", "quality_check"]
conn = http.client.HTTPConnection("127.0.0.1", int(port))
head = {"authorization": f"Bearer {token}", "x-tenant-id": farm, "content-type": "application/json"}
for i in range(n):
    body = {"task_type": kinds[i % 5], "title": f"Task {i} on P1S-{i % 500:03d}",
            "subtitle": "4 unit(s), Yellow PLA", "priority": ["high", "medium", "low"][i % 3]}
    conn.request("POST", "/api/v1/worklist", json.dumps(body), head)
    answer = conn.getresponse()
    answer.read()
    if answer.status != 201:
        sys.exit(f"task {i}: {answer.status}")
PY
measure() {
  local what="$1" url="$2"; shift 2
  for _ in $(seq 1 50); do
    curl -s -o /dev/null -D - "$@" "$base$url" | tr -d '\r' | awk -F'dur=' '/^server-timing/ {print $2}'
  done | python3 -c '
import sys, statistics
what = sys.argv[1]
ms = sorted(float(line) for line in sys.stdin if line.strip())
print(f"{what:<46} median {statistics.median(ms):6.2f} ms, p90 {ms[int(len(ms) * 0.9)]:6.2f} ms, max {ms[-1]:6.2f} ms ({len(ms)})")' "$what"
}
cookie=(-H "cookie: printfarm.session_token=$token; pf_farm=$farm")
api=(-H "authorization: Bearer $token" -H "x-tenant-id: $farm")
measure "GET /worklist (page 1 of $tasks open)" "/worklist" "${cookie[@]}"
measure "GET /worklist/list?type=collection" "/worklist/list?type=collection" "${cookie[@]}"
measure "GET /worklist?page=100" "/worklist?page=100" "${cookie[@]}"
measure "GET /api/v1/worklist?status=open" "/api/v1/worklist?status=open" "${api[@]}"
measure "GET /api/v1/worklist/stats" "/api/v1/worklist/stats" "${api[@]}"
echo "peak RSS: $(awk '/VmHWM/ {print int($2 / 1024)}' "/proc/$pid/status") MiB"
