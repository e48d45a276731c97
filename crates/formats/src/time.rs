//! Timestamps (`$time_local` / `%t`, `$time_iso8601`, RFC 3339, `$msec`, epoch numbers) and
//! durations with a unit.
//!
//! Consecutive lines mostly share their second, so [`TimeCache`] keeps the last text it parsed
//! and hands back the same [`EventTime`] while the text does not change (for RFC 3339, while
//! the text without its fractional seconds does not change).

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
    /// `2024-03-12T08:00:00.123Z`, keyed without the fraction.
    Rfc3339 = 3,
}

/// The unit of a duration or of an epoch timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimeUnit {
    Seconds,
    Millis,
    Micros,
    Nanos,
}

impl TimeUnit {
    /// Reads `s`, `ms`, `us` (or `µs`), `ns`.
    pub fn from_name(name: &str) -> Option<TimeUnit> {
        match name {
            "s" => Some(TimeUnit::Seconds),
            "ms" => Some(TimeUnit::Millis),
            "us" | "µs" => Some(TimeUnit::Micros),
            "ns" => Some(TimeUnit::Nanos),
            _ => None,
        }
    }

    /// `s`, `ms`, `us`, `ns`.
    pub fn name(self) -> &'static str {
        match self {
            TimeUnit::Seconds => "s",
            TimeUnit::Millis => "ms",
            TimeUnit::Micros => "us",
            TimeUnit::Nanos => "ns",
        }
    }

    fn per_second(self) -> u64 {
        match self {
            TimeUnit::Seconds => 1,
            TimeUnit::Millis => 1_000,
            TimeUnit::Micros => 1_000_000,
            TimeUnit::Nanos => 1_000_000_000,
        }
    }
}

impl TimeCache {
    pub fn new() -> TimeCache {
        TimeCache::default()
    }

