# Shared by examples/*/generate.sh (sourced, not run): the eleven Python backends behind
# the proxy, their free loopback ports, the throw-away certificates of the TLS backend,
# the application log, and stopping what was started. Expects `tmp` (with run/ and
# logs/), `PYTHON`, and `examples` (this directory) to be set.

say() { printf '[generate %s] %s\n' "$(date -u +%H:%M:%S)" "$*"; }

# What the backends need besides the standard library, checked before anything starts
# (returns 3, having said what to install).
need_tools() {
    if ! command -v openssl >/dev/null 2>&1; then
        echo "generate.sh: openssl not found; it makes the certificates of the TLS backend" \
             "(Debian/Ubuntu: apt-get install -y openssl)" >&2
        return 3
    fi
    if ! "$PYTHON" -c 'import sqlalchemy' 2>/dev/null; then
        echo "generate.sh: $PYTHON cannot import sqlalchemy; the inventory backend keeps its" \
             "database behind a SQLAlchemy QueuePool (pip install -r tests/e2e/requirements.txt," \
             "or pip install SQLAlchemy)" >&2
        return 3
    fi
}

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
# after a failure, shows the end of their logs. Safe to call twice.
stop_backends() {
    local rc="$1" f
    for f in "$tmp"/run/*.pid; do
        [ -e "$f" ] || continue
        stop_group "$(cat "$f")" TERM
        rm -f "$f"
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

# A throw-away CA and two certificates for payments.internal (and 127.0.0.1) that it
# signed: valid.crt, valid for 30 days from now, and expired.crt, whose validity ended 30
# days ago (`openssl ca -startdate/-enddate`: OpenSSL 3.0's `x509 -req` cannot backdate).
make_certs() {
    local d="$1" ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes) which
    mkdir -p "$d/issued"
    : >"$d/index.txt"
    echo 1000 >"$d/serial"
    cat >"$d/ca.cnf" <<EOF
[ ca ]
default_ca = example_ca
[ example_ca ]
database = $d/index.txt
new_certs_dir = $d/issued
serial = $d/serial
default_md = sha256
policy = by_name
unique_subject = no
copy_extensions = none
[ by_name ]
organizationName = optional
commonName = supplied
[ leaf ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:payments.internal, IP:127.0.0.1
EOF
    openssl req -x509 -new "${ec[@]}" -keyout "$d/ca.key" -out "$d/ca.crt" -days 365 \
        -subj "/O=Example/CN=Example internal CA" \
        -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" 2>"$d/openssl.log"
    for which in valid expired; do
        openssl req -new "${ec[@]}" -keyout "$d/$which.key" -out "$d/$which.csr" \
            -subj "/O=Example/CN=payments.internal" 2>>"$d/openssl.log"
    done
    local ca=(openssl ca -batch -config "$d/ca.cnf" -cert "$d/ca.crt" -keyfile "$d/ca.key"
              -extensions leaf -notext)
    "${ca[@]}" -in "$d/valid.csr" -out "$d/valid.crt" -days 30 2>>"$d/openssl.log"
    "${ca[@]}" -in "$d/expired.csr" -out "$d/expired.crt" \
        -startdate "$(date -u -d '-90 days' +%Y%m%d%H%M%SZ)" \
        -enddate "$(date -u -d '-30 days' +%Y%m%d%H%M%SZ)" 2>>"$d/openssl.log"
    chmod 644 "$d"/*.crt
    if openssl verify -CAfile "$d/ca.crt" "$d/expired.crt" >/dev/null 2>&1 ||
        ! openssl verify -CAfile "$d/ca.crt" "$d/valid.crt" >/dev/null 2>&1; then
        echo "generate.sh: the certificates in $d are not what they should be" >&2
        cat "$d/openssl.log" >&2
        return 1
    fi
}

# Free loopback ports: one for the proxy (PORT) and one per backend.
read -r -a ports <<<"$("$PYTHON" - <<'PY'
import socket
socks = []
for _ in range(12):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
PY
)"
PORT=${ports[0]}
names=(users-1 users-2 shop-1 shop-2 search-1 search-2 carts-1
       inventory-1 reviews-1 account-1 payments-1)
declare -A bport bpool=(
    [users-1]=users_api [users-2]=users_api [shop-1]=shop_web [shop-2]=shop_web
    [search-1]=search_api [search-2]=search_api [carts-1]=carts_api
    [inventory-1]=inventory_api [reviews-1]=reviews_api [account-1]=account_web
    [payments-1]=payments_api
)
for i in "${!names[@]}"; do bport[${names[$i]}]=${ports[$((i + 1))]}; done

# The sed expressions that fill in @PORT@ and every backend's @NAME@ (users-1 → @USERS1@).
port_subst() {
    local n
    printf -- '-e s#@PORT@#%s#g ' "$PORT"
    for n in "${names[@]}"; do
        printf -- '-e s#@%s@#%s#g ' "$(echo "$n" | tr -d '-' | tr '[:lower:]' '[:upper:]')" \
            "${bport[$n]}"
    done
}

# Starts the backends and writes run/backends.json, which traffic.py reads to break them
# (and to start a killed one again with the same arguments).
start_backends() {
    local n json sep="" argv a asep
    make_certs "$tmp/tls"
    say "backends: $(for n in "${names[@]}"; do printf '%s=%s ' "$n" "${bport[$n]}"; done)"
    json='{"backends": ['
    for n in "${names[@]}"; do
        argv=("$PYTHON" "$examples/nginx/backend.py" --port "${bport[$n]}" --name "$n"
              --app-log "$tmp/logs/$n.app.log")
        case "$n" in
            inventory-*) argv+=(--db "$tmp/run/$n.db") ;;
            payments-*) argv+=(--tls-dir "$tmp/tls") ;;
        esac
        setsid "${argv[@]}" </dev/null >>"$tmp/logs/$n.log" 2>&1 &
        echo $! >"$tmp/run/$n.pid"
        disown $!
        json+="$sep{\"name\": \"$n\", \"pool\": \"${bpool[$n]}\", \"port\": ${bport[$n]},"
        json+=" \"tls\": $([[ $n == payments-* ]] && echo true || echo false),"
        json+=" \"pidfile\": \"$tmp/run/$n.pid\", \"log\": \"$tmp/logs/$n.log\", \"argv\": ["
        asep=""
        for a in "${argv[@]}"; do json+="$asep\"$a\""; asep=", "; done
        json+="]}"
        sep=", "
    done
    echo "$json]}" >"$tmp/run/backends.json"
    for n in "${names[@]}"; do wait_port "${bport[$n]}" "$n"; done
}

# The application logs of all backends, as one file in time order (each record whole).
merge_app_logs() {
    "$PYTHON" "$examples/applog.py" "$1" "$tmp"/logs/*.app.log
}
