//! Parse throughput of the `extended` nginx format, the hot path of DESIGN §4, and of the
//! same requests written by Apache and as nginx `escape=json` lines.
//!
//! By default ~1000 lines are built from a handful of representative loggen lines with varied
//! ids and timestamps. With `FAULTLINE_BENCH_LOG=/path/to/access.log` the whole file is first
//! checked (every line must parse with the detected format) and then benchmarked; an nginx
//! error log given there is only checked.
//!
//! The `dialects` group reads the generated requests three ways, reporting MB/s for each:
//! nginx `extended`, Apache `combined` + `%D %{BALANCER_WORKER_NAME}e "%{Host}i"`, and JSON
//! lines with nginx variable names (the default mapping).

use std::hint::black_box;
use std::time::Instant;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use faultline_formats::{detect, parse_nginx_error, AccessParser, Record, TimeCache};
use faultline_model::upstream;

/// `{t}` is replaced by the time of day, `{id}` by a varying number.
const TEMPLATES: [&str; 8] = [
    r#"2a02:810d:e1c6::df28 - - [12/Mar/2024:{t} +0000] "GET /api/v1/carts?limit=50&offset={id} HTTP/1.1" 200 6687 "-" "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36" 0.135 0.132 10.0.2.11:8080 200 "api.example.com""#,
    r#"203.0.113.23 - dave [12/Mar/2024:{t} +0000] "GET /dashboard HTTP/2.0" 200 107636 "https://admin.example.com/dashboard" "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36" 0.318 0.305 10.0.9.11:8000 200 "admin.example.com""#,
    r#"80.89.250.50 - - [12/Mar/2024:{t} +0000] "GET /docs/phone-case/webhooks-{id} HTTP/2.0" 200 33896 "-" "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Mobile Safari/537.36" 0.049 0.021, 0.024 10.0.7.12:3000, 10.0.7.13:3000 502, 200 "www.example.com""#,
    r#"35.184.145.32 - - [12/Mar/2024:{t} +0000] "GET /api/v1/orders/{id} HTTP/1.1" 502 157 "https://shop.example.com/" "okhttp/4.12.0" 0.000 0.000 orders_backend 502 "api.example.com""#,
    r#"142.143.105.112 - - [12/Mar/2024:{t} +0000] "GET /products/winter-boots-{id}?gclid=Wkt8Dz4i4plkZmN025SER8 HTTP/2.0" 200 19762 "-" "Mozilla/5.0 (iPhone; CPU iPhone OS 17_3 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.3 Mobile/15E148 Safari/604.1" 0.061 0.058 10.0.8.12:3000 200 "shop.example.com""#,
    r#"2a00:23c7:eb81:96f9:5245:dc1d:a474:67fe - - [12/Mar/2024:{t} +0000] "GET /img/products/{id}/1.webp HTTP/2.0" 304 0 "https://shop.example.com/" "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Mobile Safari/537.36" 0.001 - - - "static.example.com""#,
    r#"123.236.20.37 - - [12/Mar/2024:{t} +0000] "POST /api/v1/users/{id}/preferences HTTP/1.1" 201 412 "-" "ExampleShop/5.11.0 (iPhone; iOS 16.7.5; Scale/3.00)" 0.027 0.025 10.0.1.11:8080 201 "api.example.com""#,
    r#"10.0.0.2 - - [12/Mar/2024:{t} +0000] "GET /healthz HTTP/1.1" 200 2 "-" "kube-probe/1.29" 0.000 0.000 10.0.3.11:8080 200 "api.example.com""#,
];

fn generated(n: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| {
            // ~40 lines per second, as on a moderately busy server.
            let sec = 8 * 3600 + i / 40;
            let t = format!("{:02}:{:02}:{:02}", sec / 3600, sec / 60 % 60, sec % 60);
            let id = (i as u64).wrapping_mul(2_654_435_761) % 10_000_000;
            TEMPLATES[i % TEMPLATES.len()]
                .replace("{t}", &t)
                .replace("{id}", &id.to_string())
                .into_bytes()
        })
        .collect()
}

