#!/usr/bin/env python3
"""Writes a 3MF whose Metadata/plate_1.json is padded to the wanted size (a plate with very
many objects): the case where reading one file takes hundreds of MB.
Usage: big-plate-json.py SOURCE.3mf OUT.3mf [megabytes=60]"""
import json
import sys
import zipfile

source, out = sys.argv[1], sys.argv[2]
target = int(sys.argv[3]) * 1024 * 1024 if len(sys.argv) > 3 else 60 * 1024 * 1024

with zipfile.ZipFile(source) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
    for info in src.infolist():
        data = src.read(info.filename)
        if info.filename == "Metadata/plate_1.json":
            plate = json.loads(data)
            one = plate["bbox_objects"][0]
            size = len(json.dumps(one)) + 2
            plate["bbox_objects"] = [dict(one, id=n) for n in range(target // size)]
            data = json.dumps(plate).encode()
        dst.writestr(info, data)
