//! An alert: labels that identify it, what it says (the diagnosis), and where it is in its
//! life (pending → firing → resolved).

use serde::{Deserialize, Serialize};

use crate::{fingerprint, Labels, Ms};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// True, but not yet for the rule's `for`.
    Pending,
    Firing,
    Resolved,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::Firing => "firing",
            State::Resolved => "resolved",
        }
    }
}

/// One line of evidence, as the incident gives it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EvidenceLine {
    pub source: String,
    pub line: u64,
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
}

/// What an alert says: one summary line and, when an incident is behind it, its diagnosis.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Details {
    pub summary: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<EvidenceLine>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub remediation: Vec<String>,
    /// The incident behind the alert, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incident: Option<String>,
    /// The measured value (a ratio, seconds of silence…), for rules on numbers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
}

/// One alert instance: from the moment its condition became true to its resolution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// Stable for the label set (16 hex digits).
    pub fingerprint: String,
    /// `fingerprint` + `-` + the start in ms: one per instance, the key of its history row.
    pub id: String,
    pub rule: String,
    pub labels: Labels,
    pub details: Details,
    pub state: State,
    /// When the condition became true.
    pub active_since: Ms,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fired_at: Option<Ms>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved_at: Option<Ms>,
    /// The last evaluation that found the condition true.
    pub last_true: Ms,
}

impl Alert {
    pub fn new(rule: &str, labels: Labels, details: Details, now: Ms) -> Alert {
        let fingerprint = fingerprint(&labels);
        Alert {
            id: format!("{fingerprint}-{now}"),
            fingerprint,
            rule: rule.to_string(),
            labels,
            details,
            state: State::Pending,
            active_since: now,
            fired_at: None,
            resolved_at: None,
            last_true: now,
        }
    }

    /// `startsAt` in notifications: when it fired (or became true, while pending).
    pub fn starts_at(&self) -> Ms {
        self.fired_at.unwrap_or(self.active_since)
    }
}
