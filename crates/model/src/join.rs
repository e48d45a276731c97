//! Keys that join a line of one log to a line of another: nginx's connection number and a
//! request id. Request ids are kept as a fixed 64-bit hash (FNV-1a), the same in every run,
//! so an id seen in an access-log line and the same token in an error- or app-log line meet.

/// 64-bit FNV-1a: a fixed hash, the same in every run and on every platform.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// A request id's key; never 0, which stands for "none".
pub fn id_key(id: &[u8]) -> u64 {
    fnv1a(id).max(1)
}

/// Whether a logged value can be a request id worth joining on: 8 to 64 characters of
/// letters, digits, `-`, `_`, `@`, `+` or `/` (UUIDs, hex ids, Apache's `%L` log ids).
pub fn is_id_token(t: &[u8]) -> bool {
    (8..=64).contains(&t.len())
        && t.iter().any(u8::is_ascii_digit)
        && t.iter()
            .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'@' | b'+' | b'/'))
}

/// Calls `f` with the key of every token of `text` that may be a request id.
pub fn for_each_id_token(text: &[u8], mut f: impl FnMut(u64)) {
    for t in text.split(|&b| !(b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'@' | b'+')))
    {
        if is_id_token(t) {
            f(id_key(t));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_of_a_line_meet_the_logged_id() {
        let id = b"7f3c2a1b9d8e4f60a1b2c3d4e5f60718";
        let mut seen = Vec::new();
        for_each_id_token(
            b"ERROR req=7f3c2a1b9d8e4f60a1b2c3d4e5f60718 failed: boom",
            |k| seen.push(k),
        );
        assert_eq!(seen, vec![id_key(id)]);
        assert!(!is_id_token(b"connection"));
        assert!(!is_id_token(b"-"));
        assert_ne!(id_key(b""), 0);
    }
}
