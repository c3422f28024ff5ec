#!/usr/bin/env bash
# Measures the analytics target on this machine, loopback only: a year of a 500-printer farm
# (1.5 million finished jobs, 100,000 failures, a use of filament per print, 150,000 orders,
# jobs still queued and printing) written by `printfarm loadtest seed-analytics` straight into
# the database, then, one request at a time, the server time (Server-Timing) of every
# analytics route: its first read (which builds the day cache, as after an upgrade) and the
# median and p99 of the reads after it, for the default 30 days and for a whole year.
# Target: every route at most 100 ms p99, on SQLite and on PostgreSQL.
# Usage: bench/analytics.sh [sqlite|postgres|both] [jobs=1500000] [reads=200]
#   PRINTFARM_BENCH_POSTGRES: the server to make a fresh database on (and drop it after),
#   default postgres://postgres@127.0.0.1:5432
# Needs a release build (cargo build --release -p printfarm, or PRINTFARM_BIN), curl, psql
# (for PostgreSQL) and python3.
set -euo pipefail
which_db="${1:-both}"
jobs="${2:-1500000}"
reads="${3:-200}"
root="$(cd "$(dirname "$0")/.." && pwd)"
pg_server="${PRINTFARM_BENCH_POSTGRES:-postgres://postgres@127.0.0.1:5432}"
# The year's other figures scale with its jobs (1.5M jobs: 100,000 failures, 150,000 orders).
failures=$((jobs / 15))
orders=$((jobs / 10))

# One request's server time in ms, from the Server-Timing header (`app;dur=1.23`).
timing() {
  curl -s -o /dev/null -D - "$@" | tr -d '\r' | awk -F'dur=' '/^server-timing/ {print $2}'
}

measure() {
  local what="$1" url="$2"; shift 2
  local first
  first=$(timing "$@" "$base$url")
  for _ in $(seq 1 "$reads"); do timing "$@" "$base$url"; done | python3 -c '
import sys, statistics
what, first, db = sys.argv[1], float(sys.argv[2]), sys.argv[3]
ms = sorted(float(line) for line in sys.stdin if line.strip())
p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
print(f"{db:<10} {what:<44} first {first:8.1f} ms   p50 {statistics.median(ms):6.2f} ms   p99 {p99:6.2f} ms   max {ms[-1]:6.2f} ms ({len(ms)})")' "$what" "$first" "$db"
}

run() (
  db="$1"
  if [ "$db" = postgres ]; then
    name="printfarm_bench_$$"
    psql "$pg_server/postgres" -q -c "CREATE DATABASE $name" >/dev/null
    export PRINTFARM_DATABASE_URL="$pg_server/$name"
  fi
  source "$root/bench/tools/serve.sh"
  if [ "$db" = postgres ]; then
    url="$PRINTFARM_DATABASE_URL"
    # serve.sh's trap stops the server; the database goes after it.
    trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; cd /; rm -rf "$dir"; psql "$pg_server/postgres" -q -c "DROP DATABASE IF EXISTS $name" >/dev/null' EXIT
  else
    url="sqlite://$dir/printfarm-data/printfarm.db"
  fi
  echo "$db: seeding a year of 500 printers ($jobs jobs) ..."
  /usr/bin/time -f "$db: seeding took %e s wall, %M KiB peak" \
    "$bin" loadtest seed-analytics --database-url "$url" --farm "$farm" \
      --jobs "$jobs" --failures "$failures" --orders "$orders" 2>&1 | grep -v '^loadtest:' || true
  api=(-H "authorization: Bearer $token" -H "x-tenant-id: $farm")
  year="start_date=$(date -u -d '365 days ago' +%F)&end_date=$(date -u +%F)"
  for route in overview production printers failures inventory revenue; do
    measure "GET /api/v1/analytics/$route (30 days)" "/api/v1/analytics/$route" "${api[@]}"
  done
  measure "GET /api/v1/analytics/production?days=7" "/api/v1/analytics/production?days=7" "${api[@]}"
  for route in production printers failures inventory revenue; do
    measure "GET /api/v1/analytics/$route (366 days)" "/api/v1/analytics/$route?$year" "${api[@]}"
  done
  measure "GET /analytics (the page, 30 days)" "/analytics" -H "cookie: printfarm.session_token=$token; pf_farm=$farm"
  measure "GET /analytics?days=90" "/analytics?days=90" -H "cookie: printfarm.session_token=$token; pf_farm=$farm"
  echo "$db: server peak RSS $(awk '/VmHWM/ {print int($2 / 1024)}' "/proc/$pid/status") MiB"
)

case "$which_db" in
  sqlite) run sqlite ;;
  postgres) run postgres ;;
  both) run sqlite; run postgres ;;
  *) echo "usage: $0 [sqlite|postgres|both] [jobs] [reads]"; exit 2 ;;
esac
