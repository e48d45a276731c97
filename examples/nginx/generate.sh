#!/usr/bin/env bash
# Produce real nginx access, error and application logs with ten scripted 5xx incidents.
#
#   examples/nginx/generate.sh [OUTDIR] [--quick] [--only NAME,NAME...]
#
# Starts eleven small Python backends (backend.py) on loopback ports, one of them HTTPS
# with certificates made by openssl at run time, the system's nginx binary in a private
# prefix in front of them, and traffic.py, which sends traffic for two virtual hosts and
# plays the fault timeline. Writes OUTDIR/access.log, OUTDIR/error.log, OUTDIR/app.log
# and OUTDIR/timeline.json (default OUTDIR: this directory), then checks that the logs
# show every fault. Every process it starts is stopped on exit, also on failure.
# Needs: bash, python3 with SQLAlchemy, openssl, nginx (Debian: apt-get install nginx
# openssl; pip install -r tests/e2e/requirements.txt).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
examples="$(cd "$here/.." && pwd)"
out=""
quick=()
only=()
while [ $# -gt 0 ]; do
    case "$1" in
        --quick) quick=(--quick) ;;
        --only) [ $# -ge 2 ] || { echo "generate.sh: --only needs names" >&2; exit 2; }
                only=(--only "$2"); shift ;;
        -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        -*) echo "generate.sh: unknown option $1" >&2; exit 2 ;;
        *) [ -z "$out" ] || { echo "generate.sh: one OUTDIR only" >&2; exit 2; }; out="$1" ;;
    esac
    shift
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
need_tools || { rc=$?; rm -rf "$tmp"; exit "$rc"; }

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
# shellcheck disable=SC2046   # port_subst prints sed arguments, split on purpose
sed -e "s#@TMP@#$tmp#g" -e "s#@OUT@#$out#g" $(port_subst) \
    "$here/nginx.conf.in" >"$tmp/nginx.conf"
if grep -n '@[A-Z0-9]*@' "$tmp/nginx.conf" >&2; then
    echo "generate.sh: nginx.conf.in has placeholders that were not filled in" >&2
    exit 1
fi

rm -f "$out/access.log" "$out/error.log" "$out/app.log" "$out/timeline.json"
"$NGINX" -p "$tmp" -c "$tmp/nginx.conf" -e stderr -t -q
say "nginx $("$NGINX" -v 2>&1 | sed 's#.*/##') on 127.0.0.1:$PORT"
setsid "$NGINX" -p "$tmp" -c "$tmp/nginx.conf" -e stderr -g 'daemon off;' </dev/null &
nginx_pid=$!
wait_port "$PORT" nginx

# In the background, so that a signal to this script is handled at once (bash runs traps
# only between commands, and `wait` is one it interrupts).
"$PYTHON" "$here/traffic.py" --port "$PORT" --run-dir "$tmp/run" \
    --timeline "$out/timeline.json" "${quick[@]}" "${only[@]}" &
traffic_pid=$!
wait "$traffic_pid"
traffic_pid=""

stop_group "$nginx_pid" QUIT
wait "$nginx_pid" 2>/dev/null || true
nginx_pid=""

stop_backends 0
merge_app_logs "$out/app.log"

# The logs must show what the timeline promised: per incident phase its statuses, its
# error-log and app-log lines; no 5xx in the healthy phases (recorded in timeline.json).
"$PYTHON" "$examples/check_logs.py" "$out"
say "wrote $out/access.log ($(wc -l <"$out/access.log") lines)," \
    "$out/error.log ($(wc -l <"$out/error.log") lines)," \
    "$out/app.log ($(wc -l <"$out/app.log") lines), $out/timeline.json"
