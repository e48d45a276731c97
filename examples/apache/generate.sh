#!/usr/bin/env bash
# Produce real Apache httpd access and error logs with three scripted 5xx incidents.
#
#   examples/apache/generate.sh [OUTDIR] [--quick]
#
# The Apache twin of examples/nginx/generate.sh: the same seven Python backends and
# the same traffic (examples/nginx/backend.py, traffic.py --proxy apache), with the
# system's Apache httpd (mod_proxy_balancer) in front of them, run from a private
# directory. Writes OUTDIR/access.log, OUTDIR/error.log and OUTDIR/timeline.json
# (default OUTDIR: this directory). Every process it starts is stopped on exit.
# Needs: bash, python3 (standard library only), Apache httpd 2.4 and its proxy
# modules (Debian: apt-get install apache2).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
examples="$(cd "$here/.." && pwd)"
shared="$(cd "$here/../nginx" && pwd)"     # backend.py and traffic.py
out=""
quick=()
for arg in "$@"; do
    case "$arg" in
        --quick) quick=(--quick) ;;
        -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        -*) echo "generate.sh: unknown option $arg" >&2; exit 2 ;;
        *) [ -z "$out" ] || { echo "generate.sh: one OUTDIR only" >&2; exit 2; }; out="$arg" ;;
    esac
done
out="${out:-$here}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"

# The binary itself, not Debian's apache2ctl wrapper (which needs /etc/apache2/envvars).
APACHE="${APACHE:-$(command -v apache2 || command -v httpd || true)}"
if [ -z "$APACHE" ]; then
    if [ -x /usr/sbin/apache2 ]; then APACHE=/usr/sbin/apache2; else APACHE=/usr/sbin/httpd; fi
fi
if [ ! -x "$APACHE" ]; then
    echo "generate.sh: Apache httpd not found (Debian/Ubuntu: apt-get install -y apache2)" >&2
    exit 3
fi
# Where the loadable modules are (Debian, Fedora/RHEL, the upstream default layout).
if [ -z "${APACHE_MODULES:-}" ]; then
    for d in /usr/lib/apache2/modules /usr/lib64/httpd/modules /usr/lib/httpd/modules \
             /usr/local/apache2/modules; do
        if [ -e "$d/mod_proxy_balancer.so" ]; then APACHE_MODULES="$d"; break; fi
    done
fi
if [ ! -e "${APACHE_MODULES:-}/mod_proxy_balancer.so" ]; then
    echo "generate.sh: Apache's modules (mod_proxy_balancer.so) not found;" \
         "set APACHE_MODULES to their directory" >&2
    exit 3
fi
PYTHON="${PYTHON:-python3}"

tmp="$(mktemp -d "${TMPDIR:-/tmp}/faultline-apache.XXXXXX")"
chmod 755 "$tmp"            # Apache's children (user nobody when started as root) read it
mkdir -p "$tmp/run" "$tmp/rt" "$tmp/logs" "$tmp/www-api" "$tmp/www-shop" "$tmp/www-default"
apache_pid=""
traffic_pid=""
# shellcheck source=../backends.sh
source "$examples/backends.sh"

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if [ -n "$traffic_pid" ]; then
        kill -TERM "$traffic_pid" 2>/dev/null || true
        wait "$traffic_pid" 2>/dev/null || true
    fi
    if [ -n "$apache_pid" ]; then
        stop_group "$apache_pid" WINCH      # graceful stop: requests in flight finish and log
        wait "$apache_pid" 2>/dev/null || true
    fi
    stop_backends "$rc"
    rm -rf "$tmp"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

start_backends

printf 'ok\n' >"$tmp/www-api/healthz"
printf 'User-agent: *\nDisallow: /shop/cart\n' >"$tmp/www-shop/robots.txt"
# Started as root, Apache's children switch to an unprivileged user; otherwise they
# keep the caller's and the User/Group lines are commented out.
if [ "$(id -u)" = 0 ]; then root=""; else root="# "; fi
sed -e "s#@TMP@#$tmp#g" -e "s#@OUT@#$out#g" -e "s#@PORT@#$PORT#g" \
    -e "s#@MODULES@#$APACHE_MODULES#g" -e "s#@ROOT@#$root#g" \
    -e "s#@NOGROUP@#$(id -g nobody 2>/dev/null || echo 65534)#g" \
    -e "s#@USERS1@#${bport[users-1]}#g" -e "s#@USERS2@#${bport[users-2]}#g" \
    -e "s#@SHOP1@#${bport[shop-1]}#g" -e "s#@SHOP2@#${bport[shop-2]}#g" \
    -e "s#@SEARCH1@#${bport[search-1]}#g" -e "s#@SEARCH2@#${bport[search-2]}#g" \
    -e "s#@CARTS1@#${bport[carts-1]}#g" \
    "$here/httpd.conf.in" >"$tmp/httpd.conf"

