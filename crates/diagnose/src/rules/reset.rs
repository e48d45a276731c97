//! 502s from an attempt that lasted a while but not a fixed time: the upstream closed or
//! reset the connection while answering (crash, OOM kill, keep-alive race).

use faultline_model::Cause;

use super::{fixed_duration, Facts, Support, Tell};
use faultline_aggregate::FAST_US;

pub fn rule(f: &Facts<'_>) -> Vec<Support> {
    let Some(t) = f.tells.status(502) else {
        return Vec::new();
    };
    let attempted = t.count - t.no_upstream - t.blind - t.pool_addr.min(t.count);
    let slow = attempted.saturating_sub(t.fast);
    if slow == 0 || slow * 2 < attempted || fixed_duration(t).is_some() {
        return Vec::new();
    }
    vec![Support {
        cause: Cause::UpstreamReset,
        score: 0.35 + 0.25 * f.share(slow),
        reason: format!(
            "{slow} of {} 502s failed after the upstream had accepted the connection (over {} ms, \
             at no fixed time): it closed or reset the connection while answering",
            t.count,
            FAST_US / 1000
        ),
        tell: Some(Tell {
            status: 502,
            count: slow,
            text: "upstream_status=502, upstream_response_time>0".into(),
        }),
        detail: None,
    }]
}
