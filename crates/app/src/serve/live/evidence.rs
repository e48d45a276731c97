//! Error and application logs in the live pipeline: their events are matched, grouped and
//! kept, then joined to the detector's current incidents at each commit, as `analyze`
//! joins them; an incident's diagnosis is final once these logs were read past it.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};

use faultline_diagnose::{Catalog, Correlator};
use faultline_store::StoredGroup;

use super::{Live, Reading, FACTS_KEEP_SECS, FACTS_MAX, JOIN_TOLERANCE_SECS, LOG_SLACK_SECS};
use crate::logread::Clock;
use crate::logs::{Groups, LogContext, OwnedFacts};
use crate::serve::config::ServePlan;
use crate::serve::telemetry::{SelfEvent, Telemetry};

impl Live {
    /// Error- and app-log lines: events matched, grouped, and kept to be joined to the
    /// incidents of the next ticks.
    pub(super) fn read_log_lines(&mut self, path: &Path, bytes: &[u8], tel: &dyn Telemetry) -> u64 {
        let Live {
            files,
            engine,
            catalog,
            plan,
            groups,
            facts,
            ..
        } = self;
        let f = files.get_mut(path).expect("followed");
        let Reading::Other(reader) = &mut f.reading else {
            return 0;
        };
        let mut ctx = stream_context(catalog, plan, groups);
        // Offsets change only with DST: a copy is cheap.
        let offsets = engine.offsets().to_vec();
        let clock = Clock {
            zone: plan.sources[f.source].zone.as_ref(),
            offsets: &offsets,
        };
        let st = &mut engine.inputs[f.input as usize];
        let (lines0, malformed0) = (st.lines, st.malformed);
        let mut rest = bytes;
        while !rest.is_empty() {
            let end = memchr::memchr(b'\n', rest).unwrap_or(rest.len());
            reader.line(
                crate::inputs::trim_eol(&rest[..end]),
                f.input,
                clock,
                st,
                &mut ctx,
            );
            rest = &rest[(end + 1).min(rest.len())..];
        }
        let (lines, malformed) = (st.lines - lines0, st.malformed - malformed0);
        f.lines += lines;
        f.parsed += lines - malformed;
        f.malformed += malformed;
        close_context(ctx, groups, facts);
        tel.emit(&SelfEvent::LinesRead {
            path: path.display().to_string(),
            lines,
            malformed,
        });
        lines
    }

    /// Ends the events in progress in error and app logs that got nothing new for the
    /// partial-line flush timeout (a multi-line event is whole once its file goes quiet),
    /// and decides the kind of files that went quiet before enough lines came to tell.
    pub fn end_quiet_events(&mut self, tel: &dyn Telemetry) {
        let wait = self.plan.flush_ms;
        let now = self.now_ms;
        for f in self.files.values_mut() {
            f.quiet = now.saturating_sub(f.delivered_ms) >= wait;
        }
        let undecided: Vec<PathBuf> = self
            .files
            .iter()
            .filter(|(_, f)| {
                f.quiet && matches!(&f.reading, Reading::Detecting(h) if !h.is_empty())
            })
            .map(|(p, _)| p.clone())
            .collect();
        for path in undecided {
            self.read_lines(&path, Vec::new(), true, tel);
        }
        let Live {
            files,
            engine,
            catalog,
            plan,
            groups,
            facts,
            ..
        } = self;
        let mut ctx = stream_context(catalog, plan, groups);
        let offsets = engine.offsets().to_vec();
        for f in files.values_mut().filter(|f| f.quiet) {
            if let Reading::Other(reader) = &mut f.reading {
                let clock = Clock {
                    zone: plan.sources[f.source].zone.as_ref(),
                    offsets: &offsets,
                };
                reader.finish(
                    f.input,
                    clock,
                    &mut engine.inputs[f.input as usize],
                    &mut ctx,
                );
            }
        }
        close_context(ctx, groups, facts);
        // Events too old to join anything still open are let go.
        let horizon = self.newest.map_or(i64::MIN, |n| n - FACTS_KEEP_SECS);
        while facts
            .front()
            .is_some_and(|f| f.secs < horizon || facts.len() > FACTS_MAX)
        {
            facts.pop_front();
        }
    }

    /// Event time up to which every error and app log has been read (minus a minute for
    /// events logged a little before or after the request): incidents that ended before it
    /// have all their evidence.
    pub(super) fn logs_read_until(&self, now_ms: u64) -> i64 {
        self.files
            .values()
            .filter(|f| matches!(f.reading, Reading::Other(_)))
            .filter_map(|f| {
                // A log that has been quiet is taken to be read up to now, as the watermark.
                let idle = (now_ms.saturating_sub(f.delivered_ms) / 1000) as i64;
                let last = self.engine.inputs[f.input as usize].last?;
                Some(last.secs + idle - LOG_SLACK_SECS)
            })
            .min()
            .unwrap_or(i64::MAX)
    }

    /// The kept events joined to the detector's current incidents and findings; `None`
    /// when no error or app log is followed.
    pub(super) fn correlate(&self) -> Option<Correlator> {
        let any_logs = self
            .files
            .values()
            .any(|f| matches!(f.reading, Reading::Other(_)));
        if !any_logs {
            return None;
        }
        let d = &self.engine.detector;
        let mut c = Correlator::new(d.current(), d.current_degraded(), JOIN_TOLERANCE_SECS);
        for f in &self.facts {
            c.offer(&f.facts());
        }
        Some(c)
    }

    /// Error groups whose count changed since the last commit, with the counts of earlier
    /// runs added.
    pub(super) fn group_rows(&mut self) -> Vec<StoredGroup> {
        let mut rows = Vec::new();
        self.groups_stored.resize(self.groups.list.len(), 0);
        for (i, g) in self.groups.list.iter().enumerate() {
            if self.groups_stored[i] == g.count {
                continue;
            }
            self.groups_stored[i] = g.count;
            let mut rep = g.report(&self.catalog, &self.names, i64::MAX);
            let (before, first_before) = self
                .groups_before
                .get(&rep.fingerprint)
                .copied()
                .unwrap_or((0, i64::MAX));
            rep.count += before;
            let first = g.first.secs.min(first_before);
            if first < g.first.secs {
                rep.first_seen = faultline_model::format_rfc3339(first, 0);
            }
            rows.push(StoredGroup {
                fingerprint: rep.fingerprint.clone(),
                first,
                last: g.last.secs,
                count: rep.count,
                body: serde_json::to_string(&rep).expect("serialises"),
            });
        }
        rows
    }
}

/// The context events are read in as they come: the error groups kept across ticks, no
/// incident to join yet, every event kept (tapped) to be joined at the next commits.
fn stream_context<'a>(
    catalog: &'a Catalog,
    plan: &'a ServePlan,
    groups: &mut Groups,
) -> LogContext<'a> {
    LogContext {
        catalog,
        patterns: &plan.analysis.options.patterns,
        correlator: Correlator::new([], &[], JOIN_TOLERANCE_SECS),
        groups: std::mem::take(groups),
        tap: Some(Vec::new()),
    }
}

/// Takes the groups back and keeps the events read.
fn close_context(ctx: LogContext<'_>, groups: &mut Groups, facts: &mut VecDeque<OwnedFacts>) {
    *groups = ctx.groups;
    facts.extend(ctx.tap.unwrap_or_default());
}
