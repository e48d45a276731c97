//! Apache httpd 2.4 error-log lines (`server/log.c` with the default `ErrorLogFormat`):
//! `[Wed Nov 25 00:05:07.994074 2026] [proxy_http:error] [pid 9932:tid 9951] (70007)The
//! timeout specified has expired: [client 198.51.100.27:0] AH01102: error reading status line
//! from remote server 127.0.0.1:41795`.

use faultline_model::days_from_civil;

use crate::ErrorLine;

const MONTHS: [&[u8]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

/// Parses an Apache error-log line; `None` when the line does not have its layout. The
/// module is kept in `server` (e.g. `proxy_http`), the level in `level`.
pub fn parse_apache_error(line: &[u8]) -> Option<ErrorLine<'_>> {
    let rest = line.strip_prefix(b"[")?;
    let close = rest.iter().position(|&b| b == b']')?;
    let local_secs = time(&rest[..close])?;
    let rest = rest[close + 1..].strip_prefix(b" [")?;
    let close = rest.iter().position(|&b| b == b']')?;
    let (module, level) = match rest[..close].iter().position(|&b| b == b':') {
        Some(i) => (&rest[..i], &rest[i + 1..close]),
        None => (&rest[..0], &rest[..close]),
    };
    let mut out = ErrorLine {
        local_secs,
        level,
        server: module,
        ..ErrorLine::default()
    };
    let mut rest = rest[close + 1..].strip_prefix(b" ")?;
    if let Some(after) = rest.strip_prefix(b"[pid ") {
        let close = after.iter().position(|&b| b == b']')?;
        let pid = &after[..after[..close]
            .iter()
            .position(|&b| b == b':')
            .unwrap_or(close)];
        out.pid = std::str::from_utf8(pid).ok()?.parse().ok()?;
        if let Some(tid) = after[..close]
            .windows(5)
            .position(|w| w == b":tid ")
            .map(|p| &after[p + 5..close])
        {
            out.tid = std::str::from_utf8(tid)
                .ok()
                .and_then(|t| t.parse().ok())
                .unwrap_or(0);
        }
        rest = after[close + 1..]
            .strip_prefix(b" ")
            .unwrap_or(&after[close + 1..]);
    }
    out.message = rest;
    if let Some(at) = find(rest, b"[client ").or_else(|| find(rest, b"[remote ")) {
        let after = &rest[at + 8..];
        let close = after.iter().position(|&b| b == b']').unwrap_or(after.len());
        out.client = &after[..close];
    }
    // `AH01102: ` — the first `AH` and five digits followed by a colon.
    out.code = rest
        .windows(8)
        .find(|w| w.starts_with(b"AH") && w[2..7].iter().all(u8::is_ascii_digit) && w[7] == b':')
        .map_or(&rest[..0], |w| &w[..7]);
    Some(out)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// `Wed Nov 25 00:05:07.994074 2026` (fraction optional) → seconds as if UTC.
fn time(t: &[u8]) -> Option<i64> {
    let parts: Vec<&[u8]> = t.split(|&b| b == b' ').filter(|p| !p.is_empty()).collect();
    let [_, mon, day, clock, year] = parts[..] else {
        return None;
    };
    let m = MONTHS.iter().position(|&x| x == mon)? as u32 + 1;
    let d: u32 = num(day)?;
    let y: i64 = num(year)?;
    let clock = &clock[..clock.iter().position(|&b| b == b'.').unwrap_or(clock.len())];
    let mut hms = clock.split(|&b| b == b':');
    let (h, mi, s): (i64, i64, i64) = (num(hms.next()?)?, num(hms.next()?)?, num(hms.next()?)?);
    if hms.next().is_some()
        || !(1..=31).contains(&d)
        || h > 23
        || mi > 59
        || s > 60
        || !(1970..=9999).contains(&y)
    {
        return None;
    }
    Some(days_from_civil(y, m, d) * 86_400 + h * 3600 + mi * 60 + s)
}

fn num<T: std::str::FromStr>(b: &[u8]) -> Option<T> {
    if b.is_empty() || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(b).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_apache_lines() {
        let l = b"[Wed Nov 25 00:05:07.994074 2026] [proxy_http:error] [pid 9932:tid 9951] (70007)The timeout specified has expired: [client 198.51.100.27:0] AH01102: error reading status line from remote server 127.0.0.1:41795";
        let e = parse_apache_error(l).unwrap();
        assert_eq!(e.level, b"error");
        assert_eq!(e.server, b"proxy_http");
        assert_eq!(e.pid, 9932);
        assert_eq!(e.client, b"198.51.100.27:0");
        assert!(e.message.starts_with(b"(70007)The timeout"));
        assert_eq!(
            e.local_secs,
            days_from_civil(2026, 11, 25) * 86_400 + 5 * 60 + 7
        );
        let l = b"[Wed Nov 25 00:03:40 2026] [mpm_event:notice] [pid 9924:tid 9924] AH00489: Apache/2.4.71 (Debian) configured";
        assert_eq!(parse_apache_error(l).unwrap().level, b"notice");
        assert!(parse_apache_error(b"2024/03/12 08:13:25 [error] 1#1: x").is_none());
        assert!(parse_apache_error(b"[nonsense] [x] y").is_none());
        for cut in 0..l.len() {
            let _ = parse_apache_error(&l[..cut]);
        }
    }
}
