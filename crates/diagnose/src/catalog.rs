//! The signature catalog: log messages that explain 5xx responses, as data (DESIGN §5).
//!
//! The built-in catalog (`catalog/error-signatures.toml`, one entry per known message of
//! nginx, Apache, HAProxy, Envoy, load balancers, app servers, databases and the kernel) is
//! compiled into the binary and parsed once. Users add or override entries with the same
//! fields ([`RawSignature`]); an override names an existing `id` and replaces only the fields
//! it sets. Every pattern of every entry becomes one member of a [`RegexSet`], so a line is
//! scanned once whatever the size of the catalog; when several entries match, the highest
//! `priority` wins (ties: the entry listed first).

use std::fmt::Write as _;

use regex::bytes::{Regex, RegexSet, RegexSetBuilder};
use serde::Deserialize;

use faultline_model::Cause;

/// The built-in catalog's source text.
pub const BUILTIN_TOML: &str = include_str!("../catalog/error-signatures.toml");

/// How large a compiled pattern may grow (the `regex` crate's default is 10 MiB per regex;
/// the set holds them all).
const SIZE_LIMIT: usize = 64 << 20;

/// One catalog entry as written in TOML, every field optional so that an override may set
/// only what it changes. [`Catalog::with_overrides`] checks what a new entry must have.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSignature {
    pub id: String,
    pub software: Option<String>,
    pub log: Option<String>,
    pub source: Option<String>,
    pub pattern: Option<String>,
    pub sample: Option<String>,
    pub more_samples: Option<Vec<String>>,
    pub codes: Option<Vec<u16>>,
    pub codes_note: Option<String>,
    pub family: Option<String>,
    pub cause: Option<String>,
    pub summary: Option<String>,
    pub remediation: Option<Vec<String>>,
    pub evidence: Option<String>,
    pub verified: Option<String>,
    pub priority: Option<i32>,
}

/// The catalog file: signatures plus descriptive tables this crate does not use.
#[derive(Debug, Deserialize)]
struct File {
    #[serde(default)]
    signature: Vec<RawSignature>,
}

/// Where an entry comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Builtin,
    /// Added by the user's configuration.
    User,
    /// A built-in entry some of whose fields the user's configuration replaced.
    Overridden,
}

/// One validated catalog entry.
#[derive(Debug, Clone)]
pub struct Signature {
    pub id: String,
    pub software: String,
    /// Which log shows the line (free text, e.g. `error_log`, `app log`, `kernel log`).
    pub log: String,
    pub source: String,
    pub pattern: String,
    pub samples: Vec<String>,
    pub codes: Vec<u16>,
    pub codes_note: String,
    pub family: String,
    pub cause: Cause,
    pub summary: String,
    pub remediation: Vec<String>,
    pub evidence: String,
    pub verified: String,
    pub priority: i32,
    pub origin: Origin,
}

impl Signature {
    /// Entries about access-log fields (HAProxy termination states, Envoy flags, ALB codes)
    /// are read by the evidence rules, not matched against error- and app-log lines.
    pub fn is_access_log(&self) -> bool {
        let log = self.log.to_ascii_lowercase();
        log.starts_with("access") || log.contains("access_log") || log.contains("logpush")
    }
}

/// A problem with one catalog entry, named by its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogError {
    pub id: String,
    pub message: String,
}

impl std::fmt::Display for CatalogError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "signature `{}`: {}", self.id, self.message)
    }
}

/// The compiled catalog.
#[derive(Debug, Clone)]
pub struct Catalog {
    sigs: Vec<Signature>,
    set: RegexSet,
    regexes: Vec<Regex>,
    /// Entries that take part in line matching (not access-log ones).
    line_members: Vec<bool>,
}

impl Catalog {
    /// The built-in catalog.
    pub fn builtin() -> Catalog {
        Catalog::with_overrides(Vec::new()).expect("the built-in catalog is valid")
    }

