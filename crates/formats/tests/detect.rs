//! Detection: which kind of log, and which access format, the first lines are.

use faultline_formats::{detect, AccessParser, JsonMapping, Kind};

const EXTENDED: [&[u8]; 4] = [
    br#"2a02:810d:e1c6::df28 - - [12/Mar/2024:08:00:00 +0000] "GET /api/v1/carts?limit=50&offset=800 HTTP/1.1" 200 6687 "-" "Mozilla/5.0 (...)" 0.135 0.132 10.0.2.11:8080 200 "api.example.com""#,
    br#"80.89.250.50 - - [12/Mar/2024:08:00:20 +0000] "GET /docs/phone-case/webhooks HTTP/2.0" 200 33896 "-" "Mozilla/5.0 (...)" 0.049 0.021, 0.024 10.0.7.12:3000, 10.0.7.13:3000 502, 200 "www.example.com""#,
    br#"142.143.105.112 - - [12/Mar/2024:09:23:12 +0000] "GET /products/winter-boots-565927 HTTP/2.0" 503 197 "-" "Mozilla/5.0 (...)" 0.001 - - - "shop.example.com""#,
    br#"19.242.183.206 - - [12/Mar/2024:08:09:01 +0000] "" 400 0 "-" "-" 0.015 - - - "_""#,
];

const COMBINED: [&[u8]; 3] = [
    br#"2a00:23c7:eb81:96f9:5245:dc1d:a474:67fe - - [12/Mar/2024:08:00:00 +0000] "GET /img/products/1626147/1.webp HTTP/2.0" 304 0 "https://shop.example.com/" "Mozilla/5.0 (Linux; Android 10; K)""#,
    br#"2409:8a28:84b6::58c0 - - [12/Mar/2024:08:00:00 +0000] "GET /api/v1/orders/18644934 HTTP/1.1" 502 157 "https://shop.example.com/" "Apache-HttpClient/4.5.14 (Java/17.0.9)""#,
    br#"123.236.20.37 - - [12/Mar/2024:08:00:00 +0000] "GET /api/v1/orders/555803 HTTP/1.1" 502 157 "-" "ExampleShop/5.11.0 (iPhone; iOS 16.7.5; Scale/3.00)""#,
];

const ERRORS: [&[u8]; 2] = [
    br#"2024/03/12 08:13:25 [error] 2811#2811: *228540 connect() failed (111: Connection refused) while connecting to upstream, client: 59.190.46.174, server: api.example.com, request: "GET /x HTTP/2.0", upstream: "http://10.0.1.12:8080/x", host: "api.example.com""#,
    br#"2024/03/12 08:00:09 [warn] 2812#2812: *66384 a client request body is buffered to a temporary file /var/cache/nginx/client_temp/0000076384, client: 113.127.86.35, server: api.example.com, request: "POST /api/v1/uploads HTTP/1.1", host: "api.example.com""#,
];

#[test]
fn loggen_extended_lines_are_the_extended_preset() {
    let d = detect(&EXTENDED, &[]);
    assert_eq!(d.kind, Kind::Access);
    assert_eq!(d.format, "nginx");
    assert_eq!(d.access.unwrap().name(), "extended");
    assert_eq!((d.matched, d.sampled), (4, 4));
}

#[test]
fn combined_lines_are_the_combined_preset() {
    let d = detect(&COMBINED, &[]);
    assert_eq!(d.kind, Kind::Access);
    assert_eq!(d.access.unwrap().name(), "combined");
    assert_eq!(d.matched, 3);
}

#[test]
fn the_format_that_reads_most_lines_wins() {
    // Two extended lines, one combined: extended reads 2 of 3, combined 1.
    let lines = [EXTENDED[0], EXTENDED[1], COMBINED[0]];
    let d = detect(&lines, &[]);
    assert_eq!(d.access.unwrap().name(), "extended");
    assert_eq!((d.matched, d.sampled), (2, 3));
}

#[test]
fn error_log_lines_are_an_error_log() {
    let d = detect(&ERRORS, &[]);
    assert_eq!(d.kind, Kind::Error);
    assert_eq!(d.format, "nginx");
    assert!(d.access.is_none());
    assert_eq!(d.matched, 2);
}

