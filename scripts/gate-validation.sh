#!/usr/bin/env bash
# Validates `ipcbench gate` on this machine: N real A/A gates (one binary on
# both arms, spawn + pipe/unix round trips; and one command on both arms)
# and N gates against a real slowdown of +20% and of +10% (a command that
# spins a calibrated loop longer: real work, not a sleep), optionally a
# +20% round-trip slowdown (RT_SLOWDOWN=1: a head build whose echo child
# spins per message). Then it tallies verdicts, times and MDEs.
#
#   scripts/gate-validation.sh [N]        N gates of each kind (default 20)
#
# What the issue asks to show, read off the tally:
#   aa-bin, aa-cmd  at most 1 regression in 20        (false alarms)
#   slow20          at least 19 regressions in 20     (power at +20%)
#   slow10          most gates regression             (power at +10%)
#   aa-bin          elapsed <= 3 min, spawn MDE <= 5%
#
# Takes long: each gate up to TIME (default 3m), 4 kinds (5 with
# RT_SLOWDOWN=1) → up to N × 12–15 min; gates that decide early end early.
# Run it on a quiet machine, nothing else measuring. Kinds are interleaved
# so that drift over the hours touches all of them alike.
#
# Environment:
#   TIME=3m          --time of every gate
#   OUT=DIR          where verdict files and the tally go (default gate-validation-<date>)
#   SEL='...'        run arguments of the binary A/A gates
#   BASE_US=300      microseconds of spinning in the base command
#   RT_SLOWDOWN=1    also gate a +20% round-trip slowdown (builds a patched head)
#   SMOKE=1          one tiny gate of each kind (seconds; checks the script, not the gate)
#   GATE_FLAGS='...' extra flags for every gate (e.g. --max-regression 5%)
#   KINDS='aa-bin slow20 slow10'  which kinds to run (default: aa-bin aa-cmd slow20 slow10)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-20}
TIME=${TIME:-3m}
BASE_US=${BASE_US:-300}
OUT=${OUT:-gate-validation-$(date -u +%Y%m%dT%H%M%SZ)}
SEL=${SEL:-"spawn roundtrip --cores 1 --filter ^(Spawn/mode=spawn/cmd=true|Spawn/mode=exec/cmd=true|RoundTrip/transport=(pipe|unix)/mode=raw/size=64/placement=same-core)/"}
GATE_FLAGS=${GATE_FLAGS:-}
if [[ ${SMOKE:-} == 1 ]]; then
  N=1
  GATE_FLAGS="$GATE_FLAGS --time 15s --stages 3 --budget 20ms"
else
  GATE_FLAGS="$GATE_FLAGS --time $TIME"
fi
mkdir -p "$OUT"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "building ipcbench and spin" >&2
go build -o "$tmp/ipcbench" ./cmd/ipcbench
cc -O2 -o "$tmp/spin" scripts/spin/spin.c
ib="$tmp/ipcbench"

# Calibration: what one spin iteration costs, and what the base command's
# whole spawn costs (fork, exec, spin, exit, reap), so that the head's extra
# iterations add 20% (10%) to the whole operation, not to the loop alone.
ns_iter=$("$tmp/spin" -c)
x=$(python3 -c "print(int($BASE_US * 1000 / $ns_iter))")
median() { # run args... → the first benchmark's median in ns
  "$ib" run "$@" --no-save --format json 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["benchmarks"][0]["summary"]["median"])'
}
m=$(median spawn --cmd "$tmp/spin $x" --filter 'Spawn/mode=spawn/' --budget 3s)
x20=$(python3 -c "print(int($x + 0.20 * $m / $ns_iter))")
x10=$(python3 -c "print(int($x + 0.10 * $m / $ns_iter))")
echo "spin: $ns_iter ns/iteration; base 'spin $x' spawns in $(python3 -c "print(round($m/1e3))") µs; +20%: spin $x20, +10%: spin $x10" | tee "$OUT/calibration.txt" >&2

read -r -a kinds <<<"${KINDS:-aa-bin aa-cmd slow20 slow10}"
if [[ ${RT_SLOWDOWN:-} == 1 ]]; then
  # A head build whose echo child spins per message: scenarios/roundtrip.go
  # patched through `go build -overlay` (the tree is not touched).
  rt=$(median roundtrip --transports pipe --modes raw --sizes 64 --placements same-core --cores 1 --budget 3s)
  it=$(python3 -c "print(max(1, int(0.20 * $rt / $ns_iter)))")
  mkdir -p "$tmp/overlay"
  python3 - "$PWD/scenarios/roundtrip.go" "$tmp/overlay/roundtrip.go" "$it" "$tmp/overlay.json" <<'PY'
import json, sys
src, dst, it, ov = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
s = open(src).read()
anchor = '\t\t\tif err := c.Send(buf); err != nil {\n\t\t\t\treturn fmt.Errorf("echo: %w", err)'
if s.count(anchor) != 1:
    sys.exit("gate-validation: scenarios/roundtrip.go changed: cannot find the echo loop's Send to patch (RT_SLOWDOWN)")
