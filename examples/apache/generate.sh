#!/usr/bin/env bash
# Produce real Apache httpd access, error and application logs with nine scripted 5xx
# incidents.
#
#   examples/apache/generate.sh [OUTDIR] [--quick] [--only NAME,NAME...]
#
# The Apache twin of examples/nginx/generate.sh: the same eleven Python backends and
# the same traffic (examples/nginx/backend.py, traffic.py --proxy apache), with the
# system's Apache httpd (mod_proxy_balancer, mod_ssl, mod_rewrite) in front of them, run
# from a private directory. Writes OUTDIR/access.log, OUTDIR/error.log, OUTDIR/app.log
# and OUTDIR/timeline.json (default OUTDIR: this directory), then checks that the logs
# show every fault. Every process it starts is stopped on exit. Apache has no request
# rate limit of its own: the nginx example's rate_limit_burst is not played here.
# Needs: bash, python3 with SQLAlchemy, openssl, Apache httpd 2.4 with its proxy, ssl
# and rewrite modules (Debian: apt-get install apache2 openssl; pip install -r
# tests/e2e/requirements.txt).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
examples="$(cd "$here/.." && pwd)"
shared="$(cd "$here/../nginx" && pwd)"     # backend.py and traffic.py
out=""
quick=()
only=()
while [ $# -gt 0 ]; do
    case "$1" in
        --quick) quick=(--quick) ;;
        --only) [ $# -ge 2 ] || { echo "generate.sh: --only needs names" >&2; exit 2; }
                only=(--only "$2"); shift ;;
        -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        -*) echo "generate.sh: unknown option $1" >&2; exit 2 ;;
        *) [ -z "$out" ] || { echo "generate.sh: one OUTDIR only" >&2; exit 2; }; out="$1" ;;
    esac
    shift
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
for mod in mod_proxy_balancer mod_ssl mod_rewrite mod_socache_shmcb; do
    if [ ! -e "${APACHE_MODULES:-}/$mod.so" ]; then
        echo "generate.sh: Apache's module $mod.so not found in '${APACHE_MODULES:-}';" \
             "set APACHE_MODULES to the directory of the modules" >&2
        exit 3
    fi
done
PYTHON="${PYTHON:-python3}"

tmp="$(mktemp -d "${TMPDIR:-/tmp}/faultline-apache.XXXXXX")"
chmod 755 "$tmp"            # Apache's children (user nobody when started as root) read it
mkdir -p "$tmp/run" "$tmp/rt" "$tmp/logs" "$tmp/www-api" "$tmp/www-shop" "$tmp/www-default"
apache_pid=""
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
# shellcheck disable=SC2046   # port_subst prints sed arguments, split on purpose
sed -e "s#@TMP@#$tmp#g" -e "s#@OUT@#$out#g" $(port_subst) \
    -e "s#@MODULES@#$APACHE_MODULES#g" -e "s#@ROOT@#$root#g" \
    -e "s#@NOGROUP@#$(id -g nobody 2>/dev/null || echo 65534)#g" \
    "$here/httpd.conf.in" >"$tmp/httpd.conf"
if grep -n '@[A-Z0-9]*@' "$tmp/httpd.conf" >&2; then
    echo "generate.sh: httpd.conf.in has placeholders that were not filled in" >&2
    exit 1
fi

rm -f "$out/access.log" "$out/error.log" "$out/app.log" "$out/timeline.json"
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
    --timeline "$out/timeline.json" "${quick[@]}" "${only[@]}" &
traffic_pid=$!
wait "$traffic_pid"
traffic_pid=""

stop_group "$apache_pid" WINCH
wait "$apache_pid" 2>/dev/null || true
apache_pid=""

stop_backends 0
merge_app_logs "$out/app.log"

# The logs must show what the timeline promised: per incident phase its statuses (by the
# time a request was received, %t), its error-log and app-log lines; no 5xx in the healthy
# phases (recorded in timeline.json).
"$PYTHON" "$examples/check_logs.py" "$out"
say "wrote $out/access.log ($(wc -l <"$out/access.log") lines)," \
    "$out/error.log ($(wc -l <"$out/error.log") lines)," \
    "$out/app.log ($(wc -l <"$out/app.log") lines), $out/timeline.json"
