//! nginx timestamps: `$time_local`, `$time_iso8601` and `$msec`.
//!
//! Consecutive lines mostly share their second, so [`TimeCache`] keeps the last text it parsed
//! and hands back the same [`EventTime`] while the text does not change.

use faultline_model::{days_from_civil, EventTime};

use crate::bytes::eq_short;

/// Longest timestamp text the cache remembers (`$time_local` is 26 bytes).
const KEY_MAX: usize = 32;

/// Caches the last parsed timestamp text so a timestamp is parsed once per second, not per line.
///
/// One cache per worker thread; it is only an accelerator, so a fresh or shared-between-formats
/// cache gives the same results.
#[derive(Debug, Default)]
pub struct TimeCache {
    key: [u8; KEY_MAX],
    len: u8,
    /// `TimeKind as u8`, 0 while empty.
    kind: u8,
    time: EventTime,
}

/// The textual layouts the cache can hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TimeKind {
    /// `12/Mar/2024:08:00:00 +0000`
    Local = 1,
    /// `2024-03-12T08:00:00+00:00`
    Iso8601 = 2,
}

impl TimeCache {
    pub fn new() -> TimeCache {
        TimeCache::default()
    }

    /// The time written as `text`, from the cache when `text` is the previous text.
    #[inline]
    pub(crate) fn get(&mut self, kind: TimeKind, text: &[u8]) -> Option<EventTime> {
        let len = usize::from(self.len);
        if self.kind == kind as u8 && len == text.len() && eq_short(&self.key[..len], text) {
            return Some(self.time);
        }
        let time = match kind {
            TimeKind::Local => parse_time_local(text)?,
            TimeKind::Iso8601 => parse_iso8601(text)?,
        };
        if text.len() <= KEY_MAX {
            self.key[..text.len()].copy_from_slice(text);
            self.len = text.len() as u8;
            self.kind = kind as u8;
            self.time = time;
        }
        Some(time)
    }
}

/// Two ASCII digits.
#[inline]
pub(crate) fn d2(b: &[u8], at: usize) -> Option<u32> {
    let hi = b.get(at)?.wrapping_sub(b'0');
    let lo = b.get(at + 1)?.wrapping_sub(b'0');
    if hi > 9 || lo > 9 {
        return None;
    }
    Some(u32::from(hi) * 10 + u32::from(lo))
}

pub(crate) fn d4(b: &[u8], at: usize) -> Option<i64> {
    Some(i64::from(d2(b, at)?) * 100 + i64::from(d2(b, at + 2)?))
}

fn month(name: &[u8]) -> Option<u32> {
    const NAMES: [&[u8; 3]; 12] = [
        b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov",
        b"Dec",
    ];
    NAMES
        .iter()
        .position(|n| n[..] == *name)
        .map(|i| i as u32 + 1)
}

pub(crate) fn expect(b: &[u8], at: usize, byte: u8) -> Option<()> {
    (b.get(at) == Some(&byte)).then_some(())
}

