//! 502s whose attempt failed in about 0 ms, or that name a pool instead of a server: the
//! upstream refused connections or no live server was left.

use faultline_model::Cause;

use super::{Facts, Support, Tell};
use faultline_aggregate::FAST_US;

pub fn rule(f: &Facts<'_>) -> Vec<Support> {
    let mut out = Vec::new();
    for &status in &[502u16, 503] {
        let Some(t) = f.tells.status(status) else {
            continue;
        };
        let attempted = t.count - t.no_upstream - t.blind;
        let fast_from_upstream = t.fast.min(attempted).saturating_sub(t.pool_addr);
        if status == 502 && fast_from_upstream > 0 && fast_from_upstream * 2 >= attempted {
            let share = f.share(fast_from_upstream);
            out.push(Support {
                cause: Cause::UpstreamDown,
                score: 0.55 + 0.35 * share,
                reason: format!(
                    "{fast_from_upstream} of {} 502s failed at the upstream in under {} ms: \
                     the connection was refused, not timed out",
                    t.count,
                    FAST_US / 1000
                ),
                tell: Some(Tell {
                    status,
                    count: fast_from_upstream,
                    text: "upstream_status=502, upstream_response_time≈0.000 s".into(),
                }),
                detail: None,
            });
        }
        if t.pool_addr > 0 {
            out.push(Support {
                cause: Cause::UpstreamDown,
                score: 0.5 + 0.4 * f.share(t.pool_addr),
                reason: format!(
                    "{} {status}s name the upstream pool instead of a server: nginx had no \
                     live server left in it (\"no live upstreams\")",
                    t.pool_addr
                ),
                tell: Some(Tell {
                    status,
                    count: t.pool_addr,
                    text: "upstream_addr is a pool name, not host:port".into(),
                }),
                detail: None,
            });
        }
    }
    let multi: u64 = f
        .tells
        .by_status
        .iter()
        .map(|(_, t)| t.all_attempts_failed)
        .sum();
    if multi > 0 && !out.is_empty() {
        out.push(Support {
            cause: Cause::UpstreamDown,
            score: 0.5,
            reason: format!("{multi} requests tried several servers and every attempt failed"),
            tell: None,
            detail: None,
        });
    }
    out
}
