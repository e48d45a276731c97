//! # faultline-detect
//!
//! The default incident detector of the report contract, driven by event time only.
//!
//! Series are (upstream server or pool, host, route template) at one-second resolution. A
//! second is *bad* for a series when its trailing 10 s hold at least 3 5xx, a 5xx ratio of at
//! least 5 %, and that ratio is above the upper Wilson bound of the series' own trailing
//! 15-minute ratio (a 1 % prior until it has 15 minutes of history; bad seconds and open
//! incidents are kept out of that baseline). A bad series joins an open incident that shares
//! its host or upstream and whose cause (named by a [`Classify`] implementation, i.e. the
//! diagnosis engine) is the same; otherwise it opens a new one. An incident closes after
//! max(10 s, 20 non-5xx responses of its scope) without a bad second, or after 5 minutes with
//! no traffic at all in its scope.
//!
//! Every decision uses only events up to that second plus the allowed lateness, so feeding a
//! log whole, in chunks or line by line gives the same incidents.
//!
//! Pure: depends on `faultline-model` and `faultline-aggregate` only (DESIGN §3).
//!
//! ```
//! use faultline_aggregate::{Cell, SeriesKey, Tells};
//! use faultline_detect::{Classify, Config, Detector};
//! use faultline_model::Cause;
//! struct Always;
//! impl Classify for Always { fn classify(&self, _: &Tells, _: u64) -> Cause { Cause::Unknown } }
//! let mut d = Detector::new(Config::default(), Always);
//! let s = d.add_series(SeriesKey { host: b"h".as_slice().into(), route: b"/".as_slice().into(), upstream: b"".as_slice().into() });
//! d.push_run(100, vec![Cell { sec: 100, series: s, requests: 10, errors: 0 }], vec![]);
//! let (incidents, _) = d.finish();
//! assert!(incidents.is_empty());
//! ```

mod config;
mod detector;
mod incident;
mod series;

pub use config::{wilson_upper, Config};
pub use detector::{Classify, Detector};
pub use incident::{Degraded, Incident, JoinKeys, Member, Sample};
pub use series::Event;
