//! Route templates: the variable parts of a path (numeric ids, UUIDs, hex and hashes, emails,
//! slugs ending in an id) are folded so that `/api/users/123/orders` and
//! `/api/users/456/orders` are one route, `/api/users/{id}/orders`.

use wide::u8x16;

/// Writes the template of `path` (without its query string) into `out`, replacing its
/// contents. Copies literal stretches whole and never allocates once `out` has grown.
pub fn template_into(path: &[u8], out: &mut Vec<u8>) {
    out.clear();
    let mut copied = 0;
    let end = if (16..=SHORT_PATH).contains(&path.len()) {
        // Bit masks of the slashes, of the bytes that can make a segment variable (digits,
        // `@`) and of where a query starts, sixteen bytes at a time: only the segments with a
        // mark are looked at, and a path without one is copied as it is.
        let (mut slash, mut mark, query) = masks(path);
        let end = if query != 0 {
            query.trailing_zeros() as usize
        } else {
            path.len()
        };
        slash &= below(end);
        mark &= below(end);
        while mark != 0 {
            let at = mark.trailing_zeros() as usize;
            let before = slash & below(at);
            let start = if before == 0 {
                0
            } else {
                64 - before.leading_zeros() as usize
            };
            let after = slash & !below(at);
            let stop = if after == 0 {
                end
            } else {
                after.trailing_zeros() as usize
            };
            segment(path, start, stop, &mut copied, out);
            mark &= !below(stop + 1);
        }
        end
    } else {
        template_long(path, &mut copied, out)
    };
    out.extend_from_slice(&path[copied..end]);
    if out.is_empty() {
        out.push(b'/');
    }
}

/// Paths of 16 bytes up to this length are read with bit masks (one bit per byte in a `u64`);
/// shorter and longer ones a byte at a time.
const SHORT_PATH: usize = 64;

/// The bits of the bytes before byte `i`.
#[inline(always)]
fn below(i: usize) -> u64 {
    if i >= 64 {
        u64::MAX
    } else {
        (1u64 << i) - 1
    }
}

/// (slashes, digits and `@`, `?` and `#`) of a path of 16 to [`SHORT_PATH`] bytes, one bit
/// per byte.
#[inline(always)]
fn masks(path: &[u8]) -> (u64, u64, u64) {
    let (slash_b, at_b, q_b, hash_b) = (
        u8x16::splat(b'/'),
        u8x16::splat(b'@'),
        u8x16::splat(b'?'),
        u8x16::splat(b'#'),
    );
    let (zero, nine) = (u8x16::splat(b'0'), u8x16::splat(b'9'));
    let (mut slash, mut mark, mut query) = (0u64, 0u64, 0u64);
    let mut at = 0;
    while at < path.len() {
        // The last sixteen bytes of the path for its tail, the bits it shares with the word
        // before shifted out: a load from a padded copy would wait for the copy's stores.
        let (chunk, drop) = match path[at..].first_chunk::<16>() {
            Some(c) => (c, 0),
            None => {
                let last = path.len() - 16;
                let c = path[last..].first_chunk::<16>().expect("16 bytes");
                (c, at - last)
            }
        };
        let v = u8x16::new(*chunk);
        let bits = |m: u8x16| (u64::from(m.move_mask() as u16) >> drop) << at;
        slash |= bits(v.cmp_eq(slash_b));
        let digit = v.max(zero).min(nine).cmp_eq(v);
        mark |= bits(digit | v.cmp_eq(at_b));
        query |= bits(v.cmp_eq(q_b) | v.cmp_eq(hash_b));
        at += 16;
    }
    (slash, mark, query)
}

/// Templating a byte at a time, for paths too short or too long for [`masks`]; returns where
/// the path ends (its query string excluded).
fn template_long(path: &[u8], copied: &mut usize, out: &mut Vec<u8>) -> usize {
    let mut start = 0;
    let mut bits = 0u16;
    for (i, &b) in path.iter().enumerate() {
        let c = CLASS[b as usize];
        if c & (SLASH | QUERY) == 0 {
            bits |= c;
            continue;
        }
        if bits & (DIGIT | AT) != 0 {
            template_segment(path, start, i, bits, copied, out);
        }
        if c & QUERY != 0 {
            return i;
        }
        bits = 0;
        start = i + 1;
    }
    if bits & (DIGIT | AT) != 0 {
        template_segment(path, start, path.len(), bits, copied, out);
    }
    path.len()
}

