//! [`AccessParser`]: one type for every access-log dialect, compiled once and applied to each
//! line. The registry of presets lives here: one table, nginx first, then Apache, then JSON.

use faultline_model::Record;

use crate::json::{JsonField, JsonMapping, JsonParser};
use crate::plan::Plan;
use crate::{apache, nginx, FormatError, ParseError, TimeCache};

/// Every preset, in the order [`crate::detect`] tries them.
const PRESETS: [(&str, Dialect); 9] = [
    (nginx::PRESETS[0].0, Dialect::Nginx),
    (nginx::PRESETS[1].0, Dialect::Nginx),
    (nginx::PRESETS[2].0, Dialect::Nginx),
    (nginx::PRESETS[3].0, Dialect::Nginx),
    (nginx::PRESETS[4].0, Dialect::Nginx),
    (apache::PRESETS[0].0, Dialect::Apache),
    (apache::PRESETS[1].0, Dialect::Apache),
    (apache::PRESETS[2].0, Dialect::Apache),
    ("json", Dialect::Json),
];

/// The names [`AccessParser::preset`] accepts: the presets, then the aliases.
const NAMES: [&str; 11] = [
    PRESETS[0].0,
    PRESETS[1].0,
    PRESETS[2].0,
    PRESETS[3].0,
    PRESETS[4].0,
    PRESETS[5].0,
    PRESETS[6].0,
    PRESETS[7].0,
    PRESETS[8].0,
    apache::ALIASES[0].0,
    apache::ALIASES[1].0,
];

/// The syntax family of a format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    Nginx,
    Apache,
    Json,
}

impl Dialect {
    fn name(self) -> &'static str {
        match self {
            Dialect::Nginx => "nginx",
            Dialect::Apache => "apache",
            Dialect::Json => "json",
        }
    }
}

/// How lines are read.
#[derive(Debug, Clone)]
enum Reader {
    /// nginx and Apache: literals and fields.
    Plan(Plan),
    Json(JsonParser),
}

/// A compiled access-log format: an nginx `log_format`, an Apache `LogFormat` (both a plan of
/// literals and fields built once) or a JSON mapping (a tree of keys).
#[derive(Debug, Clone)]
pub struct AccessParser {
    name: &'static str,
    dialect: Dialect,
    reader: Reader,
    upstream: bool,
    timing: bool,
    fields: usize,
}

impl AccessParser {
    /// Compiles an nginx `log_format` string passed verbatim (the part after the name, quotes
    /// already joined, e.g. `$remote_addr - $remote_user [$time_local] "$request" $status ...`).
    pub fn nginx(log_format: &str) -> Result<AccessParser, FormatError> {
        nginx::compile(log_format)
            .map(|c| from_plan("custom", Dialect::Nginx, c.plan, c.upstream, c.timing))
    }

    /// Compiles an Apache `LogFormat` string passed verbatim (e.g.
    /// `%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-agent}i"`). A format copied from
    /// httpd.conf with its quotes, `\"` escapes, `LogFormat` keyword or nickname is read too.
    pub fn apache(log_format: &str) -> Result<AccessParser, FormatError> {
        apache::compile(log_format)
            .map(|c| from_plan("custom", Dialect::Apache, c.plan, c.upstream, c.timing))
    }

    /// A reader of JSON lines (one object per line) with the given mapping; its name is
    /// "json" for the default mapping, else "custom".
    ///
    /// Values are borrowed from the line: a string without its quotes and with its escapes
    /// as written (`curl/8 \"x\"`, `\u00e9`), a number as written. `null`, `true`, `false`
    /// and objects or arrays where a value is expected count as missing; a line without a
    /// status or a time is an error, and so is one that is not well-formed JSON.
    pub fn json(mapping: &JsonMapping) -> Result<AccessParser, FormatError> {
        let name = if *mapping == JsonMapping::default() {
            "json"
        } else {
            "custom"
        };
        Self::json_named(name, mapping)
    }

    fn json_named(name: &'static str, mapping: &JsonMapping) -> Result<AccessParser, FormatError> {
        let parser = JsonParser::compile(mapping)?;
        let maps = |f| parser.maps(f);
        Ok(AccessParser {
            name,
            dialect: Dialect::Json,
            upstream: maps(JsonField::UpstreamAddr) || maps(JsonField::UpstreamStatus),
            timing: maps(JsonField::RequestTime) || maps(JsonField::UpstreamResponseTime),
            fields: parser.field_count(),
            reader: Reader::Json(parser),
        })
    }

    /// Compiles a format string of either text dialect, told by its variables: `$name` is
    /// nginx, `%h`, `%>s`, `%{…}i`… is Apache (when both appear, nginx is tried first). A
    /// preset name is accepted too.
    pub fn guess(format: &str) -> Result<AccessParser, FormatError> {
        if let Ok(p) = Self::preset(format.trim()) {
            return Ok(p);
        }
        let b = format.as_bytes();
        let after =
            |sigil: u8, test: fn(u8) -> bool| b.windows(2).any(|w| w[0] == sigil && test(w[1]));
        let nginx = after(b'$', |c| c.is_ascii_alphabetic() || c == b'_' || c == b'{');
        let apache = after(b'%', |c| {
            c.is_ascii_alphabetic() || matches!(c, b'>' | b'<' | b'{' | b'!' | b'^')
        });
        match (nginx, apache) {
            (true, false) => Self::nginx(format),
            (false, true) => Self::apache(format),
            (true, true) => Self::nginx(format).or_else(|e| Self::apache(format).map_err(|_| e)),
            (false, false) => Err(FormatError::UnknownDialect(format.to_string())),
        }
    }

