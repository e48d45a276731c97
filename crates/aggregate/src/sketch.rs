//! A mergeable log-linear histogram of durations (HDR-style): 16 sub-buckets per power of two
//! and the bucket's midpoint as the answer, so any quantile is within ~3 % of the true value,
//! in a fixed 2.3 KiB whatever the count. Durations are capped at 2^40 µs (12 days).

const SUB_BITS: u32 = 4;
const SUB: usize = 1 << SUB_BITS;
const MAX_BITS: u32 = 40;
const BUCKETS: usize = (MAX_BITS - SUB_BITS + 1) as usize * SUB;

/// Values kept exactly before a sketch switches to buckets: most routes see few requests,
/// and a few hundred bytes each keeps thousands of them cheap.
const EXACT: usize = 32;

/// Quantiles of durations in microseconds. Adding is a few instructions and never allocates
/// once the buckets exist; two sketches merge exactly. The first [`EXACT`] values are kept
/// as they are (exact quantiles, little memory).
#[derive(Clone, Default)]
pub struct LatencySketch {
    small: Vec<u64>,
    counts: Option<Box<[u32; BUCKETS]>>,
    total: u64,
}

impl std::fmt::Debug for LatencySketch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LatencySketch")
            .field("total", &self.total)
            .finish()
    }
}

#[inline]
fn index(us: u64) -> usize {
    let us = us.min((1u64 << MAX_BITS) - 1);
    if us < SUB as u64 {
        return us as usize;
    }
    let exp = 63 - us.leading_zeros();
    let shift = exp - SUB_BITS;
    let sub = (us >> shift) as usize & (SUB - 1);
    ((shift + 1) as usize) * SUB + sub
}

/// The midpoint of a bucket, in microseconds.
fn value_of(idx: usize) -> f64 {
    if idx < SUB {
        return idx as f64;
    }
    let shift = (idx / SUB - 1) as u32;
    let sub = (idx % SUB) as u64;
    let low = (SUB as u64 + sub) << shift;
    let width = 1u64 << shift;
    low as f64 + (width as f64 - 1.0) / 2.0
}

impl LatencySketch {
    #[inline]
    pub fn add(&mut self, us: u64) {
        self.total += 1;
        match &mut self.counts {
            Some(counts) => bump(counts, us),
            None => self.add_exact(us),
        }
    }

    #[cold]
    fn add_exact(&mut self, us: u64) {
        if self.small.len() < EXACT {
            self.small.push(us);
            return;
        }
        let mut counts = Box::new([0u32; BUCKETS]);
        for v in self.small.drain(..) {
            bump(&mut counts, v);
        }
        self.small = Vec::new();
        bump(&mut counts, us);
        self.counts = Some(counts);
    }

    pub fn count(&self) -> u64 {
        self.total
    }

    pub fn merge(&mut self, other: &LatencySketch) {
        for &v in &other.small {
            self.add(v);
        }
        let Some(theirs) = &other.counts else { return };
        if self.counts.is_none() {
            let mut counts = Box::new([0u32; BUCKETS]);
            for v in self.small.drain(..) {
                bump(&mut counts, v);
            }
            self.counts = Some(counts);
        }
        let mine = self.counts.as_mut().expect("just made");
        for (a, b) in mine.iter_mut().zip(theirs.iter()) {
            *a = a.saturating_add(*b);
        }
        self.total += other.total - other.small.len() as u64;
    }

    /// The `q` quantile (0..=1) in microseconds, `None` when empty.
    pub fn quantile_us(&self, q: f64) -> Option<f64> {
        if self.total == 0 {
            return None;
        }
        let rank = ((q.clamp(0.0, 1.0) * self.total as f64).ceil() as u64).max(1);
        let Some(counts) = self.counts.as_ref() else {
            // Answered as the buckets would, so a quantile does not depend on whether a
            // merge happened to switch to buckets.
            let mut v = self.small.clone();
            v.sort_unstable();
            return v.get(rank as usize - 1).map(|&x| value_of(index(x)));
        };
        let mut seen = 0u64;
        for (i, &c) in counts.iter().enumerate() {
            seen += c as u64;
            if seen >= rank {
                return Some(value_of(i));
            }
        }
        None
    }

    /// How many values were at most `us` (bucketed values count by their bucket's
    /// midpoint): the cumulative counts of a Prometheus histogram.
    pub fn count_at_most(&self, us: f64) -> u64 {
        match &self.counts {
            None => self
                .small
                .iter()
                .filter(|&&v| value_of(index(v)) <= us)
                .count() as u64,
            Some(counts) => counts
                .iter()
                .enumerate()
                .take_while(|(i, _)| value_of(*i) <= us)
                .map(|(_, &c)| c as u64)
                .sum(),
        }
    }

    /// The sum of the values in microseconds, each taken as its bucket's midpoint.
    pub fn sum_us(&self) -> f64 {
        match &self.counts {
            None => self.small.iter().map(|&v| value_of(index(v))).sum(),
            Some(counts) => counts
                .iter()
                .enumerate()
                .map(|(i, &c)| c as f64 * value_of(i))
                .sum(),
        }
    }

    /// The `q` quantile in milliseconds, rounded to 0.1 ms.
    pub fn quantile_ms(&self, q: f64) -> Option<f64> {
        self.quantile_us(q).map(|us| (us / 100.0).round() / 10.0)
    }

