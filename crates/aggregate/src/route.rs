//! Route templates: the variable parts of a path (numeric ids, UUIDs, hex and hashes, emails,
//! slugs ending in an id) are folded so that `/api/users/123/orders` and
//! `/api/users/456/orders` are one route, `/api/users/{id}/orders`.

/// Writes the template of `path` (without its query string) into `out`, replacing its
/// contents. Runs in one pass over the bytes and never allocates once `out` has grown.
pub fn template_into(path: &[u8], out: &mut Vec<u8>) {
    out.clear();
    let path = match memchr::memchr2(b'?', b'#', path) {
        Some(i) => &path[..i],
        None => path,
    };
    if path.is_empty() {
        out.push(b'/');
        return;
    }
    let mut first = true;
    for seg in path.split(|&b| b == b'/') {
        if !first {
            out.push(b'/');
        }
        first = false;
        match classify(seg) {
            Some(placeholder) => out.extend_from_slice(placeholder),
            None => out.extend_from_slice(seg),
        }
    }
}

/// The placeholder for a variable segment, `None` for a literal one.
fn classify(seg: &[u8]) -> Option<&'static [u8]> {
    if seg.is_empty() {
        return None;
    }
    let (mut digits, mut hex_letters, mut letters, mut other) = (0usize, 0usize, 0usize, 0usize);
    let mut at = false;
    for &b in seg {
        match b {
            b'0'..=b'9' => digits += 1,
            b'a'..=b'f' | b'A'..=b'F' => hex_letters += 1,
            b'g'..=b'z' | b'G'..=b'Z' => letters += 1,
            b'@' => at = true,
            _ => other += 1,
        }
    }
    let len = seg.len();
    if digits == len {
        return Some(b"{id}");
    }
    if at && len > 2 {
        return Some(b"{email}");
    }
    if is_uuid(seg) {
        return Some(b"{uuid}");
    }
    let alnum = digits + hex_letters + letters;
    if other == 0 && letters == 0 && len >= 8 && digits > 0 && hex_letters > 0 {
        return Some(b"{hex}");
    }
    // Long random-looking tokens (base64url, signed ids): letters and digits mixed.
    if len >= 20 && digits >= 3 && alnum + count_token_punct(seg) == len && alnum * 10 >= len * 8 {
        return Some(b"{hash}");
    }
    if ends_with_long_number(seg) && (letters + hex_letters) > 0 {
        return Some(b"{slug}");
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