    /// A named preset: nginx's "combined", "main", "extended", "upstream_time",
    /// "upstreaminfo"; Apache's "apache_common", "apache_combined", "apache_vhost_combined"
    /// (also "common" and "vhost_combined", as Apache names them); "json" (the default
    /// [`JsonMapping`]).
    pub fn preset(name: &str) -> Result<AccessParser, FormatError> {
        let unknown = || FormatError::UnknownPreset(name.to_string());
        let canonical = apache::ALIASES
            .iter()
            .find(|(alias, _)| *alias == name)
            .map_or(name, |(_, target)| *target);
        let &(name, dialect) = PRESETS
            .iter()
            .find(|(n, _)| *n == canonical)
            .ok_or_else(unknown)?;
        let text = |table: &[(&'static str, &'static str)]| {
            table
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, f)| *f)
                .ok_or_else(unknown)
        };
        match dialect {
            Dialect::Nginx => nginx::compile(text(&nginx::PRESETS)?)
                .map(|c| from_plan(name, dialect, c.plan, c.upstream, c.timing)),
            Dialect::Apache => apache::compile(text(&apache::PRESETS)?)
                .map(|c| from_plan(name, dialect, c.plan, c.upstream, c.timing)),
            Dialect::Json => Self::json_named(name, &JsonMapping::default()),
        }
    }

    /// The names [`AccessParser::preset`] accepts: nginx presets, Apache presets, `json`,
    /// then the aliases `common` and `vhost_combined`.
    pub fn presets() -> &'static [&'static str] {
        &NAMES
    }

    /// The presets without aliases, in the order detection tries them.
    pub(crate) fn canonical_presets() -> impl Iterator<Item = &'static str> {
        PRESETS.iter().map(|(n, _)| *n)
    }

    /// Parses one line (without its trailing `\n` / `\r\n`) into `rec`, which is cleared first.
    /// Never panics, whatever the bytes.
    pub fn parse<'a>(
        &self,
        line: &'a [u8],
        rec: &mut Record<'a>,
        cache: &mut TimeCache,
    ) -> Result<(), ParseError> {
        match &self.reader {
            Reader::Plan(plan) => plan.parse(line, rec, cache),
            Reader::Json(json) => json.parse(line, rec, cache),
        }
    }

    /// The log syntax this parser reads: "nginx", "apache" or "json".
    pub fn dialect(&self) -> &'static str {
        self.dialect.name()
    }

    /// The preset name, or "custom".
    pub fn name(&self) -> &str {
        self.name
    }

    /// Whether the format carries upstream fields: nginx `$upstream_addr` or
    /// `$upstream_status`, Apache `%{BALANCER_WORKER_NAME}e`, JSON keys for them (after
    /// detection: keys present in the sampled lines).
    pub fn has_upstream(&self) -> bool {
        self.upstream
    }

    /// Whether the format carries timing: nginx `$request_time` or `$upstream_response_time`,
    /// Apache `%D` or `%T`, JSON keys for them (after detection: present in the sample).
    pub fn has_timing(&self) -> bool {
        self.timing
    }

    /// Number of fields in the format: variables or directives for the text dialects, fields
    /// with keys for JSON (after detection: fields present in the sampled lines).
    pub fn field_count(&self) -> usize {
        self.fields
    }

    /// For JSON, the fields present in `sample` (one bit per [`JsonField`]), or `None` for
    /// the text dialects, whose fields are fixed by the format.
    pub(crate) fn json_fields(&self, sample: &[&[u8]]) -> Option<u32> {
        let Reader::Json(json) = &self.reader else {
            return None;
        };
        let mut cache = TimeCache::default();
        let present = sample
            .iter()
            .filter_map(|l| json.fields_present(l, &mut cache));
        Some(present.fold(0, |acc, bits| acc | bits))
    }

    /// Narrows a JSON parser's claims to the fields `bits` found in the sample.
    pub(crate) fn fit_json(&mut self, bits: u32) {
        let has = |f: JsonField| bits & (1 << f as u32) != 0;
        self.upstream = has(JsonField::UpstreamAddr) || has(JsonField::UpstreamStatus);
        self.timing = has(JsonField::RequestTime) || has(JsonField::UpstreamResponseTime);
        self.fields = bits.count_ones() as usize;
    }
}

fn from_plan(
    name: &'static str,
    dialect: Dialect,
    plan: Plan,
    upstream: bool,
    timing: bool,
) -> AccessParser {
    AccessParser {
        name,
        dialect,
        upstream,
        timing,
        fields: plan.fields.len(),
        reader: Reader::Plan(plan),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_preset_compiles_and_keeps_its_name() {
        for name in AccessParser::presets() {
            let p = AccessParser::preset(name).unwrap();
            assert!(NAMES.contains(&p.name()));
        }
        assert_eq!(
            AccessParser::preset("common").unwrap().name(),
            "apache_common"
        );
        assert_eq!(
            AccessParser::preset("vhost_combined").unwrap().name(),
            "apache_vhost_combined"
        );
        assert_eq!(AccessParser::canonical_presets().count(), PRESETS.len());
    }
}
