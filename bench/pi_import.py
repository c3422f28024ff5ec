#!/usr/bin/env python3
"""A synthetic Pi database for the import benchmark: the fixture's schema and rows, plus
N print files' rows and M print jobs (odd values included), written to OUT.

    python3 bench/pi_import.py OUT [FILES] [JOBS]
    printfarm import-pi --db OUT --farm Bench --owner you@example.com
"""
import random
import shutil
import sqlite3
import sys
import uuid
from pathlib import Path

out = Path(sys.argv[1])
files = int(sys.argv[2]) if len(sys.argv) > 2 else 5_000
jobs = int(sys.argv[3]) if len(sys.argv) > 3 else 100_000
fixture = Path(__file__).resolve().parents[2] / "shared/fixtures/legacy-pi/tenant.db"
shutil.copy(fixture, out)
out.chmod(0o644)
rng = random.Random(7)
db = sqlite3.connect(out)
tenant = db.execute("SELECT tenant_id FROM printers LIMIT 1").fetchone()[0]
printers = [r[0] for r in db.execute("SELECT id FROM printers")]
skus = [r[0] for r in db.execute("SELECT id FROM product_skus")]
file_ids = []
for i in range(files):
    fid = str(uuid.UUID(int=rng.getrandbits(128)))
    file_ids.append(fid)
    db.execute(
        "INSERT INTO print_files (id, tenant_id, name, file_size_bytes, number_of_units, local_file_path,"
        " created_at, updated_at, print_time_seconds, filament_weight_grams, filament_type, object_count)"
        " VALUES (?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?, 1)",
        (fid, tenant, f"part-{i}.gcode.3mf", rng.randint(10_000, 5_000_000),
         f"/home/pi/PrintFarmSoftware/files/print_files/{fid}.3mf",
         "2025-09-10 17:07:53.055203", "2025-10-30T00:17:49.717650",
         rng.randint(300, 20_000), round(rng.uniform(1, 200), 2),
         rng.choice(["PLA", "PETG", "#1b4c0e", ""])),
    )
statuses = ["completed"] * 8 + ["failed", "cancelled", "queued"]
rows = []
for i in range(jobs):
    day = 1 + i % 28
    month = 1 + (i // 28) % 12
    status = rng.choice(statuses)
    rows.append((
        str(uuid.UUID(int=rng.getrandbits(128))), tenant, rng.choice(printers), rng.choice(file_ids),
        rng.choice(skus), f"part-{i}.gcode.3mf", status, "Sunny D|#ff9100",
        rng.choice(["PLA", "PLA", "#ff9100"]), "PLA", 1, str(rng.randint(1, 300)),
        rng.randint(5, 600), 100 if status == "completed" else 0, 0,
        f"2025-{month:02d}-{day:02d} 10:00:00.123456",
        f"2025-{month:02d}-{day:02d} 10:05:00.123456+00:00",
        f"2025-{month:02d}-{day:02d} 11:00:00.123456+00:00" if status != "queued" else None,
        f"2025-{month:02d}-{day:02d} 10:00:00.123456", f"2025-{month:02d}-{day:02d}T11:00:00.5",
    ))
db.executemany(
    "INSERT INTO print_jobs (id, tenant_id, printer_id, print_file_id, product_sku_id, file_name, status,"
    " color, filament_type, material_type, number_of_units, filament_needed_grams,"
    " estimated_print_time_minutes, progress_percentage, priority, time_submitted, time_started,"
    " time_completed, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
    rows,
)
db.commit()
print(f"{out}: {files} extra print files, {jobs} extra jobs")
