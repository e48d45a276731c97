/// Requests and 5xx over time in at most `max_buckets` buckets: starts at one minute per
/// bucket and doubles the width (merging neighbours) whenever the span outgrows it, so a log
/// of a year costs the same memory as a log of a day.
#[derive(Debug, Clone)]
pub struct Timeline {
    origin: Option<i64>,
    width: i64,
    max_buckets: usize,
    buckets: Vec<Bucket>,
}

/// One bucket of the timeline.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Bucket {
    pub requests: u64,
    pub errors_5xx: u64,
    /// 500, 502, 503, 504 and any other 5xx.
    pub by_code: [u64; 5],
}

/// Index of a 5xx code in [`Bucket::by_code`].
pub fn code_slot(status: u16) -> usize {
    match status {
        500 => 0,
        502 => 1,
        503 => 2,
        504 => 3,
        _ => 4,
    }
}

impl Default for Timeline {
    fn default() -> Self {
        Timeline::new(60, 1440)
    }
}

impl Timeline {
    pub fn new(width_secs: i64, max_buckets: usize) -> Self {
        Timeline {
            origin: None,
            width: width_secs.max(1),
            max_buckets: max_buckets.max(2),
            buckets: Vec::new(),
        }
    }

    fn slot(&mut self, sec: i64) -> &mut Bucket {
        let origin = *self.origin.get_or_insert(sec - sec.rem_euclid(self.width));
        let mut idx = ((sec - origin).max(0) / self.width) as usize;
        while idx >= self.max_buckets {
            self.coarsen();
            idx = ((sec - origin).max(0) / self.width) as usize;
        }
        if idx >= self.buckets.len() {
            self.buckets.resize(idx + 1, Bucket::default());
        }
        &mut self.buckets[idx]
    }

    fn coarsen(&mut self) {
        let origin = self.origin.expect("coarsen after the first value");
        let new_width = self.width * 2;
        let new_origin = origin - origin.rem_euclid(new_width);
        let mut merged: Vec<Bucket> = Vec::with_capacity(self.buckets.len() / 2 + 1);
        for (i, b) in self.buckets.iter().enumerate() {
            let sec = origin + i as i64 * self.width;
            let j = ((sec - new_origin) / new_width) as usize;
            if j >= merged.len() {
                merged.resize(j + 1, Bucket::default());
            }
            let m = &mut merged[j];
            m.requests += b.requests;
            m.errors_5xx += b.errors_5xx;
            for k in 0..5 {
                m.by_code[k] += b.by_code[k];
            }
        }
        self.origin = Some(new_origin);
        self.width = new_width;
        self.buckets = merged;
    }

    pub fn add_requests(&mut self, sec: i64, requests: u64, errors_5xx: u64) {
        let b = self.slot(sec);
        b.requests += requests;
        b.errors_5xx += errors_5xx;
    }

    pub fn add_code(&mut self, sec: i64, status: u16) {
        self.add_codes(sec, status, 1);
    }

    /// `n` responses of the 5xx `status`.
    pub fn add_codes(&mut self, sec: i64, status: u16, n: u64) {
        self.slot(sec).by_code[code_slot(status)] += n;
    }

    pub fn width_secs(&self) -> i64 {
        self.width
    }

    /// (bucket start, bucket) in time order.
    pub fn buckets(&self) -> impl Iterator<Item = (i64, &Bucket)> {
        let origin = self.origin.unwrap_or(0);
        let w = self.width;
        self.buckets
            .iter()
            .enumerate()
            .map(move |(i, b)| (origin + i as i64 * w, b))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_spans_coarsen_without_losing_counts() {
        let mut t = Timeline::new(60, 100);
        for sec in (0..86_400 * 7).step_by(30) {
            t.add_requests(sec, 2, 1);
        }
        assert!(t.buckets().count() <= 100);
        let total: u64 = t.buckets().map(|(_, b)| b.requests).sum();
        assert_eq!(total, 2 * (86_400 * 7 / 30));
        assert!(t.width_secs() >= 60 * 64);
    }

    #[test]
    fn buckets_start_on_width_boundaries() {
        let mut t = Timeline::new(60, 10);
        t.add_requests(125, 1, 0);
        t.add_code(190, 502);
        let b: Vec<_> = t.buckets().collect();
        assert_eq!(b[0].0, 120);
        assert_eq!(b[1].1.by_code[1], 1);
    }
}
