#!/usr/bin/env python3
"""Writes a large 3MF for benchmarks: a copy of a sliced fixture whose plate G-code is padded
with generated moves until the archive reaches the wanted size. The G-code header (what the
server reads) is the fixture's own, so the metadata stays true; only the body grows.
Usage: big-3mf.py SOURCE.3mf OUT.3mf [megabytes=50]"""
import random
import sys
import zipfile

source, out = sys.argv[1], sys.argv[2]
target = int(sys.argv[3]) * 1024 * 1024 if len(sys.argv) > 3 else 50 * 1024 * 1024
rng = random.Random(7)  # the same file every time

with zipfile.ZipFile(source) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
    for info in src.infolist():
        data = src.read(info.filename)
        if info.filename.endswith(".gcode"):
            # Random coordinates compress about 2.5:1, like real G-code bodies.
            with dst.open(info.filename, "w", force_zip64=True) as gcode:
                gcode.write(data)
                written = 0
                while written < target * 2.5:
                    lines = "".join(
                        f"G1 X{rng.uniform(0, 256):.3f} Y{rng.uniform(0, 256):.3f} E{rng.uniform(0, 1):.5f}\n"
                        for _ in range(10000)
                    ).encode()
                    gcode.write(lines)
                    written += len(lines)
        else:
            dst.writestr(info, data)
