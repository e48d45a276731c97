//! Lines written by a real nginx 1.22 (`testdata/`), fed whole and at every split point.

use faultline_formats::{detect, parse_nginx_error, AccessParser, Kind, Record, TimeCache};

const ACCESS: &str = include_str!("../testdata/nginx-1.22-extended-access.log");
const ERROR: &str = include_str!("../testdata/nginx-1.22-error.log");

fn lines(text: &str) -> Vec<&[u8]> {
    text.lines().map(str::as_bytes).collect()
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
