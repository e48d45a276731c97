//! Which JSON keys fill which record fields.

use crate::plan::{Var, REQ_ALL};
use crate::time::TimeUnit;
use crate::FormatError;

/// A record field that a JSON key can fill.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JsonField {
    /// RFC 3339 text, nginx `time_local` text, or epoch seconds / milliseconds / … (numbers
    /// or digit strings; the unit is the key's, else told by magnitude).
    Time,
    Status,
    /// A whole request line (`GET /a?b=1 HTTP/1.1`): fills method, path and protocol where
    /// their own keys are missing from the line.
    Request,
    Method,
    /// Request target as logged (path and query).
    Path,
    Protocol,
    Host,
    RemoteAddr,
    UserAgent,
    Referer,
    ForwardedFor,
    RequestId,
    Connection,
    BytesSent,
    /// A duration in the key's unit (seconds by default).
    RequestTime,
    UpstreamAddr,
    UpstreamStatus,
    /// Seconds, as nginx writes them (`0.021, 0.024`).
    UpstreamResponseTime,
    UpstreamConnectTime,
    UpstreamHeaderTime,
}

/// Number of [`JsonField`]s.
pub(crate) const FIELD_COUNT: usize = 20;

impl JsonField {
    /// Every field, in declaration order.
    pub const ALL: [JsonField; FIELD_COUNT] = [
        JsonField::Time,
        JsonField::Status,
        JsonField::Request,
        JsonField::Method,
        JsonField::Path,
        JsonField::Protocol,
        JsonField::Host,
        JsonField::RemoteAddr,
        JsonField::UserAgent,
        JsonField::Referer,
        JsonField::ForwardedFor,
        JsonField::RequestId,
        JsonField::Connection,
        JsonField::BytesSent,
        JsonField::RequestTime,
        JsonField::UpstreamAddr,
        JsonField::UpstreamStatus,
        JsonField::UpstreamResponseTime,
        JsonField::UpstreamConnectTime,
        JsonField::UpstreamHeaderTime,
    ];

    /// The name used in a mapping spec: `time`, `status`, `request`, `method`, `path`,
    /// `protocol`, `host`, `remote_addr`, `user_agent`, `referer`, `forwarded_for`,
    /// `request_id`, `connection`, `bytes_sent`, `request_time`, `upstream_addr`,
    /// `upstream_status`, `upstream_response_time`, `upstream_connect_time`,
    /// `upstream_header_time`.
    pub fn name(self) -> &'static str {
        match self {
            JsonField::Time => "time",
            JsonField::Status => "status",
            JsonField::Request => "request",
            JsonField::Method => "method",
            JsonField::Path => "path",
            JsonField::Protocol => "protocol",
            JsonField::Host => "host",
            JsonField::RemoteAddr => "remote_addr",
            JsonField::UserAgent => "user_agent",
            JsonField::Referer => "referer",
            JsonField::ForwardedFor => "forwarded_for",
            JsonField::RequestId => "request_id",
            JsonField::Connection => "connection",
            JsonField::BytesSent => "bytes_sent",
            JsonField::RequestTime => "request_time",
            JsonField::UpstreamAddr => "upstream_addr",
            JsonField::UpstreamStatus => "upstream_status",
            JsonField::UpstreamResponseTime => "upstream_response_time",
            JsonField::UpstreamConnectTime => "upstream_connect_time",
            JsonField::UpstreamHeaderTime => "upstream_header_time",
        }
    }

    /// The field of a spec name (see [`JsonField::name`]).
    pub fn from_name(name: &str) -> Option<JsonField> {
        JsonField::ALL.into_iter().find(|f| f.name() == name)
    }

    /// Whether a unit may follow the key: the epoch unit of `time`, the unit of
    /// `request_time`.
    pub fn takes_unit(self) -> bool {
        matches!(self, JsonField::Time | JsonField::RequestTime)
    }

    pub(crate) fn var(self, unit: Option<TimeUnit>) -> Var {
        match self {
            JsonField::Time => Var::TimeAny(unit),
            JsonField::Status => Var::Status,
            JsonField::Request => Var::Request(REQ_ALL),
            JsonField::Method => Var::Method,
            JsonField::Path => Var::Path,
            JsonField::Protocol => Var::Protocol,
            JsonField::Host => Var::Host,
            JsonField::RemoteAddr => Var::RemoteAddr,
            JsonField::UserAgent => Var::UserAgent,
            JsonField::Referer => Var::Referer,
            JsonField::ForwardedFor => Var::ForwardedFor,
            JsonField::RequestId => Var::RequestId,
            JsonField::Connection => Var::Connection,
            JsonField::BytesSent => Var::BytesSent,
            JsonField::RequestTime => Var::Duration(unit.unwrap_or(TimeUnit::Seconds)),
            JsonField::UpstreamAddr => Var::UpstreamAddr,
            JsonField::UpstreamStatus => Var::UpstreamStatus,
            JsonField::UpstreamResponseTime => Var::UpstreamResponseTime,
            JsonField::UpstreamConnectTime => Var::UpstreamConnectTime,
            JsonField::UpstreamHeaderTime => Var::UpstreamHeaderTime,
        }
    }
}

