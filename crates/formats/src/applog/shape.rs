//! What a line's text looks like once its record prefix is set aside: blank, indented, a
//! runtime's opener, or plain text; and the runtime-specific shapes (frames, exception
//! headers, continuation lines) that the joiner asks about only when its state makes the
//! answer matter, and that the fingerprint reads fields from.

use memchr::memchr;

use super::Level;
use crate::bytes::has_prefix;

pub(crate) const LOG: &str = "log";
pub(crate) const PYTHON: &str = "python.traceback";
pub(crate) const JAVA: &str = "java.exception";
pub(crate) const GO: &str = "go.panic";
pub(crate) const GOROUTINES: &str = "go.goroutines";
pub(crate) const NODE: &str = "node.error";
pub(crate) const RUBY: &str = "ruby.exception";
pub(crate) const PHP: &str = "php.fatal";

/// A line's text, told by its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    Blank,
    Indented,
    Opener(Opener),
    Text,
}

/// Lines that open an event of a runtime whatever came before them (within that runtime's
/// own trace some of them continue it, see the joiner).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Opener {
    /// `Traceback (most recent call last):`, `Stack (most recent call last):`.
    Traceback,
    /// `panic: `, `fatal error: `, `SIGQUIT: quit`.
    Panic,
    /// `goroutine 1 [running]:`.
    Goroutine,
    /// `Exception in thread "main" java.lang.…`.
    JavaThread,
    /// `PHP Fatal error:  …`, `PHP Warning:  …`.
    Php(Level, bool),
    /// `/app/server.js:12`, `node:internal/process/promises:389`: where an uncaught error
    /// was thrown, printed before its source line and caret.
    NodeSource,
    /// `(node:1234) UnhandledPromiseRejectionWarning: …`.
    NodeWarning,
    /// `[UnhandledPromiseRejection: …`.
    NodeRejection,
}

pub(crate) fn shape(b: &[u8]) -> Shape {
    let Some(&first) = b.first() else {
        return Shape::Blank;
    };
    if first == b' ' || first == b'\t' {
        return if is_blank(b) {
            Shape::Blank
        } else {
            Shape::Indented
        };
    }
    if has_prefix(b, b"#011") {
        return Shape::Indented;
    }
    match opener(first, b) {
        Some(o) => Shape::Opener(o),
        None => Shape::Text,
    }
}

fn opener(first: u8, b: &[u8]) -> Option<Opener> {
    let o = match first {
        b'T' if has_prefix(b, b"Traceback (most recent call last):") => Opener::Traceback,
        b'S' if has_prefix(b, b"Stack (most recent call last):") => Opener::Traceback,
        b'S' if signal(b) => Opener::Panic,
        b'p' if has_prefix(b, b"panic: ") => Opener::Panic,
        b'f' if has_prefix(b, b"fatal error: ") => Opener::Panic,
        b'g' if has_prefix(b, b"goroutine ") && b.get(10).is_some_and(u8::is_ascii_digit) => {
            Opener::Goroutine
        }
        b'E' if has_prefix(b, b"Exception in thread \"") => Opener::JavaThread,
        b'P' if php_error(b).is_some() => {
            let (level, fatal) = php_error(b)?;
            Opener::Php(level, fatal)
        }
        b'(' if node_warning(b) => Opener::NodeWarning,
        b'[' if has_prefix(b, b"[UnhandledPromiseRejection") => Opener::NodeRejection,
        b'/' | b'n' | b'f' | b'A'..=b'Z' if node_source(b) => Opener::NodeSource,
        _ => return None,
    };
    Some(o)
}

pub(crate) fn is_blank(b: &[u8]) -> bool {
    b.iter().all(|&c| c == b' ' || c == b'\t')
}

/// `b` without its leading spaces, tabs and rsyslog's `#011` (an escaped tab).
pub(crate) fn trim_start(mut b: &[u8]) -> &[u8] {
    loop {
        match b {
            [b' ' | b'\t', rest @ ..] => b = rest,
            [b'#', b'0', b'1', b'1', rest @ ..] => b = rest,
            _ => return b,
        }
    }
}

pub(crate) fn trim_end(b: &[u8]) -> &[u8] {
    let n = b
        .iter()
        .rev()
        .take_while(|c| c.is_ascii_whitespace())
        .count();
    &b[..b.len() - n]
}

