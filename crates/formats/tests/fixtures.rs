//! Lines written by a real nginx 1.22 and a real Apache httpd 2.4 (`testdata/`), fed whole
//! and at every split point.

use faultline_formats::{detect, parse_nginx_error, AccessParser, Kind, Record, TimeCache};
use faultline_model::upstream;

const ACCESS: &str = include_str!("../testdata/nginx-1.22-extended-access.log");
const ERROR: &str = include_str!("../testdata/nginx-1.22-error.log");
const JSON: &[u8] = include_bytes!("../testdata/nginx-1.22-json-access.log");
const APACHE_COMBINED: &str = include_str!("../testdata/apache-2.4-combined-access.log");
const APACHE_VHOST: &str = include_str!("../testdata/apache-2.4-vhost_combined-access.log");
const APACHE_PROXY: &str = include_str!("../testdata/apache-2.4-proxy-access.log");

/// The `proxy` format of `testdata/generate.sh`.
const PROXY: &str = r#"%h %l %u %t \"%r\" %>s %b \"%{Referer}i\" \"%{User-agent}i\" %D %{BALANCER_WORKER_NAME}e \"%{Host}i\""#;

/// 2026-11-25, the day `generate.sh` ran, in UTC.
const DAY: std::ops::Range<i64> = 1_795_564_800..1_795_651_200;

fn lines(text: &str) -> Vec<&[u8]> {
    text.lines().map(str::as_bytes).collect()
}

/// The JSON file holds bytes that are not UTF-8, as nginx wrote them.
fn byte_lines(data: &[u8]) -> Vec<&[u8]> {
    data.split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .collect()
}

/// Parses every line with `p`, checking what every line of these files has.
fn parse_all<'a>(p: &AccessParser, lines: &[&'a [u8]]) -> Vec<Record<'a>> {
    let mut cache = TimeCache::default();
    lines
        .iter()
        .map(|line| {
            let mut rec = Record::default();
            if let Err(e) = p.parse(line, &mut rec, &mut cache) {
                panic!("{e} on {}", String::from_utf8_lossy(line));
            }
            assert!(DAY.contains(&rec.time.unwrap().secs));
            assert!(rec.status >= 200 && !rec.method.is_empty());
            rec
        })
        .collect()
}

/// Every proper prefix of every line fails: the formats end with a closing quote or brace.
fn no_prefix_parses(p: &AccessParser, lines: &[&[u8]]) {
    for line in lines {
        for end in 0..line.len() {
            let mut rec = Record::default();
            let prefix = &line[..end];
            assert!(
                p.parse(prefix, &mut rec, &mut TimeCache::default())
                    .is_err(),
                "{}",
                String::from_utf8_lossy(prefix)
            );
        }
    }
}

#[test]
fn every_access_line_parses() {
    let p = AccessParser::preset("extended").unwrap();
    let mut cache = TimeCache::default();
    for line in lines(ACCESS) {
        let mut rec = Record::default();
        p.parse(line, &mut rec, &mut cache).unwrap();
        let t = rec.time.unwrap();
        assert_eq!(t.offset, 0);
        // 24/Nov/2026 23:27:58 – 23:45:00 UTC
        assert!(
            (1_795_562_878..1_795_563_900).contains(&t.secs),
            "{}",
            t.secs
        );
        assert!(rec.status >= 200 && rec.host.ends_with(b".example.test"));
        assert!(!rec.method.is_empty() && rec.protocol == b"HTTP/1.1");
        assert!(rec.request_time_us.is_some());
        if rec.status >= 500 {
            assert_eq!(
                faultline_model::upstream::last(rec.upstream_status),
                rec.status.to_string().as_bytes()
            );
        }
    }
}

#[test]
fn a_prefix_of_a_line_never_parses_as_the_line() {
    let p = AccessParser::preset("extended").unwrap();
    for line in lines(ACCESS) {
        for end in 0..line.len() {
            let mut rec = Record::default();
            assert!(p
                .parse(&line[..end], &mut rec, &mut TimeCache::default())
                .is_err());
        }
    }
}

