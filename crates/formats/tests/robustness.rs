//! Any bytes may arrive: every parser returns Ok or Err, never panics, on prefixes,
//! single-byte corruptions and random input.

use faultline_formats::{
    detect, parse_nginx_error, unescape, AccessParser, JsonMapping, Record, TimeCache,
};

const ACCESS: [&[u8]; 11] = [
    br#"80.89.250.50 - - [12/Mar/2024:08:00:20 +0000] "GET /docs/phone-case/webhooks HTTP/2.0" 200 33896 "-" "Mozilla/5.0 (...)" 0.049 0.021, 0.024 10.0.7.12:3000, 10.0.7.13:3000 502, 200 "www.example.com""#,
    br#"35.184.145.32 - - [12/Mar/2024:08:33:33 +0000] "GET /api/v1/carts?page=2 HTTP/1.1" 502 157 "https://shop.example.com/" "okhttp/4.12.0" 0.000 0.000 orders_backend 502 "api.example.com""#,
    br#"43.55.85.247 - - [12/Mar/2024:08:01:38 +0000] "\x16\x03\x01\x02\x00\x01" 400 157 "-" "-" 0.233 - - - "_""#,
    br#"203.0.113.7 - - [14/May/2026:10:21:33 +0000] "POST /api/checkout HTTP/2.0" 200 512 "-" "okhttp/4.12.0" 734 0.412 [shop-api-8080] [] 10.244.1.17:8080, 10.244.2.9:8080 0, 512 0.001, 0.410 502, 200 7f3c2a1b9d8e4f60a1b2c3d4e5f60718"#,
    br#"203.0.113.7 - - [14/May/2026:10:21:33 +0000] "GET /api/orders HTTP/1.1" 504 167 "-" "curl/8.5.0" rt=60.001 uct="0.000" uht="-" urt="60.001""#,
    br#"2024-03-12T09:00:00+01:00 h 5f1e 228540 "DELETE /c HTTP/1.1" 204 0.003 1710230400.123 10.0.0.1:80 : 10.0.0.2:80"#,
    br#"2001:db8::7 - bob [12/Mar/2024:08:00:02 +0000] "POST /api/cart?q=\"x\" HTTP/1.1" 304 - "-" "Mozilla/5.0 \"bot\" \\""#,
    br#"shop.example.com:443 203.0.113.7 - - [12/Mar/2024:08:00:00 +0000] "GET /cart HTTP/2.0" 500 735 "-" "curl/8.5.0""#,
    br#"203.0.113.7 - - [12/Mar/2024:08:00:00 +0000] "POST /api/orders HTTP/1.1" 502 341 "-" "okhttp/4.12.0" 1534 http://127.0.0.1:8081 "api.example.com""#,
    br#"{"time_iso8601":"2024-03-12T08:00:00+00:00","remote_addr":"203.0.113.7","request":"GET /a?b=1 HTTP/1.1","status":"502","request_time":"0.001","upstream_addr":"10.0.0.1:80, 10.0.0.2:80","upstream_status":"502, 200","host":"api.example.com","http_user_agent":"curl/8 \"x\" \u00e9"}"#,
    br#"{"ts":1710230400123,"resp":{"code":504,"h":[1,{"a":null},true]},"req":{"path":"/x"},"latency_ms":12.5,"x":-1.5e-3}"#,
];

const ERROR: &[u8] = br#"2024/03/12 08:33:33 [error] 2812#2812: *488321 no live upstreams while connecting to upstream, client: 35.184.145.32, server: api.example.com, request: "GET /api/v1/carts?page=2 HTTP/1.1", upstream: "http://orders_backend/api/v1/carts?page=2", host: "api.example.com", referrer: "https://shop.example.com/""#;

/// Interesting replacement bytes: the format's own punctuation, digits, and non-ASCII.
const PROBES: [u8; 12] = [
    0, b'"', b' ', b'-', b'[', b']', b',', b':', b'\\', b'9', b'x', 0xff,
];

fn parsers() -> Vec<AccessParser> {
    let mut all: Vec<AccessParser> = AccessParser::presets()[..5]
        .iter()
        .map(|n| AccessParser::preset(n).unwrap())
        .collect();
    all.push(
        AccessParser::nginx(
            r#"$time_iso8601 ${host} $request_id $connection "$request" $status $request_time $msec $upstream_addr"#,
        )
        .unwrap(),
    );
    for name in [
        "apache_common",
        "apache_combined",
        "apache_vhost_combined",
        "json",
    ] {
        all.push(AccessParser::preset(name).unwrap());
    }
    all.push(AccessParser::apache(PROXY).unwrap());
    let spec = "status=resp.code,time=ts,path=req.path,request_time=latency_ms:ms";
    all.push(AccessParser::json(&JsonMapping::parse_spec(spec).unwrap()).unwrap());
    all
}

