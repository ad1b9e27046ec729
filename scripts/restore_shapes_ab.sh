#!/bin/bash
# `rehydrate restore` (what users run) by the shape of a volume, two binaries interleaved.
#
#   scripts/restore_shapes_ab.sh OLD_BINARY NEW_BINARY [WORKDIR] [ROUNDS]
#
# WORKDIR (default /dev/shm/rehydrate-shapes, tmpfs) gets the seeded data of
# scripts/make_shapes.py and its three volumes (made once by NEW_BINARY's `sim optimize`).
# Each round restores every shape with both binaries (order alternating by round), then the
# large files with --no-verify-hash, then times `sha512sum` of the large files (the one-core
# SHA-512 rate) and `cp -r` of each shape's originals (what creating that many files costs this
# machine's file system, with no decoding, hashing, attributes or renames: `cp` itself restores
# 20,000 small files at a fraction of its GB/s on a few large ones). Prints "label wall_s user_s
# sys_s peak_rss_KiB" per run.
set -euo pipefail
A=$1 B=$2 W=${3:-/dev/shm/rehydrate-shapes} ROUNDS=${4:-4}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$W"
cd "$W"
[ -d src ] || python3 "$here/make_shapes.py" src
mkdir -p vol
for s in large forty one; do
  [ -d "vol/$s" ] || "$B" -q sim optimize --source "src/$s" --to "vol/$s" >/dev/null
done
run() { # label binary args...
  local label=$1 bin=$2
  shift 2
  rm -rf out
  /usr/bin/time -f "$label %e %U %S %M" "$bin" -q "$@" 2>&1 >/dev/null | tail -1
}
for round in $(seq "$ROUNDS"); do
  for s in large forty one; do
    if (( round % 2 )); then order="A B"; else order="B A"; fi
    for who in $order; do
      bin=$A; [ "$who" = B ] && bin=$B
      run "$who-$s" "$bin" restore --source "vol/$s" --to out
    done
  done
  run A-nohash "$A" restore --source vol/large --to out --no-verify-hash
  run B-nohash "$B" restore --source vol/large --to out --no-verify-hash
  /usr/bin/time -f "sha512sum %e %U %S 0" sha512sum src/large/* 2>&1 >/dev/null | tail -1
  for s in large forty one; do
    rm -rf out
    /usr/bin/time -f "cp-$s %e %U %S %M" cp -r "src/$s" out 2>&1 | tail -1
  done
done
rm -rf out
