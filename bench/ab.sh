#!/usr/bin/env bash
# Two builds of faultline side by side on the same warm loggen file, runs interleaved so that
# both see the same machine (its speed drifts from hour to hour). Prints medians.
#
#   bench/ab.sh OLD_BINARY NEW_BINARY [LINES]      # LINES: 2000000 by default
#
# Build the old one from a worktree: git worktree add /tmp/old REV &&
#   (cd /tmp/old && CARGO_TARGET_DIR=/tmp/old-target cargo build --release -p faultline)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

[ $# -ge 2 ] || { echo "usage: bench/ab.sh OLD_BINARY NEW_BINARY [LINES]" >&2; exit 2; }
OLD=$1
NEW=$2
LINES=${3:-2000000}
RUNS=${RUNS:-7}
OUT=${OUT:-/var/tmp/faultline-bench}
mkdir -p "$OUT"
[ -x /usr/bin/time ] || { echo "bench: /usr/bin/time is missing (apt-get install time)" >&2; exit 2; }

cargo build --release -q --manifest-path tools/loggen/Cargo.toml
log=$OUT/access-$LINES.log
[ -s "$log" ] || tools/loggen/target/release/loggen -q -n "$LINES" -o "$log" --truth "$OUT/truth-$LINES.json"
cat "$log" >/dev/null

rows=$(mktemp)
trap 'rm -f "$rows"' EXIT
"$OLD" analyze --output json "$log" >/dev/null
"$NEW" analyze --output json "$log" >/dev/null
for _ in $(seq "$RUNS"); do
    /usr/bin/time -f "old %e %U %S %M" -a -o "$rows" "$OLD" analyze --output json "$log" | cat >/dev/null
    /usr/bin/time -f "new %e %U %S %M" -a -o "$rows" "$NEW" analyze --output json "$log" | cat >/dev/null
    /usr/bin/time -f "wc %e %U %S %M" -a -o "$rows" wc -l "$log" >/dev/null
done
python3 - "$rows" "$LINES" <<'EOF'
import statistics, sys
lines = int(sys.argv[2])
runs = {}
for row in open(sys.argv[1]):
    name, wall, user, sys_, rss = row.split()
    runs.setdefault(name, []).append((float(wall), float(user) + float(sys_), int(rss)))
print("| binary | wall s | cpu s | lines/s | cpu ns/line | peak RSS MiB |")
print("| --- | ---: | ---: | ---: | ---: | ---: |")
for name in ("wc", "old", "new"):
    v = runs[name]
    wall = statistics.median(x[0] for x in v)
    cpu = statistics.median(x[1] for x in v)
    rss = max(x[2] for x in v) / 1024
    print(f"| {name} | {wall:.3f} | {cpu:.3f} | {lines / wall / 1e6:.2f} M | {cpu * 1e9 / lines:.0f} | {rss:.1f} |")
EOF
