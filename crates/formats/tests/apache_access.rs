//! Apache access lines (mod_log_config) as httpd writes them, field by field.

use faultline_formats::{AccessParser, FormatError, Record, TimeCache};

/// 10/Oct/2000:13:55:36 -0700, the example of Apache's documentation.
const DOC_TIME: i64 = 971_211_336;
const T0: i64 = 1_710_230_400; // 2024-03-12T08:00:00Z

/// `combined` with the request time, the balancer worker and the Host header.
const PROXY: &str = r#"%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-agent}i" %D %{BALANCER_WORKER_NAME}e "%{Host}i""#;

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

fn preset(name: &str) -> AccessParser {
    AccessParser::preset(name).unwrap()
}

#[test]
fn the_documentation_example_in_common_format() {
    let p = preset("apache_common");
    assert_eq!((p.dialect(), p.name()), ("apache", "apache_common"));
    assert!(!p.has_upstream() && !p.has_timing());
    let r = parse(
        &p,
        br#"127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326"#,
    );
    assert_eq!(r.remote_addr, b"127.0.0.1");
    let t = r.time.unwrap();
    assert_eq!((t.secs, t.offset), (DOC_TIME, -7 * 3600));
    assert_eq!(
        (r.method, r.path, r.protocol),
        (&b"GET"[..], &b"/apache_pb.gif"[..], &b"HTTP/1.0"[..])
    );
    assert_eq!((r.status, r.bytes_sent), (200, Some(2326)));
}

#[test]
fn combined_with_referer_and_user_agent() {
    let r = parse(
        &preset("apache_combined"),
        br#"127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326 "http://www.example.com/start.html" "Mozilla/4.08 [en] (Win98; I ;Nav)""#,
    );
    assert_eq!(r.referer, b"http://www.example.com/start.html");
    assert_eq!(r.user_agent, b"Mozilla/4.08 [en] (Win98; I ;Nav)");
    assert_eq!(r.time.unwrap().secs, DOC_TIME);
}

#[test]
fn a_dash_for_bytes_is_zero_bytes() {
    let r = parse(
        &preset("apache_combined"),
        br#"2001:db8:85a3::8a2e:370:7334 - - [12/Mar/2024:08:00:00 +0000] "GET /img/logo.png HTTP/1.1" 304 - "https://shop.example.com/" "Mozilla/5.0 (X11; Linux x86_64)""#,
    );
    assert_eq!(r.remote_addr, b"2001:db8:85a3::8a2e:370:7334");
    assert_eq!((r.status, r.bytes_sent), (304, Some(0)));
    assert_eq!(r.time.unwrap().secs, T0);
}

