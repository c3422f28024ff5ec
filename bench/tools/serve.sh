# Sourced by the bench scripts: starts the release server on a free loopback port in a
# temporary folder and registers a farm owner. Sets bin, dir, port, base, pid, token, farm;
# the server and folder go when the script exits. Expects root to be the repository.
bin="${PRINTFARM_BIN:-$root/target/release/printfarm}"
[ -x "$bin" ] || { echo "build first: cargo build --release -p printfarm"; exit 1; }
dir="$(mktemp -d)"
port=$((20000 + RANDOM % 20000))
base="http://127.0.0.1:$port"
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$dir"' EXIT
cd "$dir"
RUST_LOG=warn "$bin" serve --listen "127.0.0.1:$port" >"$dir/server.log" 2>&1 &
pid=$!
until curl -sf "$base/health/ready" >/dev/null; do sleep 0.01; done

answer=$(curl -sf -X POST "$base/api/v1/auth/register" -H 'content-type: application/json' \
  -d '{"email":"bench@example.com","password":"correct horse battery","name":"Bench","company_name":"Bench Farm"}')
token=$(echo "$answer" | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["token"])')
farm=$(echo "$answer" | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["tenant"]["id"])')
