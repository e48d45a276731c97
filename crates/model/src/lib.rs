//! # faultline-model
//!
//! The shared vocabulary of faultline. Every other crate speaks in these types; this crate
//! depends on nothing else in the workspace (DESIGN §3).
//!
//! Key types:
//! - [`Record`]: one access-log line, borrowed from the line's bytes (no allocation per line).
//! - [`EventTime`]: seconds since the Unix epoch plus the UTC offset the log used.
//! - [`Cause`] and [`Category`]: the cause ids of the report contract.
//! - [`upstream`]: splitting nginx's multi-attempt `$upstream_*` lists.
//! - [`Clock`]: the one way to read the wall clock (only the orchestration layer does).
//!
//! ```
//! use faultline_model::{upstream, StatusClass};
//! assert_eq!(upstream::last(b"10.0.0.1:80, 10.0.0.2:80 : pool"), b"pool");
//! assert_eq!(StatusClass::of(503), Some(StatusClass::Server));
//! ```

mod cause;
mod clock;
pub mod join;
mod record;
mod status;
mod time;
pub mod upstream;

pub use cause::{Category, Cause};
pub use clock::{Clock, ManualClock, SystemClock};
pub use record::{
    Record, FLAG_BLIND, FLAG_FAILED_OVER, FLAG_NAMED_ONLY, FLAG_NO_UPSTREAM, FLAG_POOL_ADDR,
};
pub use status::StatusClass;
pub use time::{civil_from_days, days_from_civil, format_rfc3339, EventTime};