    /// A compact encoding for storage: the exact values, or the non-empty buckets as
    /// (gap to the previous index, count) pairs, all as LEB128 varints.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        match &self.counts {
            None => {
                out.push(0);
                put_varint(&mut out, self.small.len() as u64);
                for &v in &self.small {
                    put_varint(&mut out, v);
                }
            }
            Some(counts) => {
                out.push(1);
                put_varint(&mut out, self.total);
                let mut prev = 0usize;
                for (i, &c) in counts.iter().enumerate().filter(|(_, &c)| c > 0) {
                    put_varint(&mut out, (i - prev) as u64);
                    put_varint(&mut out, c as u64);
                    prev = i;
                }
            }
        }
        out
    }

    /// Reads [`LatencySketch::to_bytes`]; `None` when the bytes are not such an encoding.
    pub fn from_bytes(bytes: &[u8]) -> Option<LatencySketch> {
        let (&tag, mut rest) = bytes.split_first()?;
        let mut s = LatencySketch::default();
        match tag {
            0 => {
                let n = take_varint(&mut rest)?;
                if n > EXACT as u64 {
                    return None;
                }
                for _ in 0..n {
                    s.add(take_varint(&mut rest)?);
                }
            }
            1 => {
                s.total = take_varint(&mut rest)?;
                let mut counts = Box::new([0u32; BUCKETS]);
                let mut idx = 0usize;
                while !rest.is_empty() {
                    idx = idx.checked_add(usize::try_from(take_varint(&mut rest)?).ok()?)?;
                    *counts.get_mut(idx)? = u32::try_from(take_varint(&mut rest)?).ok()?;
                }
                s.counts = Some(counts);
            }
            _ => return None,
        }
        rest.is_empty().then_some(s)
    }
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn take_varint(rest: &mut &[u8]) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let (&b, tail) = rest.split_first()?;
        *rest = tail;
        v |= ((b & 0x7f) as u64) << shift;
        if b < 0x80 {
            return Some(v);
        }
    }
    None
}

#[inline]
fn bump(counts: &mut [u32; BUCKETS], us: u64) {
    let c = &mut counts[index(us)];
    *c = c.saturating_add(1);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_round_trip_small_and_bucketed() {
        for n in [0u64, 5, 32, 33, 10_000] {
            let mut s = LatencySketch::default();
            for i in 0..n {
                s.add(i * 137 % 90_000);
            }
            let back = LatencySketch::from_bytes(&s.to_bytes()).expect("decodes");
            assert_eq!(back.count(), s.count(), "n={n}");
            for q in [0.5, 0.9, 0.99] {
                assert_eq!(back.quantile_us(q), s.quantile_us(q), "n={n} q={q}");
            }
        }
        assert!(LatencySketch::from_bytes(&[7]).is_none());
        assert!(LatencySketch::from_bytes(&[1, 1, 0xff]).is_none());
    }

    #[test]
    fn quantiles_are_within_three_percent() {
        let mut s = LatencySketch::default();
        for us in 1..=100_000u64 {
            s.add(us * 10);
        }
        for q in [0.5, 0.9, 0.99] {
            let exact = q * 1_000_000.0;
            let got = s.quantile_us(q).unwrap();
            assert!(
                (got - exact).abs() / exact < 0.03,
                "q={q} got={got} exact={exact}"
            );
        }
    }

    #[test]
    fn merge_equals_adding_everything_to_one() {
        let (mut a, mut b, mut all) = Default::default();
        let (a, b, all): (&mut LatencySketch, &mut LatencySketch, &mut LatencySketch) =
            (&mut a, &mut b, &mut all);
        for v in [0u64, 5, 999, 60_000_000, 12_345] {
            a.add(v);
            all.add(v);
        }
        for v in [7u64, 1, 2_000_000] {
            b.add(v);
            all.add(v);
        }
        a.merge(b);
        for q in [0.0, 0.25, 0.5, 0.75, 1.0] {
            assert_eq!(a.quantile_us(q), all.quantile_us(q));
        }
        assert_eq!(a.count(), 8);
    }

    #[test]
    fn merges_of_exact_and_bucketed_sketches_agree() {
        for (na, nb) in [(10u64, 10u64), (10, 100), (100, 10), (100, 100), (0, 50)] {
            let (mut a, mut b, mut all) = (
                LatencySketch::default(),
                LatencySketch::default(),
                LatencySketch::default(),
            );
            for v in 0..na {
                a.add(v * 1000 + 7);
            }
            for v in 0..nb {
                b.add(v * 3000 + 11);
            }
            for v in 0..na {
                all.add(v * 1000 + 7);
            }
            for v in 0..nb {
                all.add(v * 3000 + 11);
            }
            a.merge(&b);
            assert_eq!(a.count(), na + nb);
            if na + nb > 32 {
                for q in [0.1, 0.5, 0.9, 0.99] {
                    let (x, y) = (a.quantile_us(q).unwrap(), all.quantile_us(q).unwrap());
                    assert!(
                        (x - y).abs() <= y * 0.07 + 1.0,
                        "{na}+{nb} q={q}: {x} vs {y}"
                    );
                }
            }
        }
    }

    #[test]
    fn empty_has_no_quantiles_and_small_values_are_exact() {
        let mut s = LatencySketch::default();
        assert_eq!(s.quantile_ms(0.5), None);
        s.add(3);
        assert_eq!(s.quantile_us(0.5), Some(3.0));
        s.add(1_000_000);
        assert!((s.quantile_us(1.0).unwrap() - 1e6).abs() < 1e6 * 0.035);
        s.add(u64::MAX);
        assert!(s.quantile_us(1.0).unwrap() > 1e12);
        for v in 0..100 {
            s.add(v);
        }
        assert!(
            s.quantile_us(1.0).unwrap() > 1e12,
            "the buckets keep what the exact values held"
        );
        assert_eq!(s.count(), 103);
    }
}