/// A segment holding a digit or an `@`: its class bits decide what it is.
#[inline(always)]
fn segment(path: &[u8], start: usize, end: usize, copied: &mut usize, out: &mut Vec<u8>) {
    let bits = path[start..end]
        .iter()
        .fold(0u16, |bits, &b| bits | CLASS[b as usize]);
    template_segment(path, start, end, bits, copied, out);
}

/// Replaces the segment `path[start..end]` in `out` when it is variable. Called only for
/// segments holding a digit or an `@`: the others are literal, and a call per segment costs
/// more than the test. Digits alone, the commonest case, are settled inline.
#[inline(always)]
fn template_segment(
    path: &[u8],
    start: usize,
    end: usize,
    bits: u16,
    copied: &mut usize,
    out: &mut Vec<u8>,
) {
    if bits == DIGIT {
        put(path, start..end, b"{id}", copied, out);
        return;
    }
    // Short letters and digits without a separator (`v1`, `h2o`) are never variable: every
    // placeholder but `{id}` and `{hex}` needs a separator or more length.
    if bits & (AT | DASH | OTHER) == 0 && end - start < 8 {
        return;
    }
    variable_segment(path, start, end, bits, copied, out);
}

/// Writes the literal stretch before `var`, then `placeholder` in place of `var`.
#[inline(always)]
fn put(
    path: &[u8],
    var: std::ops::Range<usize>,
    placeholder: &[u8],
    copied: &mut usize,
    out: &mut Vec<u8>,
) {
    out.extend_from_slice(&path[*copied..var.start]);
    out.extend_from_slice(placeholder);
    *copied = var.end;
}

fn variable_segment(
    path: &[u8],
    start: usize,
    end: usize,
    bits: u16,
    copied: &mut usize,
    out: &mut Vec<u8>,
) {
    let seg = &path[start..end];
    match classify_bits(seg, bits) {
        Seg2::Literal => {}
        Seg2::Var(placeholder) => put(path, start..end, placeholder, copied, out),
        Seg2::Mixed => {
            // Only the variable tokens are written (`1816245.png` → `{id}.png`); the literal
            // ones are left to be copied with the stretch around them, so most such segments
            // (`1.webp`, `v1.2`) cost no copy at all.
            // One pass: each token's class bits and digits are gathered as it is read.
            let (mut from, mut bits, mut digits) = (0, 0u16, 0usize);
            for i in 0..=seg.len() {
                let b = seg.get(i).copied().unwrap_or(b'.');
                if !matches!(b, b'.' | b'-' | b'_') {
                    let c = CLASS[b as usize];
                    bits |= c;
                    digits += usize::from(c == DIGIT);
                    continue;
                }
                if let Some(placeholder) = token_class(i - from, bits, digits) {
                    put(path, start + from..start + i, placeholder, copied, out);
                }
                (from, bits, digits) = (i + 1, 0, 0);
            }
        }
    }
}

/// The placeholder for a token of `len` bytes (between `.`, `-` and `_`) with these class
/// bits and digits, if it is variable: digits alone (3+), hex (8+), or letters and digits
/// with 3+ digits (16+).
#[inline]
fn token_class(len: usize, bits: u16, digits: usize) -> Option<&'static [u8]> {
    if digits == 0 {
        return None;
    }
    if bits == DIGIT && len >= 3 {
        return Some(b"{id}");
    }
    let hex = bits & !(DIGIT | HEX) == 0;
    let alnum = bits & !(DIGIT | HEX | ALPHA) == 0;
    if (hex && len >= 8) || (len >= 16 && digits >= 3 && alnum) {
        return Some(b"{hash}");
    }
    None
}

const DIGIT: u16 = 1;
const HEX: u16 = 2;
const ALPHA: u16 = 4;
const AT: u16 = 8;
const DASH: u16 = 16;
const OTHER: u16 = 32;
const SLASH: u16 = 64;
const QUERY: u16 = 128;
/// `%`, also `OTHER`: only a segment holding one can hold an escaped `@` (`%40`).
const PERCENT: u16 = 256;

