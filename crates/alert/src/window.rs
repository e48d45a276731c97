//! Maintenance windows: planned times, once or every week on given days in a named time
//! zone, in which matching alerts are muted and 503s are known to be planned.

use jiff::civil::{Time, Weekday};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};

use crate::matcher::{all_match, Matcher};
use crate::{Labels, Ms};

#[derive(Debug, Clone)]
pub enum Schedule {
    Once {
        from: Ms,
        to: Ms,
    },
    /// Starts at `start` local time on each of `days` (every day when empty), lasts
    /// `duration_ms`; daylight-saving changes follow the zone's rules.
    Weekly {
        tz: TimeZone,
        days: Vec<Weekday>,
        start: Time,
        duration_ms: Ms,
    },
}

#[derive(Debug, Clone)]
pub struct Window {
    pub name: String,
    /// Empty: every alert.
    pub matchers: Vec<Matcher>,
    pub schedule: Schedule,
}

impl Window {
    pub fn active(&self, at: Ms) -> bool {
        match &self.schedule {
            Schedule::Once { from, to } => *from <= at && at < *to,
            Schedule::Weekly {
                tz,
                days,
                start,
                duration_ms,
            } => {
                let Ok(ts) = Timestamp::from_millisecond(at) else {
                    return false;
                };
                let today = ts.to_zoned(tz.clone()).date();
                // A window that started on one of the previous days may still be running.
                let back = duration_ms.div_euclid(86_400_000) + 1;
                (0..=back).any(|d| {
                    let Ok(day) = today.checked_sub(d.days()) else {
                        return false;
                    };
                    if !days.is_empty() && !days.contains(&day.weekday()) {
                        return false;
                    }
                    let Ok(begin) = day.to_datetime(*start).to_zoned(tz.clone()) else {
                        return false;
                    };
                    let begin = begin.timestamp().as_millisecond();
                    begin <= at && at < begin + duration_ms
                })
            }
        }
    }

    pub fn mutes(&self, labels: &Labels, at: Ms) -> bool {
        all_match(&self.matchers, labels) && self.active(at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(s: &str) -> Ms {
        s.parse::<Timestamp>().unwrap().as_millisecond()
    }

    fn nightly() -> Window {
        Window {
            name: "deploy".into(),
            matchers: vec![],
            schedule: Schedule::Weekly {
                tz: TimeZone::get("Europe/Berlin").unwrap(),
                days: vec![Weekday::Tuesday],
                start: Time::constant(23, 30, 0, 0),
                duration_ms: 3_600_000,
            },
        }
    }

    #[test]
    fn a_weekly_window_is_in_local_time_and_may_cross_midnight() {
        let w = nightly();
        // Tuesday 2026-11-24 23:30 in Berlin (CET, +01:00) is 22:30 UTC.
        assert!(!w.active(ms("2026-11-24T22:29:59Z")));
        assert!(w.active(ms("2026-11-24T22:30:00Z")));
        assert!(w.active(ms("2026-11-24T23:15:00Z")), "past midnight local");
        assert!(!w.active(ms("2026-11-24T23:30:00Z")));
        assert!(!w.active(ms("2026-11-25T22:45:00Z")), "Wednesday");
    }

    #[test]
    fn summer_time_moves_the_window_in_utc() {
        let w = nightly();
        // Tuesday 2026-07-07 23:30 CEST (+02:00) is 21:30 UTC.
        assert!(w.active(ms("2026-07-07T21:30:00Z")));
        assert!(!w.active(ms("2026-07-07T22:30:00Z")));
    }

    #[test]
    fn a_one_off_window_has_a_start_and_an_end() {
        let w = Window {
            name: "migration".into(),
            matchers: vec![Matcher::parse(r#"host="db.example""#).unwrap()],
            schedule: Schedule::Once { from: 10, to: 20 },
        };
        let mut l = Labels::new();
        l.insert("host".into(), "db.example".into());
        assert!(w.mutes(&l, 10) && !w.mutes(&l, 20));
        l.insert("host".into(), "shop.example".into());
        assert!(!w.mutes(&l, 15));
    }
}
