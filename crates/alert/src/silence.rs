//! Silences: matchers with a start and an end, who set them and why. An alert that every
//! matcher of an active silence matches is not notified (it stays in the history, marked
//! silenced). Expiring a silence ends it now; it is kept for the history.

use serde::{Deserialize, Serialize};

use crate::matcher::{all_match, Matcher};
use crate::{Labels, Ms};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Silence {
    pub id: String,
    pub matchers: Vec<Matcher>,
    pub starts_at: Ms,
    pub ends_at: Ms,
    pub created_by: String,
    pub comment: String,
    pub created_at: Ms,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SilenceState {
    Pending,
    Active,
    Expired,
}

/// Why a new silence is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SilenceError {
    #[error("a silence needs at least one matcher")]
    NoMatchers,
    #[error("a silence must end after it starts")]
    EndsBeforeStart,
    #[error("a silence needs an author (created_by) and a comment")]
    Unsigned,
}

impl Silence {
    /// Checks a new silence; the id is derived from its content and creation time.
    pub fn validate(&self) -> Result<(), SilenceError> {
        if self.matchers.is_empty() {
            return Err(SilenceError::NoMatchers);
        }
        if self.ends_at <= self.starts_at {
            return Err(SilenceError::EndsBeforeStart);
        }
        if self.created_by.trim().is_empty() || self.comment.trim().is_empty() {
            return Err(SilenceError::Unsigned);
        }
        Ok(())
    }

    pub fn state(&self, now: Ms) -> SilenceState {
        if now < self.starts_at {
            SilenceState::Pending
        } else if now < self.ends_at {
            SilenceState::Active
        } else {
            SilenceState::Expired
        }
    }

    pub fn mutes(&self, labels: &Labels, now: Ms) -> bool {
        self.state(now) == SilenceState::Active && all_match(&self.matchers, labels)
    }

    /// A new id: `sil-` and 16 hex digits of the matchers, author and creation time.
    pub fn new_id(matchers: &[Matcher], created_by: &str, created_at: Ms) -> String {
        let text: Vec<String> = matchers.iter().map(ToString::to_string).collect();
        format!(
            "sil-{:016x}",
            crate::hash64(format!("{}|{created_by}|{created_at}", text.join(",")).as_bytes())
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_silence_mutes_only_while_active_and_only_what_it_matches() {
        let s = Silence {
            id: "sil-1".into(),
            matchers: vec![Matcher::parse(r#"host="shop.example""#).unwrap()],
            starts_at: 1000,
            ends_at: 2000,
            created_by: "ops".into(),
            comment: "deploy".into(),
            created_at: 0,
        };
        let mut l = Labels::new();
        l.insert("host".into(), "shop.example".into());
        assert!(!s.mutes(&l, 999));
        assert!(s.mutes(&l, 1000));
        assert!(!s.mutes(&l, 2000));
        l.insert("host".into(), "api.example".into());
        assert!(!s.mutes(&l, 1500));
        assert_eq!(s.validate(), Ok(()));
        let bad = Silence {
            matchers: vec![],
            ..s.clone()
        };
        assert_eq!(bad.validate(), Err(SilenceError::NoMatchers));
    }
}
