/// The numbers of the default incident detector (report contract, "Incident").
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Config {
    /// Trailing window of a bad second.
    pub window_secs: i64,
    /// 5xx needed in the window.
    pub min_errors: u64,
    /// 5xx ratio needed in the window.
    pub min_ratio: f64,
    /// Trailing history the series' own ratio is taken over.
    pub baseline_secs: i64,
    /// The ratio assumed until a series has `baseline_secs` of history.
    pub prior_ratio: f64,
    /// z of the Wilson interval around the baseline ratio.
    pub wilson_z: f64,
    /// An incident closes after this long without a bad second…
    pub close_quiet_secs: i64,
    /// …and this many non-5xx responses of its scope since the last bad second.
    pub close_ok_responses: u64,
    /// …or after this long with no request at all in its scope.
    pub idle_close_secs: i64,
    /// How long the watermark waits for out-of-order lines.
    pub lateness_secs: i64,
    /// A member series must carry this share of an incident's 5xx to be listed in its scope.
    pub scope_share: f64,
    /// A degraded-upstream finding ends after this long without a failed-over attempt.
    pub degraded_gap_secs: i64,
    /// After an incident closes, its series' seconds stay out of the baseline this long.
    pub baseline_cooldown_secs: i64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            window_secs: 10,
            min_errors: 3,
            min_ratio: 0.05,
            baseline_secs: 900,
            prior_ratio: 0.01,
            wilson_z: 3.0,
            close_quiet_secs: 10,
            close_ok_responses: 20,
            idle_close_secs: 300,
            lateness_secs: 5,
            scope_share: 0.10,
            degraded_gap_secs: 60,
            baseline_cooldown_secs: 300,
        }
    }
}

/// Upper bound of the Wilson score interval for `errors` out of `n`.
pub fn wilson_upper(errors: u64, n: u64, z: f64) -> f64 {
    if n == 0 {
        return 1.0;
    }
    let n = n as f64;
    let p = errors as f64 / n;
    let z2 = z * z;
    let centre = p + z2 / (2.0 * n);
    let spread = z * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    ((centre + spread) / (1.0 + z2 / n)).min(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wilson_bound_narrows_with_volume() {
        let small = wilson_upper(1, 100, 3.0);
        let large = wilson_upper(100, 10_000, 3.0);
        assert!(small > large);
        assert!(large > 0.01 && large < 0.015);
        assert_eq!(wilson_upper(0, 0, 3.0), 1.0);
    }
}
