#!/bin/bash
# Runs `keel bench ingest` at its peak and samples, every second, the CPU of the Keel process it
# starts, per thread (Linux /proc/<pid>/task/*/schedstat): one line per sample with the time, the
# CPU seconds of Keel's threads other than the nice-19 log compactor, and the compactor's.
# BENCHMARKS.md ("Log compaction") divides the busy seconds' CPU by the acknowledged events.
# usage: scripts/bench-thread-cpu.sh OUT_PREFIX   (KEEL_CONFIG as for the bench; writes OUT_PREFIX.json and .cpu)
set -u
out=$1
cd "$(dirname "$0")/.."
node bin/keel.js bench ingest --duration 20 --warmup 2 --compaction-wait 0 --json > "$out.json" 2> "$out.log" &
bench=$!
pid=
for _ in $(seq 1 200); do
  pid=$(grep -o 'keel pid [0-9]*' "$out.log" | head -1 | awk '{print $3}')
  [ -n "$pid" ] && break
  sleep 0.2
done
: > "$out.cpu"
while kill -0 "$bench" 2>/dev/null; do
  t=$(date +%s.%N); keel=0; compactor=0
  for d in /proc/"$pid"/task/*; do
    s=$(cat "$d/schedstat" 2>/dev/null) || continue
    st=$(cat "$d/stat" 2>/dev/null) || continue
    rest=${st##*) }; set -- $rest; nice=${17}; set -- $s
    if [ "$nice" = "19" ]; then compactor=$((compactor + $1)); else keel=$((keel + $1)); fi
  done
  echo "$t $((keel)) $((compactor))" | awk '{printf "%s %.3f %.3f\n", $1, $2 / 1e9, $3 / 1e9}' >> "$out.cpu"
  sleep 1
done
wait "$bench"
echo "load average: $(cat /proc/loadavg)"
