//! The aggregation hot path: `Shard::observe` on parsed nginx lines (route templating, ids,
//! per-key counts and sketches, per-second cells, 5xx events). Lines come from
//! `FAULTLINE_BENCH_LOG` (an `extended` log, e.g. from tools/loggen) or a built-in mix. The
//! `template` figure is route templating alone, over the same lines' paths.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use faultline_aggregate::{Limits, Shard};
use faultline_formats::{AccessParser, Record, TimeCache};

const BUILT_IN: &[&str] = &[
    r#"203.0.113.7 - - [12/Mar/2024:08:00:00 +0000] "GET /api/v1/users/8812/orders?page=2 HTTP/2.0" 200 6687 "-" "Mozilla/5.0" 0.135 0.132 10.0.1.11:8080 200 "api.example.com""#,
    r#"203.0.113.8 - - [12/Mar/2024:08:00:00 +0000] "GET /products/winter-boots-565927 HTTP/2.0" 200 33896 "-" "Mozilla/5.0" 0.049 0.021 10.0.8.12:3000 200 "shop.example.com""#,
    r#"2001:db8::1 - - [12/Mar/2024:08:00:01 +0000] "GET /api/v1/carts/3f1c2a9e-7b4d-4c1e-9a8f-0123456789ab/items HTTP/1.1" 200 512 "-" "okhttp/4.12.0" 0.012 0.011 10.0.2.11:8080 200 "api.example.com""#,
    r#"80.89.250.50 - - [12/Mar/2024:08:00:01 +0000] "GET /docs/phone-case/webhooks HTTP/2.0" 200 33896 "-" "Mozilla/5.0" 0.049 0.021, 0.024 10.0.7.12:3000, 10.0.7.13:3000 502, 200 "www.example.com""#,
    r#"35.184.145.32 - - [12/Mar/2024:08:00:02 +0000] "GET /api/v1/carts?page=2 HTTP/1.1" 502 157 "-" "okhttp/4.12.0" 0.000 0.000 orders_backend 502 "api.example.com""#,
    r#"84.202.19.189 - - [12/Mar/2024:08:00:02 +0000] "GET /api/v1/search/suggest?q=desk HTTP/2.0" 504 167 "-" "Mozilla/5.0" 60.001 60.001 10.0.4.11:8081 504 "api.example.com""#,
    r#"101.0.47.172 - - [12/Mar/2024:08:00:03 +0000] "GET /img/products/145984/thumb.jpg HTTP/2.0" 404 153 "-" "Mozilla/5.0" 0.001 - - - "static.example.com""#,
];

fn lines() -> Vec<Vec<u8>> {
    if let Ok(path) = std::env::var("FAULTLINE_BENCH_LOG") {
        let data = std::fs::read(&path).expect("FAULTLINE_BENCH_LOG is readable");
        return data
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .take(200_000)
            .map(<[u8]>::to_vec)
            .collect();
    }
    (0..10_000)
        .map(|i| {
            BUILT_IN[i % BUILT_IN.len()]
                .replace("8812", &(i * 7).to_string())
                .into_bytes()
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let lines = lines();
    let parser = AccessParser::preset("extended").expect("preset");
    let mut cache = TimeCache::default();
    let records: Vec<Record<'_>> = lines
        .iter()
        .filter_map(|l| {
            let mut r = Record::default();
            parser.parse(l, &mut r, &mut cache).ok().map(|_| r)
        })
        .collect();
    let bytes: usize = lines.iter().map(|l| l.len() + 1).sum();
    let mut g = c.benchmark_group("aggregate");
    g.throughput(Throughput::Elements(records.len() as u64));
    g.bench_function("observe", |b| {
        b.iter(|| {
            let mut shard = Shard::new(Limits::default());
            for (i, r) in records.iter().enumerate() {
                let sec = r.time.map_or(0, |t| t.secs);
                shard.observe(r, sec, i as u64 + 1, b"");
                if i % 16_384 == 0 {
                    std::hint::black_box(shard.take_chunk());
                }
            }
            std::hint::black_box(shard.into_summary())
        })
    });
    g.bench_function("template", |b| {
        let mut out = Vec::with_capacity(256);
        b.iter(|| {
            let mut n = 0usize;
            for r in &records {
                faultline_aggregate::route::template_into(r.path, &mut out);
                n += out.len();
            }
            n
        })
    });
    g.finish();
    let _ = bytes;
}

criterion_group!(benches, bench);
criterion_main!(benches);
