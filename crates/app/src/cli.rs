use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

/// faultline: finds the 5xx bursts in HTTP logs and tells why each happened.
#[derive(Debug, Parser)]
#[command(name = "faultline", version, about, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Read logs once and print a report: incidents, their causes, totals and top routes.
    Analyze(AnalyzeArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    Terminal,
    Json,
    /// One self-contained page with charts, for a post-mortem.
    Html,
    /// For pasting into an incident ticket.
    Markdown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    /// Exit 1 when at least one incident was found.
    Incident,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Dialect {
    Nginx,
}

#[derive(Debug, clap::Args)]
pub struct AnalyzeArgs {
    /// Log files: access, error and application logs, mixed. Globs are expanded; `-` is
    /// stdin; gzip and zstd are read transparently.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<String>,

    /// An access-log format, tried first on every input: an nginx `log_format` string as in
    /// the config (e.g. '$remote_addr - [$time_local] "$request" $status …'), or a preset
    /// name (combined, main, extended, upstream_time, upstreaminfo). Repeatable.
    #[arg(long = "log-format", value_name = "STRING")]
    pub log_format: Vec<String>,

    /// The dialect of the --log-format strings (inferred from them when absent).
    #[arg(long, value_enum, value_name = "DIALECT")]
    pub format: Option<Dialect>,

    /// Time zone for log lines that carry none (nginx error logs): an IANA name
    /// (Europe/Berlin), UTC, or an offset (+0200). Default: the offset of the access log.
    #[arg(long, value_name = "ZONE")]
    pub tz: Option<String>,

    /// Report format.
    #[arg(long, value_enum, default_value = "terminal")]
    pub output: Output,

    /// Write the report to this file instead of stdout.
    #[arg(short = 'o', long = "out", value_name = "FILE")]
    pub out: Option<PathBuf>,

    /// Exit with status 1 when the condition holds (for scripts and CI jobs).
    #[arg(long = "fail-on", value_enum, value_name = "WHAT")]
    pub fail_on: Option<FailOn>,

    /// Parsing threads (default: the number of cores).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,

    /// Never show a progress bar.
    #[arg(long)]
    pub no_progress: bool,
}
