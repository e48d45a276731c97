//! JSON lines: nginx `escape=json` logs with the default mapping, and other layouts with a
//! mapping spec.

use faultline_formats::{
    AccessParser, FormatError, JsonField, JsonMapping, Record, TimeCache, TimeUnit,
};

const T0: i64 = 1_710_230_400; // 2024-03-12T08:00:00Z

/// As nginx writes `log_format json escape=json '{"time_iso8601":"$time_iso8601",…}'`.
const NGINX: &[u8] = br#"{"time_iso8601":"2024-03-12T08:00:00+00:00","remote_addr":"203.0.113.7","request":"GET /a?b=1 HTTP/1.1","status":"502","request_time":"0.001","upstream_addr":"10.0.0.1:80, 10.0.0.2:80","upstream_status":"502, 200","host":"api.example.com","http_user_agent":"curl/8 \"x\""}"#;

fn json() -> AccessParser {
    AccessParser::preset("json").unwrap()
}

fn spec(s: &str) -> AccessParser {
    AccessParser::json(&JsonMapping::parse_spec(s).unwrap()).unwrap()
}

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

#[test]
fn nginx_escape_json_line_with_the_default_mapping() {
    let p = json();
    assert_eq!((p.dialect(), p.name()), ("json", "json"));
    assert!(p.has_upstream() && p.has_timing());
    let r = parse(&p, NGINX);
    let t = r.time.unwrap();
    assert_eq!((t.secs, t.offset), (T0, 0));
    assert_eq!(r.remote_addr, b"203.0.113.7");
    assert_eq!(
        (r.method, r.path, r.protocol),
        (&b"GET"[..], &b"/a?b=1"[..], &b"HTTP/1.1"[..])
    );
    assert_eq!(r.status, 502);
    assert_eq!(r.request_time_us, Some(1_000));
    assert_eq!(r.upstream_addr, b"10.0.0.1:80, 10.0.0.2:80");
    assert_eq!(r.upstream_status, b"502, 200");
    assert_eq!(faultline_model::upstream::last(r.upstream_status), b"200");
    assert_eq!(r.host, b"api.example.com");
    // Escapes are kept as written.
    assert_eq!(r.user_agent, br#"curl/8 \"x\""#);
    assert_eq!(r.bytes_sent, None);
    assert_eq!(r.referer, b"");
}

#[test]
fn numbers_and_strings_are_read_alike() {
    let p = json();
    let numbers = br#"{"msec":1710230400.123,"status":504,"request_time":60.001,"body_bytes_sent":167,"upstream_status":504,"upstream_response_time":60.001,"connection":228540}"#;
    let r = parse(&p, numbers);
    assert_eq!((r.time.unwrap().secs, r.status), (T0, 504));
    assert_eq!(r.request_time_us, Some(60_001_000));
    assert_eq!((r.bytes_sent, r.connection), (Some(167), Some(228_540)));
    assert_eq!(r.upstream_status, b"504");
    assert_eq!(r.upstream_response_time, b"60.001");
    let strings = br#"{"msec":"1710230400.123","status":"504","request_time":"60.001","body_bytes_sent":"167","upstream_status":"504","upstream_response_time":"60.001","connection":"228540"}"#;
    let s = parse(&p, strings);
    assert_eq!(
        (
            s.time,
            s.status,
            s.request_time_us,
            s.bytes_sent,
            s.connection
        ),
        (
            r.time,
            r.status,
            r.request_time_us,
            r.bytes_sent,
            r.connection
        )
    );
}

#[test]
fn every_time_layout() {
    let p = json();
    for (line, offset) in [
        (
            &br#"{"time_local":"12/Mar/2024:09:00:00 +0100","status":200}"#[..],
            3600,
        ),
        (
            br#"{"@timestamp":"2024-03-12T08:00:00.123456Z","status":200}"#,
            0,
        ),
        (
            br#"{"timestamp":"2024-03-12T03:00:00.5-05:00","status":200}"#,
            -18_000,
        ),
        (br#"{"ts":1710230400,"status":200}"#, 0),
        (br#"{"ts":1710230400123,"status":200}"#, 0),
        (br#"{"time":"1710230400","status":200}"#, 0),
    ] {
        let t = parse(&p, line).time.unwrap();
        assert_eq!(
            (t.secs, t.offset),
            (T0, offset),
            "{}",
            String::from_utf8_lossy(line)
        );
    }
    assert_eq!(
        reason(&p, br#"{"time":"yesterday","status":200}"#),
        "bad timestamp"
    );
    // An explicit unit overrides the guess by magnitude.
    let ms = spec("time=t:ms");
    assert_eq!(
        parse(&ms, br#"{"t":1710230400,"status":200}"#)
            .time
            .unwrap()
            .secs,
        T0 / 1000
    );
}

#[test]
fn nested_keys_with_a_mapping_spec() {
    let p = spec("status=resp.code,time=ts,path=req.path,method=req.method,request_time=latency_ms:ms,upstream_addr=proxy.upstream.addr");
    let line = br#"{"level":"info","ts":"2024-03-12T08:00:00Z","req":{"method":"GET","path":"/api/x","headers":{"accept":["*/*"],"x":{"y":"}{"}}},"resp":{"code":504,"size":0},"latency_ms":12.5,"proxy":{"upstream":{"addr":"10.0.0.9:8080"}}}"#;
    let r = parse(&p, line);
    assert_eq!(
        (r.status, r.method, r.path),
        (504, &b"GET"[..], &b"/api/x"[..])
    );
    assert_eq!(r.request_time_us, Some(12_500));
    assert_eq!(r.upstream_addr, b"10.0.0.9:8080");
    assert_eq!(r.time.unwrap().secs, T0);
    assert_eq!(p.name(), "custom");
    // A mapped key holding something else than what the path expects is skipped.
    let odd = br#"{"ts":"2024-03-12T08:00:00Z","req":"GET /","resp":{"code":[504]}}"#;
    assert_eq!(reason(&p, odd), "missing status");
}

#[test]
fn keys_with_dots_are_found_by_the_same_path() {
    let p = spec("status=http.response.status_code,time=@timestamp,path=url.path");
    let flat =
        br#"{"@timestamp":"2024-03-12T08:00:00Z","http.response.status_code":503,"url.path":"/a"}"#;
    let nested = br#"{"@timestamp":"2024-03-12T08:00:00Z","http":{"response":{"status_code":503}},"url":{"path":"/a"}}"#;
    let mixed = br#"{"@timestamp":"2024-03-12T08:00:00Z","http":{"response.status_code":503},"url":{"path":"/a"}}"#;
    for line in [&flat[..], nested, mixed] {
        let r = parse(&p, line);
        assert_eq!((r.status, r.path), (503, &b"/a"[..]));
    }
}

#[test]
fn missing_fields_are_empty_but_status_and_time_are_required() {
    let p = json();
    let r = parse(
        &p,
        br#"{"time_iso8601":"2024-03-12T08:00:00+00:00","status":"200"}"#,
    );
    assert_eq!(
        (r.method, r.path, r.host, r.upstream_addr),
        (&b""[..], &b""[..], &b""[..], &b""[..])
    );
    assert_eq!((r.request_time_us, r.bytes_sent), (None, None));
    assert_eq!(
        reason(&p, br#"{"time_iso8601":"2024-03-12T08:00:00+00:00"}"#),
        "missing status"
    );
    assert_eq!(reason(&p, br#"{"status":502}"#), "missing timestamp");
    assert_eq!(
        reason(&p, br#"{"time_iso8601":"-","status":502}"#),
        "missing timestamp"
    );
    // null, true and false count as missing.
    let r = parse(
        &p,
        br#"{"ts":1710230400,"status":502,"upstream_addr":null,"host":true,"request_time":false}"#,
    );
    assert_eq!(
        (r.upstream_addr, r.host, r.request_time_us),
        (&b""[..], &b""[..], None)
    );
    // nginx's `-` for a request that reached no upstream.
    let r = parse(
        &p,
        br#"{"ts":1710230400,"status":"502","upstream_addr":"-","upstream_status":"-"}"#,
    );
    assert_eq!((r.upstream_addr, r.upstream_status), (&b""[..], &b""[..]));
}

#[test]
fn invalid_json_is_a_parse_error() {
    let p = json();
    for bad in [
        &br#"{"ts":1710230400,"status":502,}"#[..],
        br#"{"ts":1710230400,"status":502"#,
        br#"{"ts":1710230400 "status":502}"#,
        br#"{"ts":1710230400,"status":502} x"#,
        br#"{"ts":1710230400,"status":502}{}"#,
        br#"[{"ts":1710230400,"status":502}]"#,
        br#"{"ts":1710230400,"status":0502}"#,
        br#"{"ts":1710230400,"status":502,"ua":"a	b"}"#,
        br#"{"ts":1710230400,"status":502,"ua":"\q"}"#,
        br#"{'ts':1710230400}"#,
        b"",
        b"   ",
        b"not json",
    ] {
        assert_eq!(
            reason(&p, bad),
            "invalid JSON",
            "{}",
            String::from_utf8_lossy(bad)
        );
    }
    let deep = [
        &br#"{"ts":1710230400,"status":502,"x":"#[..],
        &[b'['; 200],
        &[b']'; 200],
        b"}",
    ]
    .concat();
    assert_eq!(reason(&p, &deep), "JSON nested too deeply");
    // Surrounding whitespace is fine.
    parse(&p, b" \t{\"ts\":1710230400,\"status\":502}\r ");
}

#[test]
fn escapes_and_unicode_stay_raw() {
    let p = json();
    let line = "{\"ts\":1710230400,\"status\":200,\"request_uri\":\"/caf\\u00e9/ünï\",\"http_user_agent\":\"Mozilla ✓\\n\\\\x\",\"st\\u0061tus\":500}";
    let r = parse(&p, line.as_bytes());
    assert_eq!(r.path, "/caf\\u00e9/ünï".as_bytes());
    assert_eq!(r.user_agent, "Mozilla ✓\\n\\\\x".as_bytes());
    // A key written with escapes is not the key it spells.
    assert_eq!(r.status, 200);
    // Bytes that are not UTF-8, as nginx passes them through.
    let raw = b"{\"ts\":1710230400,\"status\":400,\"request\":\"\xff\xfe GET\"}";
    assert_eq!(parse(&p, raw).method, b"\xff\xfe");
}

#[test]
fn the_first_key_of_a_field_wins_wherever_it_is() {
    let p = json();
    let r = parse(
        &p,
        br#"{"@timestamp":"2024-03-12T09:00:00Z","status_code":200,"time_iso8601":"2024-03-12T08:00:00+00:00","status":502}"#,
    );
    assert_eq!((r.time.unwrap().secs, r.status), (T0, 502));
    // The same key twice: the last one, as most JSON readers do.
    let r = parse(&p, br#"{"ts":1710230400,"status":200,"status":503}"#);
    assert_eq!(r.status, 503);
}

#[test]
fn a_request_line_fills_what_its_own_keys_do_not() {
    let p = json();
    let r = parse(
        &p,
        br#"{"ts":1710230400,"status":200,"request":"POST /orders?x=1 HTTP/2.0","request_uri":"/orders?x=1&y=2"}"#,
    );
    assert_eq!(
        (r.method, r.path, r.protocol),
        (&b"POST"[..], &b"/orders?x=1&y=2"[..], &b"HTTP/2.0"[..])
    );
    let r = parse(
        &p,
        br#"{"timestamp":"2024-03-12T08:00:00Z","status_code":201,"method":"PUT","path":"/p","duration_ms":7,"upstream":"10.0.0.3:9000","client_ip":"192.0.2.4","user_agent":"ua","request_id":"r-1","referrer":"https://r/"}"#,
    );
    assert_eq!(
        (r.method, r.path, r.protocol),
        (&b"PUT"[..], &b"/p"[..], &b""[..])
    );
    assert_eq!(
        (r.request_time_us, r.upstream_addr),
        (Some(7_000), &b"10.0.0.3:9000"[..])
    );
    assert_eq!(
        (r.remote_addr, r.user_agent),
        (&b"192.0.2.4"[..], &b"ua"[..])
    );
    assert_eq!((r.request_id, r.referer), (&b"r-1"[..], &b"https://r/"[..]));
}

#[test]
fn mappings_built_in_code() {
    let mut m = JsonMapping::empty();
    m.add(JsonField::Status, "code", None)
        .add(JsonField::Time, "when", Some(TimeUnit::Seconds))
        .add(JsonField::RequestTime, "took_us", Some(TimeUnit::Micros));
    let p = AccessParser::json(&m).unwrap();
    assert_eq!(p.field_count(), 3);
    assert!(!p.has_upstream() && p.has_timing());
    let r = parse(
        &p,
        br#"{"when":1710230400,"code":500,"took_us":1500,"status":200}"#,
    );
    assert_eq!((r.status, r.request_time_us), (500, Some(1_500)));
    assert!(matches!(
        AccessParser::json(&JsonMapping::empty()),
        Err(FormatError::BadMapping { part, .. }) if part == "status"
    ));
    assert_eq!(
        AccessParser::json(&JsonMapping::default()).unwrap().name(),
        "json"
    );
}

#[test]
fn the_default_mapping_reads_every_nginx_variable_by_its_name() {
    let mapping = JsonMapping::default();
    let keys: Vec<&str> = mapping.keys().iter().map(|k| k.path.as_str()).collect();
    for var in [
        "time_iso8601",
        "time_local",
        "msec",
        "status",
        "request",
        "request_method",
        "request_uri",
        "host",
        "upstream_addr",
        "upstream_status",
        "request_time",
        "upstream_response_time",
        "upstream_connect_time",
        "upstream_header_time",
        "remote_addr",
        "http_user_agent",
        "http_referer",
        "http_x_forwarded_for",
        "request_id",
        "body_bytes_sent",
    ] {
        assert!(keys.contains(&var), "{var}");
    }
}
