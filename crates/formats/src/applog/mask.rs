//! Masking: the parts of a message that change from one occurrence of a failure to the next
//! (numbers, ids, addresses, times, free text in quotes, temporary paths) replaced by
//! placeholders, so that repeats compare equal and the text still reads as a title.
//!
//! Matching starts only at the start of a word, so identifiers keep their digits when they
//! are short (`utf8`, `sha256`, `python3`) and lose them when they look like counters or ids
//! (`order_12345`, `worker-3`, `a1b2c3d4e5f6`).

use super::stamp;

/// Appends `s` to `out` with its variable parts replaced by placeholders.
pub(crate) fn mask(s: &str, out: &mut String) {
    Masker::new(s, out, false).run();
}

/// Appends a frame's file or function with every number and hex id replaced (line numbers
/// of generated code, lambda counters, versions in paths) and temporary directories hidden.
pub(crate) fn mask_ident(s: &str, out: &mut String) {
    let b = s.as_bytes();
    let (mut i, mut copied) = (0, 0);
    while i < b.len() {
        if let Some((from, to)) = tmp_dir(b, i) {
            out.push_str(&s[copied..from]);
            out.push_str("{tmp}");
            (i, copied) = (to, to);
            continue;
        }
        let (used, with) = if has_hex_prefix(&b[i..]) {
            (
                2 + b[i + 2..]
                    .iter()
                    .take_while(|c| c.is_ascii_hexdigit())
                    .count(),
                "{hex}",
            )
        } else if let Some(n) = hex_id(b, i, true) {
            (n, "{hex}")
        } else if b[i].is_ascii_digit() {
            (
                b[i..].iter().take_while(|c| c.is_ascii_digit()).count(),
                "{n}",
            )
        } else {
            i += 1;
            continue;
        };
        out.push_str(&s[copied..i]);
        out.push_str(with);
        i += used;
        copied = i;
    }
    out.push_str(&s[copied..]);
}

struct Masker<'a> {
    s: &'a str,
    b: &'a [u8],
    out: &'a mut String,
    copied: usize,
    /// Inside quotes: every digit goes, even within a word.
    strict: bool,
}

fn is_word(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

impl<'a> Masker<'a> {
    fn new(s: &'a str, out: &'a mut String, strict: bool) -> Masker<'a> {
        Masker {
            s,
            b: s.as_bytes(),
            out,
            copied: 0,
            strict,
        }
    }

    fn run(mut self) {
        let mut i = 0;
        while i < self.b.len() {
            let boundary = i == 0 || !is_word(self.b[i - 1]);
            i = if boundary { self.at(i) } else { i + 1 };
        }
        self.out.push_str(&self.s[self.copied..]);
    }

    /// Replaces `from..to` with `with`.
    fn put(&mut self, from: usize, to: usize, with: &str) -> usize {
        self.out.push_str(&self.s[self.copied..from]);
        self.out.push_str(with);
        self.copied = to;
        to
    }

    /// Whatever starts at `i`, a word boundary: where to look next.
    fn at(&mut self, i: usize) -> usize {
        let b = self.b;
        let c = b[i];
        if let Some((from, to)) = tmp_dir(b, i) {
            return self.put(from, to, "{tmp}");
        }
        if matches!(c, b'"' | b'\'' | b'`') {
            return self.quoted(i);
        }
        if !c.is_ascii_alphanumeric() && c != b':' {
            return i + 1;
        }
        if let Some((n, with)) = token(b, i) {
            return self.put(i, i + n, with);
        }
        if c.is_ascii_digit() {
            let n = number(&b[i..]);
            return self.put(i, i + n, "{n}");
        }
        if c.is_ascii_alphabetic() {
            return self.word(i);
        }
        i + 1
    }

    /// A word starting with a letter: long hex and mixed ids go whole, and digit runs in it
    /// go when they are long, follow `_`, or are inside quotes.
    fn word(&mut self, i: usize) -> usize {
        let b = self.b;
        let end = i + b[i..].iter().take_while(|&&c| is_word(c)).count();
        let w = &b[i..end];
        let digits = w.iter().filter(|c| c.is_ascii_digit()).count();
        if digits == 0 {
            return end;
        }
        if random(w, digits) {
            return self.put(i, end, "{id}");
        }
        let mut j = i;
        while j < end {
            if !b[j].is_ascii_digit() {
                j += 1;
                continue;
            }
            let n = b[j..end].iter().take_while(|c| c.is_ascii_digit()).count();
            if self.strict || b[j - 1] == b'_' || n > 3 {
                self.put(j, j + n, "{n}");
            }
            j += n;
        }
        end
    }

    /// A quoted string: short ones are masked in place, every digit included (they are
    /// usually names, keys, constant messages); long ones (SQL, payloads) become `{s}`.
    fn quoted(&mut self, i: usize) -> usize {
        let b = self.b;
        let open = b[i];
        let window = &b[i + 1..b.len().min(i + 257)];
        let Some(len) = window
            .iter()
            .position(|&c| c == open || (open == b'`' && c == b'\''))
        else {
            return i + 1;
        };
        let (start, end) = (i + 1, i + 1 + len);
        if len == 0 {
            return end + 1;
        }
        let inner = &self.s[start..end];
        self.out.push_str(&self.s[self.copied..start]);
        if len > 80 {
            self.out.push_str("{s}");
        } else {
            Masker::new(inner, self.out, true).run();
        }
        self.copied = end;
        end + 1
    }
}

