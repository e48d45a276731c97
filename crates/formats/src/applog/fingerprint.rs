//! Fingerprints: what stays the same between two occurrences of one failure.
//!
//! A stack trace is grouped like Sentry's default grouping does it: by the exception types
//! and the frames' files and functions (never their line numbers), plus the masked message
//! of the exception the title names. A single record is grouped by its masked message,
//! without the timestamp and pid prefix. The hash is 64-bit FNV-1a over those parts, so it
//! is the same on every run and platform.

use std::borrow::Cow;

use memchr::memmem;

use super::head::{head, pairs, Format, Head};
use super::json;
use super::mask::{mask, mask_ident};
use super::shape::{
    exc_header, go_func, rails_header, ruby_frame, ruby_uncaught, strip_tags, trim_start, GO,
    GOROUTINES, JAVA, LOG, NODE, PHP, PYTHON, RUBY,
};
use super::Level;

/// A failure's identity: the hash to group by and a short title to show.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Fingerprint {
    /// FNV-1a (64 bits) over the masked parts: the same on every run and platform, for as
    /// long as the masking rules stay the same.
    pub hash: u64,
    /// E.g. `sqlalchemy.exc.TimeoutError: QueuePool limit of size {n} overflow {n} reached,
    /// connection timed out, timeout {n}`; at most 200 characters.
    pub title: String,
}

/// Frames that take part in a fingerprint, from the first.
const MAX_FRAMES: usize = 48;
const TITLE_MAX: usize = 200;

/// The fingerprint of an event's text, read as `kind` (an [`super::AppEvent::kind`]; any
/// other value reads it as a single record).
///
/// Text that carries PHP's messages inside another log (an nginx error-log entry whose
/// continuation lines were joined with `\n`, see [`super::is_continuation_of_error_log`];
/// Apache's `AH01071: Got error 'PHP message: …'`) is fingerprinted by its PHP part, the
/// first fatal error if there are several. A JSON record with a stack field is
/// fingerprinted by its stack.
pub fn fingerprint(text: &str, kind: &str) -> Fingerprint {
    if let Some(php) = embedded_php(text) {
        let lines: Vec<Cow<'_, str>> = php.split('\n').map(Cow::Borrowed).collect();
        if let Some(g) = php_group(&lines) {
            return g.finish();
        }
    }
    let (first, lines) = normalise(text);
    let structured = match first.head.as_ref().map(|h| h.format) {
        Some(Format::Json) => json_group(first.line, kind),
        Some(Format::Logfmt) => Some(logfmt_group(first.line, first.head.as_ref())),
        _ => None,
    };
    structured
        .or_else(|| trace_group(kind, &lines))
        .unwrap_or_else(|| log_group(&first, &lines))
        .finish()
}

/// What a fingerprint is computed from.
#[derive(Debug)]
struct Group {
    family: &'static str,
    level: Option<Level>,
    types: Vec<String>,
    /// The type the title names (empty for a record).
    title_type: String,
    /// The masked message of the exception the title names, or of the record.
    message: String,
    frames: Vec<(String, String)>,
}

impl Group {
    fn new(family: &'static str) -> Group {
        Group {
            family,
            level: None,
            types: Vec::new(),
            title_type: String::new(),
            message: String::new(),
            frames: Vec::new(),
        }
    }

    fn frame(&mut self, file: &str, func: &str) {
        if self.frames.len() < MAX_FRAMES {
            let (mut f, mut g) = (String::new(), String::new());
            mask_ident(file.trim(), &mut f);
            mask_ident(func.trim(), &mut g);
            self.frames.push((f, g));
        }
    }

    /// Records an exception; the last one recorded is the one titled unless `keep_first`.
    fn exception(&mut self, ty: &str, msg: &str, keep_first: bool) {
        let ty = ty.trim();
        self.types.push(ty.to_string());
        if keep_first && self.types.len() > 1 {
            return;
        }
        self.title_type = ty.to_string();
        self.message.clear();
        mask(msg.trim(), &mut self.message);
    }