/// `SIGQUIT: quit`, `SIGSEGV: segmentation violation`: Go's fatal signal report.
fn signal(b: &[u8]) -> bool {
    let Some(rest) = b.strip_prefix(b"SIG") else {
        return false;
    };
    let n = rest.iter().take_while(|c| c.is_ascii_uppercase()).count();
    n >= 2 && has_prefix(&rest[n..], b": ")
}

/// `(node:1234) `.
fn node_warning(b: &[u8]) -> bool {
    b.strip_prefix(b"(node:").is_some_and(|r| {
        let n = r.iter().take_while(|c| c.is_ascii_digit()).count();
        n > 0 && has_prefix(&r[n..], b") ")
    })
}

/// A path alone with a line number, as Node prints above an uncaught error's source line.
pub(crate) fn node_source(b: &[u8]) -> bool {
    let rooted = matches!(b.first(), Some(b'/'))
        || has_prefix(b, b"node:")
        || has_prefix(b, b"file://")
        || (b.len() > 3 && b[0].is_ascii_uppercase() && &b[1..3] == b":\\");
    if !rooted || b.len() > 512 || b.iter().any(|c| c.is_ascii_whitespace()) {
        return false;
    }
    let n = b.iter().rev().take_while(|c| c.is_ascii_digit()).count();
    n > 0 && b.len() > n + 1 && b[b.len() - n - 1] == b':'
}

/// `Node.js v20.11.1`: the last line Node prints before exiting on an uncaught error.
pub(crate) fn node_version(b: &[u8]) -> bool {
    b.strip_prefix(b"Node.js v")
        .is_some_and(|r| r.first().is_some_and(u8::is_ascii_digit))
}

/// Unindented lines that Node prints inside an error after its frames.
pub(crate) fn node_text(b: &[u8]) -> bool {
    b == b"}" || has_prefix(b, b"Emitted '") || has_prefix(b, b"(Use `node ")
}

/// `PHP Fatal error:  …` and the other error kinds PHP names when it logs: the level, and
/// whether the error is fatal.
pub(crate) fn php_error(b: &[u8]) -> Option<(Level, bool)> {
    let rest = b.strip_prefix(b"PHP ")?;
    let colon = memchr(b':', &rest[..rest.len().min(32)])?;
    Some(match &rest[..colon] {
        b"Fatal error" | b"Parse error" | b"Catchable fatal error" | b"Recoverable fatal error" => {
            (Level::Fatal, true)
        }
        b"Core error" | b"Compile error" => (Level::Fatal, true),
        b"Warning" | b"Core Warning" | b"Compile Warning" => (Level::Warn, false),
        b"Notice" | b"Deprecated" | b"Strict Standards" => (Level::Notice, false),
        _ => return None,
    })
}

/// Lines that continue a PHP error: its stack trace and chained exceptions.
pub(crate) fn php_text(b: &[u8]) -> bool {
    match b.first() {
        Some(b'#') => b.get(1).is_some_and(u8::is_ascii_digit),
        Some(b'S') => b == b"Stack trace:",
        Some(b'N') => has_prefix(b, b"Next "),
        Some(b'P') => {
            b == b"PHP Stack trace:"
                || b.strip_prefix(b"PHP ").is_some_and(|r| {
                    let t = trim_start(r);
                    t.len() < r.len() && t.first().is_some_and(u8::is_ascii_digit)
                })
        }
        _ => false,
    }
}

/// Python's separators between chained tracebacks.
pub(crate) fn chain_separator(b: &[u8]) -> bool {
    b == b"During handling of the above exception, another exception occurred:"
        || b == b"The above exception was the direct cause of the following exception:"
}