/// Fixed-shape tokens at `i`: hex, UUIDs, timestamps, addresses, e-mail addresses.
fn token(b: &[u8], i: usize) -> Option<(usize, &'static str)> {
    let rest = &b[i..];
    let c = rest[0];
    if has_hex_prefix(rest) {
        let n = rest[2..]
            .iter()
            .take_while(|c| c.is_ascii_hexdigit())
            .count();
        return Some((2 + n, "{hex}"));
    }
    if let Some(n) = uuid(rest) {
        return Some((n, "{uuid}"));
    }
    if c.is_ascii_digit() {
        if let Some((_, n, _)) = stamp::iso(rest) {
            return Some((n, "{ts}"));
        }
        if let Some((_, n)) = stamp::dmy(rest) {
            return Some((n, "{ts}"));
        }
        if let Some(n) = stamp::clock(rest) {
            return Some((n, "{time}"));
        }
        if let Some(n) = ipv4(rest) {
            return Some((n, "{ip}"));
        }
    }
    if c.is_ascii_uppercase() {
        if let Some((_, n)) = stamp::asctime(rest) {
            return Some((n, "{ts}"));
        }
        if let Some((_, n)) = stamp::syslog(rest, None) {
            return Some((n, "{ts}"));
        }
    }
    if let Some(n) = ipv6(rest) {
        return Some((n, "{ip}"));
    }
    if let Some(n) = hex_id(b, i, false) {
        return Some((n, "{hex}"));
    }
    email(rest).map(|n| (n, "{email}"))
}

/// `/tmp/<name>` or `/var/tmp/<name>` at `i`: where `<name>` starts and ends (the
/// directory is kept, the name hidden).
fn tmp_dir(b: &[u8], i: usize) -> Option<(usize, usize)> {
    let rest = &b[i..];
    let dir = [&b"/tmp/"[..], b"/var/tmp/"]
        .into_iter()
        .find(|d| rest.starts_with(d))?
        .len();
    let n = rest[dir..]
        .iter()
        .take_while(|&&c| !matches!(c, b'/' | b'"' | b'\'' | b' ' | b'\t' | b':' | b')'))
        .count();
    (n > 0).then_some((i + dir, i + dir + n))
}

/// `0x` and at least one hex digit.
fn has_hex_prefix(b: &[u8]) -> bool {
    matches!(b, [b'0', b'x' | b'X', h, ..] if h.is_ascii_hexdigit())
}

/// A run of 8 or more hex digits with at least one digit (and, unless `any`, a letter),
/// ending at a word boundary.
fn hex_id(b: &[u8], i: usize, any: bool) -> Option<usize> {
    let rest = &b[i..];
    let n = rest.iter().take_while(|c| c.is_ascii_hexdigit()).count();
    if n < 8 || rest.get(n).copied().is_some_and(is_word) {
        return None;
    }
    let h = &rest[..n];
    let digit = h.iter().any(u8::is_ascii_digit);
    let letter = h.iter().any(u8::is_ascii_alphabetic);
    (digit && (any || letter)).then_some(n)
}

/// A generated id rather than a name: long, and switching often between digits and letters
/// (`Wkt8Dz4i4plkZmN025SER8`, not `GeneratedMethodAccessor123`).
fn random(w: &[u8], digits: usize) -> bool {
    let switches = w
        .windows(2)
        .filter(|p| p[0].is_ascii_digit() != p[1].is_ascii_digit())
        .count();
    w.len() >= 16 && digits >= 2 && digits < w.len() && switches >= 4
}

