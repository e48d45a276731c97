//! Label matchers in Alertmanager's syntax: `name="value"`, `name!="value"`,
//! `name=~"regex"`, `name!~"regex"`. Regexes are anchored at both ends, as in Alertmanager,
//! and use the linear-time `regex` crate.

use std::fmt;

use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::Labels;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    #[serde(rename = "=")]
    Eq,
    #[serde(rename = "!=")]
    Ne,
    #[serde(rename = "=~")]
    Re,
    #[serde(rename = "!~")]
    NotRe,
}

impl Op {
    fn as_str(self) -> &'static str {
        match self {
            Op::Eq => "=",
            Op::Ne => "!=",
            Op::Re => "=~",
            Op::NotRe => "!~",
        }
    }
}

/// One matcher. A label that is absent matches as the empty string (so `team=""` selects
/// alerts without a team, as in Alertmanager).
#[derive(Debug, Clone)]
pub struct Matcher {
    pub name: String,
    pub op: Op,
    pub value: String,
    re: Option<Regex>,
}

impl PartialEq for Matcher {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.op == other.op && self.value == other.value
    }
}

/// Why a matcher could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MatcherError {
    #[error("{0:?} is not a matcher: expected name=\"value\" (or !=, =~, !~)")]
    Syntax(String),
    #[error(
        "{0:?} is not a valid label name: letters, digits and _ only, not starting with a digit"
    )]
    Name(String),
    #[error("bad regex in {text:?}: {error}")]
    Regex { text: String, error: String },
}

fn valid_name(n: &str) -> bool {
    let mut chars = n.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Reads a value: quoted (with `\"` and `\\` escapes) or bare up to the end.
fn unquote(v: &str) -> Option<String> {
    let v = v.trim();
    let Some(inner) = v.strip_prefix('"') else {
        return Some(v.to_string());
    };
    let inner = inner.strip_suffix('"')?;
    let mut out = String::with_capacity(inner.len());
    let mut esc = false;
    for c in inner.chars() {
        match (esc, c) {
            (true, 'n') => out.push('\n'),
            (true, c) => out.push(c),
            (false, '\\') => {
                esc = true;
                continue;
            }
            (false, '"') => return None,
            (false, c) => out.push(c),
        }
        esc = false;
    }
    (!esc).then_some(out)
}

impl Matcher {
    pub fn new(name: &str, op: Op, value: &str) -> Result<Matcher, MatcherError> {
        if !valid_name(name) {
            return Err(MatcherError::Name(name.to_string()));
        }
        let re =
            match op {
                Op::Re | Op::NotRe => Some(Regex::new(&format!("^(?:{value})$")).map_err(|e| {
                    MatcherError::Regex {
                        text: format!("{name}{}{value:?}", op.as_str()),
                        error: e.to_string(),
                    }
                })?),
                _ => None,
            };
        Ok(Matcher {
            name: name.to_string(),
            op,
            value: value.to_string(),
            re,
        })
    }

    /// Parses `name="value"` and its three siblings.
    pub fn parse(text: &str) -> Result<Matcher, MatcherError> {
        let syntax = || MatcherError::Syntax(text.to_string());
        let at = text.find(['=', '!']).ok_or_else(syntax)?;
        let name = text[..at].trim();
        let rest = &text[at..];
        let (op, value) = if let Some(v) = rest.strip_prefix("=~") {
            (Op::Re, v)
        } else if let Some(v) = rest.strip_prefix("!~") {
            (Op::NotRe, v)
        } else if let Some(v) = rest.strip_prefix("!=") {
            (Op::Ne, v)
        } else if let Some(v) = rest.strip_prefix('=') {
            (Op::Eq, v)
        } else {
            return Err(syntax());
        };
        let value = unquote(value).ok_or_else(syntax)?;
        Matcher::new(name, op, &value)
    }

    pub fn matches(&self, labels: &Labels) -> bool {
        let v = labels.get(&self.name).map_or("", String::as_str);
        match self.op {
            Op::Eq => v == self.value,
            Op::Ne => v != self.value,
            Op::Re => self.re.as_ref().is_some_and(|r| r.is_match(v)),
            Op::NotRe => !self.re.as_ref().is_some_and(|r| r.is_match(v)),
        }
    }
}

impl fmt::Display for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}{:?}", self.name, self.op.as_str(), self.value)
    }
}

impl Serialize for Matcher {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Matcher {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Matcher::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// Every matcher must match (an empty list matches everything).
pub fn all_match(matchers: &[Matcher], labels: &Labels) -> bool {
    matchers.iter().all(|m| m.matches(labels))
}

/// Parses a list, collecting every error.
pub fn parse_all<S: AsRef<str>>(texts: &[S]) -> Result<Vec<Matcher>, Vec<MatcherError>> {
    let (ok, bad): (Vec<_>, Vec<_>) = texts
        .iter()
        .map(|t| Matcher::parse(t.as_ref()))
        .partition(Result::is_ok);
    if bad.is_empty() {
        Ok(ok.into_iter().map(Result::unwrap).collect())
    } else {
        Err(bad.into_iter().map(|e| e.unwrap_err()).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn the_four_operators_match_as_in_alertmanager() {
        let l = labels(&[("severity", "page"), ("route", "/api/users/{id}")]);
        assert!(Matcher::parse(r#"severity="page""#).unwrap().matches(&l));
        assert!(!Matcher::parse(r#"severity!="page""#).unwrap().matches(&l));
        assert!(Matcher::parse(r#"route=~"/api/.*""#).unwrap().matches(&l));
        assert!(
            !Matcher::parse(r#"route=~"/api""#).unwrap().matches(&l),
            "anchored"
        );
        assert!(Matcher::parse(r#"route!~"/admin.*""#).unwrap().matches(&l));
        assert!(
            Matcher::parse(r#"team="""#).unwrap().matches(&l),
            "absent is empty"
        );
        assert!(
            Matcher::parse("severity = page").unwrap().matches(&l),
            "bare value"
        );
    }

    #[test]
    fn quoted_values_keep_escaped_quotes() {
        let m = Matcher::parse(r#"summary="say \"hi\"""#).unwrap();
        assert_eq!(m.value, r#"say "hi""#);
        let back = Matcher::parse(&m.to_string()).unwrap();
        assert_eq!(back, m);
    }

    #[test]
    fn bad_matchers_say_what_is_wrong() {
        assert!(matches!(
            Matcher::parse("severity"),
            Err(MatcherError::Syntax(_))
        ));
        assert!(matches!(
            Matcher::parse(r#"1x="a""#),
            Err(MatcherError::Name(_))
        ));
        assert!(matches!(
            Matcher::parse(r#"x=~"(""#),
            Err(MatcherError::Regex { .. })
        ));
        let errs = parse_all(&["a=\"b\"", "bad", "c=~\"[\""]).unwrap_err();
        assert_eq!(errs.len(), 2);
    }
}
