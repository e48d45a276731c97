/// When an event happened: seconds since the Unix epoch (UTC) and the offset, in seconds east
/// of UTC, that the log wrote it with (kept so reports show times as the log did).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct EventTime {
    pub secs: i64,
    pub offset: i32,
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date (year, month, day) of a day count since 1970-01-01.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// RFC 3339 with the given offset, e.g. `2024-03-12T08:00:00+00:00`.
pub fn format_rfc3339(secs: i64, offset: i32) -> String {
    let local = secs + offset as i64;
    let (y, mo, d) = civil_from_days(local.div_euclid(86_400));
    let sod = local.rem_euclid(86_400);
    let sign = if offset < 0 { '-' } else { '+' };
    let off = offset.unsigned_abs();
    format!(
        "{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}{sign}{:02}:{:02}",
        sod / 3600,
        sod / 60 % 60,
        sod % 60,
        off / 3600,
        off / 60 % 60
    )
}

impl EventTime {
    pub fn rfc3339(self) -> String {
        format_rfc3339(self.secs, self.offset)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip() {
        for z in [-800_000, -1, 0, 1, 19_794, 20_000, 2_932_896] {
            let (y, m, d) = civil_from_days(z);
            assert_eq!(days_from_civil(y, m, d), z);
        }
        assert_eq!(days_from_civil(2024, 3, 12), 19_794);
    }

    #[test]
    fn rfc3339_keeps_the_offset() {
        assert_eq!(
            format_rfc3339(1_710_230_400, 0),
            "2024-03-12T08:00:00+00:00"
        );
        assert_eq!(
            format_rfc3339(1_710_230_400, -5 * 3600 - 1800),
            "2024-03-12T02:30:00-05:30"
        );
    }
}
