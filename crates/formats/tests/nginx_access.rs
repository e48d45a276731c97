//! nginx access lines as loggen and real servers write them, field by field.

use faultline_formats::{AccessParser, FormatError, Record, TimeCache};

const T0: i64 = 1_710_230_400; // 2024-03-12T08:00:00Z

fn parse<'a>(p: &AccessParser, line: &'a [u8]) -> Record<'a> {
    let mut rec = Record::default();
    if let Err(e) = p.parse(line, &mut rec, &mut TimeCache::default()) {
        panic!("{} on {}", e, String::from_utf8_lossy(line));
    }
    rec
}

fn reason(p: &AccessParser, line: &[u8]) -> &'static str {
    let mut rec = Record::default();
    p.parse(line, &mut rec, &mut TimeCache::default())
        .expect_err("should not parse")
        .reason
}

fn extended() -> AccessParser {
    AccessParser::preset("extended").unwrap()
}

#[test]
fn ipv6_client_with_a_query_string() {
    let line = br#"2a02:810d:e1c6::df28 - - [12/Mar/2024:08:00:00 +0000] "GET /api/v1/carts?limit=50&offset=800 HTTP/1.1" 200 6687 "-" "Mozilla/5.0 (...) Chrome/122.0.0.0 Safari/537.36" 0.135 0.132 10.0.2.11:8080 200 "api.example.com""#;
    let r = parse(&extended(), line);
    assert_eq!(r.remote_addr, b"2a02:810d:e1c6::df28");
    assert_eq!(r.time.unwrap().secs, T0);
    assert_eq!(r.time.unwrap().offset, 0);
    assert_eq!(r.method, b"GET");
    assert_eq!(r.path, b"/api/v1/carts?limit=50&offset=800");
    assert_eq!(r.path_only(), b"/api/v1/carts");
    assert_eq!(r.protocol, b"HTTP/1.1");
    assert_eq!(r.status, 200);
    assert_eq!(r.bytes_sent, Some(6687));
    assert_eq!(r.referer, b"");
    assert_eq!(
        r.user_agent,
        b"Mozilla/5.0 (...) Chrome/122.0.0.0 Safari/537.36"
    );
    assert_eq!(r.request_time_us, Some(135_000));
    assert_eq!(r.upstream_response_time, b"0.132");
    assert_eq!(r.upstream_addr, b"10.0.2.11:8080");
    assert_eq!(r.upstream_status, b"200");
    assert_eq!(r.host, b"api.example.com");
}

#[test]
fn remote_user_and_referer() {
    let line = br#"203.0.113.23 - dave [12/Mar/2024:08:00:00 +0000] "GET /dashboard HTTP/2.0" 200 107636 "https://admin.example.com/dashboard" "Mozilla/5.0 (...)" 0.318 0.305 10.0.9.11:8000 200 "admin.example.com""#;
    let r = parse(&extended(), line);
    assert_eq!(r.referer, b"https://admin.example.com/dashboard");
    assert_eq!(r.protocol, b"HTTP/2.0");
    assert_eq!(r.bytes_sent, Some(107_636));
    assert_eq!(r.host, b"admin.example.com");
}

#[test]
fn multi_attempt_upstream_lists_stay_whole() {
    let line = br#"80.89.250.50 - - [12/Mar/2024:08:00:20 +0000] "GET /docs/phone-case/webhooks HTTP/2.0" 200 33896 "-" "Mozilla/5.0 (...)" 0.049 0.021, 0.024 10.0.7.12:3000, 10.0.7.13:3000 502, 200 "www.example.com""#;
    let r = parse(&extended(), line);
    assert_eq!(r.time.unwrap().secs, T0 + 20);
    assert_eq!(r.status, 200);
    assert_eq!(r.request_time_us, Some(49_000));
    assert_eq!(r.upstream_response_time, b"0.021, 0.024");
    assert_eq!(r.upstream_addr, b"10.0.7.12:3000, 10.0.7.13:3000");
    assert_eq!(r.upstream_status, b"502, 200");
    assert_eq!(faultline_model::upstream::last(r.upstream_status), b"200");
    assert_eq!(r.host, b"www.example.com");
}

