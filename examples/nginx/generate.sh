#!/usr/bin/env bash
# Produce real nginx access and error logs with three scripted 5xx incidents.
#
#   examples/nginx/generate.sh [OUTDIR] [--quick]
#
# Starts seven small Python backends (backend.py) on loopback ports, the system's
# nginx binary in a private prefix in front of them, and traffic.py, which sends
# traffic for two virtual hosts and plays the incident timeline. Writes
# OUTDIR/access.log, OUTDIR/error.log and OUTDIR/timeline.json (default OUTDIR:
# this directory). Every process it starts is stopped on exit, also on failure.
# Needs: bash, python3 (standard library only), nginx (Debian: apt-get install nginx).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
examples="$(cd "$here/.." && pwd)"
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

NGINX="${NGINX:-$(command -v nginx || true)}"
[ -n "$NGINX" ] || NGINX=/usr/sbin/nginx
if [ ! -x "$NGINX" ]; then
    echo "generate.sh: nginx not found (Debian/Ubuntu: apt-get install -y nginx)" >&2
    exit 3
fi
PYTHON="${PYTHON:-python3}"

tmp="$(mktemp -d "${TMPDIR:-/tmp}/faultline-nginx.XXXXXX")"
chmod 755 "$tmp"            # nginx workers (user nobody when started as root) read it
mkdir -p "$tmp/run" "$tmp/logs" "$tmp/www"
nginx_pid=""
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
    if [ -n "$nginx_pid" ]; then
        stop_group "$nginx_pid" QUIT        # graceful: workers finish and log
        wait "$nginx_pid" 2>/dev/null || true
    fi
    stop_backends "$rc"
    rm -rf "$tmp"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

start_backends

printf 'User-agent: *\nDisallow: /shop/cart\n' >"$tmp/www/robots.txt"
sed -e "s#@TMP@#$tmp#g" -e "s#@OUT@#$out#g" -e "s#@PORT@#$PORT#g" \
    -e "s#@USERS1@#${bport[users-1]}#g" -e "s#@USERS2@#${bport[users-2]}#g" \
    -e "s#@SHOP1@#${bport[shop-1]}#g" -e "s#@SHOP2@#${bport[shop-2]}#g" \
    -e "s#@SEARCH1@#${bport[search-1]}#g" -e "s#@SEARCH2@#${bport[search-2]}#g" \
    -e "s#@CARTS1@#${bport[carts-1]}#g" \
    "$here/nginx.conf.in" >"$tmp/nginx.conf"

rm -f "$out/access.log" "$out/error.log" "$out/timeline.json"
"$NGINX" -p "$tmp" -c "$tmp/nginx.conf" -e stderr -t -q
say "nginx $("$NGINX" -v 2>&1 | sed 's#.*/##') on 127.0.0.1:$PORT"
setsid "$NGINX" -p "$tmp" -c "$tmp/nginx.conf" -e stderr -g 'daemon off;' </dev/null &
nginx_pid=$!
wait_port "$PORT" nginx

# In the background, so that a signal to this script is handled at once (bash runs traps
# only between commands, and `wait` is one it interrupts).
"$PYTHON" "$here/traffic.py" --port "$PORT" --run-dir "$tmp/run" \
    --timeline "$out/timeline.json" "${quick[@]}" &
traffic_pid=$!
wait "$traffic_pid"
traffic_pid=""

stop_group "$nginx_pid" QUIT
wait "$nginx_pid" 2>/dev/null || true
nginx_pid=""

# The logs must show what the timeline promised.
check() { grep -q "$2" "$out/$1" || { echo "generate.sh: $1 lacks '$2'" >&2; exit 1; }; }
check access.log '" 502 [0-9]'
check access.log '" 504 [0-9]'
check access.log '" 500 [0-9]'
check error.log 'connect() failed (111: Connection refused)'
check error.log 'upstream timed out (110: Connection timed out)'
say "wrote $out/access.log ($(wc -l <"$out/access.log") lines)," \
    "$out/error.log ($(wc -l <"$out/error.log") lines), $out/timeline.json"