    fn finish(self) -> Fingerprint {
        let mut h = Fnv::new();
        h.field(self.family.as_bytes());
        h.field(self.level.map_or("", Level::name).as_bytes());
        for t in &self.types {
            h.field(t.as_bytes());
        }
        h.field(b"\x1d");
        h.field(self.message.as_bytes());
        for (file, func) in &self.frames {
            h.field(file.as_bytes());
            h.field(func.as_bytes());
        }
        let mut title = match (self.title_type.is_empty(), self.message.is_empty()) {
            (true, _) => self.message,
            (false, true) => self.title_type,
            (false, false) => format!("{}: {}", self.title_type, self.message),
        };
        clip(&mut title, TITLE_MAX);
        Fingerprint { hash: h.0, title }
    }
}

/// FNV-1a, 64 bits: fixed, so fingerprints can be stored and compared across runs.
struct Fnv(u64);

impl Fnv {
    fn new() -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }

    fn field(&mut self, bytes: &[u8]) {
        for &b in bytes.iter().chain(&[0xff]) {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
}

fn clip(s: &mut String, max: usize) {
    if let Some((at, _)) = s.char_indices().nth(max) {
        s.truncate(at);
        s.push('…');
    }
}

/// The first line as written, and its record prefix.
struct First<'a> {
    line: &'a str,
    head: Option<Head>,
}

/// The event's lines with collector prefixes (syslog, PHP-FPM, container timestamps), the
/// first line's record prefix, Rails tags and rsyslog's `#011` tabs taken off.
fn normalise(text: &str) -> (First<'_>, Vec<Cow<'_, str>>) {
    let mut first = First {
        line: "",
        head: None,
    };
    let mut lines = Vec::new();
    for (i, raw) in text.split('\n').enumerate() {
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        if i > 0 && raw.starts_with("[… ") && raw.ends_with(" lines cut …]") {
            continue;
        }
        let h = head(raw.as_bytes(), None);
        let body = match &h {
            Some(h) if i == 0 || h.wrap.is_some() => raw.get(h.body.0..h.body.1).unwrap_or(raw),
            _ => raw,
        };
        let body = &body[body.len() - strip_tags(body.as_bytes()).len()..];
        let body = if body.starts_with("#011") {
            let rest = body.trim_start_matches("#011");
            Cow::Owned(format!(
                "{}{rest}",
                "\t".repeat((body.len() - rest.len()) / 4)
            ))
        } else {
            Cow::Borrowed(body)
        };
        if i == 0 {
            first = First { line: raw, head: h };
        }
        lines.push(body);
    }
    (first, lines)
}

fn trace_group(kind: &str, lines: &[Cow<'_, str>]) -> Option<Group> {
    match kind {
        PYTHON => python(lines),
        JAVA => java(lines),
        GO | GOROUTINES => go(lines),
        NODE => node(lines),
        RUBY => ruby(lines),
        PHP => php_group(lines),
        _ => None,
    }
}

/// A record: its message without the prefix (and, for nginx's error log, without the pid,
/// connection and request context).
fn log_group(first: &First<'_>, lines: &[Cow<'_, str>]) -> Group {
    let mut g = Group::new(LOG);
    let mut msg = match &first.head {
        Some(h) => {
            g.level = h.level;
            first.line.get(h.msg..).unwrap_or(first.line)
        }
        None => lines.first().map_or("", |l| l.as_ref()),
    };
    if msg.trim().is_empty() {
        msg = lines
            .iter()
            .skip(1)
            .map(|l| l.as_ref())
            .find(|l| !l.trim().is_empty())
            .unwrap_or("");
    }
    let msg = nginx_message(msg).trim();
    let msg = &msg[msg.len() - strip_tags(msg.as_bytes()).len()..];
    mask(kernel_message(msg), &mut g.message);
    g
}