#[test]
fn every_attempt_failed() {
    let line = br#"2601:646:81ac::eb69 - - [12/Mar/2024:08:33:33 +0000] "GET /api/v1/shipments/12033351 HTTP/1.1" 502 157 "-" "Mozilla/5.0 (...)" 0.001 0.000, 0.000 10.0.2.11:8080, 10.0.2.12:8080 502, 502 "api.example.com""#;
    let r = parse(&extended(), line);
    assert_eq!(r.status, 502);
    assert_eq!(r.upstream_status, b"502, 502");
    assert_eq!(r.upstream_addr, b"10.0.2.11:8080, 10.0.2.12:8080");
    assert_eq!(r.time.unwrap().secs, T0 + 33 * 60 + 33);
}

#[test]
fn upstream_groups_joined_by_colon() {
    let line = br#"10.1.1.1 - - [12/Mar/2024:08:00:00 +0000] "GET /x HTTP/1.1" 404 0 "-" "-" 0.010 0.004 : 0.005 10.0.2.11:8080 : 10.0.7.11:3000 404 : 404 "h""#;
    let r = parse(&extended(), line);
    assert_eq!(r.upstream_response_time, b"0.004 : 0.005");
    assert_eq!(r.upstream_addr, b"10.0.2.11:8080 : 10.0.7.11:3000");
    assert_eq!(r.upstream_status, b"404 : 404");
}

#[test]
fn pool_name_when_no_live_upstreams() {
    let line = br#"35.184.145.32 - - [12/Mar/2024:08:33:33 +0000] "GET /api/v1/carts?page=2 HTTP/1.1" 502 157 "https://shop.example.com/" "okhttp/4.12.0" 0.000 0.000 orders_backend 502 "api.example.com""#;
    let r = parse(&extended(), line);
    assert_eq!(r.upstream_addr, b"orders_backend");
    assert!(!faultline_model::upstream::is_server_addr(r.upstream_addr));
    assert_eq!(r.user_agent, b"okhttp/4.12.0");
    assert_eq!(r.request_time_us, Some(0));
}

#[test]
fn timeout_of_sixty_seconds() {
    let line = br#"84.202.19.189 - - [12/Mar/2024:08:01:41 +0000] "GET /api/v1/search/suggest?q=desk HTTP/2.0" 504 167 "https://shop.example.com/products/smart-watch-297044" "Mozilla/5.0 (...)" 60.001 60.001 10.0.4.11:8081 504 "api.example.com""#;
    let r = parse(&extended(), line);
    assert_eq!(r.status, 504);
    assert_eq!(r.request_time_us, Some(60_001_000));
    assert_eq!(r.upstream_response_time, b"60.001");
}

#[test]
fn dashes_for_requests_nginx_answered_itself() {
    let line = br#"142.143.105.112 - - [12/Mar/2024:09:23:12 +0000] "GET /products/winter-boots-565927?gclid=Wkt8Dz4i4plkZmN025SER8 HTTP/2.0" 503 197 "-" "Mozilla/5.0 (...)" 0.001 - - - "shop.example.com""#;
    let r = parse(&extended(), line);
    assert_eq!(r.status, 503);
    assert_eq!(r.upstream_addr, b"");
    assert_eq!(r.upstream_status, b"");
    assert_eq!(r.upstream_response_time, b"");
    assert_eq!(r.request_time_us, Some(1_000));
    assert_eq!(r.host, b"shop.example.com");
}

#[test]
fn client_closed_request_has_no_upstream_status() {
    let line = br#"66.229.77.92 - - [12/Mar/2024:08:00:09 +0000] "GET /search?q=usb+c HTTP/2.0" 499 0 "https://shop.example.com/pricing-update" "Mozilla/5.0 (...)" 0.078 0.076 10.0.8.11:3000 - "shop.example.com""#;
    let r = parse(&extended(), line);
    assert_eq!(r.status, 499);
    assert_eq!(r.bytes_sent, Some(0));
    assert_eq!(r.upstream_addr, b"10.0.8.11:3000");
    assert_eq!(r.upstream_status, b"");
}