/// One key path and the field it fills.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonKey {
    pub field: JsonField,
    /// Keys from the top-level object down, joined by `.` (`resp.code`). A key that itself
    /// holds dots (`"http.status": 502`) is found by the same path.
    pub path: String,
    /// For [`JsonField::Time`] and [`JsonField::RequestTime`]; `None` is the field's default
    /// (seconds for durations, told by magnitude for epoch times).
    pub unit: Option<TimeUnit>,
}

/// Which JSON key paths fill which record fields.
///
/// A field may have several keys: the first one present in a line wins, wherever it is in
/// the line. Keys are compared with the line's bytes as written (a key spelled with `\u`
/// escapes does not match).
///
/// [`JsonMapping::default`] reads nginx `escape=json` logs whose keys are named after nginx
/// variables (`time_iso8601`, `status`, `request`, `upstream_addr`, …) and common aliases
/// (`time`, `timestamp`, `@timestamp`, `ts`, `status_code`, `method`, `path`, `uri`, `url`,
/// `duration` in seconds, `duration_ms`, `upstream`, …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonMapping {
    keys: Vec<JsonKey>,
}

/// The default keys, most precise first within a field.
const DEFAULT: &[(JsonField, &str, Option<TimeUnit>)] = {
    use JsonField::*;
    const MS: Option<TimeUnit> = Some(TimeUnit::Millis);
    &[
        (Time, "time_iso8601", None),
        (Time, "time_local", None),
        (Time, "msec", None),
        (Time, "@timestamp", None),
        (Time, "timestamp", None),
        (Time, "time", None),
        (Time, "ts", None),
        (Status, "status", None),
        (Status, "status_code", None),
        (Request, "request", None),
        (Method, "request_method", None),
        (Method, "method", None),
        (Path, "request_uri", None),
        (Path, "uri", None),
        (Path, "path", None),
        (Path, "url", None),
        (Protocol, "server_protocol", None),
        (Protocol, "protocol", None),
        (Host, "host", None),
        (Host, "http_host", None),
        (Host, "server_name", None),
        (RemoteAddr, "remote_addr", None),
        (RemoteAddr, "client_ip", None),
        (RemoteAddr, "remote_ip", None),
        (UserAgent, "http_user_agent", None),
        (UserAgent, "user_agent", None),
        (Referer, "http_referer", None),
        (Referer, "referer", None),
        (Referer, "referrer", None),
        (ForwardedFor, "http_x_forwarded_for", None),
        (ForwardedFor, "x_forwarded_for", None),
        (RequestId, "request_id", None),
        (RequestId, "req_id", None),
        (Connection, "connection", None),
        (BytesSent, "body_bytes_sent", None),
        (BytesSent, "bytes_sent", None),
        (RequestTime, "request_time", None),
        (RequestTime, "duration", None),
        (RequestTime, "duration_ms", MS),
        (RequestTime, "request_time_ms", MS),
        (RequestTime, "latency_ms", MS),
        (UpstreamAddr, "upstream_addr", None),
        (UpstreamAddr, "upstream", None),
        (UpstreamStatus, "upstream_status", None),
        (UpstreamResponseTime, "upstream_response_time", None),
        (UpstreamConnectTime, "upstream_connect_time", None),
        (UpstreamHeaderTime, "upstream_header_time", None),
    ]
};

