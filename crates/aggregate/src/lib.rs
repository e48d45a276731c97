//! # faultline-aggregate
//!
//! Turns parsed records into bounded aggregates: totals by status, per-route (templated),
//! host, upstream and method counts with mergeable latency sketches, per-second series cells
//! for detection, the 5xx events diagnosis reads, and a timeline that coarsens itself.
//!
//! Pure (no I/O, no clock, no threads): the app runs one [`Shard`] per parsing thread and
//! merges them. Depends only on `faultline-model` (DESIGN §3).
//!
//! Key types:
//! - [`Shard`]: per-worker state; [`Shard::observe`] is the hot path (no allocation per line
//!   in steady state), [`Shard::take_chunk`] hands over per-second [`Cell`]s and [`ErrEvent`]s.
//! - [`Summary`]: order-free totals, merged across shards.
//! - [`LatencySketch`]: log-linear histogram for p50/p90/p99 within ~3 %.
//! - [`route::template_into`]: `/api/users/123/orders` → `/api/users/{id}/orders`.
//! - [`Tells`]: what the access log says about a set of 5xx, for diagnosis.
//! - [`Timeline`]: bounded requests/5xx over time.
//!
//! ```
//! use faultline_aggregate::{Limits, Shard};
//! use faultline_model::Record;
//! let mut shard = Shard::new(Limits::default());
//! let rec = Record { status: 502, path: b"/api/users/42", host: b"api", ..Record::default() };
//! shard.observe(&rec, 1_700_000_000, 1, b"raw line");
//! let chunk = shard.take_chunk();
//! assert_eq!(chunk.events.len(), 1);
//! assert_eq!(&*chunk.new_series[0].route, b"/api/users/{id}");
//! assert_eq!(shard.into_summary().by_status[502], 1);
//! ```

mod filter;
mod interner;
mod keycache;
pub mod route;
mod shard;
mod sketch;
mod summary;
mod tells;
mod timeline;

pub use filter::{Filter, Glob, StatusSet};
pub use interner::{Interner, OTHER};
pub use route::{route_into, RoutePatterns};
pub use shard::{Cell, ChunkOut, ErrEvent, Limits, Options, Run, SeriesKey, Shard};
pub use sketch::LatencySketch;
pub use summary::{Codes, KeyMap, KeyStats, Summary};
pub use tells::{LineRef, StatusTells, Tells, EXACT_DURATIONS, FAST_US};
pub use timeline::{code_slot, Bucket, Timeline};