s = s.replace(anchor, '\t\t\tgateValidationSpin()\n' + anchor)
s += '\n// Added by scripts/gate-validation.sh to a head build: real work per echoed message.\nvar gateValidationSink uint64\n\nfunc gateValidationSpin() {\n\tfor i := 0; i < %s; i++ {\n\t\tgateValidationSink += uint64(i)\n\t}\n}\n' % it
open(dst, 'w').write(s)
json.dump({"Replace": {src: dst}}, open(ov, 'w'))
PY
  go build -overlay "$tmp/overlay.json" -o "$tmp/ipcbench-rt20" ./cmd/ipcbench
  echo "round trip: pipe 64 B same-core $(python3 -c "print(round($rt))") ns; head echo spins $it iterations per message (+20%)" | tee -a "$OUT/calibration.txt" >&2
  kinds+=(slow-rt20)
fi

# One gate; its verdict document is the record.
gate() { # kind i
  local kind=$1 i=$2 js="$OUT/$1-$2.json" code=0
  case $kind in
    aa-bin) "$ib" gate $GATE_FLAGS --base "$ib" --head "$ib" --json "$js" --markdown "$OUT/$kind-$i.md" -- $SEL >"$OUT/$kind-$i.txt" 2>&1 || code=$? ;;
    aa-cmd) "$ib" gate $GATE_FLAGS --base-cmd "$tmp/spin $x" --head-cmd "$tmp/spin $x" --scenarios spawn --filter mode=spawn --json "$js" >"$OUT/$kind-$i.txt" 2>&1 || code=$? ;;
    slow20) "$ib" gate $GATE_FLAGS --base-cmd "$tmp/spin $x" --head-cmd "$tmp/spin $x20" --scenarios spawn --filter mode=spawn --json "$js" >"$OUT/$kind-$i.txt" 2>&1 || code=$? ;;
    slow10) "$ib" gate $GATE_FLAGS --base-cmd "$tmp/spin $x" --head-cmd "$tmp/spin $x10" --scenarios spawn --filter mode=spawn --json "$js" >"$OUT/$kind-$i.txt" 2>&1 || code=$? ;;
    slow-rt20) "$ib" gate $GATE_FLAGS --base "$ib" --head "$tmp/ipcbench-rt20" --json "$js" -- roundtrip --transports pipe --modes raw --sizes 64 --placements same-core --cores 1 >"$OUT/$kind-$i.txt" 2>&1 || code=$? ;;
  esac
  echo "$kind $i: exit $code: $(grep -m1 -e '^ipcbench gate:' -e '^ipcbench: ' "$OUT/$kind-$i.txt" | cut -c1-120)" >&2
}

for i in $(seq 1 "$N"); do
  for kind in "${kinds[@]}"; do
    gate "$kind" "$i"
  done
done

# Tally: per kind, the gates' outcomes, time, and per benchmark the
# verdicts, the estimated change and the MDE.
python3 - "$OUT" <<'PY' | tee "$OUT/tally.txt"
import glob, json, os, re, statistics, sys
out = sys.argv[1]
by = {}
for p in sorted(glob.glob(os.path.join(out, "*.json"))):
    m = re.match(r"(.+)-(\d+)\.json$", os.path.basename(p))
    if not m:
        continue
    try:
        d = json.load(open(p))
    except Exception as e:
        print(f"{p}: unreadable ({e})")
        continue
    by.setdefault(m.group(1), []).append(d)
for kind, docs in by.items():
    outcomes = {}
    for d in docs:
        outcomes[d["outcome"]] = outcomes.get(d["outcome"], 0) + 1
    el = [d["elapsed_ns"] / 1e9 for d in docs]
    rounds = [d["rounds"] for d in docs]
    print(f"== {kind}: {len(docs)} gates: " + ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items())))
    print(f"   elapsed s: median {statistics.median(el):.0f}, max {max(el):.0f}; rounds: median {statistics.median(rounds):.0f}, max {max(rounds)}")
    per = {}
    for d in docs:
        for b in d.get("benchmarks") or []:
            per.setdefault(b["name"], []).append(b)
    for name, bs in per.items():
        verdicts = {}
        for b in bs:
            verdicts[b["verdict"]] = verdicts.get(b["verdict"], 0) + 1
        ch = [100 * b["change"] for b in bs if b.get("change") is not None]
        mde = [100 * b["mde"] for b in bs if b.get("mde") is not None]
        line = f"   {name}: " + ", ".join(f"{k} {v}" for k, v in sorted(verdicts.items()))
        if ch:
            line += f"; change median {statistics.median(ch):+.1f}% [{min(ch):+.1f}, {max(ch):+.1f}]"
        if mde:
            line += f"; MDE median ±{statistics.median(mde):.1f}%, max ±{max(mde):.1f}%"
        print(line)
PY
echo "verdicts, summaries and the tally are in $OUT" >&2
