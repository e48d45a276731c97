//! Reading error and application logs line by line into events: an nginx or Apache error
//! line (with the lines a multi-line message continued on), or an application event joined
//! from its lines (a traceback). Each event is timed, matched, grouped and offered to the
//! correlator through a [`LogContext`]. `analyze` reads a whole file at once; `serve` feeds
//! lines as they are written.

use faultline_formats::{parse_apache_error, parse_nginx_error, AppEvent, Joiner};
use faultline_model::EventTime;

use crate::engine::InputStats;
use crate::logs::{LogContext, Pending};
use crate::pipeline;
use crate::tz::Zone;

/// The offset of a local time without one (the contract's rule): `--tz` if given, else
/// that of the access-log lines nearest in time.
pub fn offset_of(zone: Option<&Zone>, offsets: &[(i64, i32)], local: i64) -> i32 {
    zone.map_or_else(
        || crate::engine::offset_near(offsets, local),
        |z| z.offset_at(local),
    )
}

/// Where a log's times without an offset are read.
#[derive(Debug, Clone, Copy)]
pub struct Clock<'a> {
    pub zone: Option<&'a Zone>,
    /// The access logs' offsets over time: (second, offset), in time order.
    pub offsets: &'a [(i64, i32)],
}

/// One error or application log being read.
#[derive(Debug)]
pub struct LogReader {
    pub is_error: bool,
    pub apache: bool,
    pending: Pending,
    joiner: Joiner,
    /// The time of the last event that had one: events without a timestamp (a panic on
    /// stderr) happened then.
    app_time: Option<EventTime>,
    /// Offsets error-log times were read in (for the report's assumptions).
    pub used: Vec<i32>,
}

impl LogReader {
    /// `year`: for syslog-style lines that write none.
    pub fn new(is_error: bool, apache: bool, year: Option<i32>) -> LogReader {
        LogReader {
            is_error,
            apache,
            pending: Pending::default(),
            joiner: year.map_or_else(Joiner::new, Joiner::with_year),
            app_time: None,
            used: Vec::new(),
        }
    }

    /// One physical line, without its line end (it is counted in `st`, empty or not).
    pub fn line(
        &mut self,
        line: &[u8],
        source: u32,
        clock: Clock<'_>,
        st: &mut InputStats,
        ctx: &mut LogContext<'_>,
    ) {
        st.physical += 1;
        if line.is_empty() {
            return;
        }
        st.lines += 1;
        if !self.is_error {
            st.parsed += 1;
            if let Some(ev) = self.joiner.push(st.physical, line) {
                self.app_event(&ev, source, clock, st, ctx);
            }
            return;
        }
        let apache = self.apache;
        let parsed = if apache {
            parse_apache_error(line)
        } else {
            parse_nginx_error(line)
        };
        match parsed {
            Some(e) if line.len() <= pipeline::MAX_LINE => {
                st.parsed += 1;
                let offset = offset_of(clock.zone, clock.offsets, e.local_secs);
                if !self.used.contains(&offset) {
                    self.used.push(offset);
                }
                let t = EventTime {
                    secs: e.local_secs - offset as i64,
                    offset,
                };
                st.widen(Some(t), Some(t));
                self.pending.flush(source, apache, ctx);
                self.pending.start(st.physical, line, &e, t, apache);
            }
            // A message that went on over several lines (e.g. a stack trace PHP-FPM sent
            // through FastCGI): part of the event before it.
            _ if line.len() <= pipeline::MAX_LINE && self.pending.continue_with(line, apache) => {
                st.parsed += 1;
            }
            _ => {
                self.pending.flush(source, apache, ctx);
                st.malformed += 1;
                if st.samples.len() < pipeline::MALFORMED_SAMPLES {
                    st.samples.push(pipeline::Malformed {
                        line: st.physical,
                        reason: if apache {
                            "not an Apache error-log line"
                        } else {
                            "not an nginx error-log line"
                        },
                        text: line[..line.len().min(200)].to_vec(),
                    });
                }
            }
        }
    }

    /// Ends the event in progress (the end of the input, or a live file gone quiet).
    pub fn finish(
        &mut self,
        source: u32,
        clock: Clock<'_>,
        st: &mut InputStats,
        ctx: &mut LogContext<'_>,
    ) {
        self.pending.flush(source, self.apache, ctx);
        if let Some(ev) = self.joiner.finish() {
            self.app_event(&ev, source, clock, st, ctx);
        }
    }

    /// One application event: its time made UTC (a timestamp without an offset is read
    /// like an error log's), then matched, grouped and joined.
    fn app_event(
        &mut self,
        ev: &AppEvent,
        source: u32,
        clock: Clock<'_>,
        st: &mut InputStats,
        ctx: &mut LogContext<'_>,
    ) {
        let at = match ev.time {
            Some((local, Some(offset))) => Some(EventTime {
                secs: local - offset as i64,
                offset,
            }),
            Some((local, None)) => {
                let offset = offset_of(clock.zone, clock.offsets, local);
                Some(EventTime {
                    secs: local - offset as i64,
                    offset,
                })
            }
            None => self.app_time,
        };
        let Some(at) = at else { return };
        if ev.time.is_some() {
            self.app_time = Some(at);
            st.widen(Some(at), Some(at));
        }
        crate::logs::offer_app_event(ev, at, source, ctx);
    }
}