rm -f "$out/access.log" "$out/error.log" "$out/timeline.json"
if ! check_out="$("$APACHE" -d "$tmp" -f "$tmp/httpd.conf" -t 2>&1)"; then
    echo "$check_out" >&2
    exit 1
fi
say "$("$APACHE" -v | sed -n 's/^Server version: *//p') on 127.0.0.1:$PORT"
setsid "$APACHE" -d "$tmp" -f "$tmp/httpd.conf" -DFOREGROUND </dev/null &
apache_pid=$!
wait_port "$PORT" "Apache httpd"

# In the background, so that a signal to this script is handled at once (bash runs traps
# only between commands, and `wait` is one it interrupts).
"$PYTHON" "$shared/traffic.py" --proxy apache --port "$PORT" --run-dir "$tmp/run" \
    --timeline "$out/timeline.json" "${quick[@]}" &
traffic_pid=$!
wait "$traffic_pid"
traffic_pid=""

stop_group "$apache_pid" WINCH
wait "$apache_pid" 2>/dev/null || true
apache_pid=""

# The logs must show what the timeline promised.
check() { grep -qF -- "$2" "$out/$1" || { echo "generate.sh: $1 lacks '$2'" >&2; exit 1; }; }
# %>s follows the request line, the first quoted field (%D can be 502 µs too).
status() {
    grep -qE '^[^"]*"([^"\\]|\\.)*" '"$1 " "$out/access.log" ||
        { echo "generate.sh: access.log has no $1" >&2; exit 1; }
}
status 503
status 502
status 500
check error.log '(111)Connection refused: AH00957'
check error.log '(70007)The timeout specified has expired'
check error.log 'AH01102: error reading status line from remote server'

# Record in timeline.json the 5xx Apache answered in each phase (by the time a request was
# received, %t), and fail when an incident phase lacks its expected status.
"$PYTHON" - "$out/access.log" "$out/timeline.json" <<'EOF'
import collections, datetime as dt, json, re, sys

access, timeline = sys.argv[1:]
line_re = re.compile(rb'^\S+ \S+ \S+ \[([^\]]+)\] "(?:[^"\\]|\\.)*" (\d{3}) ')
seen = []
with open(access, "rb") as f:
    for line in f:
        m = line_re.match(line)
        if m and m.group(2).startswith(b"5"):
            t = dt.datetime.strptime(m.group(1).decode(), "%d/%b/%Y:%H:%M:%S %z").timestamp()
            seen.append((t, m.group(2).decode()))
with open(timeline) as f:
    doc = json.load(f)
# %t has one-second resolution: a line counts in the phase its second [t, t+1) overlaps,
# an incident phase first (the fault is switched on just before its start is taken).
counts = {p["name"]: collections.Counter() for p in doc["phases"]}
by_kind = sorted(doc["phases"], key=lambda p: p["kind"] != "incident")
for t, code in seen:
    phase = next((p for p in by_kind if t + 1 > p["start"] and t < p["end"]), None)
    if phase:
        counts[phase["name"]][code] += 1
bad = []
for p in doc["phases"]:
    got = counts[p["name"]]
    p["observed_5xx"] = dict(sorted(got.items()))
    if p["kind"] == "incident" and not all(got[c] for c in p["expected_status"]):
        bad.append(f"phase {p['name']}: expected {p['expected_status']}, saw {dict(got)}")
with open(timeline, "w") as f:
    json.dump(doc, f, indent=2)
    f.write("\n")
if bad:
    sys.exit("generate.sh: " + "; ".join(bad))
EOF
say "wrote $out/access.log ($(wc -l <"$out/access.log") lines)," \
    "$out/error.log ($(wc -l <"$out/error.log") lines), $out/timeline.json"