#[test]
fn plain_text_is_an_app_log() {
    let lines: [&[u8]; 3] = [
        b"Traceback (most recent call last):",
        b"  File \"app.py\", line 12, in handler",
        b"ValueError: boom",
    ];
    let d = detect(&lines, &[]);
    assert_eq!(d.kind, Kind::App);
    assert_eq!(d.format, "text");
    assert_eq!(d.sampled, 3);
}

#[test]
fn empty_sample_is_app_text_with_nothing_matched() {
    let d = detect(&[], &[]);
    assert_eq!(
        (d.kind, d.format.as_str(), d.matched, d.sampled),
        (Kind::App, "text", 0, 0)
    );
    let blank: [&[u8]; 2] = [b"", b"\r\n"];
    let d = detect(&blank, &[]);
    assert_eq!((d.kind, d.matched, d.sampled), (Kind::App, 0, 0));
}

#[test]
fn a_quarter_of_the_sample_is_enough_when_junk_leads_the_file() {
    let lines: [&[u8]; 5] = [b"\x16\x03 junk", b"hello", b"world", b"again", COMBINED[0]];
    assert_eq!(detect(&lines, &[]).kind, Kind::App);
    let lines: [&[u8]; 4] = [b"hello", b"world", b"again", COMBINED[0]];
    assert_eq!(detect(&lines, &[]).kind, Kind::Access);
    let lines: [&[u8]; 2] = [COMBINED[0], b"hello"];
    assert_eq!(detect(&lines, &[]).kind, Kind::Access);
}

#[test]
fn a_format_the_user_named_needs_only_one_line() {
    let mut lines: Vec<&[u8]> = vec![b"junk"; 9];
    lines.push(COMBINED[0]);
    assert_eq!(detect(&lines, &[]).kind, Kind::App);
    let user = AccessParser::preset("combined").unwrap();
    assert_eq!(detect(&lines, &[user]).kind, Kind::Access);
}

#[test]
fn a_user_format_is_preferred_when_it_reads_as_well_as_a_preset() {
    let user = AccessParser::nginx(
        r#"$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent""#,
    )
    .unwrap();
    let d = detect(&COMBINED, &[user]);
    assert_eq!(d.access.unwrap().name(), "custom");
}

#[test]
fn a_user_format_that_reads_nothing_loses_to_a_preset() {
    let user = AccessParser::nginx("$msec $status").unwrap();
    let d = detect(&EXTENDED, &[user]);
    assert_eq!(d.access.unwrap().name(), "extended");
}

#[test]
fn line_ends_in_the_sample_are_ignored() {
    let with_crlf: Vec<Vec<u8>> = COMBINED.iter().map(|l| [*l, b"\r\n"].concat()).collect();
    let lines: Vec<&[u8]> = with_crlf.iter().map(Vec::as_slice).collect();
    assert_eq!(detect(&lines, &[]).access.unwrap().name(), "combined");
}

const APACHE_COMBINED: [&[u8]; 4] = [
    br#"198.51.100.7 - - [12/Mar/2024:08:00:00 +0000] "GET /index.html HTTP/1.1" 200 5120 "-" "Mozilla/5.0 (X11; Linux x86_64)""#,
    br#"198.51.100.7 - - [12/Mar/2024:08:00:01 +0000] "GET /img/logo.png HTTP/1.1" 304 - "https://www.example.com/" "Mozilla/5.0 (X11; Linux x86_64)""#,
    br#"2001:db8::7 - bob [12/Mar/2024:08:00:02 +0000] "POST /api/cart HTTP/1.1" 502 341 "-" "Mozilla/5.0 \"bot\"""#,
    br#"192.0.2.66 - - [12/Mar/2024:08:00:03 +0000] "\x16\x03\x01\x02\x00\x01" 400 226 "-" "-""#,
];

#[test]
fn apache_combined_lines_are_the_apache_combined_preset() {
    let d = detect(&APACHE_COMBINED, &[]);
    assert_eq!((d.kind, d.format.as_str()), (Kind::Access, "apache"));
    assert_eq!(d.access.unwrap().name(), "apache_combined");
    assert_eq!((d.matched, d.sampled), (4, 4));
}

#[test]
fn a_dash_for_bytes_tells_apache_from_nginx() {
    // nginx reads these two lines too, but takes nothing from the `-`.
    let d = detect(&APACHE_COMBINED[..2], &[]);
    assert_eq!(d.access.unwrap().name(), "apache_combined");
}

