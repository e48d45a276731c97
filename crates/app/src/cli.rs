use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

/// faultline: finds the 5xx bursts in HTTP logs and tells why each happened.
#[derive(Debug, Parser)]
#[command(name = "faultline", version, about, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

// Parsed once per run: the size of the largest variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Read logs once and print a report: incidents, their causes, totals and top routes.
    Analyze(AnalyzeArgs),
    /// List the error signatures faultline recognises (with the config's additions), render
    /// them as a Markdown page, or show which one a log line matches.
    Catalog(CatalogArgs),
    /// Follow logs as they are written (through rotation and restarts), keep incidents and
    /// rollups in a SQLite file, and answer the JSON API on HTTP.
    Serve(ServeArgs),
    /// Check a config file: print every error with its line and key; exit 2 if any.
    Check(CheckArgs),
    /// Mute alerts for a while: add, list or expire silences of a running `serve`.
    #[command(subcommand)]
    Silence(SilenceCommand),
    /// What paged whom and why: alerts now, their history, and every notification sent.
    Alerts(AlertsArgs),
    /// Notifications: `notify test RECEIVER` sends a sample through a receiver.
    #[command(subcommand)]
    Notify(NotifyCommand),
}

/// Where a running `serve` is: its config (for the address and the admin token).
#[derive(Debug, clap::Args)]
pub struct Daemon {
    /// The config the daemon runs with.
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,
    /// The API's base URL (default: http:// and the config's serve.listen).
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum SilenceCommand {
    /// Add a silence; prints its id. Writes need the admin token: FAULTLINE_ADMIN_TOKEN,
    /// else the config's alerting.admin_token.
    Add(SilenceAddArgs),
    /// List silences with their state.
    List(SilenceListArgs),
    /// End a silence now.
    Expire(SilenceExpireArgs),
}

#[derive(Debug, clap::Args)]
pub struct SilenceAddArgs {
    #[command(flatten)]
    pub daemon: Daemon,
    /// A label matcher (repeatable), e.g. --matcher 'host="shop.example"' or 'route=~"/api/.*"'.
    #[arg(long = "matcher", short = 'm', required = true, value_name = "MATCHER")]
    pub matchers: Vec<String>,
    /// How long it lasts from its start, e.g. 2h.
    #[arg(long, conflicts_with = "until", required_unless_present = "until")]
    pub duration: Option<String>,
    /// When it ends (RFC 3339).
    #[arg(long)]
    pub until: Option<String>,
    /// When it starts (RFC 3339; default now).
    #[arg(long)]
    pub start: Option<String>,
    /// Why (required).
    #[arg(long)]
    pub comment: String,
    /// Who (default: $USER).
    #[arg(long)]
    pub author: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct SilenceListArgs {
    #[command(flatten)]
    pub daemon: Daemon,
    /// Also expired silences.
    #[arg(long)]
    pub all: bool,
    /// Print the API's JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct SilenceExpireArgs {
    #[command(flatten)]
    pub daemon: Daemon,
    /// The silence's id (`sil-…`).
    pub id: String,
}

#[derive(Debug, clap::Args)]
pub struct AlertsArgs {
    #[command(flatten)]
    pub daemon: Daemon,
    /// How far back, e.g. 12h (default 24h).
    #[arg(long, default_value = "24h")]
    pub since: String,
    /// Print the JSON of alerts, notifications and silences.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum NotifyCommand {
    /// Send a sample alert through one receiver of the config and say how it went.
    Test(NotifyTestArgs),
}

#[derive(Debug, clap::Args)]
pub struct NotifyTestArgs {
    /// The config that defines the receiver.
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,
    /// The receiver's name.
    pub receiver: String,
}

#[derive(Debug, clap::Args)]
pub struct CatalogArgs {
    /// A config file whose `[[signature]]` tables add to or override the built-in catalog.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Print the catalog page: every signature with what it means and what to do.
    #[arg(long, conflicts_with = "matches")]
    pub markdown: bool,

