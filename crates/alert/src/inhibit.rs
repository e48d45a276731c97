//! Inhibition: a firing alert that matches a rule's `source` mutes the alerts matching its
//! `target` that share the values of every label in `equal` (a firing `tls_failure`
//! incident mutes the 5xx-ratio alert of the same upstream). An alert never inhibits itself.

use crate::alert::Alert;
use crate::matcher::{all_match, Matcher};

#[derive(Debug, Clone, Default)]
pub struct InhibitRule {
    pub source: Vec<Matcher>,
    pub target: Vec<Matcher>,
    pub equal: Vec<String>,
}

impl InhibitRule {
    /// The firing alert that inhibits `alert`, if any.
    pub fn inhibitor<'a>(&self, alert: &Alert, firing: &'a [&'a Alert]) -> Option<&'a Alert> {
        if !all_match(&self.target, &alert.labels) {
            return None;
        }
        firing.iter().copied().find(|src| {
            src.fingerprint != alert.fingerprint
                && all_match(&self.source, &src.labels)
                && self
                    .equal
                    .iter()
                    .all(|l| src.labels.get(l) == alert.labels.get(l))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::{Details, State};
    use crate::Labels;

    fn alert(pairs: &[(&str, &str)]) -> Alert {
        let labels: Labels = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let mut a = Alert::new("r", labels, Details::default(), 0);
        a.state = State::Firing;
        a
    }

    #[test]
    fn a_tls_failure_mutes_the_ratio_alert_of_the_same_upstream_only() {
        let rule = InhibitRule {
            source: vec![Matcher::parse(r#"cause="tls_failure""#).unwrap()],
            target: vec![Matcher::parse(r#"alertname="upstream-5xx-ratio""#).unwrap()],
            equal: vec!["upstream".into()],
        };
        let tls = alert(&[("cause", "tls_failure"), ("upstream", "10.0.0.1:443")]);
        let same = alert(&[
            ("alertname", "upstream-5xx-ratio"),
            ("upstream", "10.0.0.1:443"),
        ]);
        let other = alert(&[
            ("alertname", "upstream-5xx-ratio"),
            ("upstream", "10.0.0.2:443"),
        ]);
        let firing = [&tls, &same, &other];
        assert_eq!(
            rule.inhibitor(&same, &firing).map(|a| &a.fingerprint),
            Some(&tls.fingerprint)
        );
        assert!(rule.inhibitor(&other, &firing).is_none());
        assert!(rule.inhibitor(&tls, &firing).is_none());
    }
}
