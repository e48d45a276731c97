//! The hot path (DESIGN §4): a reader thread cuts inputs into chunks of whole lines, worker
//! threads parse and aggregate them into per-worker shards, and the calling thread applies
//! the ordered part of each chunk (cells and events) to the engine in input order.

use std::collections::BTreeMap;
use std::sync::Arc;

use crossbeam_channel::{bounded, unbounded};
use faultline_aggregate::{ChunkOut, Limits, Options, Shard, Summary};
use faultline_formats::{AccessParser, Record, TimeCache};
use faultline_ingest::ChunkReader;
use faultline_model::EventTime;

use crate::engine::Engine;
use crate::inputs::trim_eol;

/// Lines longer than this are malformed, whatever they hold.
pub const MAX_LINE: usize = 64 * 1024;
/// Bytes per chunk handed to a worker.
pub const CHUNK_BYTES: usize = 1024 * 1024;
/// Malformed lines kept as samples per input.
pub const MALFORMED_SAMPLES: usize = 5;
const SAMPLE_TEXT: usize = 200;

/// A malformed line kept for the report.
#[derive(Debug, Clone)]
pub struct Malformed {
    pub line: u64,
    pub reason: &'static str,
    pub text: Vec<u8>,
}

/// Counts of one chunk; line numbers are relative to the chunk.
#[derive(Debug, Default)]
pub struct ChunkStats {
    /// Every `\n`-terminated line, empty ones included (to number lines).
    pub physical: u64,
    pub lines: u64,
    pub parsed: u64,
    /// Parsed lines the filters left out.
    pub filtered: u64,
    pub malformed: u64,
    pub samples: Vec<Malformed>,
    pub first: Option<EventTime>,
    pub last: Option<EventTime>,
}

/// A chunk to parse.
#[derive(Debug)]
pub struct Job {
    pub input: u32,
    pub seq: u64,
    pub buf: Vec<u8>,
    pub parser: Arc<AccessParser>,
    /// The earliest time the input's next chunk can hold (i64::MAX after its last chunk).
    pub floor: i64,
}

/// A parsed chunk.
#[derive(Debug)]
pub struct Done {
    pub input: u32,
    pub seq: u64,
    pub worker: usize,
    pub buf: Vec<u8>,
    pub out: ChunkOut,
    pub stats: ChunkStats,
    pub floor: i64,
}

/// One worker's state: its shard and its timestamp cache.
#[derive(Debug)]
pub struct Worker {
    pub id: usize,
    pub shard: Shard,
    cache: TimeCache,
    last_sec: i64,
    rollup: Option<Rollup>,
}

/// Totals cut at interval boundaries (for `serve`'s stored rollups).
#[derive(Debug)]
struct Rollup {
    width: i64,
    current: Option<i64>,
    done: Vec<(i64, Summary)>,
}

impl Worker {
    pub fn new(id: usize, limits: Limits, options: Arc<Options>) -> Self {
        Worker {
            id,
            shard: Shard::with_options(limits, options),
            cache: TimeCache::default(),
            last_sec: 0,
            rollup: None,
        }
    }

    /// Cuts the totals into intervals of `width_secs` of event time, taken with
    /// [`Worker::take_rollups`].
    pub fn with_rollups(mut self, width_secs: i64) -> Self {
        self.rollup = Some(Rollup {
            width: width_secs.max(1),
            current: None,
            done: Vec::new(),
        });
        self
    }

    /// Intervals finished and not taken yet.
    pub fn rollups_waiting(&self) -> usize {
        self.rollup.as_ref().map_or(0, |r| r.done.len())
    }

    /// The totals of every interval since the last call: (interval start, totals).
    pub fn take_rollups(&mut self) -> Vec<(i64, Summary)> {
        let Some(r) = self.rollup.as_mut() else {
            return Vec::new();
        };
        let mut out = std::mem::take(&mut r.done);
        if let Some(start) = r.current.take() {
            out.push((start, self.shard.take_summary()));
        }
        out
    }

    /// Hands the totals so far to the interval they belong to when `sec` starts a new one.
    fn cut(&mut self, sec: i64) {
        let Some(r) = self.rollup.as_mut() else {
            return;
        };
        let start = sec - sec.rem_euclid(r.width);
        if r.current != Some(start) {
            if let Some(prev) = r.current.replace(start) {
                r.done.push((prev, self.shard.take_summary()));
            }
        }
    }

