#!/usr/bin/env bash
# Runs each fuzz target for RUNS executions (default 10 million), seeded from the fixtures,
# and prints libFuzzer's final figures. cargo-fuzz needs nightly's -Z flags; this machine
# has the stable toolchain only, so RUSTC_BOOTSTRAP=1 lets stable take them.
#
#   bash fuzz/run.sh                       # every target, 10 million runs each
#   RUNS=100000 TARGETS=messages bash fuzz/run.sh
#   MAX_SECONDS=2400 bash fuzz/run.sh      # stop each target after 40 minutes at most
#
# A crash leaves its input in fuzz/artifacts/<target>/; replay it with
#   RUSTC_BOOTSTRAP=1 cargo fuzz run <target> fuzz/artifacts/<target>/<file>
set -euo pipefail
cd "$(dirname "$0")"
runs="${RUNS:-10000000}"
targets="${TARGETS:-threemf_read messages report_merge webhook_verify}"
max_seconds="${MAX_SECONDS:-0}"
export RUSTC_BOOTSTRAP=1
command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz --locked
fixtures=../../shared/fixtures
mkdir -p corpus/threemf_read corpus/messages corpus/report_merge corpus/webhook_verify logs

# 3MF seeds: the fixtures' archives with their XML and configs whole and their G-code cut to
# its header, so each run reads kilobytes, not a megabyte of G-code.
python3 - "$fixtures/3mf" corpus/threemf_read <<'PY'
import sys, zipfile, pathlib
src, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
for f in sorted(src.glob("*.3mf")):
    with zipfile.ZipFile(f) as z, zipfile.ZipFile(out / f.name, "w", zipfile.ZIP_DEFLATED) as small:
        for info in z.infolist():
            data = z.read(info)
            if info.filename.endswith(".png"):
                continue
            if info.filename.endswith(".gcode"):
                data = b"\n".join(data.split(b"\n")[:400])
            small.writestr(info.filename, data[:200_000])
PY
cp seeds/hub_messages/* corpus/messages/
cp seeds/report_merge/* corpus/report_merge/
cp seeds/webhook_verify/* corpus/webhook_verify/

for target in $targets; do
  echo "== $target: $runs runs"
  cargo fuzz run -O "$target" "corpus/$target" -- \
    -runs="$runs" -max_total_time="$max_seconds" -rss_limit_mb=2048 -max_len=262144 -print_final_stats=1 \
    >"logs/$target.log" 2>&1 || { tail -40 "logs/$target.log"; exit 1; }
  grep -E "^(stat::number_of_executed_units|stat::average_exec_per_sec|stat::peak_rss_mb)|^Done" "logs/$target.log" || true
done
