//! Times given by the user: `--since 2h` (before now), `2024-03-12T08:00:00Z`,
//! `2024-03-12 08:00` (in `--tz`, else UTC), `2024-03-12` (midnight).

use crate::tz::Zone;

/// Seconds since the epoch of `text`; relative durations count back from `now`.
pub fn parse(text: &str, now: i64, zone: Option<&Zone>) -> Result<i64, String> {
    let t = text.trim();
    if let Some(d) = duration_secs(t) {
        return Ok(now - d);
    }
    if let Ok(ts) = t.parse::<jiff::Timestamp>() {
        return Ok(ts.as_second());
    }
    let civil = t
        .replace(' ', "T")
        .parse::<jiff::civil::DateTime>()
        .or_else(|_| t.parse::<jiff::civil::Date>().map(|d| d.to_datetime(jiff::civil::Time::midnight())))
        .map_err(|_| "expected a duration before now (90s, 15m, 2h, 1d, 1h30m) or a time (2024-03-12T08:00:00Z, 2024-03-12 08:00, 2024-03-12)".to_string())?;
    let naive = civil
        .to_zoned(jiff::tz::TimeZone::UTC)
        .map_err(|e| e.to_string())?
        .timestamp()
        .as_second();
    let offset = zone.map_or(0, |z| z.offset_at(naive));
    Ok(naive - offset as i64)
}

/// `90s`, `15m`, `2h`, `1d`, `1w`, `1h30m`.
fn duration_secs(t: &str) -> Option<i64> {
    if t.is_empty() || !t.as_bytes()[0].is_ascii_digit() {
        return None;
    }
    let mut total = 0i64;
    let mut num = String::new();
    for ch in t.chars() {
        if ch.is_ascii_digit() {
            num.push(ch);
            continue;
        }
        let n: i64 = num.parse().ok()?;
        num.clear();
        total += n * match ch {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 604_800,
            _ => return None,
        };
    }
    num.is_empty().then_some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_and_absolute() {
        let now = 1_710_237_600;
        assert_eq!(parse("2h", now, None), Ok(now - 7200));
        assert_eq!(parse("1h30m", now, None), Ok(now - 5400));
        assert_eq!(parse("2024-03-12T08:00:00Z", now, None), Ok(1_710_230_400));
        assert_eq!(
            parse("2024-03-12T09:00:00+01:00", now, None),
            Ok(1_710_230_400)
        );
        assert_eq!(parse("2024-03-12 08:00", now, None), Ok(1_710_230_400));
        assert_eq!(
            parse(
                "2024-03-12 10:00",
                now,
                Some(&Zone::parse("+0200").unwrap())
            ),
            Ok(1_710_230_400)
        );
        assert_eq!(parse("2024-03-12", now, None), Ok(1_710_201_600));
        assert!(parse("yesterday", now, None).is_err());
        assert!(parse("2x", now, None).is_err());
    }
}
