//! Throughput of the application-log joiner and of fingerprinting, over the hand-written
//! samples in `testdata/applog/` (every runtime's traces among single records) repeated to
//! about 1 MB, or over `FAULTLINE_BENCH_APPLOG=/path/to/app.log`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use faultline_formats::{fingerprint, Joiner};

const SAMPLES: [&str; 10] = [
    include_str!("../testdata/applog/python-gunicorn.log"),
    include_str!("../testdata/applog/java-spring.log"),
    include_str!("../testdata/applog/go.log"),
    include_str!("../testdata/applog/node.log"),
    include_str!("../testdata/applog/rails.log"),
    include_str!("../testdata/applog/rails-stdout.log"),
    include_str!("../testdata/applog/php-error.log"),
    include_str!("../testdata/applog/php-fpm.log"),
    include_str!("../testdata/applog/single-records.log"),
    include_str!("../testdata/applog/syslog.log"),
];

fn input() -> Vec<Vec<u8>> {
    let text = match std::env::var("FAULTLINE_BENCH_APPLOG") {
        Ok(path) => std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}")),
        Err(_) => {
            let all = SAMPLES.concat();
            all.repeat((1 << 20) / all.len() + 1)
        }
    };
    text.lines().map(|l| l.as_bytes().to_vec()).collect()
}

fn bench_applog(c: &mut Criterion) {
    let lines = input();
    let bytes: usize = lines.iter().map(|l| l.len() + 1).sum();
    let mut group = c.benchmark_group("applog");
    group.throughput(Throughput::BytesDecimal(bytes as u64));
    group.sample_size(20);
    group.bench_function(format!("join/{}_lines", lines.len()), |b| {
        b.iter(|| {
            let mut joiner = Joiner::with_year(2026);
            let mut events = 0usize;
            for (i, line) in lines.iter().enumerate() {
                events += usize::from(joiner.push(i as u64 + 1, black_box(line)).is_some());
            }
            events + usize::from(joiner.finish().is_some())
        })
    });
    group.bench_function(format!("join_and_fingerprint/{}_lines", lines.len()), |b| {
        b.iter(|| {
            let mut joiner = Joiner::with_year(2026);
            let mut acc = 0u64;
            for (i, line) in lines.iter().enumerate() {
                if let Some(e) = joiner.push(i as u64 + 1, black_box(line)) {
                    acc ^= fingerprint(&e.text, e.kind).hash;
                }
            }
            acc
        })
    });
    group.finish();
}

criterion_group!(benches, bench_applog);
criterion_main!(benches);
