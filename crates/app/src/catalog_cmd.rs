//! `faultline catalog`: the signature catalog as the binary sees it, built-in entries plus
//! the config file's `[[signature]]` tables.

use std::fmt::Write as _;

use faultline_diagnose::Catalog;

use crate::analyze::{Fatal, EXIT_UNUSABLE};
use crate::cli::CatalogArgs;
use crate::config;

/// Builds the catalog of a config file (or the built-in one); every bad entry is reported.
pub fn load(args: &CatalogArgs) -> Result<Catalog, Fatal> {
    let user = match &args.config {
        Some(p) => {
            config::load(p)
                .map_err(|message| Fatal {
                    message,
                    status: EXIT_UNUSABLE,
                })?
                .signature
        }
        None => Vec::new(),
    };
    Catalog::with_overrides(user).map_err(|errors| Fatal {
        message: errors
            .iter()
            .map(|e| format!("[[signature]] {e}"))
            .collect::<Vec<_>>()
            .join("\n"),
        status: EXIT_UNUSABLE,
    })
}

/// The text `faultline catalog` prints; the exit status is 1 when `--match` matched nothing.
pub fn render(args: &CatalogArgs, catalog: &Catalog) -> (String, u8) {
    if args.markdown {
        return (catalog.render_markdown(), 0);
    }
    if let Some(line) = &args.matches {
        return match catalog.best_line_match(line.as_bytes()) {
            Some(i) => {
                let s = catalog.get(i);
                let mut o = format!(
                    "{}\ncause: {}\ncodes: {}\n{}\n",
                    s.id,
                    s.cause.id(),
                    s.codes
                        .iter()
                        .map(u16::to_string)
                        .collect::<Vec<_>>()
                        .join(", "),
                    s.summary
                );
                for r in &s.remediation {
                    let _ = writeln!(o, "- {r}");
                }
                (o, 0)
            }
            None => ("no signature matches\n".into(), 1),
        };
    }
    let mut o = String::new();
    let width = catalog
        .signatures()
        .iter()
        .map(|s| s.id.len())
        .max()
        .unwrap_or(0);
    for s in catalog.signatures() {
        let codes: Vec<String> = s.codes.iter().map(u16::to_string).collect();
        let _ = writeln!(
            o,
            "{:width$}  {:20}  {:11}  {}",
            s.id,
            s.cause.id(),
            codes.join(","),
            s.software
        );
    }
    (o, 0)
}

pub fn run(args: &CatalogArgs) -> Result<u8, Fatal> {
    let catalog = load(args)?;
    let (text, code) = render(args, &catalog);
    print!("{text}");
    Ok(code)
}