    /// The built-in catalog with the user's entries added or overriding built-in ones. Every
    /// problem is returned at once, each naming its entry.
    pub fn with_overrides(user: Vec<RawSignature>) -> Result<Catalog, Vec<CatalogError>> {
        let raws = merged(user)?;
        let mut errors = Vec::new();
        let mut sigs = Vec::with_capacity(raws.len());
        let mut regexes = Vec::with_capacity(raws.len());
        for (raw, origin) in raws {
            match validate(raw, origin) {
                Ok((sig, re)) => {
                    sigs.push(sig);
                    regexes.push(re);
                }
                Err(e) => errors.push(e),
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let set = RegexSetBuilder::new(sigs.iter().map(|s| s.pattern.as_str()))
            .size_limit(SIZE_LIMIT)
            .dfa_size_limit(SIZE_LIMIT)
            .build()
            .map_err(|e| {
                vec![CatalogError {
                    id: "(catalog)".into(),
                    message: format!("the patterns do not compile together: {e}"),
                }]
            })?;
        let line_members = sigs.iter().map(|s| !s.is_access_log()).collect();
        Ok(Catalog {
            sigs,
            set,
            regexes,
            line_members,
        })
    }

    /// A catalog with no entries (nothing matches).
    pub fn empty() -> Catalog {
        Catalog {
            sigs: Vec::new(),
            set: RegexSet::empty(),
            regexes: Vec::new(),
            line_members: Vec::new(),
        }
    }

    /// Checks the user's entries (merged over the built-in ones they override) without
    /// compiling the whole catalog: every problem, each naming its entry.
    pub fn validate_user(user: &[RawSignature]) -> Result<(), Vec<CatalogError>> {
        if user.is_empty() {
            // Nothing to check, and reading the built-in catalog costs milliseconds.
            return Ok(());
        }
        let ids: Vec<&str> = user.iter().map(|u| u.id.as_str()).collect();
        let errors: Vec<CatalogError> = merged(user.to_vec())?
            .into_iter()
            .filter(|(r, _)| ids.contains(&r.id.as_str()))
            .filter_map(|(raw, origin)| validate(raw, origin).err())
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    pub fn len(&self) -> usize {
        self.sigs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sigs.is_empty()
    }

    pub fn signatures(&self) -> &[Signature] {
        &self.sigs
    }

    pub fn get(&self, index: usize) -> &Signature {
        &self.sigs[index]
    }

    pub fn find(&self, id: &str) -> Option<usize> {
        self.sigs.iter().position(|s| s.id == id)
    }

    /// The entry's own compiled pattern (for captures).
    pub fn regex(&self, index: usize) -> &Regex {
        &self.regexes[index]
    }

    /// The best entry matching a line of an error or application log: the highest priority,
    /// then the first listed. Access-log entries are left out.
    pub fn best_line_match(&self, line: &[u8]) -> Option<usize> {
        self.pick(line, true)
    }

    /// The best entry matching any text, access-log entries included.
    pub fn best_match(&self, text: &[u8]) -> Option<usize> {
        self.pick(text, false)
    }

    fn pick(&self, text: &[u8], lines_only: bool) -> Option<usize> {
        let mut best: Option<usize> = None;
        for i in self.set.matches(text).iter() {
            if lines_only && !self.line_members[i] {
                continue;
            }
            if best.is_none_or(|b| self.sigs[i].priority > self.sigs[b].priority) {
                best = Some(i);
            }
        }
        best
    }

    /// The user-facing catalog page (Markdown): each entry with what it means, its evidence
    /// and what to do, grouped by software.
    pub fn render_markdown(&self) -> String {
        let mut o = String::new();
        o.push_str("# Error signatures\n\n");
        o.push_str(
            "The log messages faultline recognises, what each means for the 5xx responses \
             around it, and what to do. This page is generated from the catalog compiled into \
             the binary (`crates/diagnose/catalog/error-signatures.toml`) by \
             `faultline catalog --markdown`; a test keeps it current. Add or override entries \
             with `[[signature]]` tables in the configuration file (see the README).\n\n",
        );
        let _ = writeln!(o, "{} signatures.\n", self.sigs.len());
        let mut software: Vec<&str> = Vec::new();
        for s in &self.sigs {
            if !software.contains(&s.software.as_str()) {
                software.push(&s.software);
            }
        }
        o.push_str("| software | signatures |\n| --- | ---: |\n");
        for sw in &software {
            let n = self.sigs.iter().filter(|s| s.software == *sw).count();
            let _ = writeln!(o, "| {} | {n} |", md_cell(sw));
        }
        for sw in software {
            let _ = writeln!(o, "\n## {}\n", md_text(sw));
            for s in self.sigs.iter().filter(|s| s.software == sw) {
                let _ = writeln!(o, "### `{}`\n", s.id);
                let codes = if s.codes.is_empty() {
                    "context (no status of its own)".to_string()
                } else {
                    s.codes
                        .iter()
                        .map(u16::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                let _ = writeln!(
                    o,
                    "- **cause** `{}` · **codes** {codes} · **family** {} · **priority** {} · \
                     **seen in** {}\n",
                    s.cause.id(),
                    md_text(&s.family),
                    s.priority,
                    md_text(&s.log)
                );
                let _ = writeln!(o, "{}\n", md_text(&s.summary));
                if !s.codes_note.is_empty() {
                    let _ = writeln!(o, "{}\n", md_text(&s.codes_note));
                }
                if let Some(sample) = s.samples.first() {
                    let fence = fence_for(sample);
                    let _ = writeln!(o, "{fence}text\n{sample}\n{fence}\n");
                }
                if !s.evidence.is_empty() {
                    let _ = writeln!(o, "**Evidence:** {}\n", md_text(&s.evidence));
                }
                if !s.remediation.is_empty() {
                    o.push_str("**What to do:**\n\n");
                    for r in &s.remediation {
                        let _ = writeln!(o, "- {}", md_text(r));
                    }
                    o.push('\n');
                }
                let _ = writeln!(
                    o,
                    "<sub>Pattern `{}` · source: {} ({})</sub>\n",
                    s.pattern.replace('`', "\\`"),
                    md_text(&s.source),
                    s.verified
                );
            }
        }
        o
    }
}

/// The built-in entries with the user's added, or merged over those they override.
fn merged(user: Vec<RawSignature>) -> Result<Vec<(RawSignature, Origin)>, Vec<CatalogError>> {
    let file: File = toml::from_str(BUILTIN_TOML).map_err(|e| {
        vec![CatalogError {
            id: "(built-in catalog)".into(),
            message: e.to_string(),
        }]
    })?;
    let mut raws: Vec<(RawSignature, Origin)> = file
        .signature
        .into_iter()
        .map(|r| (r, Origin::Builtin))
        .collect();
    for u in user {
        match raws.iter_mut().find(|(r, _)| r.id == u.id) {
            Some((base, origin)) => {
                merge(base, u);
                *origin = Origin::Overridden;
            }
            None => raws.push((u, Origin::User)),
        }
    }
    Ok(raws)
}

/// Copies the fields `over` sets onto `base`.
fn merge(base: &mut RawSignature, over: RawSignature) {
    macro_rules! take {
        ($($f:ident),*) => { $( if over.$f.is_some() { base.$f = over.$f; } )* };
    }
    take!(
        software,
        log,
        source,
        pattern,
        sample,
        more_samples,
        codes,
        codes_note,
        family,
        cause,
        summary,
        remediation,
        evidence,
        verified,
        priority
    );
}

fn validate(raw: RawSignature, origin: Origin) -> Result<(Signature, Regex), CatalogError> {
    let err = |message: String| CatalogError {
        id: raw.id.clone(),
        message,
    };
    if raw.id.trim().is_empty() {
        return Err(err("`id` is empty".into()));
    }
    let pattern = raw
        .pattern
        .clone()
        .ok_or_else(|| err("`pattern` is missing".into()))?;
    let cause_id = raw
        .cause
        .clone()
        .ok_or_else(|| err("`cause` is missing".into()))?;
    let cause = Cause::from_id(&cause_id).ok_or_else(|| {
        err(format!(
            "`cause` = {cause_id:?} is not a cause id (one of: {})",
            Cause::ALL.map(Cause::id).join(", ")
        ))
    })?;
    let re = regex::bytes::RegexBuilder::new(&pattern)
        .size_limit(SIZE_LIMIT)
        .build()
        .map_err(|e| err(format!("`pattern` is not a valid regex: {e}")))?;
    let mut samples: Vec<String> = raw.sample.clone().into_iter().collect();
    samples.extend(raw.more_samples.clone().unwrap_or_default());
    for (i, s) in samples.iter().enumerate() {
        if !re.is_match(s.as_bytes()) {
            let which = if i == 0 {
                "`sample`".to_string()
            } else {
                format!("`more_samples[{}]`", i - 1)
            };
            return Err(err(format!("{which} does not match `pattern`")));
        }
    }
    let sig = Signature {
        software: raw.software.unwrap_or_else(|| "user".into()),
        log: raw.log.unwrap_or_else(|| "any".into()),
        source: raw.source.unwrap_or_default(),
        pattern,
        samples,
        codes: raw.codes.unwrap_or_default(),
        codes_note: raw.codes_note.unwrap_or_default(),
        family: raw.family.unwrap_or_default(),
        cause,
        summary: raw.summary.unwrap_or_default(),
        remediation: raw.remediation.unwrap_or_default(),
        evidence: raw.evidence.unwrap_or_default(),
        verified: raw.verified.unwrap_or_else(|| {
            if origin == Origin::User {
                "user".into()
            } else {
                String::new()
            }
        }),
        priority: raw.priority.unwrap_or(10),
        origin,
        id: raw.id,
    };
    Ok((sig, re))
}

/// Markdown text with the characters that would start markup escaped.
fn md_text(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(
            c,
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '#'
        ) {
            o.push('\\');
        }
        if c == '\n' {
            o.push(' ');
        } else {
            o.push(c);
        }
    }
    o
}

fn md_cell(s: &str) -> String {
    md_text(s)
}

/// A code fence longer than any backtick run inside `s`.
fn fence_for(s: &str) -> String {
    let mut longest = 0;
    let mut run = 0;
    for c in s.chars() {
        if c == '`' {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    "`".repeat((longest + 1).max(3))
}
