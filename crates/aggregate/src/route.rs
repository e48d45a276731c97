//! Route templates: the variable parts of a path (numeric ids, UUIDs, hex and hashes, emails,
//! slugs ending in an id) are folded so that `/api/users/123/orders` and
//! `/api/users/456/orders` are one route, `/api/users/{id}/orders`.

/// Writes the template of `path` (without its query string) into `out`, replacing its
/// contents. Runs in one pass over the bytes and never allocates once `out` has grown.
pub fn template_into(path: &[u8], out: &mut Vec<u8>) {
    out.clear();
    template_pieces(path, |piece| out.extend_from_slice(piece));
}

/// Calls `f` with the pieces of the template of `path`, in order (segments, placeholders
/// and the `/` between them): hashing the pieces hashes the template without building it.
pub fn template_pieces(path: &[u8], mut f: impl FnMut(&[u8])) {
    let path = match memchr::memchr2(b'?', b'#', path) {
        Some(i) => &path[..i],
        None => path,
    };
    if path.is_empty() {
        f(b"/");
        return;
    }
    let mut first = true;
    for seg in path.split(|&b| b == b'/') {
        if !first {
            f(b"/");
        }
        first = false;
        match classify(seg) {
            Some(placeholder) => f(placeholder),
            None => f(seg),
        }
    }
}

const DIGIT: u8 = 1;
const HEX: u8 = 2;
const ALPHA: u8 = 4;
const AT: u8 = 8;
const DASH: u8 = 16;
const OTHER: u8 = 32;

/// The class bits of every byte, so that a segment is classified by OR-ing a table lookup
/// per byte instead of branching on ranges.
static CLASS: [u8; 256] = {
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
        } else {
            OTHER
        };
        i += 1;
    }
    t
};

/// The placeholder for a variable segment, `None` for a literal one.
fn classify(seg: &[u8]) -> Option<&'static [u8]> {
    let mut bits = 0u8;
    for &b in seg {
        bits |= CLASS[b as usize];
    }
    if bits & (DIGIT | AT) == 0 {
        return None;
    }
    let len = seg.len();
    if bits == DIGIT {
        return Some(b"{id}");
    }
    if bits & AT != 0 {
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
    tail >= 4 && tail < seg.len() && matches!(seg[seg.len() - tail - 1], b'-' | b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

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
            "/static/5d41402abc4b2a76b9719d911017c592.css"
        );
        assert_eq!(t("/blobs/5d41402abc4b2a76b9719d911017c592"), "/blobs/{hex}");
        assert_eq!(
            t("/users/jane.doe@example.com/profile"),
            "/users/{email}/profile"
        );
        assert_eq!(t("/products/winter-boots-565927"), "/products/{slug}");
        assert_eq!(t("/t/eyJhbGciOiJIUzI1NiJ9aGVsbG8xMjM0NTY"), "/t/{hash}");
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
    pub fn find(&self, path: &[u8]) -> Option<&[u8]> {
        if self.patterns.is_empty() {
            return None;
        }
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