    /// Parses every line of a chunk into the shard.
    pub fn process(&mut self, job: Job) -> Done {
        let mut stats = ChunkStats::default();
        let parser = &*job.parser;
        self.shard.set_has_upstream(parser.has_upstream());
        let mut rec = Record::default();
        let mut start = 0;
        let buf = &job.buf;
        while start < buf.len() {
            let end = faultline_ingest::line_end(buf, start);
            let line = trim_eol(&buf[start..end]);
            start = end + 1;
            stats.physical += 1;
            if line.is_empty() {
                continue;
            }
            stats.lines += 1;
            let result = if line.len() > MAX_LINE {
                Err("line longer than 64 KiB")
            } else {
                match parser.parse(line, &mut rec, &mut self.cache) {
                    Ok(()) if !(100..=599).contains(&rec.status) => Err("status outside 100-599"),
                    Ok(()) if rec.time.is_none() => Err("no timestamp"),
                    other => other.map_err(|e| e.reason),
                }
            };
            match result {
                Ok(()) => {
                    stats.parsed += 1;
                    if let Some(t) = rec.time {
                        self.last_sec = t.secs;
                        if stats.first.is_none_or(|f| t.secs < f.secs) {
                            stats.first = Some(t);
                        }
                        if stats.last.is_none_or(|l| t.secs > l.secs) {
                            stats.last = Some(t);
                        }
                    }
                    if self.rollup.is_some() {
                        self.cut(self.last_sec);
                    }
                    if !self
                        .shard
                        .observe(&rec, self.last_sec, stats.physical, line)
                    {
                        stats.filtered += 1;
                    }
                }
                Err(reason) => {
                    stats.malformed += 1;
                    if stats.samples.len() < MALFORMED_SAMPLES {
                        let keep = line.len().min(SAMPLE_TEXT);
                        stats.samples.push(Malformed {
                            line: stats.physical,
                            reason,
                            text: line[..keep].to_vec(),
                        });
                    }
                }
            }
        }
        Done {
            input: job.input,
            seq: job.seq,
            worker: self.id,
            buf: job.buf,
            out: self.shard.take_chunk(),
            stats,
            floor: job.floor,
        }
    }
}

/// An access input ready to be read.
#[derive(Debug)]
pub struct Feed {
    pub input: u32,
    pub reader: ChunkReader,
    pub head: Vec<u8>,
    pub parser: Arc<AccessParser>,
}

/// A feed being read: the chunk read ahead and the time of its first line.
struct Source {
    feed: Feed,
    ahead: Option<(Vec<u8>, Option<i64>)>,
    cache: TimeCache,
    first_chunk: bool,
}

impl Source {
    /// Reads the next chunk ahead (the sniffed head first).
    fn read_ahead(&mut self, free: &mut Buffers) -> Result<(), String> {
        let buf = if self.first_chunk {
            self.first_chunk = false;
            self.feed.reader.set_capacity(CHUNK_BYTES);
            std::mem::take(&mut self.feed.head)
        } else {
            let mut buf = free.take();
            match self.feed.reader.next_chunk(&mut buf) {
                Ok(true) => buf,
                Ok(false) => {
                    self.ahead = None;
                    return Ok(());
                }
                Err(e) => {
                    self.ahead = None;
                    return Err(format!("read error: {e}"));
                }
            }
        };
        if buf.is_empty() {
            return self.read_ahead(free);
        }
        let first = first_time(&self.feed.parser, &buf, &mut self.cache);
        self.ahead = Some((buf, first));
        Ok(())
    }
}

/// The chunk buffers, reused once the calling thread has applied their chunk. At most `cap`
/// are ever made: when the calling thread falls behind the parsing threads, the reader waits
/// for one to come back instead of reading further ahead, so memory stays bounded.
struct Buffers {
    free: crossbeam_channel::Receiver<Vec<u8>>,
    made: usize,
    cap: usize,
}

impl Buffers {
    fn take(&mut self) -> Vec<u8> {
        if let Ok(buf) = self.free.try_recv() {
            return buf;
        }
        if self.made < self.cap {
            self.made += 1;
            return Vec::new();
        }
        // Every buffer is out and will come back once its chunk is applied (or the calling
        // thread has stopped, and a new one does no harm).
        self.free.recv().unwrap_or_default()
    }
}

/// The time of the first line of a chunk that has one (within its first 64 lines).
fn first_time(parser: &AccessParser, buf: &[u8], cache: &mut TimeCache) -> Option<i64> {
    let mut rec = Record::default();
    buf.split(|&b| b == b'\n').take(64).find_map(|l| {
        parser.parse(trim_eol(l), &mut rec, cache).ok()?;
        rec.time.map(|t| t.secs)
    })
}

/// Progress callback: bytes read so far.
pub type Progress = Box<dyn Fn(u64) + Send>;

