//! nginx `$upstream_*` variables hold one value per attempt, separated by `, `, and one group
//! per upstream block, separated by ` : ` (after `X-Accel-Redirect` or `error_page`).

/// Iterates over the values of a raw `$upstream_*` list, across groups. Empty input and `-`
/// yield nothing.
pub fn values(list: &[u8]) -> impl Iterator<Item = &[u8]> {
    list.split(|&b| b == b',')
        .flat_map(split_groups)
        .map(trim)
        .filter(|v| !v.is_empty() && *v != b"-")
}

fn split_groups(part: &[u8]) -> impl Iterator<Item = &[u8]> {
    // ` : ` separates groups; a bare `:` is part of `host:port`.
    let mut rest = Some(part);
    std::iter::from_fn(move || {
        let cur = rest?;
        match find(cur, b" : ") {
            Some(i) => {
                rest = Some(&cur[i + 3..]);
                Some(&cur[..i])
            }
            None => {
                rest = None;
                Some(cur)
            }
        }
    })
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn trim(v: &[u8]) -> &[u8] {
    let s = v
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(v.len());
    let e = v
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(s, |i| i + 1);
    &v[s..e]
}

/// The last value of a list (the attempt that produced the response), or `b""`.
#[inline]
pub fn last(list: &[u8]) -> &[u8] {
    // Most lists hold one attempt: read on every line, they are passed through as they are.
    if is_single(list) {
        return if list == b"-" { b"" } else { list };
    }
    values(list).last().unwrap_or(b"")
}

/// Whether `list` holds no `,` and no whitespace or other control byte (so no separator, and
/// nothing to trim), eight bytes at a time: values are a few bytes, shorter than `memchr`'s
/// set-up pays for, and a byte loop costs a branch per byte.
#[inline]
fn is_single(list: &[u8]) -> bool {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    // Flags the bytes of `x` below `n` (n ≤ 128); only whether any is flagged is read.
    let below = |x: u64, n: u8| x.wrapping_sub(LO * u64::from(n)) & !x & HI;
    let mut chunks = list.chunks_exact(8);
    for chunk in &mut chunks {
        let w = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
        if below(w ^ (LO * u64::from(b',')), 1) | below(w, b' ' + 1) != 0 {
            return false;
        }
    }
    !chunks.remainder().iter().any(|&b| b == b',' || b <= b' ')
}

/// Number of values in a list.
pub fn count(list: &[u8]) -> usize {
    values(list).count()
}

/// Whether an upstream "address" looks like a server (`ip:port`, `[v6]:port`, `unix:`),
/// as opposed to a pool name that nginx logs when no live server was left.
pub fn is_server_addr(addr: &[u8]) -> bool {
    addr.starts_with(b"unix:")
        || addr.starts_with(b"[")
        || addr
            .iter()
            .rposition(|&b| b == b':')
            .is_some_and(|i| i + 1 < addr.len() && addr[i + 1..].iter().all(u8::is_ascii_digit))
}

/// Parses an nginx seconds value with millisecond precision (`0.021`) into microseconds.
pub fn parse_secs_us(v: &[u8]) -> Option<u64> {
    // The shape nginx writes, `S.mmm`, without the general loop's branches.
    if let [whole @ .., b'.', a, b, c] = v {
        let digit = |x: u8| u64::from(x.wrapping_sub(b'0'));
        let (a, b, c) = (digit(*a), digit(*b), digit(*c));
        if !whole.is_empty() && whole.len() <= 12 && a < 10 && b < 10 && c < 10 {
            let mut n = 0u64;
            let mut ok = true;
            for &x in whole {
                let d = digit(x);
                ok &= d < 10;
                n = n * 10 + d;
            }
            if ok {
                return Some(n * 1_000_000 + (a * 100 + b * 10 + c) * 1_000);
            }
        }
    }
    if v.is_empty() || v == b"-" {
        return None;
    }
    let mut whole: u64 = 0;
    let mut frac: u64 = 0;
    let mut frac_digits = 0u32;
    let mut seen_dot = false;
    for &b in v {
        match b {
            b'0'..=b'9' if !seen_dot => {
                whole = whole.checked_mul(10)?.checked_add((b - b'0') as u64)?
            }
            b'0'..=b'9' => {
                if frac_digits < 6 {
                    frac = frac * 10 + (b - b'0') as u64;
                    frac_digits += 1;
                }
            }
            b'.' if !seen_dot => seen_dot = true,
            _ => return None,
        }
    }
    while frac_digits < 6 {
        frac *= 10;
        frac_digits += 1;
    }
    whole.checked_mul(1_000_000)?.checked_add(frac)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separators_are_found_at_every_place() {
        for len in 0..40 {
            for at in 0..len {
                for sep in [b',', b' ', b'\t', b'\n', b'\r', 0x0c, 0] {
                    let mut v = vec![b'7'; len];
                    v[at] = sep;
                    assert!(!is_single(&v), "{len} {at} {sep}");
                }
                // Bytes next to a separator's value are not one.
                for other in [b'-', b'!', b'+', b'.', b':', 0x80, 0xff] {
                    let mut v = vec![b'7'; len];
                    v[at] = other;
                    assert!(is_single(&v), "{len} {at} {other}");
                }
            }
        }
        assert!(is_single(b""));
        assert!(is_single("10.0.2.11:8080\u{ac}\u{a0}".as_bytes()));
        assert_eq!(last(b"10.0.7.12:3000, 10.0.7.13:3000"), b"10.0.7.13:3000");
        assert_eq!(last(b"10.0.7.12:3000"), b"10.0.7.12:3000");
        assert_eq!(last(b"-"), b"");
    }

    #[test]
    fn the_single_value_path_gives_what_the_list_reader_gives() {
        let mut rng = fastrand::Rng::with_seed(5);
        let alphabet = b"07a.:-, \t[]";
        for _ in 0..50_000 {
            let len = rng.usize(..20);
            let list: Vec<u8> = (0..len)
                .map(|_| alphabet[rng.usize(..alphabet.len())])
                .collect();
            assert_eq!(
                last(&list),
                values(&list).last().unwrap_or(b""),
                "{:?}",
                String::from_utf8_lossy(&list)
            );
        }
    }

    #[test]
    fn splits_attempts_and_groups() {
        let v: Vec<&[u8]> = values(b"10.0.0.1:80, 10.0.0.2:80 : 10.0.0.3:80").collect();
        assert_eq!(v, vec![&b"10.0.0.1:80"[..], b"10.0.0.2:80", b"10.0.0.3:80"]);
        assert_eq!(last(b"502, 200"), b"200");
        assert_eq!(count(b"-"), 0);
        assert_eq!(last(b""), b"");
    }

    #[test]
    fn server_addresses_and_pools() {
        assert!(is_server_addr(b"10.0.1.12:8080"));
        assert!(is_server_addr(b"[::1]:8080"));
        assert!(is_server_addr(b"unix:/run/app.sock"));
        assert!(!is_server_addr(b"orders_backend"));
    }

    #[test]
    fn seconds_to_micros() {
        assert_eq!(parse_secs_us(b"0.021"), Some(21_000));
        assert_eq!(parse_secs_us(b"60.001"), Some(60_001_000));
        assert_eq!(parse_secs_us(b"3"), Some(3_000_000));
        assert_eq!(parse_secs_us(b"-"), None);
        assert_eq!(parse_secs_us(b"1.2.3"), None);
        assert_eq!(parse_secs_us(b"1.2.345"), None);
        assert_eq!(parse_secs_us(b"12.345"), Some(12_345_000));
        assert_eq!(parse_secs_us(b".345"), Some(345_000));
        assert_eq!(parse_secs_us(b"x.345"), None);
        assert_eq!(parse_secs_us(b"1.34x"), None);
        assert_eq!(
            parse_secs_us(b"999999999999.999"),
            Some(999_999_999_999_999_000)
        );
        assert_eq!(parse_secs_us(b"99999999999999.999"), None, "overflows");
    }
}