    /// When `text` starts with the `$time_local` text cached last: its length and time. The
    /// cached text holds no `]` (it parsed as a local time), so a `]` right after it is the
    /// first one in `text`.
    #[inline]
    pub(crate) fn local_prefix(&self, text: &[u8]) -> Option<(usize, EventTime)> {
        let len = usize::from(self.len);
        let head = text.get(..len)?;
        (self.kind == TimeKind::Local as u8 && eq_short(&self.key[..len], head))
            .then_some((len, self.time))
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
            TimeKind::Rfc3339 => parse_rfc3339(text)?,
        };
        self.store(kind, text, b"", time);
        Some(time)
    }

    /// An RFC 3339 time, from the cache when only its fractional seconds changed.
    #[inline]
    pub(crate) fn get_rfc3339(&mut self, text: &[u8]) -> Option<EventTime> {
        // Date and time, then the zone after an optional fraction.
        let (Some(head), Some(rest)) = (text.get(..19), text.get(19..)) else {
            return parse_rfc3339(text);
        };
        let zone = match rest {
            [b'.', frac @ ..] => {
                let digits = frac.iter().take_while(|c| c.is_ascii_digit()).count();
                (digits > 0).then(|| &frac[digits..])?
            }
            _ => rest,
        };
        let len = usize::from(self.len);
        if self.kind == TimeKind::Rfc3339 as u8
            && len == head.len() + zone.len()
            && eq_short(&self.key[..19], head)
            && eq_short(&self.key[19..len], zone)
        {
            return Some(self.time);
        }
        let time = parse_rfc3339(text)?;
        self.store(TimeKind::Rfc3339, head, zone, time);
        Some(time)
    }

    fn store(&mut self, kind: TimeKind, head: &[u8], tail: &[u8], time: EventTime) {
        let len = head.len() + tail.len();
        if len <= KEY_MAX {
            self.key[..head.len()].copy_from_slice(head);
            self.key[head.len()..len].copy_from_slice(tail);
            self.len = len as u8;
            self.kind = kind as u8;
            self.time = time;
        }
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

/// RFC 3339: `2024-03-12T08:00:00Z`, with optional fractional seconds, `t` or a space for
/// `T`, and an offset `Z`, `±HH:MM` or `±HHMM`.
pub(crate) fn parse_rfc3339(b: &[u8]) -> Option<EventTime> {
    let rest = b.get(19..)?;
    let zone = match rest {
        [b'.', frac @ ..] => {
            let digits = frac.iter().take_while(|c| c.is_ascii_digit()).count();
            (digits > 0).then(|| &frac[digits..])?
        }
        _ => rest,
    };
    let offset = match zone {
        [b'Z' | b'z'] => 0,
        [_, _, _, b':', _, _] => offset(zone, 0, true)?,
        [_, _, _, _, _] => offset(zone, 0, false)?,
        _ => return None,
    };
    let y = d4(b, 0)?;
    expect(b, 4, b'-')?;
    let mo = d2(b, 5)?;
    expect(b, 7, b'-')?;
    let d = d2(b, 8)?;
    if !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let (h, mi, s) = (d2(b, 11)?, d2(b, 14)?, d2(b, 17)?);
    expect(b, 13, b':')?;
    expect(b, 16, b':')?;
    let local = to_secs(y, mo, d, h, mi, s)?;
    Some(EventTime {
        secs: local - i64::from(offset),
        offset,
    })
}

/// Latest epoch second accepted: the end of the year 9999.
const EPOCH_MAX: u64 = 253_402_300_799;

/// Digits with an optional fraction (`1710230400`, `1710230400.5`): the integer part and
/// the fraction's digits.
fn decimal(b: &[u8]) -> Option<(u64, &[u8])> {
    let (int, frac) = match memchr::memchr(b'.', b) {
        Some(i) => (&b[..i], &b[i + 1..]),
        None => (b, &b[..0]),
    };
    if int.is_empty() || (frac.is_empty() && int.len() < b.len()) {
        return None;
    }
    if !frac.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut n: u64 = 0;
    for &c in int {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        n = n.checked_mul(10)?.checked_add(u64::from(d))?;
    }
    Some((n, frac))
}

/// A time since the epoch in `unit`; without a unit it is told by magnitude: seconds up to
/// 10^11 (the year 5138), then milliseconds, microseconds up to 10^17, then nanoseconds.
/// Sub-second digits are dropped.
pub(crate) fn parse_epoch(b: &[u8], unit: Option<TimeUnit>) -> Option<EventTime> {
    let (n, _) = decimal(b)?;
    let unit = unit.unwrap_or(match n {
        0..100_000_000_000 => TimeUnit::Seconds,
        100_000_000_000..100_000_000_000_000 => TimeUnit::Millis,
        100_000_000_000_000..100_000_000_000_000_000 => TimeUnit::Micros,
        _ => TimeUnit::Nanos,
    });
    let secs = n / unit.per_second();
    (secs <= EPOCH_MAX).then_some(EventTime {
        secs: secs as i64,
        offset: 0,
    })
}

/// A non-negative duration in `unit` (`1500`, `0.25`) as microseconds, rounded down.
pub(crate) fn parse_duration_us(b: &[u8], unit: TimeUnit) -> Option<u64> {
    let (n, frac) = decimal(b)?;
    let ns_per_unit = 1_000_000_000 / unit.per_second();
    // Nine fractional digits are nanoseconds of a second; more are noise.
    let frac = &frac[..frac.len().min(9)];
    let frac_ns = if frac.is_empty() {
        0
    } else {
        // The fraction in billionths of a unit: below 10^9, and so is ns_per_unit.
        let f = frac
            .iter()
            .chain(std::iter::repeat(&b'0'))
            .take(9)
            .fold(0u64, |acc, &c| acc * 10 + u64::from(c - b'0'));
        f * ns_per_unit / 1_000_000_000
    };
    Some(n.checked_mul(ns_per_unit)?.checked_add(frac_ns)? / 1000)
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
    fn rfc3339_with_fractions_and_offsets() {
        for text in [
            &b"2024-03-12T08:00:00Z"[..],
            b"2024-03-12T08:00:00.123456Z",
            b"2024-03-12t08:00:00z",
            b"2024-03-12 08:00:00+00:00",
            b"2024-03-12T09:00:00.5+01:00",
            b"2024-03-12T09:00:00+0100",
        ] {
            let t = parse_rfc3339(text).unwrap();
            assert_eq!(t.secs, T0, "{}", String::from_utf8_lossy(text));
        }
        for bad in [
            &b"2024-03-12T08:00:00"[..],
            b"2024-03-12T08:00:00.Z",
            b"2024-03-12T08:00:00+01",
            b"2024-03-12X08:00:00Z",
            b"2024-03-12T08:00:00Zx",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{}", String::from_utf8_lossy(bad));
        }
        let mut c = TimeCache::new();
        let a = c.get_rfc3339(b"2024-03-12T08:00:00.100Z").unwrap();
        assert_eq!(c.get_rfc3339(b"2024-03-12T08:00:00.900Z"), Some(a));
        assert_eq!(c.get_rfc3339(b"2024-03-12T08:00:00.Z"), None);
        assert_eq!(c.get_rfc3339(b"2024-03-12T08:00:00.1x"), None);
        let b = c.get_rfc3339(b"2024-03-12T09:00:00.100+01:00").unwrap();
        assert_eq!((b.secs, b.offset), (T0, 3600));
    }

    #[test]
    fn epochs_by_unit_or_magnitude() {
        let secs = |b: &[u8], u| parse_epoch(b, u).map(|t| t.secs);
        assert_eq!(secs(b"1710230400", None), Some(T0));
        assert_eq!(secs(b"1710230400.999", None), Some(T0));
        assert_eq!(secs(b"1710230400123", None), Some(T0));
        assert_eq!(secs(b"1710230400123456", None), Some(T0));
        assert_eq!(secs(b"1710230400123456789", None), Some(T0));
        assert_eq!(secs(b"1710230400123", Some(TimeUnit::Millis)), Some(T0));
        assert_eq!(secs(b"1710230400", Some(TimeUnit::Millis)), Some(T0 / 1000));
        for bad in [
            &b""[..],
            b"-1",
            b"1.",
            b".5",
            b"1e9",
            b"99999999999999999999999",
        ] {
            assert_eq!(secs(bad, None), None);
        }
        assert_eq!(secs(b"253402300800", Some(TimeUnit::Seconds)), None);
    }

    #[test]
    fn durations_in_every_unit() {
        assert_eq!(parse_duration_us(b"0.049", TimeUnit::Seconds), Some(49_000));
        assert_eq!(parse_duration_us(b"2", TimeUnit::Seconds), Some(2_000_000));
        assert_eq!(parse_duration_us(b"12.5", TimeUnit::Millis), Some(12_500));
        assert_eq!(parse_duration_us(b"734", TimeUnit::Micros), Some(734));
        assert_eq!(parse_duration_us(b"1999", TimeUnit::Nanos), Some(1));
        assert_eq!(
            parse_duration_us(b"0.1234567891234", TimeUnit::Seconds),
            Some(123_456)
        );
        assert_eq!(
            parse_duration_us(b"18446744073709551615", TimeUnit::Seconds),
            None
        );
        assert_eq!(parse_duration_us(b"-1", TimeUnit::Seconds), None);
        assert_eq!(parse_duration_us(b"1,5", TimeUnit::Seconds), None);
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