#[test]
fn lines_both_dialects_read_alike_are_nginx_combined() {
    let d = detect(&[APACHE_COMBINED[0]], &[]);
    assert_eq!(
        (d.format.as_str(), d.access.unwrap().name()),
        ("nginx", "combined")
    );
    let d = detect(&COMBINED, &[]);
    assert_eq!(d.access.unwrap().name(), "combined");
}

#[test]
fn apache_common_and_vhost_lines() {
    let common: [&[u8]; 2] = [
        br#"127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326"#,
        br#"127.0.0.1 - - [10/Oct/2000:13:55:37 -0700] "GET /favicon.ico HTTP/1.0" 404 -"#,
    ];
    let d = detect(&common, &[]);
    assert_eq!(
        (d.format.as_str(), d.access.unwrap().name()),
        ("apache", "apache_common")
    );
    let vhost: [&[u8]; 2] = [
        br#"shop.example.com:443 203.0.113.7 - - [12/Mar/2024:08:00:00 +0000] "GET /cart HTTP/2.0" 500 735 "-" "curl/8.5.0""#,
        br#"www.example.com:80 203.0.113.8 - - [12/Mar/2024:08:00:00 +0000] "GET / HTTP/1.1" 301 412 "-" "curl/8.5.0""#,
    ];
    let d = detect(&vhost, &[]);
    assert_eq!(d.access.unwrap().name(), "apache_vhost_combined");
}

#[test]
fn a_user_apache_format_is_preferred_over_presets() {
    let user =
        AccessParser::apache(r#"%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i""#).unwrap();
    let d = detect(&APACHE_COMBINED, &[user]);
    let p = d.access.unwrap();
    assert_eq!((p.dialect(), p.name()), ("apache", "custom"));
}

const JSON: [&[u8]; 3] = [
    br#"{"time_iso8601":"2024-03-12T08:00:00+00:00","remote_addr":"203.0.113.7","request":"GET /a?b=1 HTTP/1.1","status":"502","request_time":"0.001","host":"api.example.com"}"#,
    br#"{"time_iso8601":"2024-03-12T08:00:01+00:00","remote_addr":"203.0.113.8","request":"GET /b HTTP/1.1","status":"200","request_time":"0.020","host":"api.example.com"}"#,
    br#"{"time_iso8601":"2024-03-12T08:00:02+00:00","remote_addr":"203.0.113.9","request":"POST /c HTTP/1.1","status":"201","request_time":"0.100","host":"api.example.com"}"#,
];

#[test]
fn json_lines_are_the_json_preset_narrowed_to_their_fields() {
    let d = detect(&JSON, &[]);
    assert_eq!(
        (d.kind, d.format.as_str(), d.matched),
        (Kind::Access, "json", 3)
    );
    let p = d.access.unwrap();
    assert_eq!(p.name(), "json");
    // time, status, request, remote_addr, request_time, host; no upstream keys in the sample.
    assert_eq!(p.field_count(), 6);
    assert!(p.has_timing() && !p.has_upstream());
}

#[test]
fn a_user_json_mapping_wins_when_it_reads_more() {
    let lines: [&[u8]; 2] = [
        br#"{"ts":"2024-03-12T08:00:00Z","status":502,"req":{"path":"/a","method":"GET"}}"#,
        br#"{"ts":"2024-03-12T08:00:01Z","status":200,"req":{"path":"/b","method":"GET"}}"#,
    ];
    let mapping = JsonMapping::parse_spec("path=req.path,method=req.method").unwrap();
    let user = AccessParser::json(&mapping).unwrap();
    let d = detect(&lines, &[user]);
    let p = d.access.unwrap();
    assert_eq!((p.name(), p.field_count()), ("custom", 4));
    // Without it, the default mapping still reads the lines, with fewer fields.
    let d = detect(&lines, &[]);
    assert_eq!(d.access.unwrap().field_count(), 2);
}

#[test]
fn json_that_is_not_an_access_log_is_text() {
    let lines: [&[u8]; 2] = [
        br#"{"level":"info","msg":"started"}"#,
        br#"{"level":"warn","msg":"slow"}"#,
    ];
    assert_eq!(detect(&lines, &[]).kind, Kind::App);
}