#[test]
fn junk_tls_hello_is_a_valid_line() {
    let line = br#"43.55.85.247 - - [12/Mar/2024:08:01:38 +0000] "\x16\x03\x01\x02\x00\x01\x00\x01\xFC\x03\x03\xF7R\xB58\x8F-\x97\x1D\xDF!\xD5$\xAEjE\x85\xD1\xAB\xC0\x01\x18l\xEC\xA0\xE0" 400 157 "-" "-" 0.233 - - - "_""#;
    let r = parse(&extended(), line);
    assert_eq!(r.status, 400);
    assert!(r.method.starts_with(br"\x16\x03\x01"));
    assert_eq!(r.path, b"");
    assert_eq!(r.protocol, b"");
    assert_eq!(r.user_agent, b"");
    assert_eq!(r.host, b"_");
    assert_eq!(&faultline_formats::unescape(r.method)[..3], b"\x16\x03\x01");
}

#[test]
fn empty_request_is_a_valid_line() {
    let line =
        br#"19.242.183.206 - - [12/Mar/2024:08:09:01 +0000] "" 400 0 "-" "-" 0.015 - - - "_""#;
    let r = parse(&extended(), line);
    assert_eq!(r.status, 400);
    assert_eq!(
        (r.method, r.path, r.protocol),
        (&b""[..], &b""[..], &b""[..])
    );
    assert_eq!(r.request_time_us, Some(15_000));
}

#[test]
fn scanner_user_agent_with_commas_and_entities() {
    let line = br#"67.167.91.241 - - [12/Mar/2024:08:00:02 +0000] "GET /phpmyadmin/index.php HTTP/1.1" 404 153 "-" "Expanse, a Palo Alto Networks company, searches across the global IPv4 space multiple times per day to identify customers&#39; presences on the Internet. If you would like to be excluded from our scans, please send IP addresses/domains to: scaninfo@paloaltonetworks.com" 0.001 - - - "198.51.100.10""#;
    let r = parse(&extended(), line);
    assert!(r.user_agent.starts_with(b"Expanse, a Palo Alto"));
    assert!(r.user_agent.ends_with(b"scaninfo@paloaltonetworks.com"));
    assert_eq!(r.status, 404);
    assert_eq!(r.host, b"198.51.100.10");
}

#[test]
fn offsets_other_than_utc() {
    let line = br#"10.0.0.2 - - [12/Mar/2024:10:00:00 +0200] "GET /healthz HTTP/1.1" 200 2 "-" "kube-probe/1.29" 0.000 - - - "_""#;
    let t = parse(&extended(), line).time.unwrap();
    assert_eq!((t.secs, t.offset), (T0, 7200));
}

#[test]
fn bad_lines_give_their_reason() {
    let p = extended();
    let ok = br#"1.2.3.4 - - [12/Mar/2024:08:00:00 +0000] "GET / HTTP/1.1" 200 1 "-" "-" 0.001 - - - "h""#;
    parse(&p, ok);
    let swap = |from: &str, to: &str| String::from_utf8_lossy(ok).replacen(from, to, 1);
    assert_eq!(
        reason(&p, swap("08:00:00", "08:00:0x").as_bytes()),
        "bad timestamp"
    );
    assert_eq!(
        reason(&p, swap(" 200 ", " - ").as_bytes()),
        "missing status"
    );
    assert_eq!(reason(&p, swap(" 200 ", " 2000 ").as_bytes()), "bad status");
    assert_eq!(
        reason(&p, swap(" 200 1 ", " 200 x ").as_bytes()),
        "bad number"
    );
    assert_eq!(
        reason(&p, swap("0.001", "fast").as_bytes()),
        "bad seconds value"
    );
    assert_eq!(
        reason(&p, (swap("", "") + " extra").as_bytes()),
        "line does not match the format"
    );
    assert_eq!(
        reason(&p, b"not a log line"),
        "line does not match the format"
    );
    assert_eq!(reason(&p, b""), "line does not match the format");
    assert_eq!(reason(&p, &ok[..50]), "unterminated quoted value");
}

