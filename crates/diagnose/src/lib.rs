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
//!         flags: 0, offset: 0, req_us: 0, up_us: 0, connect_us: u64::MAX };
//!     tells.add(&ev, LineRef { sec: 0, input: 0, line });
//! }
//! assert_eq!(classify(&Facts { tells: &tells, requests: 50 }).0, Cause::UpstreamDown);
//! ```

mod remedy;
pub mod rules;

use faultline_aggregate::{LineRef, Tells};
use faultline_detect::{Classify, Incident};
use faultline_model::Cause;

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

/// Diagnoses an incident from its access-log tells. `names` fills the texts.
pub fn diagnose(inc: &Incident, mut names: Names) -> Diagnosis {
    let facts = Facts {
        tells: &inc.tells,
        requests: inc.context_requests.max(inc.requests),
    };
    let (cause, score, supports) = classify(&facts);
    names.detail = supports
        .iter()
        .find(|s| s.cause == cause)
        .and_then(|s| s.detail.clone());
    let mut reasons: Vec<String> = Vec::new();
    let mut evidence = Vec::new();
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
    if supports.is_empty() {
        reasons.push(format!(
            "{} 5xx responses, but no access-log tell (upstream status, timing, attempts) points to one cause",
            inc.errors
        ));
    }
    let mut alternatives: Vec<(Cause, f64)> = Vec::new();
    for s in &supports {
        if s.cause != cause && !alternatives.iter().any(|(c, _)| *c == s.cause) {
            alternatives.push((s.cause, round2(s.score * (1.0 - score))));
        }
    }
    Diagnosis {
        cause,
        confidence: round2(score),
        summary: remedy::summary(cause, &names),
        reasons,
        evidence,
        remediation: remedy::remediation(cause, &names),
        alternatives,
    }
}