impl Default for JsonMapping {
    fn default() -> JsonMapping {
        let mut m = JsonMapping::empty();
        for &(field, path, unit) in DEFAULT {
            m.add(field, path, unit);
        }
        m
    }
}

/// Most key paths per field, and most segments per path (keys with dots are looked up in
/// every split, 2^(segments-1) of them).
const MAX_KEYS_PER_FIELD: usize = 64;
const MAX_SEGMENTS: usize = 8;

impl JsonMapping {
    /// A mapping without keys.
    pub fn empty() -> JsonMapping {
        JsonMapping { keys: Vec::new() }
    }

    /// Every key, in priority order within each field.
    pub fn keys(&self) -> &[JsonKey] {
        &self.keys
    }

    /// Adds a key for `field`, after the keys it already has.
    pub fn add(&mut self, field: JsonField, path: &str, unit: Option<TimeUnit>) -> &mut Self {
        self.keys.push(JsonKey {
            field,
            path: path.to_string(),
            unit,
        });
        self
    }

    /// Makes `path` the only key of `field`.
    pub fn set(&mut self, field: JsonField, path: &str, unit: Option<TimeUnit>) -> &mut Self {
        self.keys.retain(|k| k.field != field);
        self.add(field, path, unit)
    }

    /// Reads a spec such as `status=resp.code,time=ts,path=req.path,request_time=latency_ms:ms`.
    ///
    /// Each `field=path[:unit]` (field names: [`JsonField::name`]; units: `s`, `ms`, `us`,
    /// `ns`) replaces the default keys of that field; naming a field again adds alternatives,
    /// the first present in a line winning; `field=-` leaves the field unmapped. Fields the
    /// spec does not name keep their default keys, except a default key that the spec gives
    /// to another field. An error names the part it is about.
    pub fn parse_spec(spec: &str) -> Result<JsonMapping, FormatError> {
        let mut mapping = JsonMapping::default();
        let mut named: Vec<JsonField> = Vec::new();
        let mut given: Vec<JsonKey> = Vec::new();
        for part in spec.split(',').map(str::trim) {
            let bad = |reason: String| FormatError::BadMapping {
                part: part.to_string(),
                reason,
            };
            if part.is_empty() {
                return Err(bad("empty part".into()));
            }
            let (name, target) = part
                .split_once('=')
                .ok_or_else(|| bad("expected field=key.path".into()))?;
            let field = JsonField::from_name(name.trim()).ok_or_else(|| {
                let known: Vec<&str> = JsonField::ALL.iter().map(|f| f.name()).collect();
                bad(format!(
                    "unknown field {:?} (known: {})",
                    name.trim(),
                    known.join(", ")
                ))
            })?;
            if !named.contains(&field) {
                named.push(field);
                mapping.keys.retain(|k| k.field != field);
            }
            let target = target.trim();
            if target == "-" {
                continue;
            }
            let (path, unit) = match target.rsplit_once(':') {
                Some((path, unit)) => {
                    let unit = TimeUnit::from_name(unit.trim()).ok_or_else(|| {
                        bad(format!("unknown unit {:?} (s, ms, us, ns)", unit.trim()))
                    })?;
                    (path.trim(), Some(unit))
                }
                None => (target, None),
            };
            check_key(field, path, unit).map_err(bad)?;
            given.push(JsonKey {
                field,
                path: path.to_string(),
                unit,
            });
        }
        // A key the spec gives to a field is no longer a default key of another one.
        mapping
            .keys
            .retain(|k| !given.iter().any(|g| g.path == k.path && g.field != k.field));
        for key in given {
            mapping.add(key.field, &key.path, key.unit);
        }
        Ok(mapping)
    }

