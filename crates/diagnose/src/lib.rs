//! # faultline-diagnose
//!
//! Names the most likely cause of each incident, with the reasons, the evidence lines and
//! what to do. Two kinds of knowledge are kept apart (DESIGN §5): evidence rules are code,
//! one per file under `rules/` and registered in [`rules::RULES`]; each reads the access-log
//! [`Tells`] of an incident and supports causes with a score and a reason. The cause with the
//! strongest support wins; the others become `alternatives`. With no support the cause is
//! `unknown`: never a guess dressed as a finding.
//!
//! [`AccessClassifier`] is the same engine seen from the detector, which uses it to keep
//! incidents with different causes apart.
//!
//! Pure: depends on `faultline-model`, `faultline-aggregate` and `faultline-detect` (DESIGN §3).
//!
//! ```
//! use faultline_aggregate::{ErrEvent, LineRef, Tells};
//! use faultline_diagnose::{classify, rules::Facts};
//! use faultline_model::Cause;
//! let mut tells = Tells::default();
//! for line in 1..=5 {
//!     let ev = ErrEvent { sec: 0, series: 0, line, status: 502, up_status: 502, attempts: 1,
//!         flags: 0, offset: 0, req_us: 0, up_us: 0, connect_us: u64::MAX, conn: 0, rid: 0 };
//!     tells.add(&ev, LineRef { sec: 0, input: 0, line });
//! }
//! assert_eq!(classify(&Facts { tells: &tells, requests: 50 }).0, Cause::UpstreamDown);
//! ```

pub mod catalog;
mod chains;
pub mod correlate;
mod remedy;
pub mod rules;

use faultline_aggregate::{LineRef, Tells};
use faultline_detect::{Classify, Incident};
use faultline_model::Cause;

pub use catalog::{Catalog, CatalogError, RawSignature, Signature};
pub use correlate::{Correlator, EventFacts, Joined, Via};
pub use remedy::Names;
use rules::{Facts, Support, RULES};

/// One piece of evidence, as the report shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Evidence {
    pub at: LineRef,
    pub count: u64,
    pub text: String,
    pub signature: Option<String>,
    /// The first matching raw line, when kept.
    pub sample: Option<Box<[u8]>>,
}

/// The diagnosis of one incident.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnosis {
    pub cause: Cause,
    pub confidence: f64,
    pub summary: String,
    pub reasons: Vec<String>,
    pub evidence: Vec<Evidence>,
    pub remediation: Vec<String>,
    pub alternatives: Vec<(Cause, f64)>,
}

/// Runs every rule; returns the winning cause, its score and all supports, strongest first.
pub fn classify(facts: &Facts<'_>) -> (Cause, f64, Vec<Support>) {
    // Without upstream fields no tell can say which hop failed: the answer is `unknown`
    // with what to log, not a guess from the status code.
    let blind = rules::blind_share(facts) >= 0.5;
    let mut supports: Vec<Support> = RULES
        .iter()
        .filter(|(name, _)| !blind || *name == "blind")
        .flat_map(|(_, rule)| rule(facts))
        .collect();
    supports.sort_by(|a, b| b.score.total_cmp(&a.score));
    match supports.first() {
        Some(s) => (s.cause, s.score, supports),
        None => (Cause::Unknown, 0.2, supports),
    }
}

/// The classifier the detector uses to keep incidents with different causes apart.
#[derive(Debug, Clone, Copy, Default)]
pub struct AccessClassifier;

impl Classify for AccessClassifier {
    fn classify(&self, tells: &Tells, requests: u64) -> Cause {
        classify(&Facts { tells, requests }).0
    }
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Error- and application-log evidence joined to an incident.
#[derive(Debug, Clone, Copy)]
pub struct LogEvidence<'a> {
    pub catalog: &'a Catalog,
    pub joined: &'a Joined,
}

/// One cause's case: its supports from every kind of evidence.
#[derive(Debug)]
struct Case {
    cause: Cause,
    /// 3: a log line's signature (or a chain of them); 2: access-log tells; 1: weaker.
    tier: u8,
    conf: f64,
}