/// An exception header, `java.lang.IllegalStateException: boom`, `KeyError: 'id'`,
/// `TypeError: x`, `ActiveRecord::RecordNotFound`: the length of the type. The type must
/// end like an exception's name, or be dotted with a capitalised last part.
pub(crate) fn exc_header(b: &[u8]) -> Option<usize> {
    let first = *b.first()?;
    if !first.is_ascii_alphabetic() && first != b'_' {
        return None;
    }
    let (mut i, mut dotted) = (0, false);
    while i < b.len().min(256) {
        match b[i] {
            c if c.is_ascii_alphanumeric() || c == b'_' || c == b'$' => i += 1,
            b'.' => (dotted, i) = (true, i + 1),
            b':' if b.get(i + 1) == Some(&b':') => (dotted, i) = (true, i + 2),
            _ => break,
        }
    }
    let (name, rest) = b.split_at(i);
    if !(rest.is_empty() || has_prefix(rest, b": ") || rest == b":") {
        return None;
    }
    let last = name.rsplit(|&c| c == b'.' || c == b':').next()?;
    let typed = [
        &b"Error"[..],
        b"Exception",
        b"Exit",
        b"Interrupt",
        b"Warning",
        b"Failure",
        b"Fault",
        b"Timeout",
        b"Rejection",
    ]
    .iter()
    .any(|s| last.ends_with(s));
    let capital = last.first().is_some_and(u8::is_ascii_uppercase);
    (capital && (typed || dotted)).then_some(i)
}

/// Rails tagged logging's `[request-id] ` prefixes (up to four), which come before every
/// line of a tagged record, traces included.
pub(crate) fn strip_tags(mut b: &[u8]) -> &[u8] {
    for _ in 0..4 {
        match tag_len(b) {
            Some(n) => b = &b[n..],
            None => break,
        }
    }
    b
}

/// `[abc-123] ` at the start of `b`: its length, the space included.
fn tag_len(b: &[u8]) -> Option<usize> {
    if b.first() != Some(&b'[') {
        return None;
    }
    let inner = b[1..]
        .iter()
        .take(65)
        .take_while(|&&c| c.is_ascii_alphanumeric() || b"._:@/=-".contains(&c))
        .count();
    if inner == 0 || inner > 64 || b.get(inner + 1) != Some(&b']') {
        return None;
    }
    match b.get(inner + 2) {
        Some(b' ') => Some(inner + 3),
        None => Some(inner + 2),
        _ => None,
    }
}

