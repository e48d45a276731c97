#!/usr/bin/env bash
# Whole-binary benchmark: faultline against wc -l, gzip -dc and GoAccess on the same warm
# loggen files. Prints a Markdown table and writes it to $OUT/results.md.
#
#   bench/run.sh                      # 1M, 2M and 10M lines (≈ 20 min, most of it GoAccess)
#   SIZES="1000000 2000000" bench/run.sh
#   GOACCESS=0 bench/run.sh           # skip GoAccess
#   INSTALL=1 bench/run.sh            # apt-get install goaccess time first
#
# Figures are medians of $RUNS runs after one warm-up. A run counts only if the file was in
# the page cache: `cat FILE > /dev/null` must run at ≥ 2 GB/s just before it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

OUT=${OUT:-/var/tmp/faultline-bench}
SIZES=${SIZES:-"1000000 2000000 10000000"}
RUNS=${RUNS:-5}
GOACCESS=${GOACCESS:-1}
GOACCESS_MAX=${GOACCESS_MAX:-2000000}
mkdir -p "$OUT"

if [ "${INSTALL:-0}" = 1 ]; then
    apt-get install -y -q --no-install-recommends goaccess time </dev/null
fi
[ -x /usr/bin/time ] || { echo "bench: /usr/bin/time is missing (apt-get install time)" >&2; exit 2; }

cargo build --release -q -p faultline
cargo build --release -q --manifest-path tools/loggen/Cargo.toml
FL=$PWD/target/release/faultline
LOGGEN=$PWD/tools/loggen/target/release/loggen

# "wall cpu rss_kb" of a command, stdout discarded through a pipe.
measure() {
    local t
    t=$(mktemp)
    /usr/bin/time -f "%e %U %S %M" -o "$t" "$@" | cat >/dev/null
    awk '{printf "%s %.2f %s\n", $1, $2 + $3, $4}' "$t"
    rm -f "$t"
}

# Median of RUNS measurements: prints "wall cpu rss_kb".
median_of() {
    local i rows=()
    "$@" >/dev/null 2>&1 || true
    for i in $(seq "$RUNS"); do rows+=("$(measure "$@")"); done
    printf '%s\n' "${rows[@]}" | sort -n | awk -v n="$RUNS" 'NR == int((n + 1) / 2)'
}

warm() {
    local start end
    cat "$1" >/dev/null
    start=$(date +%s.%N)
    cat "$1" >/dev/null
    end=$(date +%s.%N)
    local bytes
    bytes=$(stat -c %s "$1")
    awk -v b="$bytes" -v s="$start" -v e="$end" 'BEGIN { r = b / (e - s) / 1e9; if (r < 2) { printf "bench: %s read at %.1f GB/s: not cached\n", ARGV[1], r > "/dev/stderr"; exit 1 } }' "$1"
}

row() { # name lines bytes "wall cpu rss"
    local name=$1 lines=$2 bytes=$3 wall cpu rss
    read -r wall cpu rss <<<"$4"
    awk -v n="$name" -v l="$lines" -v b="$bytes" -v w="$wall" -v c="$cpu" -v r="$rss" 'BEGIN {
        printf "| %s | %.3f | %.3f | %.2f M | %.0f | %.0f | %.1f |\n", n, w, c, l / w / 1e6, b / w / 1e6, c * 1e9 / l, r / 1024 }'
}

{
echo "| command | wall s | cpu s | lines/s | MB/s | cpu ns/line | peak RSS MiB |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
} >"$OUT/results.md"

for n in $SIZES; do
    log=$OUT/access-$n.log
    if [ ! -s "$log" ]; then
        "$LOGGEN" -q -n "$n" -o "$log" --truth "$OUT/truth-$n.json"
    fi
    bytes=$(stat -c %s "$log")
    echo "| **$n lines, $((bytes / 1000000)) MB** | | | | | | |" >>"$OUT/results.md"
    warm "$log"
    row "wc -l" "$n" "$bytes" "$(median_of wc -l "$log")" >>"$OUT/results.md"
    warm "$log"
    row "faultline analyze (2 threads)" "$n" "$bytes" "$(median_of "$FL" analyze --output json "$log")" >>"$OUT/results.md"
    warm "$log"
    row "faultline analyze --threads 1" "$n" "$bytes" "$(median_of "$FL" analyze --threads 1 --output json "$log")" >>"$OUT/results.md"
    if [ "$n" = "$(echo "$SIZES" | awk '{print $1}')" ]; then
        gz=$log.gz
        [ -s "$gz" ] || gzip -6 -c "$log" >"$gz"
        row "gzip -dc (.gz)" "$n" "$bytes" "$(median_of gzip -dc "$gz")" >>"$OUT/results.md"
        row "faultline analyze (.gz)" "$n" "$bytes" "$(median_of "$FL" analyze --output json "$gz")" >>"$OUT/results.md"
    fi
    if [ "$n" = "$(echo "$SIZES" | awk '{print $1}')" ]; then
        # The same requests as Apache LogFormat and as nginx escape=json lines.
        [ -s "$log.apache" ] || python3 bench/convert.py "$log"
        apache_format='%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i" %D "%{BALANCER_WORKER_NAME}e" "%{Host}i"'
        for kind in apache json; do
            f=$log.$kind
            fbytes=$(stat -c %s "$f")
            warm "$f"
            if [ "$kind" = apache ]; then
                row "faultline analyze (Apache LogFormat, $((fbytes / 1000000)) MB)" "$n" "$fbytes" \
                    "$(median_of "$FL" analyze --output json --log-format "$apache_format" "$f")" >>"$OUT/results.md"
            else
                row "faultline analyze (JSON lines, $((fbytes / 1000000)) MB)" "$n" "$fbytes" \
                    "$(median_of "$FL" analyze --output json "$f")" >>"$OUT/results.md"
            fi
        done
    fi
    if [ "$GOACCESS" = 1 ] && [ "$n" -le "$GOACCESS_MAX" ] && command -v goaccess >/dev/null; then
        warm "$log"
        RUNS_SAVED=$RUNS RUNS=1
        row "goaccess 1.7 → JSON" "$n" "$bytes" "$(median_of goaccess "$log" --no-global-config \
            '--log-format=%h %^ %e [%d:%t %^] "%r" %s %b "%R" "%u" %T %^"%v"' \
            --date-format=%d/%b/%Y --time-format=%T --no-progress --no-parsing-spinner -o "$OUT/goaccess.json" </dev/null)" >>"$OUT/results.md"
        RUNS=$RUNS_SAVED
    fi
done
cat "$OUT/results.md"
