//! nginx error-log lines: loggen's samples and the signature catalog's.

use faultline_formats::{parse_apache_error, parse_nginx_error};

const T0: i64 = 1_710_230_400; // 2024-03-12T08:00:00 read as UTC

#[test]
fn connection_refused_with_upstream() {
    let l = parse_nginx_error(br#"2024/03/12 08:13:25 [error] 2811#2811: *228540 connect() failed (111: Connection refused) while connecting to upstream, client: 59.190.46.174, server: api.example.com, request: "GET /api/v1/users/7877/preferences HTTP/2.0", upstream: "http://10.0.1.12:8080/api/v1/users/7877/preferences", host: "api.example.com""#).unwrap();
    assert_eq!(l.local_secs, T0 + 13 * 60 + 25);
    assert_eq!(l.level, b"error");
    assert_eq!(l.pid, 2811);
    assert_eq!(l.connection, Some(228_540));
    assert_eq!(
        l.message,
        b"connect() failed (111: Connection refused) while connecting to upstream"
    );
    assert_eq!(l.client, b"59.190.46.174");
    assert_eq!(l.server, b"api.example.com");
    assert_eq!(l.request, b"GET /api/v1/users/7877/preferences HTTP/2.0");
    assert_eq!(
        l.upstream,
        b"http://10.0.1.12:8080/api/v1/users/7877/preferences"
    );
    assert_eq!(l.host, b"api.example.com");
}

#[test]
fn no_live_upstreams_with_referrer() {
    let l = parse_nginx_error(br#"2024/03/12 08:33:33 [error] 2812#2812: *488321 no live upstreams while connecting to upstream, client: 35.184.145.32, server: api.example.com, request: "GET /api/v1/carts?page=2 HTTP/1.1", upstream: "http://orders_backend/api/v1/carts?page=2", host: "api.example.com", referrer: "https://shop.example.com/""#).unwrap();
    assert_eq!(l.message, b"no live upstreams while connecting to upstream");
    assert_eq!(l.phase, b"connecting to upstream");
    assert_eq!(l.upstream, b"http://orders_backend/api/v1/carts?page=2");
    assert_eq!(l.host, b"api.example.com");
    assert_eq!(l.pid, 2812);
}

#[test]
fn timeout_with_a_query_string() {
    let l = parse_nginx_error(br#"2024/03/12 08:01:11 [error] 2811#2811: *78725 upstream timed out (110: Connection timed out) while reading response header from upstream, client: 118.9.22.7, server: shop.example.com, request: "GET /category/authentication/gift-ideas?color=red&size=m HTTP/2.0", upstream: "http://10.0.8.12:3000/category/authentication/gift-ideas?color=red&size=m", host: "shop.example.com", referrer: "https://shop.example.com/new-arrivals""#).unwrap();
    assert!(l.message.starts_with(b"upstream timed out (110:"));
    assert_eq!(
        l.request,
        b"GET /category/authentication/gift-ideas?color=red&size=m HTTP/2.0"
    );
    assert_eq!(l.local_secs, T0 + 71);
}

#[test]
fn limit_req_has_a_comma_in_the_message_and_no_upstream() {
    let l = parse_nginx_error(br#"2024/03/12 09:23:12 [error] 2811#2811: *1217223 limiting requests, excess: 16.838 by zone "perserver", client: 142.143.105.112, server: shop.example.com, request: "GET /products/winter-boots-565927?gclid=Wkt8Dz4i4plkZmN025SER8 HTTP/2.0", host: "shop.example.com""#).unwrap();
    assert_eq!(
        l.message,
        br#"limiting requests, excess: 16.838 by zone "perserver""#
    );
    assert_eq!(l.client, b"142.143.105.112");
    assert_eq!(l.upstream, b"");
    assert_eq!(l.host, b"shop.example.com");
    assert_eq!(l.connection, Some(1_217_223));
}

#[test]
fn open_failed_and_warnings() {
    let l = parse_nginx_error(br#"2024/03/12 08:00:00 [error] 2814#2814: *64626 open() "/var/www/static/img/products/145984/thumb.jpg" failed (2: No such file or directory), client: 101.0.47.172, server: static.example.com, request: "GET /img/products/145984/thumb.jpg HTTP/2.0", host: "static.example.com", referrer: "https://www.example.com/products/how-we-scaled-1030573""#).unwrap();
    assert!(l.message.starts_with(br#"open() "/var/www/static"#));
    assert_eq!(l.server, b"static.example.com");

    let w = parse_nginx_error(br#"2024/03/12 08:00:28 [warn] 2812#2812: *69858 an upstream response is buffered to a temporary file /var/cache/nginx/proxy_temp/8/65/0000079858 while reading upstream, client: 203.0.113.14, server: admin.example.com, request: "GET /reports/export?... HTTP/2.0", upstream: "http://10.0.9.11:8000/reports/export?...", host: "admin.example.com", referrer: "https://admin.example.com/dashboard""#).unwrap();
    assert_eq!(w.level, b"warn");
    assert_eq!(w.upstream, b"http://10.0.9.11:8000/reports/export?...");
    assert_eq!(w.local_secs, T0 + 28);
}

#[test]
fn default_server_named_underscore() {
    let l = parse_nginx_error(br#"2024/03/12 08:00:01 [error] 2811#2811: *64795 open() "/usr/share/nginx/html/cgi-bin/luci/;stok=/locale" failed (2: No such file or directory), client: 51.218.50.224, server: _, request: "GET /cgi-bin/luci/;stok=/locale HTTP/1.1", host: "198.51.100.10""#).unwrap();
    assert_eq!(l.server, b"_");
    assert_eq!(l.host, b"198.51.100.10");
}

#[test]
fn signature_catalog_sample() {
    // reference/error-signatures.toml, format id nginx.error_log.
    let l = parse_nginx_error(br#"2026/05/14 10:21:33 [error] 2712#2712: *50913 upstream timed out (110: Connection timed out) while reading response header from upstream, client: 203.0.113.7, server: shop.example.com, request: "GET /api/orders HTTP/1.1", upstream: "http://10.0.3.21:8080/api/orders", host: "shop.example.com", referrer: "https://shop.example.com/cart""#).unwrap();
    assert_eq!(l.local_secs, 1_778_754_093);
    assert_eq!((l.pid, l.connection), (2712, Some(50_913)));
    assert_eq!(l.client, b"203.0.113.7");
    assert_eq!(l.server, b"shop.example.com");
    assert_eq!(l.request, b"GET /api/orders HTTP/1.1");
    assert_eq!(l.upstream, b"http://10.0.3.21:8080/api/orders");
    assert_eq!(l.host, b"shop.example.com");
}

#[test]
fn access_lines_are_not_error_lines() {
    assert!(parse_nginx_error(
        br#"1.2.3.4 - - [12/Mar/2024:08:00:00 +0000] "GET / HTTP/1.1" 200 1 "-" "-""#
    )
    .is_none());
    assert!(parse_nginx_error(b"Traceback (most recent call last):").is_none());
}

#[test]
fn the_phase_and_thread_are_read() {
    let l = parse_nginx_error(br#"2024/03/12 08:01:11 [error] 2811#2817: *78725 upstream timed out (110: Connection timed out) while reading response header from upstream, client: 118.9.22.7, server: a, request: "GET / HTTP/1.1", upstream: "http://10.0.8.12:3000/", host: "a""#).unwrap();
    assert_eq!(l.phase, b"reading response header from upstream");
    assert_eq!(l.tid, 2817);
    let l = parse_nginx_error(b"2024/03/12 08:01:11 [notice] 1#1: signal process started").unwrap();
    assert_eq!(l.phase, b"");
}

#[test]
fn apache_module_level_ids_and_code_are_read() {
    let l = parse_apache_error(b"[Wed Nov 25 00:05:07.994074 2026] [proxy_http:error] [pid 9932:tid 9951] (70007)The timeout specified has expired: [client 198.51.100.27:0] AH01102: error reading status line from remote server 127.0.0.1:41795").unwrap();
    assert_eq!(l.server, b"proxy_http");
    assert_eq!(l.level, b"error");
    assert_eq!((l.pid, l.tid), (9932, 9951));
    assert_eq!(l.client, b"198.51.100.27:0");
    assert_eq!(l.code, b"AH01102");
    let l = parse_apache_error(b"[Wed Nov 25 00:03:40.107795 2026] [mpm_event:notice] [pid 9924:tid 9924] AH00489: Apache/2.4.71 (Debian) configured -- resuming normal operations").unwrap();
    assert_eq!(l.code, b"AH00489");
    assert_eq!(l.client, b"");
}