/// Apache `combined` with the request time, the balancer worker and the Host header.
const PROXY: &str = r#"%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-agent}i" %D %{BALANCER_WORKER_NAME}e "%{Host}i""#;

/// Runs every parser over `line`; only a panic fails.
fn feed(parsers: &[AccessParser], line: &[u8]) {
    let mut rec = Record::default();
    let mut cache = TimeCache::default();
    for p in parsers {
        let _ = p.parse(line, &mut rec, &mut cache);
    }
    let _ = parse_nginx_error(line);
    let _ = unescape(line);
}

struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn sample_lines_parse_with_their_own_format() {
    let all = parsers();
    let own = [2, 2, 2, 4, 3, 5, 7, 8, 10, 9, 11];
    for (line, p) in ACCESS.iter().zip(own) {
        let mut rec = Record::default();
        all[p]
            .parse(line, &mut rec, &mut TimeCache::default())
            .unwrap();
    }
    assert!(parse_nginx_error(ERROR).is_some());
}

#[test]
fn every_prefix() {
    let all = parsers();
    for line in ACCESS.iter().chain([&ERROR]) {
        for end in 0..=line.len() {
            feed(&all, &line[..end]);
        }
    }
}

#[test]
fn every_single_byte_corruption() {
    let all = parsers();
    for line in ACCESS.iter().chain([&ERROR]) {
        let mut buf = line.to_vec();
        for i in 0..buf.len() {
            let orig = buf[i];
            for probe in PROBES {
                buf[i] = probe;
                feed(&all, &buf);
            }
            buf[i] = orig;
        }
    }
}

#[test]
fn every_single_byte_deletion() {
    let all = parsers();
    for line in ACCESS.iter().chain([&ERROR]) {
        for i in 0..line.len() {
            let mut buf = line.to_vec();
            buf.remove(i);
            feed(&all, &buf);
        }
    }
}

#[test]
fn random_bytes_and_random_splices() {
    let all = parsers();
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let mut buf = Vec::new();
    for round in 0..3000 {
        buf.clear();
        let len = (rng.next() % 300) as usize;
        if round % 2 == 0 {
            // Pure noise, biased towards the bytes the parsers look at.
            for _ in 0..len {
                let r = rng.next();
                buf.push(if r % 3 == 0 {
                    PROBES[(r >> 8) as usize % PROBES.len()]
                } else {
                    r as u8
                });
            }
        } else {
            // A real line with random pieces of other lines spliced in.
            let src = ACCESS[(rng.next() % ACCESS.len() as u64) as usize];
            let cut = (rng.next() as usize) % (src.len() + 1);
            buf.extend_from_slice(&src[..cut]);
            let other = ACCESS[(rng.next() % ACCESS.len() as u64) as usize];
            let from = (rng.next() as usize) % (other.len() + 1);
            buf.extend_from_slice(&other[from..]);
        }
        feed(&all, &buf);
    }
    let lines: Vec<&[u8]> = ACCESS.to_vec();
    let _ = detect(&lines, &all);
}

/// Format strings and mapping specs come from the command line: compiling any of them returns
/// Ok or Err, never panics.
#[test]
fn format_compilers_never_panic() {
    let formats = [
        PROXY,
        r#"LogFormat "%v:%p %h %{c}a %400,501{User-agent}i %!200a %<s %>s %{%d/%b/%Y:%H:%M:%S %z}t %{end:msec}t %^ti %U%q \"%r\" %%" proxy"#,
        r#"$time_iso8601 ${host} "$request" $status $upstream_addr [$time_local]"#,
        "status=resp.code,time=ts:ms,path=req.path,request_time=a.b.c.d:us,host=-",
    ];
    let probes = [
        b'%', b'$', b'{', b'}', b'"', b'\\', b'.', b':', b',', b'=', b' ', b'^',
    ];
    let compile = |f: &str| {
        let _ = AccessParser::nginx(f);
        let _ = AccessParser::apache(f);
        let _ = AccessParser::guess(f);
        let _ = AccessParser::preset(f);
        if let Ok(m) = JsonMapping::parse_spec(f) {
            let _ = AccessParser::json(&m);
        }
    };
    for f in formats {
        for end in 0..=f.len() {
            compile(&f[..end]);
        }
        let mut bytes = f.as_bytes().to_vec();
        for i in 0..bytes.len() {
            let orig = bytes[i];
            for probe in probes {
                bytes[i] = probe;
                compile(std::str::from_utf8(&bytes).unwrap());
            }
            bytes[i] = orig;
        }
    }
}
