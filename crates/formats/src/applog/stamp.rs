//! Timestamps that open application-log lines. Each reader starts at the first byte of its
//! text and returns the local time read as if it were UTC, the offset when the text has
//! one, and how many bytes it used; none of them allocates.

use crate::time::{d2, d4, expect, to_secs};

/// Local seconds read as if UTC, and the offset east of UTC in seconds when written.
pub(crate) type Stamp = (i64, Option<i32>);

const MONTHS: [&[u8; 3]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

const WEEKDAYS: [&[u8; 3]; 7] = [b"Mon", b"Tue", b"Wed", b"Thu", b"Fri", b"Sat", b"Sun"];

/// The month an English abbreviation at the start of `b` names.
pub(crate) fn month(b: &[u8]) -> Option<u32> {
    let name = b.get(..3)?;
    MONTHS
        .iter()
        .position(|m| m[..] == *name)
        .map(|i| i as u32 + 1)
}

pub(crate) fn weekday(b: &[u8]) -> bool {
    b.get(..3)
        .is_some_and(|w| WEEKDAYS.iter().any(|d| d[..] == *w))
}

/// ASCII digits at the start of `b`.
pub(crate) fn digits(b: &[u8]) -> usize {
    b.iter().take_while(|c| c.is_ascii_digit()).count()
}

/// `HH:MM:SS` at `at`.
fn hms(b: &[u8], at: usize) -> Option<(u32, u32, u32)> {
    expect(b, at + 2, b':')?;
    expect(b, at + 5, b':')?;
    Some((d2(b, at)?, d2(b, at + 3)?, d2(b, at + 6)?))
}

/// Bytes used by a fraction of a second at `at` (`.123`, or `,123` when `comma`).
fn fraction(b: &[u8], at: usize, comma: bool) -> usize {
    match b.get(at) {
        Some(b'.') => {}
        Some(b',') if comma => {}
        _ => return 0,
    }
    match digits(&b[at + 1..]) {
        0 => 0,
        n => n + 1,
    }
}

/// `2026-05-14T10:21:33.123+02:00` and its relatives: `t` or a space for `T`, `,` for the
/// fraction (Python's logging), an offset `Z`, `±HH:MM`, `±HHMM`, `±HH`, ` ±HHMM` or ` UTC`;
/// also `2026/05/14 10:21:33` (Go's `log`). The flag tells whether `T` joined the two parts.
pub(crate) fn iso(b: &[u8]) -> Option<(Stamp, usize, bool)> {
    let sep = *b.get(4)?;
    if !matches!(sep, b'-' | b'/') || b.get(7) != Some(&sep) {
        return None;
    }
    let t = *b.get(10)?;
    if !matches!(t, b'T' | b't' | b' ') {
        return None;
    }
    let (y, mo, d) = (d4(b, 0)?, d2(b, 5)?, d2(b, 8)?);
    let (h, mi, s) = hms(b, 11)?;
    let local = to_secs(y, mo, d, h, mi, s)?;
    let at = 19 + fraction(b, 19, true);
    let (offset, used) = zone(&b[at..]);
    Some(((local, offset), at + used, t != b' '))
}

/// A zone after a time: its offset and the bytes used, `(None, 0)` when there is none.
pub(crate) fn zone(b: &[u8]) -> (Option<i32>, usize) {
    let (space, z) = match b {
        [b' ', rest @ ..] => (1, rest),
        _ => (0, b),
    };
    match z {
        [b'Z' | b'z', ..] if space == 0 => return (Some(0), 1),
        [b'U', b'T', b'C', ..] | [b'G', b'M', b'T', ..]
            if !z.get(3).is_some_and(u8::is_ascii_alphanumeric) =>
        {
            return (Some(0), space + 3);
        }
        [b'+' | b'-', ..] => {
            if let Some((off, used)) = offset(z) {
                return (Some(off), space + used);
            }
        }
        _ => {}
    }
    (None, 0)
}

/// `±HH:MM`, `±HHMM` or `±HH`, not followed by another digit.
fn offset(b: &[u8]) -> Option<(i32, usize)> {
    let sign = if b[0] == b'-' { -1 } else { 1 };
    let h = d2(b, 1)?;
    let (m, used) = match (b.get(3), d2(b, 3), d2(b, 4)) {
        (Some(b':'), _, Some(m)) => (m, 6),
        (_, Some(m), _) => (m, 5),
        _ => (0, 3),
    };
    if h > 14 || m > 59 || b.get(used).is_some_and(u8::is_ascii_digit) {
        return None;
    }
    Some((sign * (h * 3600 + m * 60) as i32, used))
}

/// `14-May-2026 10:21:33` (PHP's error log and PHP-FPM), a fraction allowed, then ` UTC`
/// when written (other zone names are left for the caller to skip, with no offset); also
/// `14/May/2026 10:21:33` (Django's development server) and `14/May/2026:10:21:33 +0000`
/// (the common log format).
pub(crate) fn dmy(b: &[u8]) -> Option<(Stamp, usize)> {
    let d = d2(b, 0)?;
    let sep = *b.get(2)?;
    if !matches!(sep, b'-' | b'/') {
        return None;
    }
    let mo = month(b.get(3..)?)?;
    expect(b, 6, sep)?;
    let y = d4(b, 7)?;
    if !matches!(b.get(11), Some(b' ' | b':')) {
        return None;
    }
    let (h, mi, s) = hms(b, 12)?;
    let local = to_secs(y, mo, d, h, mi, s)?;
    let at = 20 + fraction(b, 20, false);
    let (offset, used) = match zone(&b[at..]) {
        (Some(off), used) if b.get(at) == Some(&b' ') => (Some(off), used),
        _ => (None, 0),
    };
    Some(((local, offset), at + used))
}

/// `May 14 10:21:33` or `May  4 10:21:33` (syslog). The text has no year: with `year` the
/// time is read in that year, without it the shape is still recognised and the time is None.
pub(crate) fn syslog(b: &[u8], year: Option<i32>) -> Option<(Option<Stamp>, usize)> {
    let mo = month(b)?;
    expect(b, 3, b' ')?;
    let d = day_of(b.get(4..)?)?;
    expect(b, 6, b' ')?;
    let (h, mi, s) = hms(b, 7)?;
    let time = match year {
        Some(y) => Some((to_secs(i64::from(y), mo, d, h, mi, s)?, None)),
        None => None,
    };
    Some((time, 15))
}

/// `Thu May 14 10:21:33 2026` (C's asctime: uWSGI, Apache's error log), a fraction allowed
/// after the seconds.
pub(crate) fn asctime(b: &[u8]) -> Option<(Stamp, usize)> {
    if !weekday(b) || b.get(3) != Some(&b' ') {
        return None;
    }
    let mo = month(b.get(4..)?)?;
    expect(b, 7, b' ')?;
    let d = day_of(b.get(8..)?)?;
    expect(b, 10, b' ')?;
    let (h, mi, s) = hms(b, 11)?;
    let at = 19 + fraction(b, 19, false);
    expect(b, at, b' ')?;
    let y = d4(b, at + 1)?;
    if b.get(at + 5).is_some_and(u8::is_ascii_digit) {
        return None;
    }
    Some(((to_secs(y, mo, d, h, mi, s)?, None), at + 5))
}

/// The day of month of `14` or ` 4`.
fn day_of(b: &[u8]) -> Option<u32> {
    match b.first()? {
        b' ' => Some(u32::from(b.get(1)?.checked_sub(b'0').filter(|d| *d <= 9)?)),
        _ => d2(b, 0),
    }
}

/// `E0514 10:21:33.123456` (klog, glog): the time in `year`, None without it.
pub(crate) fn klog(b: &[u8], year: Option<i32>) -> Option<(Option<Stamp>, usize)> {
    let (mo, d) = (d2(b, 1)?, d2(b, 3)?);
    expect(b, 5, b' ')?;
    let (h, mi, s) = hms(b, 6)?;
    let at = 14 + fraction(b, 14, false);
    let time = match year {
        Some(y) => Some((to_secs(i64::from(y), mo, d, h, mi, s)?, None)),
        None => None,
    };
    Some((time, at))
}

/// `10:21:33` or `10:21:33.123`: a time of day without a date; the bytes used.
pub(crate) fn clock(b: &[u8]) -> Option<usize> {
    let (h, mi, s) = hms(b, 0)?;
    if h > 23 || mi > 59 || s > 60 {
        return None;
    }
    Some(8 + fraction(b, 8, true))
}

/// An epoch number in seconds, milliseconds, microseconds or nanoseconds, told by its
/// magnitude (`1778754093`, `1778754093123`, `1778754093.123`).
pub(crate) fn epoch(b: &[u8]) -> Option<Stamp> {
    let int = digits(b);
    if int == 0 || int > 19 {
        return None;
    }
    let rest = &b[int..];
    if !(rest.is_empty() || (rest[0] == b'.' && rest[1..].iter().all(u8::is_ascii_digit))) {
        return None;
    }
    let n: u64 = b[..int]
        .iter()
        .fold(0, |acc, &c| acc * 10 + u64::from(c - b'0'));
    let secs = match n {
        0..=99_999_999_999 => n,
        100_000_000_000..=99_999_999_999_999 => n / 1_000,
        100_000_000_000_000..=99_999_999_999_999_999 => n / 1_000_000,
        _ => n / 1_000_000_000,
    };
    Some((i64::try_from(secs).ok()?, Some(0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-05-14T10:21:33 read as UTC.
    const T: i64 = 1_778_754_093;

    #[test]
    fn iso_variants() {
        let cases: [(&str, Stamp, usize); 9] = [
            ("2026-05-14T10:21:33.123Z x", (T, Some(0)), 24),
            ("2026-05-14T10:21:33+02:00", (T, Some(7200)), 25),
            ("2026-05-14 10:21:33,123 - app", (T, None), 23),
            ("2026-05-14 10:21:33 +0000]", (T, Some(0)), 25),
            (
                "2026-05-14T10:21:33.123456789-0530 x",
                (T, Some(-19800)),
                34,
            ),
            ("2026/05/14 10:21:33 http: panic", (T, None), 19),
            ("2026-05-14T10:21:33.1+01", (T, Some(3600)), 24),
            ("2026-05-14 10:21:33 UTC", (T, Some(0)), 23),
            ("2026-05-14 10:21:33 UTCx", (T, None), 19),
        ];
        for (text, stamp, used) in cases {
            let (s, u, _) = iso(text.as_bytes()).unwrap_or_else(|| panic!("{text}"));
            assert_eq!((s, u), (stamp, used), "{text}");
        }
        for bad in [
            "2026-13-14T10:21:33",
            "2026-05-14X10:21:33",
            "2026-05-14T25:21:33",
        ] {
            assert_eq!(iso(bad.as_bytes()), None, "{bad}");
        }
    }

    #[test]
    fn other_layouts() {
        assert_eq!(
            dmy(b"14-May-2026 10:21:33 UTC] PHP"),
            Some(((T, Some(0)), 24))
        );
        assert_eq!(
            dmy(b"14/May/2026:12:21:33 +0200]"),
            Some(((T + 7200, Some(7200)), 26))
        );
        assert_eq!(
            dmy(b"14-May-2026 12:21:33 Europe/Berlin]"),
            Some(((T + 7200, None), 20))
        );
        assert_eq!(
            syslog(b"May 14 10:21:33 web1", Some(2026)),
            Some((Some((T, None)), 15))
        );
        assert_eq!(
            syslog(b"May  4 10:21:33 web1", Some(2026)),
            Some((Some((T - 10 * 86_400, None)), 15))
        );
        assert_eq!(syslog(b"May 14 10:21:33 web1", None), Some((None, 15)));
        assert_eq!(
            asctime(b"Thu May 14 10:21:33 2026 - x"),
            Some(((T, None), 24))
        );
        assert_eq!(
            asctime(b"Thu May 14 10:21:33.123456 2026]"),
            Some(((T, None), 31))
        );
        assert_eq!(
            klog(b"E0514 10:21:33.123456    1 x.go:1]", Some(2026)),
            Some((Some((T, None)), 21))
        );
        assert_eq!(clock(b"10:21:33.123 [main]"), Some(12));
        assert_eq!(epoch(b"1778754093123"), Some((T, Some(0))));
        assert_eq!(epoch(b"1778754093.5"), Some((T, Some(0))));
        assert_eq!(epoch(b"17787x"), None);
    }
}
