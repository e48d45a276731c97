//! # faultline
//!
//! The binary: command line, pipeline wiring, reports and exit codes (DESIGN §3: `app`
//! depends on every engine crate; nothing depends on it).
//!
//! `faultline analyze FILE…` reads access, error and application logs (plain, gzip, zstd,
//! stdin), finds the incidents of the report contract, diagnoses each from what the logs
//! say, and prints a terminal or JSON report. Exit status: 0 when a report was produced,
//! 2 when no input could be used or the arguments are wrong, 1 with `--fail-on incident`
//! when an incident was found.

pub mod analyze;
pub mod catalog_cmd;
pub mod cli;
pub mod config;
pub mod engine;
pub mod html;
pub mod inputs;
pub mod logread;
pub mod logs;
pub mod markdown;
pub mod pipeline;
pub mod report;
pub mod serve;
pub mod terminal;
pub mod tz;
pub mod when;