/// A kernel message without its `[12345.678901] ` uptime, as syslog carries it.
fn kernel_message(msg: &str) -> &str {
    let Some(rest) = msg.strip_prefix('[') else {
        return msg;
    };
    let rest = rest.trim_start();
    let n = rest
        .bytes()
        .take_while(|c| c.is_ascii_digit() || *c == b'.')
        .count();
    match rest[n..].strip_prefix("] ") {
        Some(m) if n > 0 => m,
        _ => msg,
    }
}

/// An nginx error-log message without `12#12: *5 ` before it and `, client: …` after it.
fn nginx_message(msg: &str) -> &str {
    let mut m = msg;
    let b = m.as_bytes();
    let pid = b.iter().take_while(|c| c.is_ascii_digit()).count();
    if pid > 0 && b.get(pid) == Some(&b'#') {
        if let Some(colon) = m.find(": ") {
            m = &m[colon + 2..];
            if let Some(rest) = m.strip_prefix('*') {
                let n = rest.bytes().take_while(u8::is_ascii_digit).count();
                m = rest[n..].trim_start();
            }
        }
    }
    match m.find(", client: ") {
        Some(at) => &m[..at],
        None => m,
    }
}

fn json_group(line: &str, kind: &str) -> Option<Group> {
    let rec = json::read(line.as_bytes())?;
    if let Some(stack) = rec.stack {
        let mut s = String::new();
        json::unescape(stack, &mut s);
        let k = match kind {
            LOG => json::sniff(stack).unwrap_or(LOG),
            k => k,
        };
        let lines: Vec<Cow<'_, str>> = s.split('\n').map(Cow::Borrowed).collect();
        if let Some(g) = trace_group(k, &lines) {
            return Some(g);
        }
    }
    let mut msg = String::new();
    if let Some(m) = rec.msg {
        json::unescape(m, &mut msg);
    }
    if let Some(e) = rec.error {
        if !msg.is_empty() {
            msg.push_str(": ");
        }
        json::unescape(e, &mut msg);
    }
    if msg.trim().is_empty() {
        return None;
    }
    let mut g = Group::new(LOG);
    g.level = rec.level;
    if let Some(t) = rec.error_type {
        json::unescape(t, &mut g.title_type);
        g.types.push(g.title_type.clone());
    }
    mask(msg.trim(), &mut g.message);
    Some(g)
}

/// logfmt: `msg` and `err` / `error`, the rest being context.
fn logfmt_group(line: &str, h: Option<&Head>) -> Group {
    let mut g = Group::new(LOG);
    g.level = h.and_then(|h| h.level);
    let mut msg = String::new();
    for (key, value) in pairs(line.as_bytes()).take(32) {
        if matches!(key, b"msg" | b"message" | b"err" | b"error") {
            if !msg.is_empty() {
                msg.push_str(": ");
            }
            msg.push_str(&String::from_utf8_lossy(value).replace("\\\"", "\""));
        }
    }
    mask(msg.trim(), &mut g.message);
    g
}

/// An exception line's type and message: `KeyError: 'id'`, `java.lang.X: msg`.
fn split_exception(line: &str) -> (&str, &str) {
    let n = exc_header(line.as_bytes())
        .or_else(|| line.find(':'))
        .unwrap_or(line.len())
        .min(line.len());
    let msg = line[n..].strip_prefix(':').unwrap_or(&line[n..]);
    (&line[..n], msg)
}

