#!/usr/bin/env bash
# Writes the Apache and nginx-JSON fixtures of this directory with a real Apache httpd and a
# real nginx, both proxying to a Python backend on loopback and to a port nobody listens on.
# Needs apache2 (Debian's, with mod_proxy_balancer), nginx, python3 and curl. Run as root
# (both servers drop to an unprivileged user for their workers) or as the owner of the ports.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    [ -f "$tmp/httpd.pid" ] && kill "$(cat "$tmp/httpd.pid")" 2>/dev/null || true
    sleep 0.5
    rm -rf "$tmp"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
APACHE=$(free_port)
NGINX=$(free_port)
BACKEND=$(free_port)
DEAD=$(free_port)

mkdir -p "$tmp/www/api/items" "$tmp/static" "$tmp/nginx"
echo '{"items":[1,2,3]}' >"$tmp/www/api/items/index.html"
echo '{"ok":true}' >"$tmp/www/api/health"
echo 'body { color: #333 }' >"$tmp/static/site.css"
chmod -R a+rX "$tmp"

python3 -m http.server --bind 127.0.0.1 --directory "$tmp/www" "$BACKEND" >/dev/null 2>&1 &
backend=$!
pids+=("$backend")

mods=/usr/lib/apache2/modules
cat >"$tmp/httpd.conf" <<EOF
ServerRoot $tmp
DefaultRuntimeDir $tmp
PidFile $tmp/httpd.pid
Mutex file:$tmp default
ServerName www.example.test
Listen 127.0.0.1:$APACHE
User nobody
Group nogroup
LoadModule mpm_event_module $mods/mod_mpm_event.so
LoadModule authz_core_module $mods/mod_authz_core.so
LoadModule proxy_module $mods/mod_proxy.so
LoadModule proxy_http_module $mods/mod_proxy_http.so
LoadModule proxy_balancer_module $mods/mod_proxy_balancer.so
LoadModule slotmem_shm_module $mods/mod_slotmem_shm.so
LoadModule lbmethod_byrequests_module $mods/mod_lbmethod_byrequests.so
ErrorLog $tmp/apache-error.log
LogLevel warn
LogFormat "%h %l %u %t \"%r\" %>s %b \"%{Referer}i\" \"%{User-agent}i\"" combined
LogFormat "%v:%p %h %l %u %t \"%r\" %>s %O \"%{Referer}i\" \"%{User-Agent}i\"" vhost_combined
LogFormat "%h %l %u %t \"%r\" %>s %b \"%{Referer}i\" \"%{User-agent}i\" %D %{BALANCER_WORKER_NAME}e \"%{Host}i\"" proxy
CustomLog $tmp/apache-combined.log combined
CustomLog $tmp/apache-vhost_combined.log vhost_combined
CustomLog $tmp/apache-proxy.log proxy
DocumentRoot $tmp/static
<Directory $tmp/static>
    Require all granted
</Directory>
<Proxy balancer://api>
    BalancerMember http://127.0.0.1:$BACKEND retry=1
    BalancerMember http://127.0.0.1:$DEAD retry=1
</Proxy>
ProxyPass /api balancer://api/api
EOF
apache2 -f "$tmp/httpd.conf" -k start

cat >"$tmp/nginx/nginx.conf" <<EOF
worker_processes 1;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/error.log warn;
events { worker_connections 64; }
http {
    client_body_temp_path $tmp/nginx/body;
    proxy_temp_path $tmp/nginx/proxy;
    fastcgi_temp_path $tmp/nginx/fastcgi;
    uwsgi_temp_path $tmp/nginx/uwsgi;
    scgi_temp_path $tmp/nginx/scgi;
    log_format json escape=json '{"time_iso8601":"\$time_iso8601","remote_addr":"\$remote_addr",'
        '"request":"\$request","status":\$status,"body_bytes_sent":\$body_bytes_sent,'
        '"request_time":\$request_time,"upstream_addr":"\$upstream_addr",'
        '"upstream_status":"\$upstream_status","upstream_response_time":"\$upstream_response_time",'
        '"host":"\$host","http_referer":"\$http_referer","http_user_agent":"\$http_user_agent",'
        '"request_id":"\$request_id"}';
    access_log $tmp/nginx/access.log json;
    upstream api { server 127.0.0.1:$DEAD; server 127.0.0.1:$BACKEND; }
    server {
        listen 127.0.0.1:$NGINX;
        server_name api.example.test;
        location /api/ { proxy_pass http://api; proxy_connect_timeout 1s; }
        location / { root $tmp/static; }
    }
}
EOF
nginx -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf" -e stderr -g 'daemon off;' &
pids+=($!)
sleep 1

# The same requests to both servers.
requests() {
    local base=$1 host=$2
    local c=(curl -s -o /dev/null --max-time 5 -H "Host: $host")
    "${c[@]}" -A 'curl/8.5.0' "$base/api/items/"
    "${c[@]}" -A 'curl/8.5.0' -H 'X-Request-ID: 5f1e0c2a' "$base/api/items/?page=2&q=a%20b"
    "${c[@]}" -A 'Mozilla/5.0 (X11; Linux x86_64) "quoted" \back' -e 'https://shop.example.test/' "$base/api/health"
    "${c[@]}" -A 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_3 like Mac OS X)' "$base/site.css"
    "${c[@]}" -A 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_3 like Mac OS X)' -z "$tmp/static/site.css" "$base/site.css"
    "${c[@]}" -A 'curl/8.5.0' -I "$base/site.css"
    "${c[@]}" -A 'okhttp/4.12.0' -X POST -d '{}' "$base/api/missing"
    "${c[@]}" -A 'kube-probe/1.29' "$base/api/health"
    "${c[@]}" -A '' "$base/favicon.ico"
    python3 - "${base#http://}" <<'PY'
import socket, sys
host, port = sys.argv[1].split(":")
s = socket.create_connection((host, int(port)), timeout=3)
s.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 junk\r\n\r\n")
try:
    s.recv(4096)
except OSError:
    pass
s.close()
PY
}
for _ in 1 2; do
    requests "http://127.0.0.1:$APACHE" www.example.test
    requests "http://127.0.0.1:$NGINX" api.example.test
done
# The backend goes away: every member of the pools refuses connections.
kill "$backend"
sleep 2
for _ in 1 2 3; do
    for base in "http://127.0.0.1:$APACHE" "http://127.0.0.1:$NGINX"; do
        curl -s -o /dev/null --max-time 5 -A 'curl/8.5.0' "$base/api/items/"
    done
done
sleep 1

cp "$tmp/apache-combined.log" "$here/apache-2.4-combined-access.log"
cp "$tmp/apache-vhost_combined.log" "$here/apache-2.4-vhost_combined-access.log"
cp "$tmp/apache-proxy.log" "$here/apache-2.4-proxy-access.log"
cp "$tmp/nginx/access.log" "$here/nginx-1.22-json-access.log"
wc -l "$here"/apache-2.4-*.log "$here/nginx-1.22-json-access.log"
