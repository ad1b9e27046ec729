#!/usr/bin/env python3
"""Seeded data for measuring `rehydrate restore` by the shape of a volume.

Writes the same ~1 GiB three ways under BASE: `forty/dNN/fNNNNN.bin` (20,000 files over 40
folders), `one/fNNNNN.bin` (20,000 files in one folder) and `large/bigNN.bin` (the same bytes
concatenated into 21 files). Half the files are text (compressible), half random; every 16th
repeats an earlier one (dedup). Usage: make_shapes.py BASE
"""
import os
import random
import sys

base = sys.argv[1]
rng = random.Random(42)
words = [bytes(rng.choice(b"abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(2, 9)))
         for _ in range(5000)]
N = 20000
mean = (1 << 30) // N
blobs = []
for i in range(N):
    n = rng.randint(mean // 2, mean * 3 // 2)
    if i % 16 == 15:
        b = blobs[rng.randrange(len(blobs))]
    elif i % 2:
        b = rng.randbytes(n)
    else:
        out = bytearray()
        while len(out) < n:
            out += b" ".join(rng.choices(words, k=64)) + b"\n"
        b = bytes(out[:n])
    blobs.append(b)
for shape in ("forty", "one", "large"):
    os.makedirs(f"{base}/{shape}", exist_ok=True)
for i, b in enumerate(blobs):
    d = f"{base}/forty/d{i % 40:02}"
    os.makedirs(d, exist_ok=True)
    with open(f"{d}/f{i:05}.bin", "wb") as f:
        f.write(b)
    with open(f"{base}/one/f{i:05}.bin", "wb") as f:
        f.write(b)
per = N // 21 + 1
for k in range(21):
    with open(f"{base}/large/big{k:02}.bin", "wb") as f:
        for b in blobs[k * per:(k + 1) * per]:
            f.write(b)
