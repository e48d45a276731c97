#![allow(dead_code)] // each test file uses a different part of it
//! Builds nginx `extended` access-log lines and runs them through the real pipeline stages
//! (parser, worker shard, ordered engine, detector, diagnosis) without threads, so a test can
//! choose how the log is cut into chunks.

use std::sync::Arc;

use faultline::engine::{Engine, Outcome};
use faultline::pipeline::{Job, Worker};
use faultline::report::{incident_report, IncidentReport};
use faultline_aggregate::Limits;
use faultline_detect::Config;
use faultline_formats::AccessParser;
use faultline_model::civil_from_days;

/// Seconds of 2024-03-12T08:00:00Z.
pub const T0: i64 = 1_710_230_400;

/// One request as nginx's `extended` format logs it.
#[derive(Clone, Debug)]
pub struct Req {
    pub t: i64,
    pub status: u16,
    pub path: &'static str,
    pub host: &'static str,
    pub up_addr: String,
    pub up_status: String,
    pub up_time: String,
    pub req_time: String,
    /// UTC offset the line is written with, in seconds.
    pub offset: i32,
}

impl Req {
    /// A 200 through `upstream`.
    pub fn ok(t: i64, host: &'static str, path: &'static str, upstream: &str) -> Req {
        Req {
            t,
            status: 200,
            path,
            host,
            up_addr: upstream.into(),
            up_status: "200".into(),
            up_time: "0.020".into(),
            req_time: "0.021".into(),
            offset: 0,
        }
    }

    pub fn status(mut self, status: u16, up_status: &str) -> Req {
        self.status = status;
        self.up_status = up_status.into();
        self
    }

    pub fn took(mut self, secs: &str) -> Req {
        self.up_time = secs.into();
        self.req_time = secs.into();
        self
    }

    /// Answered by nginx itself: no upstream attempt.
    pub fn no_upstream(mut self) -> Req {
        self.up_addr = "-".into();
        self.up_status = "-".into();
        self.up_time = "-".into();
        self
    }

    pub fn line(&self) -> String {
        let local = self.t + self.offset as i64;
        let (y, mo, d) = civil_from_days(local.div_euclid(86_400));
        let sod = local.rem_euclid(86_400);
        let off = self.offset.unsigned_abs();
        let zone = format!(
            "{}{:02}{:02}",
            if self.offset < 0 { '-' } else { '+' },
            off / 3600,
            off / 60 % 60
        );
        const MONTHS: [&str; 12] = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ];
        format!(
            "203.0.113.7 - - [{d:02}/{}/{y}:{:02}:{:02}:{:02} {zone}] \"GET {} HTTP/1.1\" {} 120 \"-\" \"test/1.0\" {} {} {} {} \"{}\"",
            MONTHS[mo as usize - 1],
            sod / 3600,
            sod / 60 % 60,
            sod % 60,
            self.path,
            self.status,
            self.req_time,
            self.up_time,
            self.up_addr,
            self.up_status,
            self.host
        )
    }
}

/// `rate` healthy requests per second on each (host, path, upstream) from `from` to `to`.
pub fn steady(
    from: i64,
    to: i64,
    rate: usize,
    scopes: &[(&'static str, &'static str, &str)],
) -> Vec<Req> {
    let mut out = Vec::new();
    for t in from..to {
        for _ in 0..rate {
            for (host, path, up) in scopes {
                out.push(Req::ok(t, host, path, up));
            }
        }
    }
    out
}

/// Sorts by time (stable), as nginx writes lines in completion order.
pub fn log(mut reqs: Vec<Req>) -> Vec<String> {
    reqs.sort_by_key(|r| r.t);
    reqs.iter().map(Req::line).collect()
}

/// A chunk of `lines` for the one access input.
fn job(lines: &[String], seq: usize, parser: &Arc<AccessParser>, floor: i64) -> Job {
    let mut buf = lines.join("\n").into_bytes();
    buf.push(b'\n');
    Job {
        input: 0,
        seq: seq as u64,
        buf,
        parser: parser.clone(),
        floor,
    }
}

/// Runs `lines` through the engine, `chunk_lines` lines per chunk.
pub fn run(lines: &[String], chunk_lines: usize, format: &str) -> Outcome {
    let parser = Arc::new(AccessParser::preset(format).expect("preset"));
    let mut engine = Engine::new(Config::default(), vec![i64::MIN]);
    let mut worker = Worker::new(0, Limits::default(), Default::default());
    for (seq, chunk) in lines.chunks(chunk_lines.max(1)).enumerate() {
        engine.apply(worker.process(job(chunk, seq, &parser, i64::MIN)));
    }
    engine.finish()
}

/// Runs `lines` as `serve` would see them written: `chunk_lines` at a time, the watermark
/// advanced through the idle time before each next chunk, closed incidents taken out as
/// they close. Returns every incident, by start.
pub fn run_live(lines: &[String], chunk_lines: usize) -> Vec<faultline_detect::Incident> {
    let parser = Arc::new(AccessParser::preset("extended").expect("preset"));
    let mut engine = Engine::new(Config::default(), vec![i64::MAX]);
    let mut worker = Worker::new(0, Limits::default(), Default::default());
    let mut all = Vec::new();
    let chunks: Vec<&[String]> = lines.chunks(chunk_lines.max(1)).collect();
    for (seq, chunk) in chunks.iter().enumerate() {
        engine.apply(worker.process(job(chunk, seq, &parser, i64::MAX)));
        if let Some(next) = chunks.get(seq + 1) {
            let first = secs_of(&next[0]);
            engine.advance(first - Config::default().lateness_secs - 1);
        }
        all.extend(engine.take_closed(i64::MAX).0);
    }
    all.extend(engine.finish().incidents);
    all.sort_by_key(|i| (i.start, i.end));
    all
}

/// The event time of an `extended` line written by [`Req::line`] (UTC lines only).
fn secs_of(line: &str) -> i64 {
    let parser = AccessParser::preset("extended").expect("preset");
    let mut rec = faultline_formats::Record::default();
    let mut cache = faultline_formats::TimeCache::default();
    parser
        .parse(line.as_bytes(), &mut rec, &mut cache)
        .expect("a test line parses");
    rec.time.expect("a time").secs
}

/// The incidents as the report shows them.
pub fn incidents(lines: &[String], chunk_lines: usize) -> Vec<IncidentReport> {
    let outcome = run(lines, chunk_lines, "extended");
    outcome
        .incidents
        .iter()
        .map(|i| incident_report(i, 0.1, &["access.log".to_string()], None))
        .collect()
}

pub fn causes(reports: &[IncidentReport]) -> Vec<&'static str> {
    reports.iter().map(|r| r.diagnosis.cause).collect()
}
