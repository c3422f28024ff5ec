#!/usr/bin/env bash
# Makes the database an upgrade test starts from: a release's printfarm, run as a farm would
# run it (registered through the API, filled by the Pi import, then orders, a wiki page, an
# automation rule that turns an order into a task, a camera and a webhook with secrets),
# saved with `printfarm backup`. Run it with the release's binary, before the next migration:
#
#   PRINTFARM=path/to/release/printfarm bash crates/printfarm/tests/upgrade/make.sh
#
# It writes schema-<N>.sqlite and schema-<N>.key here (N: the release's newest migration).
# Keep every one made: each is a release a farm may upgrade from.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
shared="$here/../../../../../shared/fixtures"
pf="${PRINTFARM:-$here/../../../../target/debug/printfarm}"
work="$(mktemp -d)"
trap 'kill "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
port="${PORT:-18787}"
base="http://127.0.0.1:$port"
"$pf" serve --data-dir "$work/data" --listen "127.0.0.1:$port" >"$work/server.log" 2>&1 &
server=$!
for _ in $(seq 1 100); do curl -sf "$base/health" >/dev/null && break; sleep 0.1; done

post() { curl -sf -X POST "$base$1" -H 'content-type: application/json' -H "authorization: Bearer $token" -H "x-tenant-id: $farm" -d "$2"; }
registered=$(curl -sf -X POST "$base/api/v1/auth/register" -H 'content-type: application/json' \
  -d '{"email":"owner@example.com","password":"correct horse battery staple","name":"Olga","company_name":"Upgrade Farm"}')
farm=$(echo "$registered" | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["tenant"]["id"])')
subdomain=$(echo "$registered" | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["tenant"]["subdomain"])')
token=$(curl -sf -X POST "$base/api/v1/auth/sign-in/email" -H 'content-type: application/json' \
  -d '{"email":"owner@example.com","password":"correct horse battery staple"}' \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["token"])')

mkdir -p "$work/pi-files"
cp "$shared/3mf/sample-d.3mf" "$work/pi-files/3fab2973-5689-4ef9-9633-ab235b9be4ba.3mf"
"$pf" import-pi --db "$shared/legacy-pi/tenant.db" --files "$work/pi-files" --farm "$subdomain" \
  --data-dir "$work/data" >/dev/null

printer=$(curl -sf "$base/api/v1/printers" -H "authorization: Bearer $token" -H "x-tenant-id: $farm" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"][0]["id"])')
post /api/v1/automation '{"name":"Pack orders","trigger_type":"order_received","action_type":"create_task","action_config":{"task_type":"quality_check","title":"Pack {order_number}"}}' >/dev/null
post /api/v1/orders '{"customer_name":"Ada Lovelace","customer_email":"ada@example.com","items":[{"sku":"NOT-A-SKU","product_name":"Mystery box","quantity":2,"unit_price":300}]}' >/dev/null
post /api/v1/wiki '{"title":"Changing a nozzle","content":"Heat it **first**.","category":"Maintenance"}' >/dev/null
post /api/v1/cameras "{\"name\":\"Rack A\",\"camera_type\":\"mjpeg\",\"printer_id\":\"$printer\",\"snapshot_url\":\"http://cam:s3cret-pass@192.0.2.20/snap.jpg\"}" >/dev/null
post /api/v1/notifications/channels '{"name":"Farm bot","kind":"webhook","url":"http://127.0.0.1:9/t/abc123","events":["order_received"]}' >/dev/null
# The automation's task is made by a queue worker: wait for it.
for _ in $(seq 1 100); do
  n=$(curl -sf "$base/api/v1/worklist" -H "authorization: Bearer $token" -H "x-tenant-id: $farm" \
    | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["data"]))')
  [ "$n" -gt 0 ] && break
  sleep 0.1
done

"$pf" backup --to "$work/backup" --data-dir "$work/data" >/dev/null
schema=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["database"]["schema_version"])' "$work/backup/backup.json")
cp "$work/backup/database.sqlite" "$here/schema-$schema.sqlite"
cp "$work/backup/encryption.key" "$here/schema-$schema.key"
echo "wrote $here/schema-$schema.sqlite"
