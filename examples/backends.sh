# Shared by examples/*/generate.sh (sourced, not run): the seven Python backends behind
# the proxy, their free loopback ports, and stopping what was started. Expects `tmp` (with
# run/ and logs/), `PYTHON`, and `examples` (this directory) to be set.

say() { printf '[generate %s] %s\n' "$(date -u +%H:%M:%S)" "$*"; }

# Stop one process group (every process here is started as its own session leader).
stop_group() {
    local pid="$1" sig="${2:-TERM}" i
    kill -0 "$pid" 2>/dev/null || return 0
    kill -"$sig" -- -"$pid" 2>/dev/null || kill -"$sig" "$pid" 2>/dev/null || true
    for i in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -KILL -- -"$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
}

# Stops every backend (through its pid file: traffic.py may have replaced the process) and,
# after a failure, shows the end of their logs.
stop_backends() {
    local rc="$1" f
    for f in "$tmp"/run/*.pid; do
        [ -e "$f" ] || continue
        stop_group "$(cat "$f")" TERM
    done
    wait 2>/dev/null || true
    if [ "$rc" -ne 0 ]; then
        echo "generate.sh: failed (exit $rc); backend logs follow" >&2
        tail -n 20 "$tmp"/logs/*.log >&2 2>/dev/null || true
    fi
}

wait_port() {
    local port="$1" what="$2" i
    for i in $(seq 1 100); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
        sleep 0.1
    done
    echo "generate.sh: $what did not listen on 127.0.0.1:$port" >&2
    return 1
}

# Free loopback ports: one for the proxy (PORT) and one per backend.
read -r -a ports <<<"$("$PYTHON" - <<'PY'
import socket
socks = []
for _ in range(8):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
PY
)"
PORT=${ports[0]}
declare -A bport=(
    [users-1]=${ports[1]} [users-2]=${ports[2]}
    [shop-1]=${ports[3]} [shop-2]=${ports[4]}
    [search-1]=${ports[5]} [search-2]=${ports[6]}
    [carts-1]=${ports[7]}
)
declare -A bpool=(
    [users-1]=users_api [users-2]=users_api [shop-1]=shop_web [shop-2]=shop_web
    [search-1]=search_api [search-2]=search_api [carts-1]=carts_api
)
names=(users-1 users-2 shop-1 shop-2 search-1 search-2 carts-1)

# Starts the backends and writes run/backends.json, which traffic.py reads to break them.
start_backends() {
    local n json sep=""
    say "backends: $(for n in "${names[@]}"; do printf '%s=%s ' "$n" "${bport[$n]}"; done)"
    json='{"backends": ['
    for n in "${names[@]}"; do
        setsid "$PYTHON" "$examples/nginx/backend.py" --port "${bport[$n]}" --name "$n" \
            </dev/null >>"$tmp/logs/$n.log" 2>&1 &
        echo $! >"$tmp/run/$n.pid"
        disown $!
        json+="$sep{\"name\": \"$n\", \"pool\": \"${bpool[$n]}\", \"port\": ${bport[$n]},"
        json+=" \"pidfile\": \"$tmp/run/$n.pid\", \"log\": \"$tmp/logs/$n.log\"}"
        sep=", "
    done
    echo "$json]}" >"$tmp/run/backends.json"
    for n in "${names[@]}"; do wait_port "${bport[$n]}" "$n"; done
}
