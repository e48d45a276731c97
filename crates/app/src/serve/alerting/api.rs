//! The alerting answers of the API: active alerts and history, notifications, silences.

use faultline_alert::alert::Alert;
use faultline_alert::matcher::Matcher;
use faultline_alert::silence::Silence;
use faultline_alert::Ms;
use faultline_serve::AppError;
use faultline_store::AlertDb;
use serde_json::{json, Value};

use crate::serve::api::internal;

use super::delivery::wall_ms;

fn bad(key: &str, what: impl std::fmt::Display) -> AppError {
    AppError::BadRequest(format!("{key}: {what}"))
}

fn time(v: &Value, key: &str) -> Result<Option<Ms>, AppError> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => s
            .parse::<jiff::Timestamp>()
            .map(|t| Some(t.as_millisecond()))
            .map_err(|e| bad(key, format!("{s:?} is not an RFC 3339 time: {e}"))),
        Some(_) => Err(bad(key, "an RFC 3339 time")),
    }
}

fn text(v: &Value, key: &str) -> String {
    v.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .chars()
        .take(1000)
        .collect()
}

/// A silence from the body of `POST /api/v1/silences`: `matchers`, `comment`,
/// `created_by`, `starts_at` (default now) and `ends_at` or `duration`.
pub fn silence_from(body: &Value, now: Ms) -> Result<Silence, AppError> {
    let list = body
        .get("matchers")
        .and_then(Value::as_array)
        .ok_or_else(|| bad("matchers", "a list like [\"host=\\\"shop.example\\\"\"]"))?;
    let mut matchers = Vec::new();
    for m in list {
        let t = m.as_str().ok_or_else(|| bad("matchers", "strings"))?;
        matchers.push(Matcher::parse(t).map_err(|e| bad("matchers", e))?);
    }
    let starts_at = time(body, "starts_at")?.unwrap_or(now);
    let ends_at = match (
        time(body, "ends_at")?,
        body.get("duration").and_then(Value::as_str),
    ) {
        (Some(e), None) => e,
        (None, Some(d)) => {
            starts_at
                + humantime::parse_duration(d)
                    .map_err(|e| bad("duration", format!("{d:?}: {e}")))?
                    .as_millis() as Ms
        }
        _ => return Err(bad("ends_at", "give ends_at or duration (e.g. \"2h\")")),
    };
    let created_by = text(body, "created_by");
    let s = Silence {
        id: Silence::new_id(&matchers, &created_by, now),
        matchers,
        starts_at,
        ends_at,
        created_by,
        comment: text(body, "comment"),
        created_at: now,
    };
    s.validate()
        .map_err(|e| AppError::BadRequest(e.to_string()))?;
    Ok(s)
}

/// A silence as the API shows it: with its state now.
pub fn silence_json(s: &Silence, now: Ms) -> Value {
    let mut v = serde_json::to_value(s).expect("serialises");
    v["state"] = serde_json::to_value(s.state(now)).expect("serialises");
    v
}

pub fn add_silence(db: &mut AlertDb, body: &Value) -> Result<Value, AppError> {
    let now = wall_ms();
    let s = silence_from(body, now)?;
    db.add_silence(&s).map_err(internal)?;
    Ok(silence_json(&s, now))
}

pub fn expire_silence(db: &mut AlertDb, id: &str) -> Result<Value, AppError> {
    let now = wall_ms();
    match db.expire_silence(id, now).map_err(internal)? {
        Some(s) => Ok(silence_json(&s, now)),
        None => Err(AppError::NotFound(format!(
            "no silence {:?}",
            id.chars().take(80).collect::<String>()
        ))),
    }
}

pub fn silences(db: &AlertDb) -> Result<Value, AppError> {
    let now = wall_ms();
    let list: Vec<Value> = db
        .silences()
        .map_err(internal)?
        .iter()
        .map(|s| silence_json(s, now))
        .collect();
    Ok(json!({ "silences": list }))
}

pub fn alerts(
    db: &AlertDb,
    active: &[Alert],
    since: Option<i64>,
    limit: usize,
) -> Result<Value, AppError> {
    let since_ms = since.map_or(0, |s| s.saturating_mul(1000));
    let history = db.alerts(since_ms, limit).map_err(internal)?;
    Ok(json!({ "active": active, "alerts": history }))
}

pub fn notifications(db: &AlertDb, since: Option<i64>, limit: usize) -> Result<Value, AppError> {
    let since_ms = since.map_or(0, |s| s.saturating_mul(1000));
    let list = db.notifications(since_ms, limit).map_err(internal)?;
    Ok(json!({ "notifications": list }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_silence_takes_a_duration_or_an_end() {
        let s = silence_from(
            &json!({"matchers": ["host=\"a\""], "duration": "2h", "created_by": "ops", "comment": "deploy"}),
            1_000,
        )
        .unwrap();
        assert_eq!((s.starts_at, s.ends_at), (1_000, 1_000 + 7_200_000));
        let e = silence_from(
            &json!({"matchers": ["host=\"a\""], "created_by": "ops", "comment": "x"}),
            0,
        )
        .unwrap_err();
        assert!(e.to_string().contains("duration"), "{e}");
        let e = silence_from(&json!({"matchers": ["host"], "duration": "1h"}), 0).unwrap_err();
        assert!(e.to_string().starts_with("matchers:"), "{e}");
        let e = silence_from(&json!({"matchers": ["a=\"b\""], "duration": "1h"}), 0).unwrap_err();
        assert!(e.to_string().contains("author"), "{e}");
    }
}
