//! An access log without `$upstream_*` fields cannot tell who produced a 5xx.

use faultline_model::Cause;

use super::{Facts, Support};

pub fn rule(f: &Facts<'_>) -> Vec<Support> {
    if super::blind_share(f) < 0.5 {
        return Vec::new();
    }
    vec![Support {
        cause: Cause::Unknown,
        score: 0.3,
        reason: "the access log has no upstream fields, so it cannot show which hop produced \
                 the 5xx: add $upstream_addr $upstream_status $upstream_connect_time \
                 $upstream_header_time $upstream_response_time $request_time to the nginx \
                 log_format (Apache: %{BALANCER_WORKER_NAME}e and %D)"
            .into(),
        tell: None,
        detail: None,
    }]
}