/// Seconds since the epoch of a civil date and time, validating the ranges.
pub(crate) fn to_secs(y: i64, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> Option<i64> {
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    let days = days_from_civil(y, mo, d);
    Some(days * 86_400 + i64::from(h * 3600 + mi * 60 + s))
}

/// An offset `HHMM` or `HH:MM` after its sign byte at `at`, in seconds east of UTC.
fn offset(b: &[u8], at: usize, colon: bool) -> Option<i32> {
    let sign = match b.get(at)? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let h = d2(b, at + 1)?;
    let m = d2(b, at + if colon { 4 } else { 3 })?;
    if colon {
        expect(b, at + 3, b':')?;
    }
    if h > 23 || m > 59 {
        return None;
    }
    Some(sign * (h * 3600 + m * 60) as i32)
}

/// `$time_local`: `12/Mar/2024:08:00:00 +0000` (exactly 26 bytes).
pub(crate) fn parse_time_local(b: &[u8]) -> Option<EventTime> {
    if b.len() != 26 {
        return None;
    }
    let d = d2(b, 0)?;
    expect(b, 2, b'/')?;
    let mo = month(&b[3..6])?;
    expect(b, 6, b'/')?;
    let y = d4(b, 7)?;
    expect(b, 11, b':')?;
    let (h, mi, s) = (d2(b, 12)?, d2(b, 15)?, d2(b, 18)?);
    expect(b, 14, b':')?;
    expect(b, 17, b':')?;
    expect(b, 20, b' ')?;
    let offset = offset(b, 21, false)?;
    let local = to_secs(y, mo, d, h, mi, s)?;
    Some(EventTime {
        secs: local - i64::from(offset),
        offset,
    })
}

/// `$time_iso8601`: `2024-03-12T08:00:00+00:00`; a `Z` instead of the offset is accepted.
pub(crate) fn parse_iso8601(b: &[u8]) -> Option<EventTime> {
    let offset = match b.len() {
        25 => offset(b, 19, true)?,
        20 if b[19] == b'Z' => 0,
        _ => return None,
    };
    let y = d4(b, 0)?;
    expect(b, 4, b'-')?;
    let mo = d2(b, 5)?;
    expect(b, 7, b'-')?;
    let d = d2(b, 8)?;
    expect(b, 10, b'T')?;
    let (h, mi, s) = (d2(b, 11)?, d2(b, 14)?, d2(b, 17)?);
    expect(b, 13, b':')?;
    expect(b, 16, b':')?;
    let local = to_secs(y, mo, d, h, mi, s)?;
    Some(EventTime {
        secs: local - i64::from(offset),
        offset,
    })
}

/// `$msec`: `1710230400.123`, seconds since the epoch (always UTC, offset 0).
pub(crate) fn parse_msec(b: &[u8]) -> Option<EventTime> {
    let (int, frac) = match memchr::memchr(b'.', b) {
        Some(i) => (&b[..i], &b[i + 1..]),
        None => (b, &b[..0]),
    };
    // 12 digits reach the year 33658: enough, and no overflow to check.
    if int.is_empty() || int.len() > 12 || frac.len() > 9 || b.len() == int.len() + 1 {
        return None;
    }
    if !int.iter().chain(frac).all(u8::is_ascii_digit) {
        return None;
    }
    let secs = int
        .iter()
        .fold(0i64, |acc, &c| acc * 10 + i64::from(c - b'0'));
    Some(EventTime { secs, offset: 0 })
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_710_230_400; // 2024-03-12T08:00:00Z

    #[test]
    fn time_local_applies_the_offset() {
        let t = parse_time_local(b"12/Mar/2024:08:00:00 +0000").unwrap();
        assert_eq!(
            t,
            EventTime {
                secs: T0,
                offset: 0
            }
        );
        let t = parse_time_local(b"12/Mar/2024:10:00:00 +0200").unwrap();
        assert_eq!(
            t,
            EventTime {
                secs: T0,
                offset: 7200
            }
        );
        let t = parse_time_local(b"12/Mar/2024:02:30:00 -0530").unwrap();
        assert_eq!(
            t,
            EventTime {
                secs: T0,
                offset: -19_800
            }
        );
    }

    #[test]
    fn time_local_rejects_malformed_text() {
        for bad in [
            &b"12/Mar/2024:08:00:00 +000"[..],
            b"12/Mxr/2024:08:00:00 +0000",
            b"12/Mar/2024:24:00:00 +0000",
            b"00/Mar/2024:08:00:00 +0000",
            b"12/Mar/2024 08:00:00 +0000",
            b"12/Mar/2024:08:00:00 0000 ",
            b"12/Mar/2024:08:00:00 +0a00",
            b"",
        ] {
            assert_eq!(
                parse_time_local(bad),
                None,
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn iso8601_and_zulu() {
        assert_eq!(
            parse_iso8601(b"2024-03-12T08:00:00+00:00").unwrap().secs,
            T0
        );
        let t = parse_iso8601(b"2024-03-12T09:00:00+01:00").unwrap();
        assert_eq!(
            t,
            EventTime {
                secs: T0,
                offset: 3600
            }
        );
        assert_eq!(parse_iso8601(b"2024-03-12T08:00:00Z").unwrap().secs, T0);
        assert_eq!(parse_iso8601(b"2024-03-12T08:00:00+0000"), None);
        assert_eq!(parse_iso8601(b"2024-13-12T08:00:00+00:00"), None);
    }

    #[test]
    fn msec_keeps_whole_seconds() {
        assert_eq!(
            parse_msec(b"1710230400.123"),
            Some(EventTime {
                secs: T0,
                offset: 0
            })
        );
        assert_eq!(parse_msec(b"1710230400").unwrap().secs, T0);
        for bad in [
            &b""[..],
            b".5",
            b"1710230400.",
            b"17102x0400.1",
            b"1.2.3",
            b"9999999999999.1",
        ] {
            assert_eq!(parse_msec(bad), None);
        }
    }

    #[test]
    fn cache_returns_the_same_time_and_follows_changes() {
        let mut c = TimeCache::new();
        let a = c
            .get(TimeKind::Local, b"12/Mar/2024:08:00:00 +0000")
            .unwrap();
        assert_eq!(
            c.get(TimeKind::Local, b"12/Mar/2024:08:00:00 +0000"),
            Some(a)
        );
        let b = c
            .get(TimeKind::Local, b"12/Mar/2024:08:00:01 +0000")
            .unwrap();
        assert_eq!(b.secs, a.secs + 1);
        // A bad text is not cached and does not spoil the cache.
        assert_eq!(c.get(TimeKind::Local, b"12/Mar/2024:08:00:0x +0000"), None);
        assert_eq!(
            c.get(TimeKind::Local, b"12/Mar/2024:08:00:01 +0000"),
            Some(b)
        );
        assert_eq!(
            c.get(TimeKind::Iso8601, b"2024-03-12T08:00:00Z")
                .map(|t| t.secs),
            Some(T0)
        );
    }
}
