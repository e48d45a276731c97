//! `faultline catalog`, the generated catalog page and `[[signature]]` tables in the config.

use std::path::PathBuf;

use clap::Parser;
use faultline::catalog_cmd;
use faultline::cli::{Cli, Command};
use faultline_diagnose::Catalog;

fn catalog_args(args: &[&str]) -> faultline::cli::CatalogArgs {
    let mut argv = vec!["faultline", "catalog"];
    argv.extend_from_slice(args);
    match Cli::try_parse_from(argv).expect("valid arguments").command {
        Command::Catalog(a) => a,
        other => panic!("parsed as {other:?}"),
    }
}

fn repo_file(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(rel)
}

#[test]
fn the_catalog_page_is_current() {
    let page =
        std::fs::read_to_string(repo_file("docs/signatures.md")).expect("docs/signatures.md");
    let fresh = Catalog::builtin().render_markdown();
    assert!(
        page == fresh,
        "docs/signatures.md is stale: run `cargo run -- catalog --markdown > docs/signatures.md`"
    );
}

#[test]
fn match_names_the_signature_and_its_cause() {
    let args = catalog_args(&[
        "--match",
        "2026/05/14 10:21:33 [error] 7#7: *3 upstream SSL certificate verify error: (10:certificate has expired) while SSL handshaking to upstream, client: 1.2.3.4, server: a, request: \"GET / HTTP/1.1\", upstream: \"https://127.0.0.1:8443/\", host: \"a\"",
    ]);
    let cat = catalog_cmd::load(&args).unwrap();
    let (text, code) = catalog_cmd::render(&args, &cat);
    assert_eq!(code, 0);
    assert!(text.contains("cause: tls_failure"), "{text}");
    let args = catalog_args(&["--match", "all quiet on the western front"]);
    let (text, code) = catalog_cmd::render(&args, &cat);
    assert_eq!((text.as_str(), code), ("no signature matches\n", 1));
}

#[test]
fn config_signatures_are_added_and_bad_ones_named() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.toml");
    std::fs::write(
        &good,
        r#"
[[signature]]
id = "acme.ledger_locked"
pattern = 'ledger is locked by batch job \d+'
cause = "dependency_failure"
codes = [500]
sample = "2026-05-14 10:21:33 ERROR ledger is locked by batch job 42"
summary = "The nightly batch holds the ledger lock."
"#,
    )
    .unwrap();
    let args = catalog_args(&[
        "--config",
        good.to_str().unwrap(),
        "--match",
        "ERROR ledger is locked by batch job 7",
    ]);
    let cat = catalog_cmd::load(&args).unwrap();
    let (text, _) = catalog_cmd::render(&args, &cat);
    assert!(
        text.starts_with("acme.ledger_locked\ncause: dependency_failure"),
        "{text}"
    );

    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        r#"
[[signature]]
id = "acme.broken"
pattern = 'unbalanced ('
cause = "app_error"
"#,
    )
    .unwrap();
    let err = catalog_cmd::load(&catalog_args(&["--config", bad.to_str().unwrap()])).unwrap_err();
    assert!(
        err.message
            .contains("signature `acme.broken`: `pattern` is not a valid regex"),
        "{}",
        err.message
    );
    assert_eq!(err.status, 2);
}

#[test]
fn analyze_refuses_a_config_with_a_bad_signature_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("faultline.toml");
    std::fs::write(
        &cfg,
        "[[signature]]\nid = \"acme.broken\"\npattern = 'unbalanced ('\ncause = \"app_error\"\n\n[[signature]]\nid = \"nginx.upstream.connect_refused\"\ncause = \"not_a_cause\"\n",
    )
    .unwrap();
    let access = repo_file("examples/nginx/access.log");
    let cli = Cli::parse_from([
        "faultline",
        "analyze",
        "--config",
        cfg.to_str().unwrap(),
        access.to_str().unwrap(),
    ]);
    let Command::Analyze(args) = cli.command else {
        panic!("not analyze");
    };
    let err = faultline::analyze::analyze_args(&args).unwrap_err();
    assert!(
        err.message
            .contains("signature `acme.broken`: `pattern` is not a valid regex"),
        "{}",
        err.message
    );
    assert!(
        err.message
            .contains("signature `nginx.upstream.connect_refused`: `cause`"),
        "{}",
        err.message
    );
}