#[test]
fn escaped_quotes_and_backslashes_stay_inside_their_field() {
    let p = preset("apache_combined");
    let r = parse(
        &p,
        br#"203.0.113.7 - - [12/Mar/2024:08:00:00 +0000] "GET /search?q=\"x\" HTTP/1.1" 200 512 "-" "Mozilla/5.0 \"quoted\" (compatible; x\\)""#,
    );
    assert_eq!(r.path, br#"/search?q=\"x\""#);
    assert_eq!(r.referer, b"");
    assert_eq!(r.user_agent, br#"Mozilla/5.0 \"quoted\" (compatible; x\\)"#);
    // A value ending in an escaped backslash ends at the quote after it.
    let r = parse(
        &p,
        br#"203.0.113.7 - - [12/Mar/2024:08:00:00 +0000] "GET /a\\ HTTP/1.1" 404 196 "-" "ua\\""#,
    );
    assert_eq!((r.path, r.user_agent), (&br"/a\\"[..], &br"ua\\"[..]));
    assert_eq!(
        reason(
            &p,
            br#"203.0.113.7 - - [12/Mar/2024:08:00:00 +0000] "GET / HTTP/1.1" 200 1 "-" "ua\""#
        ),
        "unterminated quoted value"
    );
}

#[test]
fn junk_and_empty_request_lines() {
    let p = preset("apache_combined");
    let tls = br#"198.51.100.23 - - [12/Mar/2024:08:00:01 +0000] "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" 400 226 "-" "-""#;
    let r = parse(&p, tls);
    assert_eq!(r.status, 400);
    assert_eq!(r.method, br"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03");
    assert_eq!((r.path, r.protocol), (&b""[..], &b""[..]));
    let timeout = br#"198.51.100.23 - - [12/Mar/2024:08:00:01 +0000] "-" 408 - "-" "-""#;
    let r = parse(&p, timeout);
    assert_eq!((r.status, r.method, r.bytes_sent), (408, &b""[..], Some(0)));
}

#[test]
fn request_time_in_microseconds_and_seconds() {
    let line =
        br#"10.0.0.5 - - [12/Mar/2024:08:00:00 +0000] "GET /slow HTTP/1.1" 504 247 60001234 60"#;
    let d = AccessParser::apache(r#"%h %l %u %t "%r" %>s %b %D %T"#).unwrap();
    assert!(d.has_timing());
    assert_eq!(parse(&d, line).request_time_us, Some(60_001_234));
    let t = AccessParser::apache(r#"%h %l %u %t "%r" %>s %b %{ms}T %T"#).unwrap();
    let line =
        br#"10.0.0.5 - - [12/Mar/2024:08:00:00 +0000] "GET /slow HTTP/1.1" 504 247 60001 60"#;
    assert_eq!(parse(&t, line).request_time_us, Some(60_001_000));
    let s = AccessParser::apache(r#"%h %t "%r" %>s %T"#).unwrap();
    let line = br#"10.0.0.5 [12/Mar/2024:08:00:00 +0000] "GET /slow HTTP/1.1" 504 2"#;
    assert_eq!(parse(&s, line).request_time_us, Some(2_000_000));
}

#[test]
fn balancer_worker_is_the_upstream() {
    let p = AccessParser::apache(PROXY).unwrap();
    assert!(p.has_upstream() && p.has_timing());
    assert_eq!(
        (p.dialect(), p.name(), p.field_count()),
        ("apache", "custom", 12)
    );
    let r = parse(
        &p,
        br#"203.0.113.7 - - [12/Mar/2024:08:00:00 +0000] "POST /api/orders HTTP/1.1" 502 341 "-" "okhttp/4.12.0" 1534 http://127.0.0.1:8081 "api.example.com""#,
    );
    assert_eq!(r.upstream_addr, b"http://127.0.0.1:8081");
    assert_eq!(r.request_time_us, Some(1534));
    assert_eq!(r.host, b"api.example.com");
    assert_eq!((r.status, r.method), (502, &b"POST"[..]));
    // No worker was picked (every member in error): nothing, or the pool when it is logged.
    let line = br#"203.0.113.7 - - [12/Mar/2024:08:00:00 +0000] "GET / HTTP/1.1" 503 299 "-" "-" 310 - "api.example.com""#;
    assert_eq!(parse(&p, line).upstream_addr, b"");
    let pool =
        AccessParser::apache(r#"%t "%r" %>s %{BALANCER_NAME}e %{BALANCER_WORKER_NAME}e"#).unwrap();
    let r = parse(
        &pool,
        br#"[12/Mar/2024:08:00:00 +0000] "GET / HTTP/1.1" 503 balancer://api -"#,
    );
    assert_eq!(r.upstream_addr, b"balancer://api");
    let r = parse(
        &pool,
        br#"[12/Mar/2024:08:00:00 +0000] "GET / HTTP/1.1" 200 balancer://api http://10.0.0.2:8080"#,
    );
    assert_eq!(r.upstream_addr, b"http://10.0.0.2:8080");
}

#[test]
fn vhost_combined_has_the_virtual_host_and_port() {
    let p = preset("vhost_combined");
    assert_eq!(p.name(), "apache_vhost_combined");
    let r = parse(
        &p,
        br#"shop.example.com:443 2a02:810d:e1c6::df28 - - [12/Mar/2024:08:00:00 +0000] "GET /cart HTTP/2.0" 500 735 "https://shop.example.com/" "Mozilla/5.0 (iPhone)""#,
    );
    assert_eq!(r.host, b"shop.example.com");
    assert_eq!(r.remote_addr, b"2a02:810d:e1c6::df28");
    assert_eq!((r.status, r.bytes_sent), (500, Some(735)));
    assert_eq!(r.user_agent, b"Mozilla/5.0 (iPhone)");
}

#[test]
fn request_id_from_the_header_wins_over_the_log_id() {
    let p = AccessParser::apache(r#"%a %t "%r" %>s %L "%{X-Request-ID}i" %{UNIQUE_ID}e"#).unwrap();
    let r = parse(
        &p,
        br#"192.0.2.1 [12/Mar/2024:08:00:00 +0000] "GET / HTTP/1.1" 502 ZfB1cH8AAAEAAAbXsvQAAAAB "7f3c2a1b-9d8e" ZfB1cH8AAQ"#,
    );
    assert_eq!(r.request_id, b"7f3c2a1b-9d8e");
    let l = AccessParser::apache(r#"%a %t "%r" %>s %L"#).unwrap();
    let r = parse(
        &l,
        br#"192.0.2.1 [12/Mar/2024:08:00:00 +0000] "GET / HTTP/1.1" 502 ZfB1cH8AAAEAAAbXsvQAAAAB"#,
    );
    assert_eq!(r.request_id, b"ZfB1cH8AAAEAAAbXsvQAAAAB");
}

#[test]
fn method_path_query_and_protocol_without_the_request_line() {
    let p = AccessParser::apache(r#"%t %m %U%q %H %>s %V %{X-Forwarded-For}i"#).unwrap();
    let r = parse(
        &p,
        b"[12/Mar/2024:08:00:00 +0000] GET /api/items?page=2 HTTP/1.1 503 api.example.com 198.51.100.4, 10.0.0.1",
    );
    assert_eq!(
        (r.method, r.path, r.protocol),
        (&b"GET"[..], &b"/api/items?page=2"[..], &b"HTTP/1.1"[..])
    );
    assert_eq!((r.status, r.host), (503, &b"api.example.com"[..]));
    assert_eq!(r.forwarded_for, b"198.51.100.4, 10.0.0.1");
}

#[test]
fn status_prefers_the_final_one() {
    let p = AccessParser::apache(r#"%t %s %>s"#).unwrap();
    let r = parse(&p, b"[12/Mar/2024:08:00:00 +0000] 200 503");
    assert_eq!(r.status, 503);
    let p = AccessParser::apache(r#"%t %s"#).unwrap();
    assert_eq!(parse(&p, b"[12/Mar/2024:08:00:00 +0000] 200").status, 200);
}

#[test]
fn other_time_directives() {
    let sec = AccessParser::apache("%{sec}t %>s").unwrap();
    assert_eq!(parse(&sec, b"1710230400 200").time.unwrap().secs, T0);
    let msec = AccessParser::apache("%{end:msec}t %>s").unwrap();
    assert_eq!(parse(&msec, b"1710230400123 200").time.unwrap().secs, T0);
    let iso = AccessParser::apache("%{%Y-%m-%dT%H:%M:%S%z}t %>s").unwrap();
    let t = parse(&iso, b"2024-03-12T09:00:00+0100 200").time.unwrap();
    assert_eq!((t.secs, t.offset), (T0, 3600));
    // Another strftime layout is skipped by its width; the line then has no time.
    let other = AccessParser::apache("%{%Y-%m-%d %H:%M:%S}t.%{msec_frac}t %>s").unwrap();
    let r = parse(&other, b"2024-03-12 08:00:00.123 200");
    assert_eq!((r.time, r.status), (None, 200));
}

#[test]
fn modifiers_and_ignored_directives() {
    let p = AccessParser::apache(
        r#"%h %l %u %t "%r" %>s %b %k %X %P %R %f %I %O %{Set-Cookie}o %{c}a %400,501{User-agent}i %!200{Referer}i %{BALANCER_WORKER_ROUTE}e %{SSL_PROTOCOL}x %^FB %%"#,
    )
    .unwrap();
    let r = parse(
        &p,
        br#"10.1.2.3 - - [12/Mar/2024:08:00:00 +0000] "GET /x HTTP/1.1" 501 17 0 + 4711 proxy-server /srv/www/x 300 512 - 10.1.2.3 curl/8.5.0 https://ref/ r1 TLSv1.3 1200 %"#,
    );
    assert_eq!((r.status, r.bytes_sent), (501, Some(17)));
    assert_eq!(r.user_agent, b"curl/8.5.0");
    assert_eq!(r.referer, b"https://ref/");
    assert!(!p.has_upstream());
}

#[test]
fn a_format_copied_from_httpd_conf() {
    let want = preset("apache_common").field_count();
    for written in [
        r#"%h %l %u %t \"%r\" %>s %b"#,
        r#""%h %l %u %t \"%r\" %>s %b""#,
        r#"LogFormat "%h %l %u %t \"%r\" %>s %b" common"#,
    ] {
        let p = AccessParser::apache(written).unwrap();
        assert_eq!(p.field_count(), want, "{written}");
        let r = parse(
            &p,
            br#"127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326"#,
        );
        assert_eq!(r.path, b"/apache_pb.gif");
    }
}

#[test]
fn bad_apache_lines_give_their_reason() {
    let p = preset("apache_common");
    let ok = br#"127.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.0" 200 1"#;
    parse(&p, ok);
    let swap = |from: &str, to: &str| String::from_utf8_lossy(ok).replacen(from, to, 1);
    assert_eq!(
        reason(&p, swap("13:55", "13:5x").as_bytes()),
        "bad timestamp"
    );
    assert_eq!(reason(&p, swap(" 200 ", " 2x0 ").as_bytes()), "bad status");
    assert_eq!(reason(&p, swap(" 1", " x").as_bytes()), "bad number");
    // The last field runs to the end of the line.
    assert_eq!(reason(&p, swap(" 1", " 1 more").as_bytes()), "bad number");
    assert_eq!(
        reason(&p, b"not a log line"),
        "line does not match the format"
    );
    assert_eq!(reason(&p, &ok[..45]), "unterminated quoted value");
}

#[test]
fn apache_formats_that_cannot_be_compiled() {
    assert!(matches!(
        AccessParser::apache("%h %t %b"),
        Err(FormatError::NoApacheStatus)
    ));
    assert!(matches!(
        AccessParser::apache("%>s %Z"),
        Err(FormatError::UnknownDirective(d)) if d == "%Z"
    ));
    assert!(matches!(
        AccessParser::apache("%>s %{Host"),
        Err(FormatError::BadDirective(4))
    ));
    assert!(matches!(
        AccessParser::apache("%h%>s"),
        Err(FormatError::AdjacentDirective(d)) if d == "%h"
    ));
    assert_eq!(
        FormatError::NoApacheStatus.to_string(),
        "LogFormat has no %s or %>s directive"
    );
}

#[test]
fn the_dialect_is_guessed_from_the_variables() {
    let g = |f: &str| AccessParser::guess(f).map(|p| (p.dialect(), p.name().to_string()));
    assert_eq!(
        g("$remote_addr [$time_local] $status").unwrap(),
        ("nginx", "custom".into())
    );
    assert_eq!(g(r#"%h %t "%r" %>s"#).unwrap(), ("apache", "custom".into()));
    assert_eq!(g("%{Host}i %>s").unwrap(), ("apache", "custom".into()));
    assert_eq!(g(" combined ").unwrap(), ("nginx", "combined".into()));
    assert_eq!(g("common").unwrap(), ("apache", "apache_common".into()));
    assert_eq!(g("json").unwrap(), ("json", "json".into()));
    // Both sigils: the one that compiles.
    assert_eq!(g("$status 100%").unwrap().0, "nginx");
    assert_eq!(g("%>s $5").unwrap().0, "apache");
    assert!(matches!(
        AccessParser::guess("just text"),
        Err(FormatError::UnknownDialect(_))
    ));
    assert!(matches!(
        AccessParser::guess("$remote_addr"),
        Err(FormatError::NoStatus)
    ));
    assert!(matches!(
        AccessParser::guess("%h"),
        Err(FormatError::NoApacheStatus)
    ));
}

#[test]
fn every_apache_preset_parses_a_realistic_line() {
    let cases: [(&str, &[u8]); 5] = [
        ("apache_common", br#"203.0.113.7 - - [14/May/2026:10:21:33 +0000] "GET /api/orders HTTP/1.1" 504 167"#),
        ("apache_combined", br#"203.0.113.7 - alice [14/May/2026:10:21:33 +0000] "GET /api/orders HTTP/1.1" 504 167 "https://shop.example.com/cart" "Mozilla/5.0 (X11; Linux x86_64)""#),
        ("apache_vhost_combined", br#"shop.example.com:80 203.0.113.7 - - [14/May/2026:10:21:33 +0000] "GET /api/orders HTTP/1.1" 504 167 "-" "curl/8.5.0""#),
        ("common", br#"203.0.113.7 - - [14/May/2026:10:21:33 +0000] "GET /api/orders HTTP/1.1" 504 167"#),
        ("vhost_combined", br#"shop.example.com:80 203.0.113.7 - - [14/May/2026:10:21:33 +0000] "GET /api/orders HTTP/1.1" 504 167 "-" "curl/8.5.0""#),
    ];
    for (name, line) in cases {
        let p = preset(name);
        assert_eq!(p.dialect(), "apache");
        let r = parse(&p, line);
        assert_eq!(r.status, 504, "{name}");
        assert_eq!(r.path, b"/api/orders", "{name}");
        assert_eq!(r.time.unwrap().secs, 1_778_754_093, "{name}");
        assert_eq!(r.bytes_sent, Some(167), "{name}");
        assert_eq!(r.remote_addr, b"203.0.113.7", "{name}");
    }
}