/// Runs the threads over `feeds` (in order) and returns the merged summary. Read errors
/// after the start are reported per input through the engine.
pub fn run(
    feeds: Vec<Feed>,
    threads: usize,
    limits: Limits,
    options: Arc<Options>,
    engine: &mut Engine,
    progress: Option<Progress>,
) -> Summary {
    let threads = threads.max(1);
    let (job_tx, job_rx) = bounded::<Job>(threads * 2);
    let (done_tx, done_rx) = unbounded::<Done>();
    let (free_tx, free_rx) = unbounded::<Vec<u8>>();
    let (err_tx, err_rx) = unbounded::<(u32, String)>();
    std::thread::scope(|s| {
        s.spawn(move || read_all(feeds, threads, job_tx, free_rx, err_tx, progress));
        let mut handles = Vec::new();
        for id in 0..threads {
            let (rx, tx) = (job_rx.clone(), done_tx.clone());
            let options = options.clone();
            handles.push(s.spawn(move || {
                let mut w = Worker::new(id, limits, options);
                for job in rx {
                    if tx.send(w.process(job)).is_err() {
                        break;
                    }
                }
                w.shard.into_summary()
            }));
        }
        drop(done_tx);
        drop(job_rx);
        let mut next = 0u64;
        let mut waiting: BTreeMap<u64, Done> = BTreeMap::new();
        for done in done_rx {
            waiting.insert(done.seq, done);
            while let Some(d) = waiting.remove(&next) {
                let buf = engine.apply(d);
                let _ = free_tx.send(buf);
                next += 1;
            }
        }
        for (input, e) in err_rx.try_iter() {
            engine.read_error(input, e);
        }
        let mut summary = Summary::default();
        for h in handles {
            summary.merge(h.join().expect("a parsing thread panicked"));
        }
        summary
    })
}

/// Reads every feed, always sending next the chunk that starts earliest, so inputs that cover
/// the same period arrive interleaved in time.
fn read_all(
    feeds: Vec<Feed>,
    threads: usize,
    jobs: crossbeam_channel::Sender<Job>,
    free: crossbeam_channel::Receiver<Vec<u8>>,
    errors: crossbeam_channel::Sender<(u32, String)>,
    progress: Option<Progress>,
) {
    let mut sources: Vec<Source> = feeds
        .into_iter()
        .map(|feed| Source {
            feed,
            ahead: None,
            cache: TimeCache::default(),
            first_chunk: true,
        })
        .collect();
    // One chunk read ahead per input, plus enough for the queue, the parsing threads and
    // the results waiting to be applied.
    let mut free = Buffers {
        free,
        made: 0,
        cap: sources.len() + 3 * threads + 2,
    };
    for s in &mut sources {
        if let Err(e) = s.read_ahead(&mut free) {
            let _ = errors.send((s.feed.input, e));
        }
    }
    let mut seq = 0u64;
    let mut before: Vec<u64> = sources.iter().map(|s| s.feed.reader.bytes_read()).collect();
    let mut total = 0u64;
    loop {
        // A chunk without any timestamp goes first: it cannot be placed in time anyway.
        let pick = sources
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.ahead.as_ref().map(|(_, t)| (t.unwrap_or(i64::MIN), i)))
            .min();
        let Some((_, i)) = pick else { break };
        let s = &mut sources[i];
        let (buf, _) = s.ahead.take().expect("picked a source with a chunk");
        if let Err(e) = s.read_ahead(&mut free) {
            let _ = errors.send((s.feed.input, e));
        }
        let floor = match &s.ahead {
            Some((_, Some(t))) => *t,
            Some((_, None)) => i64::MIN,
            None => i64::MAX,
        };
        let job = Job {
            input: s.feed.input,
            seq,
            buf,
            parser: s.feed.parser.clone(),
            floor,
        };
        seq += 1;
        if jobs.send(job).is_err() {
            return;
        }
        if let Some(p) = &progress {
            let now = s.feed.reader.bytes_read();
            total += now - before[i];
            before[i] = now;
            p(total);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_buffers_are_reused_and_never_more_than_the_cap() {
        let (tx, rx) = unbounded::<Vec<u8>>();
        let mut pool = Buffers {
            free: rx,
            made: 0,
            cap: 2,
        };
        let a = pool.take();
        let b = pool.take();
        assert_eq!(pool.made, 2);
        // A returned buffer is taken again, whether or not the cap is reached.
        tx.send(Vec::with_capacity(77)).unwrap();
        assert_eq!(pool.take().capacity(), 77);
        tx.send(a).unwrap();
        tx.send(b).unwrap();
        pool.take();
        pool.take();
        assert_eq!(pool.made, 2, "no buffer is made while others come back");
        // At the cap, with no one left to give one back, a new one ends the wait.
        drop(tx);
        assert_eq!(pool.take().capacity(), 0);
    }
}
