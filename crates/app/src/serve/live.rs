//! The daemon's loop state: files followed, the engine, and what each tick commits.
//!
//! A poll reads what every followed file gained and runs it through the same parser, shard,
//! ordered engine and detector as `analyze`. A tick commits, in one store transaction, the
//! rollups of every line read since the last tick together with the checkpoints just past
//! those lines, so a crash at any point loses nothing and counts nothing twice: a restart
//! resumes from the checkpoints of the last commit.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use std::collections::VecDeque;

use faultline_aggregate::{Limits, Summary};
use faultline_detect::Config;
use faultline_diagnose::{Catalog, Correlator, LogEvidence};
use faultline_formats::{detect, AccessParser, Kind};
use faultline_ingest::{Checkpoint, FileId, StartAt, TailEvent, WatchEvent, Watcher};
use faultline_store::{
    AlertDb, Commit, FileCheckpoint, InputRow, Store, StoreError, StoredFinding, StoredIncident,
};
use rustc_hash::FxHashMap;

use crate::engine::Engine;
use crate::logread::LogReader;
use crate::logs::{Groups, OwnedFacts};
use crate::pipeline::{Job, Worker};
use crate::report::{self, InputReport};
use crate::serve::alerting::Alerting;
use crate::serve::config::ServePlan;
use crate::serve::telemetry::{SelfEvent, Telemetry};

mod alerts;
mod evidence;

/// Lines kept to recognise a file's kind and format before its first line counts.
const DETECT_LINES: usize = 20;
/// Bytes a file may hold back while its kind is not known yet.
const DETECT_BYTES: usize = 256 * 1024;
/// Error- and app-log events kept to be joined to incidents: this far behind the newest
/// event time (an incident's keyed joins reach ten minutes), and at most this many.
const FACTS_KEEP_SECS: i64 = 3600;
const FACTS_MAX: usize = 200_000;
/// Rollup intervals that may wait for the next commit (see [`Live::rollups_piling_up`]).
const MAX_WAITING_ROLLUPS: usize = 32;
/// Seconds an event may lie outside an incident and still join it by time (as `analyze`).
const JOIN_TOLERANCE_SECS: i64 = 5;
/// How far behind an error or app log's newest event an incident must end before it is
/// final (events are logged a little before or after the request's access line).
const LOG_SLACK_SECS: i64 = 60;

#[derive(Debug)]
enum Reading {
    /// Kind or format unknown: the first lines wait here.
    Detecting(Vec<u8>),
    Access(Arc<AccessParser>, String),
    /// Error and application logs: events matched, grouped, and kept for correlation.
    Other(Box<LogReader>),
}

#[derive(Debug)]
struct Followed {
    /// The engine's input number (line numbers and evidence refer to it).
    input: u32,
    source: usize,
    reading: Reading,
    /// Counts since the store's first sight of the path (restored on restart).
    lines: u64,
    parsed: u64,
    malformed: u64,
    /// Physical lines of the current file before the next one to read (for line numbers).
    next_line: u64,
    error: Option<String>,
    /// Whether the last poll delivered lines, and the clock (ms) when one last did.
    delivered: bool,
    delivered_ms: u64,
    /// Nothing came for the partial-line flush timeout.
    quiet: bool,
}

/// What a restart restores per path.
#[derive(Debug, Clone, Default, serde::Deserialize)]
struct Restored {
    lines: u64,
    parsed: u64,
    malformed: u64,
    next_line: u64,
}

