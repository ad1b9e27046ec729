#!/usr/bin/env python3
"""Cross-check of the `xpress` crate against an independent MS-XCA plain LZ77 decoder.

Decoder used: `dissect.util.compression.lzxpress.decompress` (fox-it dissect.util,
`pip install dissect.util`), which shares no code with ours.

(a) Decodes the 8 Xpress-compressed chunks of the real Windows Server 2019 container
    `realdata/dedup/ws2019-windedup-extracter/Data/00000001.00000001.ccc` (payload at
    record_offset + 0x58, stored_size bytes) and compares the logical size and
    SHA-512(output)[:32] with `expected_chunks.csv`.
(b) Decodes the committed encoder-output streams `crates/xpress/tests/golden/*.xpress` and
    compares length and SHA-256 with the inputs recorded in `MANIFEST.txt` (the inputs are
    regenerated from seeds on the Rust side by the `golden` test).

Usage (from the repository root):
    python3 scripts/xpress_crosscheck.py [REALDATA_DIR]
REALDATA_DIR defaults to the committed fixtures/ folder. Exit status 0 when
every check passes. The output of the last run is kept in
crates/xpress/tests/golden/CROSSCHECK.txt.
"""

import csv
import hashlib
import os
import sys
from pathlib import Path

from dissect.util.compression import lzxpress

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "crates" / "xpress" / "tests" / "golden"
PAYLOAD_OFFSET = 0x58


def main() -> int:
    realdata = Path(
        sys.argv[1]
        if len(sys.argv) > 1
        else ROOT / "fixtures"
    )
    failures = 0
    import dissect.util

    version = getattr(dissect.util, "__version__", None)
    if version is None:
        try:
            from importlib.metadata import version as v

            version = v("dissect.util")
        except Exception:  # noqa: BLE001
            version = "unknown"
    print(f"decoder: dissect.util {version} lzxpress.decompress")

    # (a) real Windows chunks
    sample = realdata / "dedup" / "ws2019-windedup-extracter"
    container = (sample / "Data" / "00000001.00000001.ccc").read_bytes()
    real = 0
    with open(sample / "expected_chunks.csv", newline="") as f:
        for row in csv.DictReader(f):
            if row["compression"] != "2":
                continue
            off = int(row["record_offset"], 16)
            stored = int(row["stored_size"])
            payload = container[off + PAYLOAD_OFFSET : off + PAYLOAD_OFFSET + stored]
            out = lzxpress.decompress(payload)
            ok = (
                len(out) == int(row["logical_size"])
                and hashlib.sha512(out).hexdigest()[:64] == row["sha512_prefix32"]
            )
            failures += not ok
            real += 1
            print(
                f"real chunk {row['local_id']:>2} @ {row['record_offset']:>8}: "
                f"{stored:6} -> {len(out):6} bytes  {'OK' if ok else 'MISMATCH'}"
            )
    if real != 8:
        print(f"expected 8 compressed chunks, found {real}")
        failures += 1

    # (b) committed golden streams from our encoder
    for line in (GOLDEN / "MANIFEST.txt").read_text().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        name, _gen, _seed, length, input_sha, _stream_sha = line.split()
        stream = (GOLDEN / f"{name}.xpress").read_bytes()
        out = lzxpress.decompress(stream)
        ok = len(out) == int(length) and hashlib.sha256(out).hexdigest() == input_sha
        failures += not ok
        print(
            f"golden {name:7}: {len(stream):6} -> {len(out):6} bytes  {'OK' if ok else 'MISMATCH'}"
        )

    print("RESULT:", "all match" if failures == 0 else f"{failures} mismatch(es)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