#[test]
fn every_error_line_parses() {
    for line in lines(ERROR) {
        let e = parse_nginx_error(line).unwrap();
        assert!(e.pid > 0);
        if e.level == b"error" {
            assert!(e.connection.is_some());
            assert!(!e.client.is_empty() && !e.request.is_empty() && !e.host.is_empty());
        }
    }
    let notice = parse_nginx_error(lines(ERROR)[0]).unwrap();
    assert_eq!(notice.message, br#"using the "epoll" event method"#);
    let info = parse_nginx_error(lines(ERROR)[1]).unwrap();
    assert_eq!((info.level, info.connection), (&b"info"[..], Some(20)));
    assert_eq!(
        info.message,
        b"client 127.0.0.1 closed keepalive connection"
    );
}

#[test]
fn detection_names_both_files() {
    let d = detect(&lines(ACCESS), &[]);
    assert_eq!(
        (d.kind, d.access.unwrap().name()),
        (Kind::Access, "extended")
    );
    assert_eq!(d.matched, d.sampled);
    let d = detect(&lines(ERROR), &[]);
    assert_eq!((d.kind, d.matched, d.sampled), (Kind::Error, 5, 5));
}

#[test]
fn apache_combined_lines_with_dashes_escapes_and_junk() {
    let p = AccessParser::preset("apache_combined").unwrap();
    let lines = lines(APACHE_COMBINED);
    let recs = parse_all(&p, &lines);
    assert!(recs.iter().all(|r| r.bytes_sent.is_some()));
    let not_modified = recs.iter().find(|r| r.status == 304).unwrap();
    assert_eq!(not_modified.bytes_sent, Some(0));
    let quoted = recs.iter().find(|r| r.user_agent.contains(&b'"')).unwrap();
    assert_eq!(
        quoted.user_agent,
        br#"Mozilla/5.0 (X11; Linux x86_64) \"quoted\" \\back"#
    );
    let junk = recs.iter().find(|r| r.status == 400).unwrap();
    assert_eq!(
        (junk.method, junk.path),
        (&br"\x16\x03\x01\x02"[..], &b""[..])
    );
    no_prefix_parses(&p, &lines);
    let d = detect(&lines, &[]);
    assert_eq!((d.kind, d.format.as_str()), (Kind::Access, "apache"));
    assert_eq!(d.access.unwrap().name(), "apache_combined");
    assert_eq!(d.matched, d.sampled);
}

#[test]
fn apache_vhost_combined_lines() {
    let p = AccessParser::preset("vhost_combined").unwrap();
    let lines = lines(APACHE_VHOST);
    let recs = parse_all(&p, &lines);
    assert!(recs.iter().all(|r| r.host == b"www.example.test"));
    no_prefix_parses(&p, &lines);
    let d = detect(&lines, &[]);
    assert_eq!(d.access.unwrap().name(), "apache_vhost_combined");
}

#[test]
fn apache_balancer_lines_name_the_worker() {
    let p = AccessParser::guess(PROXY).unwrap();
    assert_eq!(p.dialect(), "apache");
    assert!(p.has_upstream() && p.has_timing());
    let lines = lines(APACHE_PROXY);
    let recs = parse_all(&p, &lines);
    for r in &recs {
        assert!(r.request_time_us.is_some());
        if r.path.starts_with(b"/api/") {
            assert!(r.upstream_addr.starts_with(b"http://127.0.0.1:"));
            assert!(upstream::is_server_addr(r.upstream_addr));
        } else {
            assert_eq!(r.upstream_addr, b"");
        }
    }
    // The backend was stopped: the balancer answered 503 with no member left.
    assert_eq!(recs.iter().filter(|r| r.status == 503).count(), 3);
    no_prefix_parses(&p, &lines);
    // No preset reads the extra fields: the format must be given.
    assert_eq!(detect(&lines, &[]).kind, Kind::App);
    let d = detect(&lines, &[p]);
    assert_eq!(
        (d.format.as_str(), d.matched, d.sampled),
        ("apache", 23, 23)
    );
}

#[test]
fn nginx_escape_json_lines() {
    let p = AccessParser::preset("json").unwrap();
    let lines = byte_lines(JSON);
    let recs = parse_all(&p, &lines);
    for r in &recs {
        assert_eq!(r.request_id.len(), 32);
        assert!(r.request_time_us.is_some() && r.bytes_sent.is_some());
        if r.status == 502 {
            assert_eq!(upstream::last(r.upstream_status), b"502");
            // No live server was left: nginx logs the pool's name.
            assert_eq!(upstream::last(r.upstream_addr), b"api");
        }
    }
    let failover = recs
        .iter()
        .find(|r| r.upstream_status == b"502, 200")
        .unwrap();
    assert_eq!(upstream::count(failover.upstream_addr), 2);
    let junk = recs.iter().find(|r| r.status == 400).unwrap();
    assert!(junk.method.starts_with(br"\u0016\u0003"));
    assert!(junk.method.contains(&0xfc));
    no_prefix_parses(&p, &lines);
    let d = detect(&lines, &[]);
    assert_eq!((d.kind, d.format.as_str()), (Kind::Access, "json"));
    let p = d.access.unwrap();
    assert!(p.has_upstream() && p.has_timing());
    assert_eq!(d.matched, d.sampled);
}
