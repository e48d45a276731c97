//! The `faultline` command; everything lives in the library (`lib.rs`).

use std::process::ExitCode;

use clap::Parser;
use faultline::{analyze, catalog_cmd, cli, serve};

fn main() -> ExitCode {
    // Rotated logs come in hundreds: allow as many open files as the hard limit permits.
    let _ = rlimit::increase_nofile_limit(u64::MAX);
    let cli = cli::Cli::parse();
    let outcome = match cli.command {
        cli::Command::Analyze(args) => analyze::run(&args),
        cli::Command::Catalog(args) => catalog_cmd::run(&args),
        cli::Command::Serve(args) => serve::run(&args),
        cli::Command::Check(args) => serve::check(&args),
        cli::Command::Silence(cmd) => serve::alerting::cli::silence(&cmd),
        cli::Command::Alerts(args) => serve::alerting::cli::alerts(&args),
        cli::Command::Notify(cmd) => serve::alerting::cli::notify(&cmd),
    };
    match outcome {
        Ok(code) => ExitCode::from(code),
        Err(fatal) => {
            eprintln!("faultline: {}", fatal.message);
            ExitCode::from(fatal.status)
        }
    }
}