/// How well a signature-backed cause fits the incident, from its strongest line evidence.
fn signature_tier(catalog: &Catalog, sig: usize, via: Via, inc: &Incident) -> u8 {
    let s = catalog.get(sig);
    let codes_fit = s.codes.iter().any(|c| inc.status.contains_key(c));
    match (codes_fit, via) {
        (true, _) => 3,
        (false, Via::Connection | Via::RequestId | Via::Scope) if s.codes.is_empty() => 2,
        _ => 1,
    }
}

/// Diagnoses an incident from its access-log tells and, when given, the error- and
/// application-log lines joined to it. Signature matches outweigh access-log tells, which
/// outweigh timing alone; the reasons say which evidence decided.
pub fn diagnose(inc: &Incident, mut names: Names, logs: Option<LogEvidence<'_>>) -> Diagnosis {
    // The 5xx are a share of the scope's traffic over their span (not of the healthy tail
    // that closed the incident).
    let facts = Facts {
        tells: &inc.tells,
        requests: inc.context_until_end.max(inc.errors),
    };
    let (_, _, supports) = classify(&facts);
    // Every cause with its supports: access-log tells, signatures, chains.
    let mut cases: Vec<Case> = Vec::new();
    let mut bump =
        |cause: Cause, tier: u8, score: f64| match cases.iter_mut().find(|c| c.cause == cause) {
            Some(c) => {
                c.tier = c.tier.max(tier);
                c.conf = 1.0 - (1.0 - c.conf) * (1.0 - score);
            }
            None => cases.push(Case {
                cause,
                tier,
                conf: score,
            }),
        };
    for s in &supports {
        let tier = if s.cause == Cause::Unknown { 1 } else { 2 };
        bump(s.cause, tier, s.score);
    }
    let sigs = logs.map(|l| l.joined.by_signature()).unwrap_or_default();
    let chain_hits = logs
        .map(|l| chains::find(l.catalog, &sigs))
        .unwrap_or_default();
    if let Some(l) = logs {
        for &(sig, n, via) in &sigs {
            let score = correlate::signature_score(l.catalog, sig, n, via, inc);
            bump(
                l.catalog.get(sig).cause,
                signature_tier(l.catalog, sig, via, inc),
                score,
            );
        }
        for c in &chain_hits {
            bump(c.cause, 3, c.score);
        }
    }
    cases.sort_by(|a, b| {
        b.tier
            .cmp(&a.tier)
            .then(b.conf.total_cmp(&a.conf))
            .then(a.cause.cmp(&b.cause))
    });
    let (cause, score) = cases
        .first()
        .map_or((Cause::Unknown, 0.2), |c| (c.cause, c.conf.min(0.99)));

    names.detail = supports
        .iter()
        .find(|s| s.cause == cause)
        .and_then(|s| s.detail.clone());
    let mut reasons: Vec<String> = Vec::new();
    let mut evidence = Vec::new();
    let mut remediation: Vec<String> = Vec::new();
    for c in chain_hits.iter().filter(|c| c.cause == cause) {
        reasons.push(c.reason.clone());
    }
    if let Some(l) = logs {
        for &(sig, n, via) in sigs.iter().filter(|x| l.catalog.get(x.0).cause == cause) {
            let s = l.catalog.get(sig);
            let what = match l
                .joined
                .groups
                .iter()
                .find(|g| g.signature == Some(sig))
                .map(|g| g.origin)
            {
                Some(correlate::Origin::AppLog) => "application-log events match",
                _ => "error-log lines match",
            };
            reasons.push(format!("{n} {what} {}, {}", s.id, via.describe()));
            for r in &s.remediation {
                if remediation.len() < 3 && !remediation.contains(r) {
                    remediation.push(r.clone());
                }
            }
        }
        // The lines themselves: signature groups first (largest first), one per signature.
        let mut shown: Vec<usize> = Vec::new();
        let mut groups: Vec<&correlate::EvidenceGroup> = l
            .joined
            .groups
            .iter()
            .filter(|g| g.signature.is_some())
            .collect();
        groups.sort_by(|a, b| {
            let ca = l.catalog.get(a.signature.unwrap_or(0)).cause == cause;
            let cb = l.catalog.get(b.signature.unwrap_or(0)).cause == cause;
            // Ties go by signature and line, not by the order the logs were read in.
            cb.cmp(&ca)
                .then(b.count.cmp(&a.count))
                .then(a.signature.cmp(&b.signature))
                .then(a.line.cmp(&b.line))
        });
        for g in groups {
            let sig = g.signature.unwrap_or(0);
            if shown.contains(&sig) || shown.len() >= 4 {
                continue;
            }
            shown.push(sig);
            let count = sigs.iter().find(|x| x.0 == sig).map_or(g.count, |x| x.1);
            evidence.push(Evidence {
                at: LineRef {
                    sec: g.secs,
                    input: g.source,
                    line: g.line,
                },
                count,
                text: g.text.clone(),
                signature: Some(l.catalog.get(sig).id.clone()),
                sample: None,
            });
        }
    }
    for s in supports.iter().filter(|s| s.cause == cause) {
        reasons.push(s.reason.clone());
        if let Some(t) = &s.tell {
            let first = inc.tells.status(t.status).and_then(|st| st.first);
            if let Some(at) = first {
                let sample = inc
                    .samples
                    .iter()
                    .find(|x| x.status == t.status)
                    .map(|x| x.text.clone());
                evidence.push(Evidence {
                    at,
                    count: t.count,
                    text: t.text.clone(),
                    signature: None,
                    sample,
                });
            }
        }
    }
    if evidence.is_empty() {
        // No tell backs the cause: show where the 5xx are, so the user can look.
        if let Some((status, t)) = inc.tells.by_status.iter().max_by_key(|(_, t)| t.count) {
            if let Some(at) = t.first {
                let sample = inc
                    .samples
                    .iter()
                    .find(|x| x.status == *status)
                    .map(|x| x.text.clone());
                evidence.push(Evidence {
                    at,
                    count: t.count,
                    text: format!("status={status}"),
                    signature: None,
                    sample,
                });
            }
        }
    }
    if reasons.is_empty() {
        reasons.push(format!(
            "{} 5xx responses, but no access-log tell (upstream status, timing, attempts) and no error-log line points to one cause",
            inc.errors
        ));
    }
    // The first generic step names the incident's upstream or route; the signature's steps
    // say what its message means; without a signature, the generic steps are all there is.
    let generic = remedy::remediation(cause, &names);
    if remediation.is_empty() {
        remediation = generic;
    } else if let Some(first) = generic.into_iter().next() {
        remediation.insert(0, first);
    }
    let mut alternatives: Vec<(Cause, f64)> = Vec::new();
    for c in &cases {
        if c.cause != cause && c.cause != Cause::Unknown {
            alternatives.push((c.cause, round2(c.conf * (1.0 - score))));
        }
    }
    // Causes whose generic summary cannot say which dependency or resource: the deciding
    // signature's first sentence says it.
    let mut summary = remedy::summary(cause, &names);
    if matches!(
        cause,
        Cause::DependencyFailure | Cause::ResourceExhaustion | Cause::Overload
    ) {
        if let Some(l) = logs {
            if let Some(&(sig, _, _)) = sigs.iter().find(|x| l.catalog.get(x.0).cause == cause) {
                let text = &l.catalog.get(sig).summary;
                let first = text.split(": ").next().unwrap_or(text);
                let first = first
                    .split(". ")
                    .next()
                    .unwrap_or(first)
                    .trim_end_matches('.');
                let mut chars = first.chars();
                if let Some(c) = chars.next() {
                    // "Application DB …" → "application DB …"; "DB pool …" stays.
                    let rest = chars.as_str();
                    let acronym = rest.chars().next().is_some_and(char::is_uppercase);
                    let head = if acronym { c } else { c.to_ascii_lowercase() };
                    summary = format!("{summary}: {head}{rest}");
                }
            }
        }
    }
    Diagnosis {
        cause,
        confidence: round2(score),
        summary,
        reasons,
        evidence,
        remediation,
        alternatives,
    }
}
