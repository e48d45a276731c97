//! The `--tz` option: a fixed offset or an IANA zone, applied to log lines without an offset.

use anyhow::{bail, Context, Result};

/// A zone for naive local times.
#[derive(Debug, Clone)]
pub enum Zone {
    Fixed(i32),
    Named(String, jiff::tz::TimeZone),
}

impl Zone {
    pub fn parse(s: &str) -> Result<Zone> {
        let t = s.trim();
        if t.eq_ignore_ascii_case("utc") || t == "Z" {
            return Ok(Zone::Fixed(0));
        }
        if let Some(off) = parse_offset(t) {
            return Ok(Zone::Fixed(off));
        }
        if t.starts_with('+') || t.starts_with('-') {
            bail!("--tz {t:?}: an offset is written +HHMM or +HH:MM");
        }
        let tz = jiff::tz::TimeZone::get(t).with_context(|| {
            format!("--tz {t:?}: not an offset (+0200) nor a known IANA time zone")
        })?;
        Ok(Zone::Named(t.to_string(), tz))
    }

    /// The UTC offset (seconds east) in force at the naive local time `local_secs`.
    pub fn offset_at(&self, local_secs: i64) -> i32 {
        match self {
            Zone::Fixed(o) => *o,
            Zone::Named(_, tz) => {
                let guess =
                    jiff::Timestamp::from_second(local_secs).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
                let first = tz.to_offset(guess).seconds();
                let again = jiff::Timestamp::from_second(local_secs - first as i64)
                    .unwrap_or(jiff::Timestamp::UNIX_EPOCH);
                tz.to_offset(again).seconds()
            }
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Zone::Fixed(o) => format_offset(*o),
            Zone::Named(n, _) => n.clone(),
        }
    }
}

fn parse_offset(t: &str) -> Option<i32> {
    let (sign, rest) = match t.as_bytes().first()? {
        b'+' => (1, &t[1..]),
        b'-' => (-1, &t[1..]),
        _ => return None,
    };
    let digits: String = rest.chars().filter(|c| *c != ':').collect();
    if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) || rest.len() > 5 {
        return None;
    }
    let h: i32 = digits[..2].parse().ok()?;
    let m: i32 = digits[2..].parse().ok()?;
    (h <= 14 && m < 60).then_some(sign * (h * 3600 + m * 60))
}

/// `+02:00`.
pub fn format_offset(o: i32) -> String {
    let sign = if o < 0 { '-' } else { '+' };
    let a = o.unsigned_abs();
    format!("{sign}{:02}:{:02}", a / 3600, a / 60 % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_and_names() {
        assert_eq!(Zone::parse("+0200").unwrap().offset_at(0), 7200);
        assert_eq!(Zone::parse("-05:30").unwrap().offset_at(0), -19800);
        assert_eq!(Zone::parse("UTC").unwrap().offset_at(0), 0);
        assert!(Zone::parse("+2").is_err());
        assert!(Zone::parse("Mars/Olympus").is_err());
    }
}