/// `123`, `30.00`, `1.2.3`.
fn number(b: &[u8]) -> usize {
    let mut n = b.iter().take_while(|c| c.is_ascii_digit()).count();
    while b.get(n) == Some(&b'.') && b.get(n + 1).is_some_and(u8::is_ascii_digit) {
        n += 1 + b[n + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
    }
    n
}

fn uuid(b: &[u8]) -> Option<usize> {
    let s = b.get(..36)?;
    let ok = s.iter().enumerate().all(|(i, &c)| match i {
        8 | 13 | 18 | 23 => c == b'-',
        _ => c.is_ascii_hexdigit(),
    });
    (ok && !b.get(36).copied().is_some_and(is_word)).then_some(36)
}

/// `10.0.0.5`, `10.0.0.5:5432`.
fn ipv4(b: &[u8]) -> Option<usize> {
    let mut n = 0;
    for part in 0..4 {
        if part > 0 {
            if b.get(n) != Some(&b'.') {
                return None;
            }
            n += 1;
        }
        let d = b[n..].iter().take_while(|c| c.is_ascii_digit()).count();
        if !(1..=3).contains(&d) {
            return None;
        }
        n += d;
    }
    if b.get(n) == Some(&b':') {
        let port = b[n + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
        if (1..=5).contains(&port) {
            n += 1 + port;
        }
    }
    let next = b.get(n).copied();
    (!next.is_some_and(|c| is_word(c) || c == b'.' && b.get(n + 1).is_some_and(u8::is_ascii_digit)))
        .then_some(n)
}

/// `2001:db8::7`, `::1`, `fe80::1%eth0` without the zone: hex groups and colons with `::`
/// or seven colons.
fn ipv6(b: &[u8]) -> Option<usize> {
    let n = b
        .iter()
        .take(45)
        .take_while(|&&c| c.is_ascii_hexdigit() || c == b':')
        .count();
    let s = &b[..n];
    let colons = s.iter().filter(|&&c| c == b':').count();
    let double = s.windows(2).any(|w| w == b"::");
    let next = b.get(n).copied();
    let ok = colons >= 2
        && (double || colons == 7)
        && !s.windows(3).any(|w| w == b":::")
        && s.iter().any(u8::is_ascii_hexdigit)
        && !next.is_some_and(|c| is_word(c) || c == b'.');
    ok.then_some(n)
}

/// `bob@example.com`.
fn email(b: &[u8]) -> Option<usize> {
    let local = b
        .iter()
        .take(64)
        .take_while(|&&c| c.is_ascii_alphanumeric() || b"._%+-".contains(&c))
        .count();
    if local == 0 || b.get(local) != Some(&b'@') {
        return None;
    }
    let d = &b[local + 1..];
    let n = d
        .iter()
        .take(255)
        .take_while(|&&c| c.is_ascii_alphanumeric() || c == b'-' || c == b'.')
        .count();
    let domain = d[..n].strip_suffix(b".").unwrap_or(&d[..n]);
    let tld = domain.rsplit(|&c| c == b'.').next()?;
    let ok = domain.contains(&b'.') && tld.len() >= 2 && tld.iter().all(u8::is_ascii_alphabetic);
    ok.then_some(local + 1 + domain.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(s: &str) -> String {
        let mut out = String::new();
        mask(s, &mut out);
        out
    }

    #[test]
    fn masks_variable_parts() {
        let cases = [
            (
                "QueuePool limit of size 5 overflow 10 reached, connection timed out, timeout 30.00",
                "QueuePool limit of size {n} overflow {n} reached, connection timed out, timeout {n}",
            ),
            (
                "connect ECONNREFUSED 127.0.0.1:5432",
                "connect ECONNREFUSED {ip}",
            ),
            ("WORKER TIMEOUT (pid:456)", "WORKER TIMEOUT (pid:{n})"),
            (
                "order 7f3c2a1b-9d8e-4f60-a1b2-c3d4e5f60718 for bob@example.com at 2026-05-14T10:21:33Z",
                "order {uuid} for {email} at {ts}",
            ),
            (
                "invalid memory address at 0xc000123abc, trace 7f3c2a1b9d8e4f60",
                "invalid memory address at {hex}, trace {hex}",
            ),
            ("'NoneType' object has no attribute 'id'", "'NoneType' object has no attribute 'id'"),
            ("Couldn't find Order with 'id'=12", "Couldn't find Order with 'id'={n}"),
            ("KeyError: 'user 12 name'", "KeyError: 'user {n} name'"),
            (&format!("sql \"{}\"", "SELECT 1 ".repeat(10)), "sql \"{s}\""),
            ("key 'order_99'", "key 'order_{n}'"),
            ("utf8 sha256 python3 worker-3 order_12345", "utf8 sha256 python3 worker-{n} order_{n}"),
            ("listen [::1]:8080 and 2001:db8::7", "listen [{ip}]:{n} and {ip}"),
            ("open /tmp/tmpk2j4l_9x/data.csv", "open /tmp/{tmp}/data.csv"),
            ("took 12ms at 10:21:33.123", "took {n}ms at {time}"),
            ("ActiveRecord::RecordNotFound", "ActiveRecord::RecordNotFound"),
            ("token Wkt8Dz4i4plkZmN025SER8 é 12", "token {id} é {n}"),
            ("on Thu May 14 10:21:33 2026 and May  4 10:21:33", "on {ts} and {ts}"),
        ];
        for (input, want) in cases {
            assert_eq!(m(input), want, "{input}");
        }
    }

    #[test]
    fn idents() {
        let mut out = String::new();
        mask_ident(
            "jdk.internal.reflect.GeneratedMethodAccessor123.invoke$$Lambda$45/0x0000000800c1b2c8",
            &mut out,
        );
        assert_eq!(
            out,
            "jdk.internal.reflect.GeneratedMethodAccessor{n}.invoke$$Lambda${n}/{hex}"
        );
        out.clear();
        mask_ident("/usr/local/lib/python3.11/site-packages/x.py", &mut out);
        assert_eq!(out, "/usr/local/lib/python{n}.{n}/site-packages/x.py");
    }
}