/// The live pipeline.
#[derive(Debug)]
pub struct Live {
    plan: ServePlan,
    store: Store,
    watcher: Watcher,
    engine: Engine,
    worker: Worker,
    next_worker: usize,
    files: BTreeMap<PathBuf, Followed>,
    /// Display names of the engine's inputs.
    names: Vec<String>,
    restored: FxHashMap<String, Restored>,
    /// Incident serial → (stored id, body last written).
    stored: FxHashMap<u64, (String, String)>,
    /// Degraded findings written, by id → body.
    stored_findings: FxHashMap<String, String>,
    /// Input rows written, by path → body.
    stored_inputs: FxHashMap<String, String>,
    /// Newest event time read, and the clock (ms) when a line last came.
    newest: Option<i64>,
    last_data_ms: u64,
    pending_rollups: Vec<(i64, Summary)>,
    lateness_secs: i64,
    catalog: Catalog,
    groups: Groups,
    /// Per group (by index): the count last stored.
    groups_stored: Vec<u64>,
    /// Groups stored by an earlier run: fingerprint → (count, first second).
    groups_before: FxHashMap<String, (u64, i64)>,
    facts: VecDeque<OwnedFacts>,
    /// The clock at the last poll.
    now_ms: u64,
    alerting: Alerting,
    /// For silences (the API writes them on its own connection).
    alert_db: AlertDb,
    /// Incident serial → the key of its alert (its first id).
    alert_keys: FxHashMap<u64, String>,
    /// The wall clock (ms since the epoch) at start.
    started_wall: i64,
    /// What `/metrics` counts.
    counters: Arc<std::sync::Mutex<crate::serve::metrics::Counters>>,
}

fn to_store(c: &Checkpoint) -> FileCheckpoint {
    FileCheckpoint {
        path: c.path.to_string_lossy().into_owned(),
        dev: c.id.dev,
        ino: c.id.ino,
        head: c.id.head,
        head_len: c.id.head_len,
        offset: c.offset,
    }
}

fn from_store(c: &FileCheckpoint) -> Checkpoint {
    Checkpoint {
        path: PathBuf::from(&c.path),
        id: FileId {
            dev: c.dev,
            ino: c.ino,
            head: c.head,
            head_len: c.head_len,
        },
        offset: c.offset,
    }
}

/// The watcher's patterns, flattened, and the source each belongs to.
fn patterns(plan: &ServePlan) -> (Vec<String>, Vec<usize>) {
    let mut pats = Vec::new();
    let mut owner = Vec::new();
    for (i, s) in plan.sources.iter().enumerate() {
        for p in &s.patterns {
            pats.push(p.clone());
            owner.push(i);
        }
    }
    (pats, owner)
}

fn detector_config(plan: &ServePlan) -> Config {
    Config {
        lateness_secs: plan.lateness_secs,
        ..Config::default()
    }
}

impl Live {
    /// Opens the store (resuming from its checkpoints) and starts following the sources.
    pub fn new(plan: ServePlan, mut store: Store, wall: i64) -> Result<Live, StoreError> {
        store.resolve_open()?;
        let alerting = Alerting::new(
            store.alert_state()?.as_deref(),
            plan.tiers[0].res_secs * 1000,
        );
        let alert_db = AlertDb::open(store.path())?;
        let resume: Vec<Checkpoint> = store.checkpoints()?.iter().map(from_store).collect();
        let mut restored = FxHashMap::default();
        let reader = store.reader()?;
        let groups_before = reader
            .groups(i64::MIN, i64::MAX)?
            .into_iter()
            .map(|g| (g.fingerprint, (g.count, g.first)))
            .collect();
        for row in reader.inputs()? {
            let r = serde_json::from_str::<Restored>(&row.body).unwrap_or(Restored {
                lines: row.lines,
                parsed: row.parsed,
                malformed: row.malformed,
                next_line: 0,
            });
            restored.insert(row.path, r);
        }
        let (pats, _) = patterns(&plan);
        let watcher = Watcher::new(pats, resume, plan.start_at, plan.flush_ms);
        let engine = Engine::new(detector_config(&plan), Vec::new());
        let worker = Worker::new(
            0,
            Limits::default(),
            Arc::new(plan.analysis.options.clone()),
        )
        .with_rollups(plan.tiers[0].res_secs);
        let lateness_secs = plan.lateness_secs;
        let catalog = plan.analysis.catalog();
        Ok(Live {
            plan,
            store,
            watcher,
            engine,
            worker,
            next_worker: 1,
            files: BTreeMap::new(),
            names: Vec::new(),
            restored,
            stored: FxHashMap::default(),
            stored_findings: FxHashMap::default(),
            stored_inputs: FxHashMap::default(),
            newest: None,
            last_data_ms: 0,
            pending_rollups: Vec::new(),
            lateness_secs,
            catalog,
            groups: Groups::default(),
            groups_stored: Vec::new(),
            groups_before,
            facts: VecDeque::new(),
            now_ms: 0,
            alerting,
            alert_db,
            alert_keys: FxHashMap::default(),
            started_wall: wall,
            counters: Arc::default(),
        })
    }