/// A Ruby backtrace line (`app/models/order.rb:12:in 'total'`, `` /gems/x.rb:5:in `block in
/// call' ``, `<internal:kernel>:187:in 'loop'`, `app/views/o/show.html.erb:3`), optionally
/// after `from `: its file, its function (empty when absent) and where the frame ends.
pub(crate) fn ruby_frame(b: &[u8]) -> Option<(&[u8], &[u8], usize)> {
    let skip = if has_prefix(b, b"from ") { 5 } else { 0 };
    let s = &b[skip..];
    let mut from = 0;
    let colon = loop {
        let c = from + memchr(b':', s.get(from..)?)?;
        if s.get(c + 1).is_some_and(u8::is_ascii_digit) {
            break c;
        }
        from = c + 1;
    };
    let file = &s[..colon];
    let rubyish = [
        &b".rb"[..],
        b".erb",
        b".rake",
        b".ru",
        b".haml",
        b".slim",
        b"builder",
    ]
    .iter()
    .any(|e| file.ends_with(e))
        || has_prefix(file, b"<internal:");
    if !rubyish || file.contains(&b' ') {
        return None;
    }
    let end = colon
        + 1
        + s[colon + 1..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count();
    let Some(q) = s[end..].strip_prefix(b":in ") else {
        return Some((file, b"", skip + end));
    };
    if !matches!(q.first(), Some(b'\'' | b'`')) {
        return Some((file, b"", skip + end));
    }
    let close = memchr(b'\'', &q[1..])?;
    Some((file, &q[1..1 + close], skip + end + 4 + close + 2))
}

/// An uncaught Ruby error as the interpreter reports it: `x.rb:3:in 'f': boom (RuntimeError)`.
pub(crate) fn ruby_uncaught(b: &[u8]) -> bool {
    ruby_frame(b).is_some_and(|(_, f, end)| {
        !f.is_empty() && has_prefix(&b[end..], b": ") && b.ends_with(b")")
    })
}

/// Rails' `ActionView::Template::Error (undefined method 'name' for nil):`: type and message.
pub(crate) fn rails_header(b: &[u8]) -> Option<(&[u8], &[u8])> {
    let body = b.strip_suffix(b"):")?;
    let n = const_name(b)?;
    let msg = body.get(n..)?.strip_prefix(b" (")?;
    Some((&b[..n], msg))
}

/// A Ruby constant path at the start of `b` (`Foo`, `Foo::Bar`): its length.
pub(crate) fn const_name(b: &[u8]) -> Option<usize> {
    if !b.first()?.is_ascii_uppercase() {
        return None;
    }
    let n = b
        .iter()
        .take_while(|&&c| c.is_ascii_alphanumeric() || c == b'_' || c == b':')
        .count();
    (!b[..n].ends_with(b":")).then_some(n)
}

/// Lines that continue a Ruby trace (tags already stripped).
pub(crate) fn ruby_text(b: &[u8]) -> bool {
    ruby_frame(b).is_some()
        || rails_header(b).is_some()
        || has_prefix(b, b"Caused by: ")
        || has_prefix(b, b"Information for")
}

/// Unindented lines of a Go panic or goroutine dump.
pub(crate) fn go_text(b: &[u8]) -> bool {
    const PREFIXES: [&[u8]; 12] = [
        b"goroutine ",
        b"created by ",
        b"[signal ",
        b"exit status ",
        b"PC=",
        b"panic: ",
        b"fatal error: ",
        b"runtime stack:",
        b"...additional frames elided...",
        b"[originating from goroutine",
        b"[recovered",
        b"SIG",
    ];
    PREFIXES.iter().any(|p| has_prefix(b, p)) || go_func(b).is_some() || register(b)
}

/// `rax    0x0`: a register in the dump after a fatal signal.
fn register(b: &[u8]) -> bool {
    let n = b.iter().take_while(|c| c.is_ascii_alphanumeric()).count();
    let spaces = b[n..].iter().take_while(|&&c| c == b' ').count();
    (2..=4).contains(&n) && spaces > 0 && has_prefix(&b[n + spaces..], b"0x")
}

/// A Go frame's function line, `net/http.(*conn).serve(0xc000110000, {0x7a1b20, 0x1})`: the
/// function without its arguments.
pub(crate) fn go_func(b: &[u8]) -> Option<&[u8]> {
    if !b.first()?.is_ascii_alphabetic() && b[0] != b'_' {
        return None;
    }
    let b = trim_end(b);
    if !b.ends_with(b")") {
        return None;
    }
    let mut depth = 0usize;
    let open = b.iter().rposition(|&c| {
        match c {
            b')' => depth += 1,
            b'(' => depth = depth.saturating_sub(1),
            _ => {}
        }
        depth == 0
    })?;
    let name = &b[..open];
    (!name.is_empty() && !name.iter().any(u8::is_ascii_whitespace)).then_some(name)
}

/// The runtime an indented frame line belongs to.
pub(crate) fn frame_kind(b: &[u8]) -> Option<&'static str> {
    let t = trim_end(trim_start(b));
    if let Some(at) = t.strip_prefix(b"at ") {
        // .NET's `   at Ns.Type.Method() in /src/File.cs:line 42` is neither.
        if memchr::memmem::find(at, b":line ").is_some() {
            return None;
        }
        let tab = b.first() == Some(&b'\t') || has_prefix(b, b"#011");
        let java = tab
            || memchr::memmem::find(at, b".java:").is_some()
            || at.ends_with(b"(Native Method)")
            || at.ends_with(b"(Unknown Source)");
        return Some(if java { JAVA } else { NODE });
    }
    if has_prefix(t, b"... ") && t.ends_with(b" more") {
        return Some(JAVA);
    }
    if has_prefix(t, b"File \"") {
        return Some(PYTHON);
    }
    if t.len() < b.len() && b[0] == b'\t' && memchr::memmem::find(t, b".go:").is_some() {
        return Some(GO);
    }
    if has_prefix(t, b"from ") && ruby_frame(t).is_some() {
        return Some(RUBY);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        assert_eq!(shape(b""), Shape::Blank);
        assert_eq!(shape(b" \t "), Shape::Blank);
        assert_eq!(shape(b"\tat x.Y.z(Y.java:1)"), Shape::Indented);
        assert_eq!(shape(b"#011at x.Y.z(Y.java:1)"), Shape::Indented);
        let o = |b: &[u8]| match shape(b) {
            Shape::Opener(o) => Some(o),
            _ => None,
        };
        assert_eq!(
            o(b"Traceback (most recent call last):"),
            Some(Opener::Traceback)
        );
        assert_eq!(o(b"panic: boom"), Some(Opener::Panic));
        assert_eq!(o(b"SIGQUIT: quit"), Some(Opener::Panic));
        assert_eq!(o(b"goroutine 1 [running]:"), Some(Opener::Goroutine));
        assert_eq!(o(b"goroutine x"), None);
        assert_eq!(
            o(b"PHP Fatal error:  Uncaught Exception: x"),
            Some(Opener::Php(Level::Fatal, true))
        );
        assert_eq!(o(b"PHP Stack trace:"), None);
        assert_eq!(o(b"/app/server.js:12"), Some(Opener::NodeSource));
        assert_eq!(
            o(b"node:internal/process/promises:389"),
            Some(Opener::NodeSource)
        );
        assert_eq!(o(b"/app/server.js:12 x"), None);
        assert_eq!(
            o(b"(node:7) UnhandledPromiseRejectionWarning: x"),
            Some(Opener::NodeWarning)
        );
    }

    #[test]
    fn exception_headers() {
        for (line, n) in [
            (&b"java.lang.IllegalStateException: boom"[..], 31),
            (b"KeyError: 'id'", 8),
            (b"sqlalchemy.exc.TimeoutError: QueuePool", 27),
            (b"java.lang.NullPointerException", 30),
            (b"ActiveRecord::RecordNotFound: x", 28),
            (b"Error: boom", 5),
        ] {
            assert_eq!(
                exc_header(line),
                Some(n),
                "{}",
                String::from_utf8_lossy(line)
            );
        }
        for line in [
            &b"http.server: listening"[..],
            b"Starting: x",
            b"error: x",
            b"Note that x",
        ] {
            assert_eq!(exc_header(line), None, "{}", String::from_utf8_lossy(line));
        }
    }

    #[test]
    fn ruby_and_go_frames() {
        let (f, func, _) =
            ruby_frame(b"app/controllers/orders_controller.rb:12:in 'show'").unwrap();
        assert_eq!(
            (f, func),
            (&b"app/controllers/orders_controller.rb"[..], &b"show"[..])
        );
        let (f, func, _) = ruby_frame(b"from /gems/x.rb:5:in `block in call'").unwrap();
        assert_eq!((f, func), (&b"/gems/x.rb"[..], &b"block in call"[..]));
        let (f, func, _) = ruby_frame(b"<internal:kernel>:187:in 'Kernel#loop'").unwrap();
        assert_eq!((f, func), (&b"<internal:kernel>"[..], &b"Kernel#loop"[..]));
        assert_eq!(ruby_frame(b"app/views/o/show.html.erb:3").unwrap().1, b"");
        assert!(ruby_uncaught(b"x.rb:3:in 'foo': boom (RuntimeError)"));
        assert!(ruby_frame(b"/app/x.js:1:2").is_none());
        assert_eq!(
            rails_header(b"ActionView::Template::Error (undefined method 'name' for nil):"),
            Some((
                &b"ActionView::Template::Error"[..],
                &b"undefined method 'name' for nil"[..]
            ))
        );
        assert_eq!(
            go_func(b"net/http.(*conn).serve(0xc000110000, {0x7a1b20, 0x1})"),
            Some(&b"net/http.(*conn).serve"[..])
        );
        assert_eq!(
            go_func(b"panic({0x6c5a40?, 0x8f9f70?})"),
            Some(&b"panic"[..])
        );
        assert_eq!(go_func(b"main.main()"), Some(&b"main.main"[..]));
        assert_eq!(go_func(b"Hello (world)"), None);
        assert!(go_text(b"rax    0x0"));
        assert!(!go_text(b"Starting server on :8080"));
        assert_eq!(strip_tags(b"[b1f0-77] [u:12] app/x.rb:1"), b"app/x.rb:1");
        assert_eq!(strip_tags(b"[not a tag] x"), b"[not a tag] x");
        assert_eq!(frame_kind(b"\tat x.Y.z(Y.java:1)"), Some(JAVA));
        assert_eq!(frame_kind(b"    at f (/app/x.js:1:2)"), Some(NODE));
        assert_eq!(
            frame_kind(b"  File \"/app/x.py\", line 3, in f"),
            Some(PYTHON)
        );
        assert_eq!(frame_kind(b"\t/app/main.go:12 +0x1d"), Some(GO));
    }
}