/// The class bits of every byte, so that a segment is classified by OR-ing a table lookup
/// per byte instead of branching on ranges.
static CLASS: [u16; 256] = {
    let mut t = [OTHER; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        t[i] = if b.is_ascii_digit() {
            DIGIT
        } else if matches!(b, b'a'..=b'f' | b'A'..=b'F') {
            HEX
        } else if b.is_ascii_alphabetic() {
            ALPHA
        } else if b == b'@' {
            AT
        } else if b == b'-' || b == b'_' {
            DASH
        } else if b == b'/' {
            SLASH
        } else if b == b'?' || b == b'#' {
            QUERY
        } else if b == b'%' {
            OTHER | PERCENT
        } else {
            OTHER
        };
        i += 1;
    }
    t
};

/// What a path segment is.
enum Seg2 {
    Literal,
    /// Variable as a whole: its placeholder.
    Var(&'static [u8]),
    /// Digits between separators: some of its tokens may be variable.
    Mixed,
}

fn classify_bits(seg: &[u8], bits: u16) -> Seg2 {
    if bits & (DIGIT | AT) == 0 {
        return Seg2::Literal;
    }
    match whole(seg, bits) {
        Some(p) => Seg2::Var(p),
        None if bits & DIGIT != 0 && bits & (DASH | OTHER) != 0 => Seg2::Mixed,
        None => Seg2::Literal,
    }
}

/// The placeholder for a segment that is variable as a whole.
fn whole(seg: &[u8], bits: u16) -> Option<&'static [u8]> {
    let len = seg.len();
    if bits == DIGIT {
        return Some(b"{id}");
    }
    if bits & AT != 0 || (bits & PERCENT != 0 && memchr::memmem::find(seg, b"%40").is_some()) {
        return (len > 2).then_some(b"{email}".as_slice());
    }
    if len == 36 && is_uuid(seg) {
        return Some(b"{uuid}");
    }
    if bits == DIGIT | HEX && len >= 8 {
        return Some(b"{hex}");
    }
    if bits & (ALPHA | HEX) != 0 && ends_with_long_number(seg) {
        return Some(b"{slug}");
    }
    // Signed tokens (JWTs and the like): long, base64url with dots, digits inside.
    if len >= 40
        && seg
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
        && seg.iter().filter(|b| b.is_ascii_digit()).count() >= 3
    {
        return Some(b"{hash}");
    }
    // Long random-looking tokens (base64url, signed ids): letters and digits mixed.
    if len >= 20 && bits & OTHER == 0 && count_token_punct(seg) <= 1 {
        let digits = seg.iter().filter(|b| b.is_ascii_digit()).count();
        if digits >= 3 {
            return Some(b"{hash}");
        }
    }
    None
}

fn count_token_punct(seg: &[u8]) -> usize {
    seg.iter().filter(|&&b| b == b'-' || b == b'_').count()
}