    /// The newest event time read (retention counts back from it, so a replayed history
    /// is kept as long as live data would be).
    pub fn newest(&self) -> Option<i64> {
        self.newest
    }

    pub fn plan(&self) -> &ServePlan {
        &self.plan
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Takes a new plan (SIGHUP). Sources are followed anew from the current checkpoints;
    /// a changed `serve.state` takes a restart.
    pub fn reload(&mut self, plan: ServePlan, tel: &dyn Telemetry) {
        self.pending_rollups.extend(self.worker.take_rollups());
        let checkpoints = self.watcher.checkpoints();
        let (pats, _) = patterns(&plan);
        self.watcher = Watcher::new(pats, checkpoints, StartAt::Beginning, plan.flush_ms);
        // A new worker: its series numbers start afresh under a new worker id.
        self.worker = Worker::new(
            self.next_worker,
            Limits::default(),
            Arc::new(plan.analysis.options.clone()),
        )
        .with_rollups(self.plan.tiers[0].res_secs);
        self.next_worker += 1;
        for f in self.files.values_mut() {
            if let Reading::Access(..) = f.reading {
                if let Some(p) = plan.sources.get(f.source).and_then(|s| s.parser.clone()) {
                    f.reading = Reading::Access(p.clone(), p.name().to_string());
                }
            }
        }
        let state = self.plan.state.clone();
        self.catalog = plan.analysis.catalog();
        self.plan = plan;
        if self.plan.state != state {
            tel.emit(&SelfEvent::Notice(format!(
                "serve.state changed to {}: it takes effect at the next start",
                self.plan.state.display()
            )));
            self.plan.state = state;
        }
    }

    /// Reads what every file gained; returns the lines read.
    pub fn poll(&mut self, now_ms: u64, tel: &dyn Telemetry) -> u64 {
        self.now_ms = now_ms;
        let mut events = Vec::new();
        self.watcher.poll(now_ms, &mut events);
        let (_, owner) = patterns(&self.plan);
        let mut lines = 0;
        for f in self.files.values_mut() {
            f.delivered = false;
        }
        for WatchEvent { input, path, event } in events {
            let source = owner.get(input).copied().unwrap_or(0);
            lines += self.on_event(&path, source, event, tel);
        }
        let idle: Vec<u32> = self
            .files
            .values()
            .filter(|f| !f.delivered)
            .map(|f| f.input)
            .collect();
        for input in idle {
            self.engine.set_floor(input, i64::MAX);
        }
        if lines > 0 {
            self.last_data_ms = now_ms;
        }
        lines
    }

    fn follow(&mut self, path: &Path, source: usize) -> &mut Followed {
        if !self.files.contains_key(path) {
            let input = self.engine.add_input();
            let name = report::clean_text(path.to_string_lossy().as_bytes());
            self.names.push(name.clone());
            let r = self.restored.remove(&name).unwrap_or_default();
            self.engine.set_line(input, r.next_line);
            let plan = &self.plan.sources[source];
            let reading = match &plan.parser {
                Some(p) => Reading::Access(p.clone(), p.name().to_string()),
                None => Reading::Detecting(Vec::new()),
            };
            self.files.insert(
                path.to_path_buf(),
                Followed {
                    input,
                    source,
                    reading,
                    lines: r.lines,
                    parsed: r.parsed,
                    malformed: r.malformed,
                    next_line: r.next_line,
                    error: None,
                    delivered: false,
                    delivered_ms: 0,
                    quiet: false,
                },
            );
        }
        self.files.get_mut(path).expect("just inserted")
    }

    fn on_event(
        &mut self,
        path: &Path,
        source: usize,
        event: TailEvent,
        tel: &dyn Telemetry,
    ) -> u64 {
        let now_ms = self.now_ms;
        let f = self.follow(path, source);
        match event {
            TailEvent::Lines { bytes, .. } => {
                f.error = None;
                f.delivered = true;
                f.delivered_ms = now_ms;
                self.read_lines(path, bytes, false, tel)
            }
            TailEvent::Rotated { .. } | TailEvent::Truncated { .. } => {
                let input = f.input;
                f.next_line = 0;
                self.engine.set_line(input, 0);
                tel.emit(&SelfEvent::Notice(format!(
                    "{}: {}",
                    path.display(),
                    match event {
                        TailEvent::Rotated { .. } => "rotated: following the new file",
                        _ => "truncated: reading again from its start",
                    }
                )));
                0
            }
            TailEvent::Unreadable { error } => {
                tel.emit(&SelfEvent::Notice(error.clone()));
                f.error = Some(error);
                0
            }
        }
    }

    /// `decide`: detect the kind now with what is held (the file went quiet).
    fn read_lines(
        &mut self,
        path: &Path,
        bytes: Vec<u8>,
        decide: bool,
        tel: &dyn Telemetry,
    ) -> u64 {
        let f = self.files.get_mut(path).expect("followed");
        let bytes = match &mut f.reading {
            Reading::Detecting(held) => {
                held.extend_from_slice(&bytes);
                let n = memchr::memchr_iter(b'\n', held).count();
                if n < DETECT_LINES && held.len() < DETECT_BYTES && !(decide && n > 0) {
                    return 0;
                }
                let held = std::mem::take(held);
                let lines: Vec<&[u8]> = held
                    .split(|&b| b == b'\n')
                    .filter(|l| !l.is_empty())
                    .take(DETECT_LINES)
                    .collect();
                let d = detect(&lines, &self.plan.user_formats);
                let year = self
                    .newest
                    .map(|n| faultline_model::civil_from_days(n.div_euclid(86_400)).0 as i32);
                let kind = self.plan.sources[f.source].kind.unwrap_or(d.kind);
                f.reading = match (kind, d.access) {
                    (Kind::Access, Some(p)) => {
                        let name = p.name().to_string();
                        Reading::Access(Arc::new(p), name)
                    }
                    (Kind::Access, None) => {
                        tel.emit(&SelfEvent::Notice(format!(
                            "{}: kind = \"access\" but no known access-log format reads its first lines; give log_format (read as an application log)",
                            path.display()
                        )));
                        Reading::Other(Box::new(LogReader::new(false, false, year)))
                    }
                    (Kind::Error, _) => {
                        Reading::Other(Box::new(LogReader::new(true, d.format == "apache", year)))
                    }
                    (Kind::App, _) => Reading::Other(Box::new(LogReader::new(false, false, year))),
                };
                held
            }
            _ => bytes,
        };
        let physical = memchr::memchr_iter(b'\n', &bytes).count() as u64
            + (!bytes.ends_with(b"\n") && !bytes.is_empty()) as u64;
        let f = self.files.get_mut(path).expect("followed");
        f.next_line += physical;
        match &f.reading {
            Reading::Access(parser, _) => {
                let job = Job {
                    input: f.input,
                    seq: 0,
                    buf: bytes,
                    parser: parser.clone(),
                    floor: i64::MIN,
                };
                let mut done = self.worker.process(job);
                let st = &done.stats;
                f.lines += st.lines;
                f.parsed += st.parsed;
                f.malformed += st.malformed;
                tel.emit(&SelfEvent::LinesRead {
                    path: path.display().to_string(),
                    lines: st.lines,
                    malformed: st.malformed,
                });
                let lines = st.lines;
                if let Some(last) = st.last {
                    self.newest = Some(self.newest.map_or(last.secs, |n| n.max(last.secs)));
                }
                // Nothing older than this chunk's last line is expected from the file next.
                done.floor = st.last.map_or(i64::MIN, |t| t.secs);
                self.engine.apply(done);
                lines
            }
            Reading::Other(_) => self.read_log_lines(path, &bytes, tel),
            Reading::Detecting(_) => 0,
        }
    }

    /// Reading a backlog fills many intervals in one tick: committing once this many wait
    /// keeps memory bounded whatever the backlog.
    pub fn rollups_piling_up(&self) -> bool {
        self.worker.rollups_waiting() + self.pending_rollups.len() >= MAX_WAITING_ROLLUPS
    }

    /// An incident opened since the last commit (committing at once brings it to the API
    /// without waiting for the tick).
    pub fn has_new_incident(&self) -> bool {
        self.engine
            .detector
            .current()
            .any(|i| !self.stored.contains_key(&i.serial))
    }

    /// Advances event time through idle input: when no line came for the allowed lateness,
    /// time is taken to pass with the clock from the newest line read.
    pub fn advance_idle(&mut self, now_ms: u64) {
        let Some(newest) = self.newest else { return };
        let idle_ms = now_ms.saturating_sub(self.last_data_ms);
        if idle_ms < self.lateness_secs as u64 * 1000 {
            return;
        }
        let watermark = newest + (idle_ms / 1000) as i64 - self.lateness_secs;
        self.engine.advance(watermark);
    }

    /// Commits everything read since the last tick, with the checkpoints just past it, and
    /// the alerting decisions of wall time `wall`. `Ok(true)`: notifications were enqueued.
    pub fn commit(
        &mut self,
        now_ms: u64,
        wall: i64,
        tel: &dyn Telemetry,
    ) -> Result<bool, StoreError> {
        let started = std::time::Instant::now();
        let mut buckets = std::mem::take(&mut self.pending_rollups);
        buckets.extend(self.worker.take_rollups());
        let checkpoints: Vec<FileCheckpoint> =
            self.watcher.checkpoints().iter().map(to_store).collect();
        let inputs = self.input_rows();
        // The kept error- and app-log events, joined once for incidents and findings alike.
        let corr = self.correlate();
        let (incidents, removed) = self.incident_rows(corr.as_ref());
        let findings = self.finding_rows(corr.as_ref());
        let groups = self.group_rows();
        self.alert_tick(&buckets, now_ms, wall, tel);
        let commit = Commit {
            buckets: &buckets,
            checkpoints: &checkpoints,
            inputs: &inputs,
            incidents: &incidents,
            removed_incidents: &removed,
            findings: &findings,
            groups: &groups,
            alerts: self.alerting.pending(),
        };
        if let Err(e) = self.store.commit(&commit) {
            // Nothing of it was written: keep the rollups for the next try. The checkpoints
            // of the next commit cover these lines as well.
            self.pending_rollups = buckets;
            // Write every incident, finding and group again next time.
            self.stored.clear();
            self.groups_stored.clear();
            self.stored_inputs.clear();
            self.stored_findings.clear();
            return Err(e);
        }
        self.count(&buckets);
        // Closed incidents are final once stored and once the other logs were read past
        // them: then the detector forgets them.
        let (closed, ended) = self.engine.take_closed(self.logs_read_until(now_ms));
        for inc in closed {
            self.stored.remove(&inc.serial);
        }
        for d in ended {
            self.stored_findings.remove(&degraded_id(&d));
        }
        for c in &checkpoints {
            let size = std::fs::metadata(&c.path).map_or(c.offset, |m| m.len());
            tel.emit(&SelfEvent::Lag {
                path: c.path.clone(),
                bytes: size.saturating_sub(c.offset),
            });
        }
        tel.emit(&SelfEvent::Committed {
            millis: started.elapsed().as_secs_f64() * 1000.0,
            buckets: buckets.len(),
        });
        Ok(self.alerting.saved())
    }

    /// Inputs whose counts changed since the last commit.
    fn input_rows(&mut self) -> Vec<InputRow> {
        let mut rows = Vec::new();
        for f in self.files.values() {
            let name = &self.names[f.input as usize];
            let (kind, format) = match &f.reading {
                Reading::Access(_, n) => ("access", Some(n.clone())),
                Reading::Other(r) if r.is_error => (
                    "error",
                    Some(if r.apache { "apache" } else { "nginx" }.to_string()),
                ),
                Reading::Other(_) => ("app", Some("text".to_string())),
                Reading::Detecting(_) => ("unknown", None),
            };
            let st = &self.engine.inputs[f.input as usize];
            let rep = InputReport {
                path: name.clone(),
                kind,
                format: format.clone(),
                log_format: None,
                lines: f.lines,
                parsed: f.parsed,
                filtered: st.filtered,
                malformed: f.malformed,
                malformed_samples: crate::analyze::samples_of(st),
                error: f.error.clone(),
            };
            let mut body = serde_json::to_value(&rep).expect("serialises");
            body["next_line"] = f.next_line.into();
            let body = body.to_string();
            if self.stored_inputs.get(name) == Some(&body) {
                continue;
            }
            self.stored_inputs.insert(name.clone(), body.clone());
            rows.push(InputRow {
                path: name.clone(),
                kind: kind.into(),
                format,
                lines: f.lines,
                parsed: f.parsed,
                malformed: f.malformed,
                error: f.error.clone(),
                body,
            });
        }
        rows
    }

    /// Incidents that changed since the last commit, and ids no longer in use (an open
    /// incident's id follows its cause and scope; one merged into another goes away).
    fn incident_rows(&mut self, corr: Option<&Correlator>) -> (Vec<StoredIncident>, Vec<String>) {
        let share = detector_config(&self.plan).scope_share;
        let mut rows = Vec::new();
        let mut removed = Vec::new();
        let mut live = Vec::new();
        for (i, inc) in self.engine.detector.current().enumerate() {
            live.push(inc.serial);
            let logs = corr.map(|c| LogEvidence {
                catalog: &self.catalog,
                joined: &c.incident_evidence[i],
            });
            let mut rep = report::incident_report(inc, share, &self.names, logs);
            if let Some(w) = self.window_at(&rep.scope, inc.start) {
                report::planned(&mut rep, &w, inc.start);
            }
            let body = serde_json::to_string(&rep).expect("serialises");
            let prev = self.stored.get(&inc.serial);
            if prev.is_some_and(|(id, b)| *id == rep.id && *b == body) {
                continue;
            }
            if let Some((old, _)) = prev.filter(|(id, _)| *id != rep.id) {
                removed.push(old.clone());
            }
            rows.push(StoredIncident {
                id: rep.id.clone(),
                start: inc.start,
                end: inc.end,
                state: rep.state.to_string(),
                cause: rep.diagnosis.cause.to_string(),
                body: body.clone(),
            });
            self.stored.insert(inc.serial, (rep.id, body));
        }
        let gone: Vec<u64> = self
            .stored
            .keys()
            .filter(|s| !live.contains(s))
            .copied()
            .collect();
        for s in gone {
            if let Some((id, _)) = self.stored.remove(&s) {
                removed.push(id);
            }
        }
        (rows, removed)
    }

    fn finding_rows(&mut self, corr: Option<&Correlator>) -> Vec<StoredFinding> {
        let mut rows = Vec::new();
        for (i, d) in self.engine.detector.current_degraded().iter().enumerate() {
            let logs = corr.map(|c| (&self.catalog, &c.degraded_evidence[i]));
            let f = report::degraded_finding(d, 0, &self.names, logs);
            let body = serde_json::to_string(&f).expect("serialises");
            let id = degraded_id(d);
            if self.stored_findings.get(&id) == Some(&body) {
                continue;
            }
            rows.push(StoredFinding {
                id: id.clone(),
                kind: f.kind.into(),
                start: d.start,
                end: d.end,
                body: body.clone(),
            });
            self.stored_findings.insert(id, body);
        }
        rows
    }

    /// Deletes rollups past their retention.
    pub fn retain(&mut self, now_secs: i64) -> Result<u64, StoreError> {
        self.store.retain(now_secs)
    }

    /// Files open now and whether any input is followed at all.
    pub fn followed(&self) -> (usize, usize) {
        let all = self.watcher.paths().count();
        let failing = self.files.values().filter(|f| f.error.is_some()).count();
        (all.saturating_sub(failing), all)
    }
}

fn degraded_id(d: &faultline_detect::Degraded) -> String {
    format!(
        "deg-{}-{:08x}",
        faultline_model::format_rfc3339(d.start, 0)
            .chars()
            .filter(|c| c.is_ascii_digit())
            .take(14)
            .collect::<String>(),
        faultline_model::join::fnv1a(&d.upstream) as u32
    )
}