fn from_file(path: &str) -> Vec<Vec<u8>> {
    let data = std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    data.split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .filter(|l| !l.is_empty())
        .map(<[u8]>::to_vec)
        .collect()
}

/// Parses every line once, reporting failures and a first throughput figure.
fn check_all(parser: &AccessParser, lines: &[Vec<u8>]) {
    let mut rec = Record::default();
    let mut cache = TimeCache::default();
    let start = Instant::now();
    let mut failed = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if let Err(e) = parser.parse(line, &mut rec, &mut cache) {
            failed.push((i + 1, e.reason));
        }
    }
    let ns = start.elapsed().as_nanos() as f64 / lines.len().max(1) as f64;
    eprintln!(
        "{} lines with {}: {} failed, {ns:.0} ns/line in one pass",
        lines.len(),
        parser.name(),
        failed.len()
    );
    for (line, reason) in failed.iter().take(5) {
        eprintln!("  line {line}: {reason}");
    }
    assert!(failed.is_empty(), "every line of the file must parse");
}

fn bench_access(c: &mut Criterion) {
    let lines = match std::env::var("FAULTLINE_BENCH_LOG") {
        Ok(path) => from_file(&path),
        Err(_) => generated(1000),
    };
    let head: Vec<&[u8]> = lines.iter().take(1000).map(Vec::as_slice).collect();
    let detection = detect(&head, &[]);
    let Some(parser) = detection.access else {
        // An error log given in FAULTLINE_BENCH_LOG: check it whole instead.
        let failed = lines
            .iter()
            .filter(|l| parse_nginx_error(l).is_none())
            .count();
        eprintln!(
            "{} lines of {:?} log: {failed} failed",
            lines.len(),
            detection.kind
        );
        assert_eq!(failed, 0, "every line of the file must parse");
        return;
    };
    check_all(&parser, &lines);

    let bytes: usize = lines.iter().map(Vec::len).sum();
    let mut group = c.benchmark_group("access");
    group.throughput(Throughput::BytesDecimal(bytes as u64));
    if lines.len() > 10_000 {
        group.sample_size(10);
    }
    group.bench_function(format!("{}/{}_lines", parser.name(), lines.len()), |b| {
        let mut rec = Record::default();
        let mut cache = TimeCache::default();
        b.iter(|| {
            let mut ok = 0usize;
            for line in &lines {
                ok += usize::from(parser.parse(black_box(line), &mut rec, &mut cache).is_ok());
                black_box(&rec);
            }
            ok
        })
    });
    group.finish();
}

/// Apache `combined` with the request time, the balancer worker and the Host header.
const APACHE: &str = r#"%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-agent}i" %D %{BALANCER_WORKER_NAME}e "%{Host}i""#;

/// One parsed `extended` line written as Apache would write it with [`APACHE`].
fn to_apache(r: &Record<'_>) -> Vec<u8> {
    let text = |v: &[u8]| String::from_utf8_lossy(v).into_owned();
    let dash = |v: &[u8]| if v.is_empty() { "-".into() } else { text(v) };
    let worker = match upstream::last(r.upstream_addr) {
        b"" => "-".to_string(),
        addr => format!("http://{}", text(addr)),
    };
    format!(
        r#"{} - - [{}] "{} {} {}" {} {} "{}" "{}" {} {} "{}""#,
        text(r.remote_addr),
        time_local(r),
        text(r.method),
        text(r.path),
        text(r.protocol),
        r.status,
        r.bytes_sent
            .filter(|&b| b > 0)
            .map_or("-".into(), |b| b.to_string()),
        dash(r.referer),
        dash(r.user_agent),
        r.request_time_us.unwrap_or(0),
        worker,
        text(r.host),
    )
    .into_bytes()
}