    /// Show the signature (and cause) a log line matches, as `analyze` would pick it.
    #[arg(long = "match", value_name = "LINE")]
    pub matches: Option<String>,
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
    Apache,
    Json,
}

impl Dialect {
    pub fn name(self) -> &'static str {
        match self {
            Dialect::Nginx => "nginx",
            Dialect::Apache => "apache",
            Dialect::Json => "json",
        }
    }
}

/// `faultline serve`: follow logs, keep state, answer on HTTP.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// The config file: sources to follow, the state file, the HTTP address (see
    /// `examples/faultline.toml`).
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,
}

/// `faultline check`: validate a config file.
#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// The config file to check; every error is printed with its line and key.
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,
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

    /// The dialect of the --log-format strings (inferred from them when absent); `json`
    /// reads JSON lines with the default mapping (nginx escape=json keys and common names).
    #[arg(long, value_enum, value_name = "DIALECT")]
    pub format: Option<Dialect>,

    /// Which JSON key fills which field, for JSON lines: `status=resp.code,time=ts,
    /// path=req.path,request_time=latency_ms:ms` (nested keys with dots; units s, ms, us,
    /// ns). Unnamed fields keep the default keys.
    #[arg(long = "json-fields", value_name = "SPEC")]
    pub json_fields: Option<String>,

    /// Time zone for log lines that carry none (nginx error logs): an IANA name
    /// (Europe/Berlin), UTC, or an offset (+0200). Default: the offset of the access log.
    #[arg(long, value_name = "ZONE", allow_hyphen_values = true)]
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

    /// A TOML file with input, filter and route settings (see the README); the command line
    /// adds to its lists and wins over its single values.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Only lines at or after this time: a duration before now (2h, 30m, 1d) or a time
    /// (2024-03-12T08:00:00Z; 2024-03-12 08:00 is read in --tz, else UTC).
    #[arg(long, value_name = "WHEN")]
    pub since: Option<String>,

    /// Only lines before this time (same forms as --since).
    #[arg(long, value_name = "WHEN")]
    pub until: Option<String>,

    /// Only this host (`*` wildcards, case-insensitive). Repeatable.
    #[arg(long, value_name = "HOST")]
    pub host: Vec<String>,

    /// Only routes matching this pattern (`/api/*`). Repeatable.
    #[arg(long, value_name = "PATTERN")]
    pub route: Vec<String>,

    /// Count only these statuses in totals and tables: 5xx, 502, 500-504, comma-separated.
    /// Incidents are still found over every response. Repeatable.
    #[arg(long, value_name = "LIST")]
    pub status: Vec<String>,

    /// Leave out lines whose request path matches this regex (health checks). Repeatable.
    #[arg(long = "exclude-path", value_name = "REGEX")]
    pub exclude_path: Vec<String>,

    /// Leave out lines whose user agent matches this regex (monitors, probes). Repeatable.
    #[arg(long = "exclude-ua", value_name = "REGEX")]
    pub exclude_ua: Vec<String>,

    /// A route template of your own (`/shop/{slug}`, `/api/*/items/{id}`, `/static/**`),
    /// used before the automatic one. Repeatable.
    #[arg(long = "route-pattern", value_name = "PATTERN")]
    pub route_pattern: Vec<String>,

    /// Parsing threads (default: the number of cores).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,

    /// Never show a progress bar.
    #[arg(long)]
    pub no_progress: bool,
}

impl AnalyzeArgs {
    /// The options of a config file alone, nothing from a command line (for `serve`).
    pub fn with_config(config: PathBuf) -> AnalyzeArgs {
        AnalyzeArgs {
            files: Vec::new(),
            log_format: Vec::new(),
            format: None,
            json_fields: None,
            tz: None,
            output: Output::Json,
            out: None,
            fail_on: None,
            config: Some(config),
            since: None,
            until: None,
            host: Vec::new(),
            route: Vec::new(),
            status: Vec::new(),
            exclude_path: Vec::new(),
            exclude_ua: Vec::new(),
            route_pattern: Vec::new(),
            threads: None,
            no_progress: true,
        }
    }
}