#[test]
fn every_preset_parses_a_realistic_line() {
    let cases: [(&str, &[u8]); 5] = [
        ("combined", br#"203.0.113.7 - - [14/May/2026:10:21:33 +0000] "GET /api/orders HTTP/1.1" 504 167 "https://shop.example.com/cart" "Mozilla/5.0 (X11; Linux x86_64)""#),
        ("main", br#"203.0.113.7 - - [14/May/2026:10:21:33 +0000] "GET /api/orders HTTP/1.1" 504 167 "-" "curl/8.5.0" "198.51.100.4, 10.0.0.1""#),
        ("extended", br#"203.0.113.7 - - [14/May/2026:10:21:33 +0000] "GET /api/orders HTTP/1.1" 504 167 "-" "curl/8.5.0" 60.001 60.001 10.0.3.21:8080 504 "shop.example.com""#),
        ("upstream_time", br#"203.0.113.7 - - [14/May/2026:10:21:33 +0000] "GET /api/orders HTTP/1.1" 504 167 "-" "curl/8.5.0" rt=60.001 uct="0.000" uht="-" urt="60.001""#),
        ("upstreaminfo", br#"203.0.113.7 - - [14/May/2026:10:21:33 +0000] "GET /api/orders HTTP/1.1" 504 167 "-" "curl/8.5.0" 412 60.001 [shop-api-8080] [] 10.244.1.17:8080 0 60.001 504 0123456789abcdef0123456789abcdef"#),
    ];
    // nginx presets come first; Apache and JSON presets follow.
    assert_eq!(AccessParser::presets()[..5], cases.map(|c| c.0));
    for (name, line) in cases {
        let p = AccessParser::preset(name).unwrap();
        assert_eq!(p.name(), name);
        let r = parse(&p, line);
        assert_eq!(r.status, 504, "{name}");
        assert_eq!(r.path, b"/api/orders", "{name}");
        assert_eq!(r.time.unwrap().secs, 1_778_754_093, "{name}");
        assert_eq!(r.bytes_sent, Some(167), "{name}");
        assert_eq!(r.remote_addr, b"203.0.113.7", "{name}");
    }
    let main = parse(&AccessParser::preset("main").unwrap(), cases[1].1);
    assert_eq!(main.forwarded_for, b"198.51.100.4, 10.0.0.1");
    let ut = parse(&AccessParser::preset("upstream_time").unwrap(), cases[3].1);
    assert_eq!(ut.request_time_us, Some(60_001_000));
    assert_eq!(ut.upstream_connect_time, b"0.000");
    assert_eq!(ut.upstream_header_time, b"");
    assert_eq!(ut.upstream_response_time, b"60.001");
}

#[test]
fn ingress_nginx_upstreaminfo() {
    let line = br#"203.0.113.7 - - [14/May/2026:10:21:33 +0000] "POST /api/checkout HTTP/2.0" 200 512 "-" "okhttp/4.12.0" 734 0.412 [shop-api-8080] [] 10.244.1.17:8080, 10.244.2.9:8080 0, 512 0.001, 0.410 502, 200 7f3c2a1b9d8e4f60a1b2c3d4e5f60718"#;
    let p = AccessParser::preset("upstreaminfo").unwrap();
    assert!(p.has_upstream() && p.has_timing());
    let r = parse(&p, line);
    assert_eq!(r.method, b"POST");
    assert_eq!(r.path, b"/api/checkout");
    assert_eq!(r.status, 200);
    assert_eq!(r.bytes_sent, Some(512));
    assert_eq!(r.user_agent, b"okhttp/4.12.0");
    assert_eq!(r.request_time_us, Some(412_000));
    assert_eq!(r.upstream_addr, b"10.244.1.17:8080, 10.244.2.9:8080");
    assert_eq!(r.upstream_response_time, b"0.001, 0.410");
    assert_eq!(r.upstream_status, b"502, 200");
    assert_eq!(r.request_id, b"7f3c2a1b9d8e4f60a1b2c3d4e5f60718");
    assert_eq!(r.host, b"");
}

#[test]
fn custom_format_with_iso_time_msec_ids_and_braces() {
    let iso = AccessParser::nginx(
        r#"$time_iso8601 ${host} $request_id $connection "$request" $status $request_time"#,
    )
    .unwrap();
    assert_eq!((iso.name(), iso.field_count()), ("custom", 7));
    let line = br#"2024-03-12T09:00:00+01:00 api.example.com 5f1e0c2a9b7d4e3f8a6b5c4d3e2f1a0b 228540 "DELETE /api/v1/carts/7 HTTP/1.1" 204 0.003"#;
    let r = parse(&iso, line);
    let t = r.time.unwrap();
    assert_eq!((t.secs, t.offset), (T0, 3600));
    assert_eq!(r.host, b"api.example.com");
    assert_eq!(r.request_id, b"5f1e0c2a9b7d4e3f8a6b5c4d3e2f1a0b");
    assert_eq!(r.connection, Some(228_540));
    assert_eq!(r.method, b"DELETE");
    assert_eq!(r.status, 204);
    assert_eq!(r.request_time_us, Some(3_000));

    let msec =
        AccessParser::nginx("$msec|$remote_addr|$status|$request_method|$uri|$bytes_sent").unwrap();
    let r = parse(&msec, b"1710230400.123|10.0.0.9|503|GET|/healthz|-");
    assert_eq!(r.time.unwrap().secs, T0);
    assert_eq!(
        (r.status, r.method, r.path),
        (503, &b"GET"[..], &b"/healthz"[..])
    );
    assert_eq!(r.bytes_sent, None);
}

#[test]
fn time_local_without_brackets_has_a_fixed_width() {
    let p = AccessParser::nginx("$time_local $status $request_uri").unwrap();
    let r = parse(&p, b"12/Mar/2024:08:00:00 +0000 500 /a b");
    assert_eq!(
        (r.time.unwrap().secs, r.status, r.path),
        (T0, 500, &b"/a b"[..])
    );
}

#[test]
fn precise_variables_win_over_derived_ones() {
    let p = AccessParser::nginx(
        r#"$request_method $request_uri $uri $server_protocol "$request" $status $http_host $server_name"#,
    )
    .unwrap();
    let r = parse(
        &p,
        br#"GET /raw%20x?q=1 /raw_x HTTP/1.0 "POST /other HTTP/1.1" 200 h.example s.example"#,
    );
    assert_eq!(
        (r.method, r.path, r.protocol),
        (&b"GET"[..], &b"/raw%20x?q=1"[..], &b"HTTP/1.0"[..])
    );
    assert_eq!(r.host, b"h.example");
}

#[test]
fn formats_that_cannot_be_compiled() {
    assert!(matches!(
        AccessParser::nginx("$remote_addr [$time_local]"),
        Err(FormatError::NoStatus)
    ));
    assert!(
        matches!(AccessParser::preset("apache"), Err(FormatError::UnknownPreset(n)) if n == "apache")
    );
    assert!(matches!(
        AccessParser::nginx("$status $"),
        Err(FormatError::BadVariable(8))
    ));
    assert!(
        matches!(AccessParser::nginx("$status$request_time"), Err(FormatError::Adjacent(v)) if v == "status")
    );
    assert_eq!(
        FormatError::NoStatus.to_string(),
        "log_format has no $status variable"
    );
}

#[test]
fn a_record_is_cleared_between_lines() {
    let p = extended();
    let full = br#"1.2.3.4 - - [12/Mar/2024:08:00:00 +0000] "GET / HTTP/1.1" 200 1 "https://r/" "ua" 0.001 0.001 10.0.0.1:80 200 "h""#;
    let mut rec = Record::default();
    let mut cache = TimeCache::default();
    p.parse(full, &mut rec, &mut cache).unwrap();
    assert_eq!(rec.referer, b"https://r/");
    p.parse(b"garbage", &mut rec, &mut cache).unwrap_err();
    assert_eq!(rec.referer, b"");
    assert_eq!(rec.status, 0);
}