/// One parsed `extended` line as nginx writes it with `log_format json escape=json
/// '{"time_iso8601":"$time_iso8601","remote_addr":"$remote_addr",…}'`.
fn to_json(r: &Record<'_>) -> Vec<u8> {
    let text = |v: &[u8]| String::from_utf8_lossy(v).into_owned();
    let dash = |v: &[u8]| if v.is_empty() { "-".into() } else { text(v) };
    let us = r.request_time_us.unwrap_or(0);
    let t = r.time.unwrap();
    let (h, m, s) = (t.secs / 3600 % 24, t.secs / 60 % 60, t.secs % 60);
    format!(
        concat!(
            r#"{{"time_iso8601":"2024-03-12T{:02}:{:02}:{:02}+00:00","remote_addr":"{}","#,
            r#""request":"{} {} {}","status":{},"body_bytes_sent":{},"http_referer":"{}","#,
            r#""http_user_agent":"{}","request_time":{}.{:03},"upstream_response_time":"{}","#,
            r#""upstream_addr":"{}","upstream_status":"{}","host":"{}"}}"#
        ),
        h,
        m,
        s,
        text(r.remote_addr),
        text(r.method),
        text(r.path),
        text(r.protocol),
        r.status,
        r.bytes_sent.unwrap_or(0),
        dash(r.referer),
        dash(r.user_agent),
        us / 1_000_000,
        us / 1000 % 1000,
        dash(r.upstream_response_time),
        dash(r.upstream_addr),
        dash(r.upstream_status),
        text(r.host),
    )
    .into_bytes()
}

/// `12/Mar/2024:08:00:00 +0000` for the generated lines (all on that day, in UTC).
fn time_local(r: &Record<'_>) -> String {
    let s = r.time.unwrap().secs;
    format!(
        "12/Mar/2024:{:02}:{:02}:{:02} +0000",
        s / 3600 % 24,
        s / 60 % 60,
        s % 60
    )
}

fn bench_dialects(c: &mut Criterion) {
    let nginx_lines = generated(1000);
    let extended = AccessParser::preset("extended").unwrap();
    let mut cache = TimeCache::default();
    let mut apache_lines = Vec::new();
    let mut json_lines = Vec::new();
    for line in &nginx_lines {
        let mut rec = Record::default();
        extended.parse(line, &mut rec, &mut cache).unwrap();
        apache_lines.push(to_apache(&rec));
        json_lines.push(to_json(&rec));
    }
    let apache = AccessParser::apache(APACHE).unwrap();
    let json = AccessParser::preset("json").unwrap();
    let mut group = c.benchmark_group("dialects");
    for (label, parser, lines) in [
        ("nginx_extended", &extended, &nginx_lines),
        ("apache_combined_proxy", &apache, &apache_lines),
        ("json_nginx_escape_json", &json, &json_lines),
    ] {
        check_all(parser, lines);
        let bytes: usize = lines.iter().map(Vec::len).sum();
        group.throughput(Throughput::BytesDecimal(bytes as u64));
        group.bench_function(format!("{label}/{}_lines", lines.len()), |b| {
            let mut rec = Record::default();
            let mut cache = TimeCache::default();
            b.iter(|| {
                let mut ok = 0usize;
                for line in lines {
                    ok += usize::from(parser.parse(black_box(line), &mut rec, &mut cache).is_ok());
                    black_box(&rec);
                }
                ok
            })
        });
    }
    group.finish();
}

fn bench_error_log(c: &mut Criterion) {
    let line = br#"2024/03/12 08:13:25 [error] 2811#2811: *228540 connect() failed (111: Connection refused) while connecting to upstream, client: 59.190.46.174, server: api.example.com, request: "GET /api/v1/users/7877/preferences HTTP/2.0", upstream: "http://10.0.1.12:8080/api/v1/users/7877/preferences", host: "api.example.com""#;
    let mut group = c.benchmark_group("error_log");
    group.throughput(Throughput::Bytes(line.len() as u64));
    group.bench_function("nginx/line", |b| {
        b.iter(|| parse_nginx_error(black_box(line)).is_some())
    });
    group.finish();
}

criterion_group!(benches, bench_access, bench_dialects, bench_error_log);
criterion_main!(benches);
