//! Chores: `cargo xtask check-deps` (the crate graph of DESIGN §3) and `cargo xtask test`
//! (unit, integration and end-to-end tests: the README's test command).

use std::collections::{BTreeMap, BTreeSet};
use std::process::{exit, Command};

/// Which workspace crates each crate may depend on (DESIGN §3).
const ALLOWED: &[(&str, &[&str])] = &[
    ("faultline-model", &[]),
    ("faultline-formats", &["faultline-model"]),
    ("faultline-aggregate", &["faultline-model"]),
    (
        "faultline-detect",
        &["faultline-model", "faultline-aggregate"],
    ),
    (
        "faultline-diagnose",
        &["faultline-model", "faultline-aggregate", "faultline-detect"],
    ),
    (
        "faultline-alert",
        &["faultline-model", "faultline-detect", "faultline-diagnose"],
    ),
    ("faultline-ingest", &["faultline-model"]),
    (
        "faultline-store",
        &["faultline-model", "faultline-aggregate", "faultline-alert"],
    ),
    (
        "faultline-serve",
        &[
            "faultline-model",
            "faultline-formats",
            "faultline-aggregate",
            "faultline-detect",
            "faultline-diagnose",
            "faultline-alert",
            "faultline-store",
            "faultline-ingest",
        ],
    ),
    (
        "faultline",
        &[
            "faultline-model",
            "faultline-formats",
            "faultline-aggregate",
            "faultline-detect",
            "faultline-diagnose",
            "faultline-alert",
            "faultline-store",
            "faultline-ingest",
            "faultline-serve",
        ],
    ),
];

/// Crates that must stay pure: no async runtime, no I/O-heavy dependencies.
const PURE: &[&str] = &[
    "faultline-formats",
    "faultline-aggregate",
    "faultline-detect",
    "faultline-diagnose",
];
const IMPURE_DEPS: &[&str] = &["tokio", "async-std", "reqwest", "hyper", "rusqlite"];

fn main() {
    let task = std::env::args().nth(1).unwrap_or_default();
    let code = match task.as_str() {
        "check-deps" => check_deps(),
        "test" => test(),
        _ => {
            eprintln!("usage: cargo xtask <check-deps|test>");
            2
        }
    };
    exit(code);
}

fn metadata() -> serde_json::Value {
    let out = Command::new(env_cargo())
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .output()
        .expect("cargo metadata runs");
    if !out.status.success() {
        eprintln!("{}", String::from_utf8_lossy(&out.stderr));
        exit(2);
    }
    serde_json::from_slice(&out.stdout).expect("cargo metadata prints JSON")
}

fn env_cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

/// Every dependency edge between workspace crates, and every external dependency of the pure ones.
fn check_deps() -> i32 {
    let errors = edge_errors(&metadata());
    if errors.is_empty() {
        println!("check-deps: every edge is allowed");
        0
    } else {
        for e in &errors {
            eprintln!("check-deps: {e}");
        }
        1
    }
}

/// Every dependency edge of `cargo metadata`'s packages that DESIGN §3 does not allow.
fn edge_errors(meta: &serde_json::Value) -> Vec<String> {
    let allowed: BTreeMap<&str, BTreeSet<&str>> = ALLOWED
        .iter()
        .map(|(k, v)| (*k, v.iter().copied().collect()))
        .collect();
    let mut errors = Vec::new();
    for pkg in meta["packages"].as_array().into_iter().flatten() {
        let name = pkg["name"].as_str().unwrap_or_default();
        if name == "xtask" {
            continue;
        }
        let Some(ok) = allowed.get(name) else {
            errors.push(format!(
                "{name}: not in the crate table of DESIGN §3 (add it to xtask's ALLOWED first)"
            ));
            continue;
        };
        for dep in pkg["dependencies"].as_array().into_iter().flatten() {
            let dep_name = dep["name"].as_str().unwrap_or_default();
            let kind = dep["kind"].as_str().unwrap_or("normal");
            if dep_name.starts_with("faultline") && kind != "dev" && !ok.contains(dep_name) {
                errors.push(format!(
                    "{name} → {dep_name}: edge not allowed by DESIGN §3"
                ));
            }
            if PURE.contains(&name) && kind != "dev" && IMPURE_DEPS.contains(&dep_name) {
                errors.push(format!(
                    "{name} → {dep_name}: a pure crate may not do I/O or async"
                ));
            }
        }
    }
    errors
}

fn run(cmd: &mut Command) -> bool {
    eprintln!("+ {cmd:?}");
    cmd.status().map(|s| s.success()).unwrap_or(false)
}

/// Unit and integration tests, then the end-to-end suite against the built binary.
fn test() -> i32 {
    if !run(Command::new(env_cargo()).args(["test", "--workspace", "--all-targets"])) {
        return 1;
    }
    if !run(Command::new(env_cargo()).args(["test", "--workspace", "--doc"])) {
        return 1;
    }
    if !run(Command::new(env_cargo()).args(["build", "-p", "faultline"])) {
        return 1;
    }
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask is in the workspace");
    let bin = root.join("target/debug/faultline");
    let ok = run(Command::new("python3")
        .args(["-m", "pytest", "-q", "tests/e2e"])
        .current_dir(root)
        .env("FAULTLINE_BIN", bin));
    if ok {
        0
    } else {
        1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn package(name: &str, deps: &[(&str, &str)]) -> serde_json::Value {
        let deps: Vec<_> = deps
            .iter()
            .map(|(dep, kind)| {
                let kind = if kind.is_empty() {
                    serde_json::Value::Null
                } else {
                    (*kind).into()
                };
                serde_json::json!({ "name": dep, "kind": kind })
            })
            .collect();
        serde_json::json!({ "name": name, "dependencies": deps })
    }

    #[test]
    fn edges_outside_the_design_are_named() {
        let meta = serde_json::json!({ "packages": [
            package("faultline-detect", &[("faultline-aggregate", ""), ("memchr", "")]),
            package("faultline-formats", &[("faultline-ingest", ""), ("tokio", "")]),
            package("faultline-aggregate", &[("faultline-formats", "dev")]),
            package("faultline-extra", &[]),
            package("xtask", &[("faultline", "")]),
        ]});
        assert_eq!(
            edge_errors(&meta),
            [
                "faultline-formats → faultline-ingest: edge not allowed by DESIGN §3",
                "faultline-formats → tokio: a pure crate may not do I/O or async",
                "faultline-extra: not in the crate table of DESIGN §3 (add it to xtask's ALLOWED first)",
            ]
        );
    }
}