    /// Checks every key, and that status and time have one (a line without them cannot be
    /// read).
    pub(crate) fn validate(&self) -> Result<(), FormatError> {
        for k in &self.keys {
            check_key(k.field, &k.path, k.unit).map_err(|reason| FormatError::BadMapping {
                part: format!("{}={}", k.field.name(), k.path),
                reason,
            })?;
        }
        for field in [JsonField::Status, JsonField::Time] {
            let count = self.keys.iter().filter(|k| k.field == field).count();
            if count == 0 {
                return Err(FormatError::BadMapping {
                    part: field.name().to_string(),
                    reason: "no key for this field, which every line needs".into(),
                });
            }
        }
        for field in JsonField::ALL {
            if self.keys.iter().filter(|k| k.field == field).count() > MAX_KEYS_PER_FIELD {
                return Err(FormatError::BadMapping {
                    part: field.name().to_string(),
                    reason: format!("more than {MAX_KEYS_PER_FIELD} keys"),
                });
            }
        }
        Ok(())
    }
}

fn check_key(field: JsonField, path: &str, unit: Option<TimeUnit>) -> Result<(), String> {
    if path.split('.').any(str::is_empty) {
        return Err(format!("bad key path {path:?}: empty key"));
    }
    if path.split('.').count() > MAX_SEGMENTS {
        return Err(format!(
            "key path {path:?} is deeper than {MAX_SEGMENTS} keys"
        ));
    }
    if unit.is_some() && !field.takes_unit() {
        return Err(format!(
            "a unit only applies to time and request_time, not {}",
            field.name()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(m: &JsonMapping, field: JsonField) -> Vec<(String, Option<TimeUnit>)> {
        m.keys()
            .iter()
            .filter(|k| k.field == field)
            .map(|k| (k.path.clone(), k.unit))
            .collect()
    }

    #[test]
    fn names_round_trip() {
        for f in JsonField::ALL {
            assert_eq!(JsonField::from_name(f.name()), Some(f));
        }
        assert_eq!(JsonField::from_name("nope"), None);
    }

    #[test]
    fn a_spec_replaces_the_fields_it_names() {
        let m = JsonMapping::parse_spec(
            "status=resp.code, time=ts:ms,time=@timestamp,path=req.path,request_time=latency:us,host=-",
        )
        .unwrap();
        assert_eq!(paths(&m, JsonField::Status), [("resp.code".into(), None)]);
        assert_eq!(
            paths(&m, JsonField::Time),
            [
                ("ts".into(), Some(TimeUnit::Millis)),
                ("@timestamp".into(), None)
            ]
        );
        assert_eq!(
            paths(&m, JsonField::RequestTime),
            [("latency".into(), Some(TimeUnit::Micros))]
        );
        assert!(paths(&m, JsonField::Host).is_empty());
        // Unnamed fields keep their defaults.
        assert_eq!(paths(&m, JsonField::UpstreamStatus).len(), 1);
        m.validate().unwrap();
    }

    #[test]
    fn a_key_given_to_one_field_leaves_the_defaults_of_another() {
        let m = JsonMapping::parse_spec("path=request").unwrap();
        assert!(paths(&m, JsonField::Request).is_empty());
        assert_eq!(paths(&m, JsonField::Path), [("request".into(), None)]);
    }

    #[test]
    fn spec_errors_name_the_bad_part() {
        let err = |spec: &str| JsonMapping::parse_spec(spec).unwrap_err().to_string();
        assert!(err("status=code,colour=x").contains("\"colour=x\""));
        assert!(err("status=code,colour=x").contains("unknown field \"colour\""));
        assert!(err("status").contains("expected field=key.path"));
        assert!(err("status=a..b").contains("empty key"));
        assert!(err("request_time=t:min").contains("unknown unit \"min\""));
        assert!(err("host=h:ms").contains("a unit only applies"));
        assert!(err("status=a,,time=b").contains("empty part"));
    }

    #[test]
    fn status_and_time_are_required() {
        let m = JsonMapping::parse_spec("status=-").unwrap();
        let e = m.validate().unwrap_err().to_string();
        assert!(e.contains("status"), "{e}");
        let mut m = JsonMapping::empty();
        m.add(JsonField::Status, "s", None);
        assert!(m.validate().unwrap_err().to_string().contains("time"));
        m.set(JsonField::Time, "t", None);
        m.validate().unwrap();
    }
}
