#!/usr/bin/env bash
# Runs ipcbench and C tools measuring the same things, back to back in the
# same minute, so the ratios in README.md can be re-checked on any machine.
# Needs cc; hyperfine and perf are used when installed (apt-get install
# hyperfine linux-perf). Never run two benchmarks at once.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/ipcbench" ./cmd/ipcbench
cc -O2 -o "$tmp/pingpong" scripts/cref/pingpong.c
cc -O2 -o "$tmp/reader" scripts/cref/reader.c
cc -O2 -pthread -o "$tmp/openloop" scripts/cref/openloop.c
ib() { "$tmp/ipcbench" run "$@" --no-save --format csv 2>/dev/null | awk -F, 'NR>1 {printf "ipcbench %s median_ns=%.0f\n", $1, $5}'; }
cpus=$(nproc)
a=0; b=$(( cpus > 1 ? 1 : 0 ))
for round in 1 2 3; do
  echo "== round $round"
  if command -v hyperfine >/dev/null; then
    hyperfine -N --warmup 20 --runs 300 --export-json "$tmp/h.json" /bin/true >/dev/null 2>&1 &&
      python3 -c "import json;r=json.load(open('$tmp/h.json'))['results'][0];print('hyperfine -N /bin/true median_ns=%.0f' % (r['median']*1e9))"
  fi
  ib spawn --filter 'mode=spawn/cmd=true/cores=1$' --budget 2s
  if command -v perf >/dev/null; then
    echo "perf bench sched pipe, taskset -c $a: $(taskset -c $a perf bench sched pipe -l 200000 2>/dev/null | awk '/usecs\/op/ {print $1*1000 " ns"}')"
  fi
  for t in pipe unix tcp; do
    "$tmp/pingpong" $t 64 $a $a 1
    "$tmp/pingpong" $t 64 $a $b 1
    ib roundtrip --transports $t --modes raw --sizes 64 --cores 1 --budget 1s
  done
  "$tmp/pingpong" shm-spin 64 $a $b 1
  ib roundtrip --transports shm-spin --sizes 64 --placements cross-core --cores 1 --budget 1s
  # Open loop at low rates (1k-30k/s: a pipe carries 300k/s and more), next
  # to the back-to-back round trip: C in both designs (split: ipcbench's
  # own, a sender and a receiver thread; paced: a closed loop slowed to the
  # rate, only below 1/RTT, where it can keep it), then ipcbench's closed
  # and open loops in one run, with C's 50 µs busy wait before each send.
  for p in "$a $a" "$a $b"; do
    "$tmp/openloop" 0 $p 1
    for r in 1000 10000; do "$tmp/openloop" $r $p 2 50 paced; done
    for r in 1000 10000 30000; do "$tmp/openloop" $r $p 2 50 split; done
  done
  "$tmp/ipcbench" run roundtrip load --transports pipe --modes raw --sizes 64 --placements same-core,cross-core --cores 1 \
    --rate 1k,10k,30k --spin-ahead 50us --filter '^(RoundTrip|Load)/' --budget 2s --no-save --format csv 2>/dev/null |
    awk -F, 'NR>1 && $1 ~ /^RoundTrip/ {printf "ipcbench %s median_ns=%.0f\n", $1, $5} NR>1 && $1 ~ /^Load/ {printf "ipcbench %s p50_ns=%.0f\n", $1, $12}'
  # Output: both confined to one CPU (unpinned, placement luck dominates:
  # a pipe stream is ~3x faster when reader and writer share a CPU on a VM).
  IPCBENCH_CHILD_ROLE=output-writer IPCBENCH_CHILD_NFILES=0 taskset -c $a "$tmp/reader" 15 "$tmp/ipcbench" 67108864 65536 0 0
  taskset -c $a "$tmp/ipcbench" run output --output-sizes 64MiB --write-sizes 64KiB --cores 1 --filter streamed --no-save --format csv 2>/dev/null |
    python3 -c "
import csv,sys
for r in csv.DictReader(sys.stdin): print('ipcbench %s: %.0f MB/s' % (r['name'], float(r['MB/s'])))"
done