fn is_uuid(seg: &[u8]) -> bool {
    seg.len() == 36
        && seg.iter().enumerate().all(|(i, &b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

/// `winter-boots-565927`, `item_123456`: a readable slug carrying an id of 4+ digits.
fn ends_with_long_number(seg: &[u8]) -> bool {
    let tail = seg.iter().rev().take_while(|b| b.is_ascii_digit()).count();
    tail >= 2 && tail < seg.len() && matches!(seg[seg.len() - tail - 1], b'-' | b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Token classes from the token's bytes, as a reader would state them.
    fn token_class_of(tok: &[u8]) -> Option<&'static [u8]> {
        let digits = tok.iter().filter(|b| b.is_ascii_digit()).count();
        if digits == 0 {
            return None;
        }
        if digits == tok.len() && tok.len() >= 3 {
            return Some(b"{id}");
        }
        let hex = tok.iter().all(u8::is_ascii_hexdigit);
        if (hex && tok.len() >= 8)
            || (tok.len() >= 16 && digits >= 3 && tok.iter().all(u8::is_ascii_alphanumeric))
        {
            return Some(b"{hash}");
        }
        None
    }

    #[test]
    fn token_classes_from_bits_match_the_bytes() {
        let mut rng = fastrand::Rng::with_seed(11);
        let alphabet = b"0123456789abcfxyzABFXZ%@~+";
        for _ in 0..50_000 {
            let len = rng.usize(..24);
            let tok: Vec<u8> = (0..len)
                .map(|_| alphabet[rng.usize(..alphabet.len())])
                .collect();
            let bits = tok.iter().fold(0u16, |b, &c| b | CLASS[c as usize]);
            let digits = tok.iter().filter(|b| b.is_ascii_digit()).count();
            assert_eq!(
                token_class(len, bits, digits),
                token_class_of(&tok),
                "{}",
                String::from_utf8_lossy(&tok)
            );
        }
    }

    fn t(p: &str) -> String {
        let mut out = Vec::new();
        template_into(p.as_bytes(), &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn folds_variable_segments() {
        assert_eq!(t("/api/users/123/orders"), "/api/users/{id}/orders");
        assert_eq!(t("/api/users/456/orders?x=1"), "/api/users/{id}/orders");
        assert_eq!(
            t("/api/v1/carts/3f1c2a9e-7b4d-4c1e-9a8f-0123456789ab/items"),
            "/api/v1/carts/{uuid}/items"
        );
        assert_eq!(
            t("/static/5d41402abc4b2a76b9719d911017c592.css"),
            "/static/{hash}.css"
        );
        assert_eq!(t("/blobs/5d41402abc4b2a76b9719d911017c592"), "/blobs/{hex}");
        assert_eq!(
            t("/users/jane.doe@example.com/profile"),
            "/users/{email}/profile"
        );
        assert_eq!(t("/products/winter-boots-565927"), "/products/{slug}");
        assert_eq!(t("/t/eyJhbGciOiJIUzI1NiJ9aGVsbG8xMjM0NTY"), "/t/{hash}");
        assert_eq!(t("/img/avatars/1816245.png"), "/img/avatars/{id}.png");
        assert_eq!(t("/assets/app.3f9c2e1b.js"), "/assets/app.{hash}.js");
        assert_eq!(t("/assets/chunk-62dea936.js"), "/assets/chunk-{hash}.js");
        assert_eq!(t("/products/air-fryer-144"), "/products/{slug}");
        assert_eq!(t("/users/jane.doe%40example.com"), "/users/{email}");
        assert_eq!(
            t("/v/eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"),
            "/v/{hash}"
        );
    }

    /// The masks sixteen bytes at a time and the byte loop agree on paths of every length,
    /// made of the bytes that matter to either.
    #[test]
    fn masked_and_byte_by_byte_templating_agree() {
        let alphabet = b"//?#@%.-_0123456789abcdefxyzXYZ\x80\xff";
        let mut rng = fastrand::Rng::with_seed(7);
        let (mut fast, mut slow) = (Vec::new(), Vec::new());
        for round in 0..20_000 {
            let len = round % 90;
            let path: Vec<u8> = (0..len)
                .map(|_| alphabet[rng.usize(..alphabet.len())])
                .collect();
            template_into(&path, &mut fast);
            slow.clear();
            let mut copied = 0;
            let end = template_long(&path, &mut copied, &mut slow);
            slow.extend_from_slice(&path[copied..end]);
            if slow.is_empty() {
                slow.push(b'/');
            }
            assert_eq!(fast, slow, "{:?}", String::from_utf8_lossy(&path));
        }
    }

    #[test]
    fn keeps_literal_segments() {
        assert_eq!(t("/api/v1/orders"), "/api/v1/orders");
        assert_eq!(t("/docs/phone-case/webhooks"), "/docs/phone-case/webhooks");
        assert_eq!(t("/healthz"), "/healthz");
        assert_eq!(t("/"), "/");
        assert_eq!(t(""), "/");
        assert_eq!(t("/v2/"), "/v2/");
        assert_eq!(t("/cafe"), "/cafe");
        assert_eq!(t("/deadbeef"), "/deadbeef");
        assert_eq!(t("/static/v2/app.js"), "/static/v2/app.js");
        assert_eq!(t("/utf-8/page"), "/utf-8/page");
        assert_eq!(t("/docs/phone-case/webhooks"), "/docs/phone-case/webhooks");
    }
}

/// One segment of a user route pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seg {
    Lit(Vec<u8>),
    /// `{name}` or `*`: any one segment.
    One,
    /// `**` or `{name*}` as the last segment: the rest of the path.
    Rest,
}

/// Route patterns given by the user (`/shop/{slug}`, `/api/*/items/{id}`, `/static/**`):
/// the first that matches a path names its route, before any automatic templating.
#[derive(Debug, Clone, Default)]
pub struct RoutePatterns {
    patterns: Vec<(Vec<Seg>, Box<[u8]>)>,
}

impl RoutePatterns {
    /// Compiles patterns; the error names the pattern and what is wrong with it.
    pub fn new<S: AsRef<str>>(patterns: &[S]) -> Result<RoutePatterns, String> {
        let mut out = Vec::new();
        for p in patterns {
            let p = p.as_ref();
            if !p.starts_with('/') {
                return Err(format!("route pattern {p:?} must start with '/'"));
            }
            let segs: Vec<&str> = p[1..].split('/').collect();
            let mut compiled = Vec::with_capacity(segs.len());
            for (i, s) in segs.iter().enumerate() {
                let last = i + 1 == segs.len();
                let seg = match *s {
                    "**" => Seg::Rest,
                    "*" => Seg::One,
                    s if s.starts_with('{') && s.ends_with("*}") => Seg::Rest,
                    s if s.starts_with('{') && s.ends_with('}') && s.len() > 2 => Seg::One,
                    s if s.contains(['{', '}', '*']) => {
                        return Err(format!(
                            "route pattern {p:?}: segment {s:?} mixes text and a placeholder"
                        ))
                    }
                    s => Seg::Lit(s.as_bytes().to_vec()),
                };
                if seg == Seg::Rest && !last {
                    return Err(format!("route pattern {p:?}: ** may only end a pattern"));
                }
                compiled.push(seg);
            }
            out.push((compiled, p.as_bytes().into()));
        }
        Ok(RoutePatterns { patterns: out })
    }

    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// The route of the first pattern matching `path` (query string ignored).
    #[inline]
    pub fn find(&self, path: &[u8]) -> Option<&[u8]> {
        if self.patterns.is_empty() {
            return None;
        }
        self.find_slow(path)
    }

    fn find_slow(&self, path: &[u8]) -> Option<&[u8]> {
        let path = match memchr::memchr2(b'?', b'#', path) {
            Some(i) => &path[..i],
            None => path,
        };
        let path = path.strip_prefix(b"/")?;
        self.patterns
            .iter()
            .find(|(segs, _)| matches(segs, path))
            .map(|(_, route)| &**route)
    }
}

fn matches(segs: &[Seg], path: &[u8]) -> bool {
    let mut parts = path.split(|&b| b == b'/');
    for seg in segs {
        match seg {
            Seg::Rest => return true,
            Seg::One => match parts.next() {
                Some(p) if !p.is_empty() => {}
                _ => return false,
            },
            Seg::Lit(l) => match parts.next() {
                Some(p) if p == l.as_slice() => {}
                _ => return false,
            },
        }
    }
    parts.next().is_none()
}

/// The template of `path`: a user pattern's route when one matches, else the automatic one.
pub fn route_into(path: &[u8], patterns: &RoutePatterns, out: &mut Vec<u8>) {
    match patterns.find(path) {
        Some(route) => {
            out.clear();
            out.extend_from_slice(route);
        }
        None => template_into(path, out),
    }
}

#[cfg(test)]
mod pattern_tests {
    use super::*;

    #[test]
    fn user_patterns_win_over_automatic_templates() {
        let p = RoutePatterns::new(&["/shop/{slug}", "/api/*/items/{id}", "/static/**"]).unwrap();
        let mut out = Vec::new();
        route_into(b"/shop/blue-widget?x=1", &p, &mut out);
        assert_eq!(out, b"/shop/{slug}");
        route_into(b"/api/v2/items/77", &p, &mut out);
        assert_eq!(out, b"/api/*/items/{id}");
        route_into(b"/static/js/app.3f9a2b1c.js", &p, &mut out);
        assert_eq!(out, b"/static/**");
        route_into(b"/shop/a/b", &p, &mut out);
        assert_eq!(out, b"/shop/a/b");
        route_into(b"/users/12", &p, &mut out);
        assert_eq!(out, b"/users/{id}");
    }

    #[test]
    fn bad_patterns_are_named() {
        assert!(RoutePatterns::new(&["shop"])
            .unwrap_err()
            .contains("\"shop\""));
        assert!(RoutePatterns::new(&["/a/**/b"]).is_err());
        assert!(RoutePatterns::new(&["/a/x{id}"]).is_err());
    }
}