fn python(lines: &[Cow<'_, str>]) -> Option<Group> {
    let mut g = Group::new(PYTHON);
    let mut in_traceback = false;
    for line in lines {
        let trimmed = line.trim_start_matches([' ', '|', '+']);
        if trimmed.starts_with("Traceback (most recent call last):")
            || trimmed.starts_with("Exception Group Traceback (most recent call last):")
            || trimmed.starts_with("Stack (most recent call last):")
        {
            in_traceback = true;
            continue;
        }
        if !in_traceback {
            continue;
        }
        if let Some(rest) = trimmed.strip_prefix("File \"") {
            if let Some(q) = rest.find('"') {
                let func = rest[q..].rsplit_once(", in ").map_or("", |(_, f)| f);
                g.frame(&rest[..q], func);
            }
            continue;
        }
        // Exception groups put `  | ` before their inner tracebacks' lines.
        let s = line.trim_start_matches(' ');
        let content = s.strip_prefix("| ").unwrap_or(line);
        if content.starts_with(' ') || content.is_empty() {
            continue;
        }
        let (ty, msg) = split_exception(content);
        g.exception(ty, msg, false);
        in_traceback = false;
    }
    (!g.types.is_empty()).then_some(g)
}

fn java(lines: &[Cow<'_, str>]) -> Option<Group> {
    let mut g = Group::new(JAVA);
    let mut expect_header = true;
    for line in lines {
        let l = line.as_ref();
        if let Some(rest) = l.strip_prefix("Exception in thread \"") {
            let after = rest.find("\" ").map_or("", |q| &rest[q + 2..]);
            let (ty, msg) = split_exception(after);
            g.exception(ty, msg, false);
            expect_header = false;
        } else if let Some(rest) = l.strip_prefix("Caused by: ") {
            let (ty, msg) = split_exception(rest);
            g.exception(ty, msg, false);
        } else if let Some(frame) = top_frame(l) {
            expect_header = false;
            let open = frame.find('(').unwrap_or(frame.len());
            let func = &frame[..open];
            let func = func.rsplit_once('/').map_or(func, |(_, f)| f);
            let loc = frame[open..].trim_start_matches('(');
            let file = loc.split([':', ')']).next().unwrap_or("");
            g.frame(file, func);
        } else if expect_header && exc_header(l.as_bytes()).is_some() {
            let (ty, msg) = split_exception(l);
            g.exception(ty, msg, false);
            expect_header = false;
        }
    }
    (!g.types.is_empty() || !g.frames.is_empty()).then_some(g)
}

/// `\tat x` or `    at x` at the top level of a trace (not inside `Suppressed:`, nor a
/// Node error's `[cause]`): `x`.
fn top_frame(l: &str) -> Option<&str> {
    let t = l.trim_start_matches([' ', '\t']);
    let indent = &l[..l.len() - t.len()];
    let top = indent == "\t" || (indent.len() <= 4 && !indent.contains('\t') && !indent.is_empty());
    t.strip_prefix("at ").filter(|_| top)
}

fn go(lines: &[Cow<'_, str>]) -> Option<Group> {
    let mut g = Group::new(GO);
    let mut goroutines = 0;
    let mut func = String::new();
    for line in lines {
        let l = line.as_ref();
        if g.title_type.is_empty() {
            if let Some((ty, msg)) = go_header(l) {
                g.exception(ty, msg, true);
                continue;
            }
        }
        if l.starts_with("goroutine ") {
            goroutines += 1;
            if goroutines > 1 {
                break;
            }
            if g.title_type.is_empty() && g.message.is_empty() {
                mask(l, &mut g.message);
            }
            continue;
        }
        if goroutines != 1 {
            continue;
        }
        if let Some(created) = l.strip_prefix("created by ") {
            func = created
                .split(" in goroutine ")
                .next()
                .unwrap_or("")
                .to_string();
        } else if let Some(name) = go_func(l.as_bytes()) {
            func = String::from_utf8_lossy(name).into_owned();
        } else if let Some(loc) = l.strip_prefix('\t') {
            let path = loc.split(" +0x").next().unwrap_or(loc);
            let file = path.rsplit_once(':').map_or(path, |(f, _)| f);
            g.frame(file, &std::mem::take(&mut func));
        }
    }
    (!g.types.is_empty() || !g.frames.is_empty()).then_some(g)
}

/// `panic: msg`, `fatal error: msg`, `SIGSEGV: segmentation violation`, or net/http's
/// `http: panic serving 10.0.0.1:5000: msg`.
fn go_header(l: &str) -> Option<(&str, &str)> {
    if let Some(m) = l.strip_prefix("panic: ") {
        return Some(("panic", m.trim_end_matches(" [recovered]")));
    }
    if let Some(m) = l.strip_prefix("fatal error: ") {
        return Some(("fatal error", m));
    }
    if l.starts_with("SIG") {
        if let Some((sig, m)) = l.split_once(": ") {
            if sig.bytes().all(|c| c.is_ascii_uppercase()) {
                return Some((sig, m));
            }
        }
    }
    let at = l.find("http: panic serving ")?;
    let rest = &l[at + 20..];
    Some(("panic", rest.split_once(": ").map_or(rest, |(_, m)| m)))
}

fn node(lines: &[Cow<'_, str>]) -> Option<Group> {
    let mut g = Group::new(NODE);
    for line in lines {
        let l = line.as_ref();
        if g.types.is_empty() {
            let h = l
                .strip_prefix("(node:")
                .and_then(|r| r.split_once(") "))
                .map_or(l, |(_, r)| r);
            let h = h.strip_prefix('[').unwrap_or(h);
            if exc_header(h.as_bytes()).is_some() {
                let (ty, msg) = split_exception(h);
                let msg = msg.trim_end_matches(" {").trim_end_matches(']');
                g.exception(ty, msg, true);
            }
            continue;
        }
        let Some(frame) = top_frame(l) else { continue };
        let frame = frame.trim_end_matches(" {");
        let frame = frame.strip_prefix("async ").unwrap_or(frame);
        let frame = frame.strip_prefix("new ").unwrap_or(frame);
        let (func, loc) = match frame.strip_suffix(')').and_then(|f| f.split_once(" (")) {
            Some((func, loc)) => (func.split(" [as ").next().unwrap_or(func), loc),
            None => ("", frame),
        };
        g.frame(strip_line_col(loc), func);
    }
    (!g.types.is_empty()).then_some(g)
}

/// `/app/x.js:12:5` → `/app/x.js`.
fn strip_line_col(mut loc: &str) -> &str {
    for _ in 0..2 {
        match loc.rsplit_once(':') {
            Some((rest, n)) if !n.is_empty() && n.bytes().all(|c| c.is_ascii_digit()) => loc = rest,
            _ => break,
        }
    }
    loc
}

fn ruby(lines: &[Cow<'_, str>]) -> Option<Group> {
    let mut g = Group::new(RUBY);
    for (i, line) in lines.iter().enumerate() {
        let t = trim_start(line.as_bytes());
        let t = &line[line.len() - t.len()..];
        if let Some((ty, msg)) = rails_header(t.as_bytes()) {
            let (ty, msg) = (String::from_utf8_lossy(ty), String::from_utf8_lossy(msg));
            g.exception(&ty, &msg, true);
        } else if let Some((file, func, end)) = ruby_frame(t.as_bytes()) {
            let (file, func) = (String::from_utf8_lossy(file), String::from_utf8_lossy(func));
            g.frame(&file, &func);
            if ruby_uncaught(t.as_bytes()) && g.types.is_empty() {
                if let Some((msg, ty)) = class_suffix(&t[end + 2..]) {
                    g.exception(ty, msg, true);
                }
            }
        } else if i == 0 {
            if let Some((msg, ty)) = class_suffix(t) {
                g.exception(ty, msg, true);
            }
        }
    }
    (!g.types.is_empty() || !g.frames.is_empty()).then_some(g)
}

/// Ruby's `message (ClassName)`: the message and the class.
fn class_suffix(s: &str) -> Option<(&str, &str)> {
    let body = s.trim_end().strip_suffix(')')?;
    let (msg, ty) = body.rsplit_once(" (")?;
    let n = super::shape::const_name(ty.as_bytes())?;
    (n == ty.len()).then_some((msg, ty))
}

/// PHP's own messages carried by another log: from the first `PHP message: ` to the end
/// of the quoted stderr (nginx) or of the text.
fn embedded_php(text: &str) -> Option<&str> {
    let at = memmem::find(text.as_bytes(), b"PHP message: ")?;
    let mut part = &text[at..];
    if let Some(end) = part
        .rfind("\" while ")
        .or_else(|| part.rfind("\", client: "))
    {
        part = &part[..end];
    }
    let messages = part
        .split("PHP message: ")
        .map(|m| m.trim_end_matches(['\n', ';', ' ', '\'', '"']))
        .filter(|m| !m.is_empty());
    let mut first = None;
    for m in messages {
        if super::shape::php_error(m.as_bytes()).is_some_and(|(_, fatal)| fatal) {
            return Some(m);
        }
        first = first.or(Some(m));
    }
    first
}

fn php_group(lines: &[Cow<'_, str>]) -> Option<Group> {
    let mut g = Group::new(PHP);
    for line in lines {
        let l = line.trim_start();
        let l = l.strip_prefix("PHP message: ").unwrap_or(l);
        if let Some(frame) = l.strip_prefix('#') {
            php_frame(frame, &mut g);
        } else if let Some(rest) = l.strip_prefix("Next ") {
            let (ty, msg) = split_exception(rest);
            g.exception(ty, strip_php_location(msg), true);
        } else if l.starts_with("PHP ")
            && l[4..].starts_with(|c: char| c.is_ascii_digit() || c == ' ')
        {
            // `PHP   1. {main}() /var/www/html/index.php:0` (the CLI's stack trace).
            let f = l[4..].trim_start();
            let f = f.split_once(". ").map_or(f, |(_, f)| f);
            let (func, file) = f.split_once(") ").unwrap_or((f, ""));
            g.frame(strip_line_col(file), func.split('(').next().unwrap_or(func));
        } else if g.types.is_empty() {
            let l = l.strip_prefix("PHP ").unwrap_or(l);
            if let Some((what, rest)) = l.split_once(':') {
                if what.len() <= 24 && what.contains(['e', 'E']) && !what.contains(['/', '#']) {
                    php_error_line(what, rest.trim_start(), &mut g);
                }
            }
        }
    }
    (!g.types.is_empty()).then_some(g)
}

/// `Fatal error:  Uncaught PDOException: SQLSTATE[HY000] [2002] Connection refused in
/// /var/www/html/db.php:5`, `Fatal error: Allowed memory size … in /x.php on line 12`.
fn php_error_line(what: &str, rest: &str, g: &mut Group) {
    if let Some(u) = rest.strip_prefix("Uncaught ") {
        // PHP 5 wrote `Uncaught exception 'Exception' with message 'boom' in …`.
        let (ty, msg) = match u.strip_prefix("exception '") {
            Some(r) => {
                let (ty, r) = r.split_once('\'').unwrap_or((r, ""));
                (ty, r.trim_start_matches(" with message "))
            }
            None => split_exception(u),
        };
        g.exception(ty, strip_php_location(msg), true);
        g.title_type = format!("Uncaught {}", g.title_type);
        return;
    }
    let msg = match rest.rsplit_once(" in ") {
        Some((msg, loc)) if loc.contains(" on line ") => {
            g.frame(loc.split(" on line ").next().unwrap_or(loc), "");
            msg
        }
        _ => rest,
    };
    g.exception(&format!("PHP {what}"), msg, true);
}

/// `boom in /var/www/x.php:12` → `boom`.
fn strip_php_location(msg: &str) -> &str {
    match msg.rsplit_once(" in ") {
        Some((m, loc)) if loc.starts_with('/') || loc.contains(".php") => m,
        _ => msg,
    }
}

/// `0 /var/www/html/x.php(12): Foo->bar('x')`, `1 [internal function]: f()`, `2 {main}`.
fn php_frame(frame: &str, g: &mut Group) {
    let n = frame.bytes().take_while(u8::is_ascii_digit).count();
    let f = frame[n..].trim_start();
    if f == "{main}" {
        g.frame("", f);
        return;
    }
    let (loc, call) = f.split_once(": ").unwrap_or(("", f));
    let file = loc.split('(').next().unwrap_or(loc);
    g.frame(file, call.split('(').next().unwrap_or(call));
}
