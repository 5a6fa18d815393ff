"""Runs LZ4 jobs through liblz4 (Debian's python3-lz4) for test/lz4/liblz4.test.ts.

Usage: liblz4.py JOBS OUT. JOBS has one JSON object a line:
  {"op": "decompress", "data": BASE64}  -- data is a stored value: 4-byte LE size, then a block;
                                           liblz4 decodes it into exactly that many bytes
  {"op": "compress", "mode": "default"|"fast"|"high_compression", "data": BASE64}
                                        -- liblz4 compresses with the same stored-size layout
OUT gets one JSON object per job, in order: {"ok": true, "data": BASE64} or
{"ok": false, "error": MESSAGE}. The first line of OUT is {"liblz4": VERSION}.
"""

import base64
import json
import sys

import lz4
import lz4.block


def run(job):
    data = base64.b64decode(job["data"])
    if job["op"] == "decompress":
        # Stored-size mode reads the 4-byte LE prefix and calls LZ4_decompress_safe with exactly
        # that capacity; python-lz4 raises if the block does not fill it exactly.
        result = lz4.block.decompress(data)
        declared = int.from_bytes(data[:4], "little")
        if len(result) != declared:
            raise ValueError(f"decoded {len(result)} bytes, header says {declared}")
    elif job["op"] == "compress":
        mode = job["mode"]
        if mode == "high_compression":
            result = lz4.block.compress(data, mode=mode, compression=9, store_size=True)
        elif mode == "fast":
            result = lz4.block.compress(data, mode=mode, acceleration=8, store_size=True)
        else:
            result = lz4.block.compress(data, store_size=True)
    else:
        raise ValueError(f"unknown op {job['op']!r}")
    return base64.b64encode(result).decode("ascii")


def main():
    jobs_path, out_path = sys.argv[1], sys.argv[2]
    with open(jobs_path, encoding="utf-8") as jobs, open(out_path, "w", encoding="utf-8") as out:
        out.write(json.dumps({"liblz4": lz4.library_version_string()}) + "\n")
        for line in jobs:
            if not line.strip():
                continue
            try:
                out.write(json.dumps({"ok": True, "data": run(json.loads(line))}) + "\n")
            except Exception as error:  # noqa: BLE001 - every failure is reported per job
                out.write(json.dumps({"ok": False, "error": f"{type(error).__name__}: {error}"}) + "\n")


if __name__ == "__main__":
    main()
