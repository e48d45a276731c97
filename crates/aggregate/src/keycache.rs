//! The shard's cache from a line's key (a seeded hash of host, upstream and route template) to
//! the ids it interns to, with the key's cell in the current run beside them: one table, one
//! cache line per line read. Open addressing with linear probing, at most half full, so a
//! lookup that misses the CPU cache misses once rather than once for the control bytes and
//! once for the entry.

/// What a key stands for, and where its series' cell of the current run is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Slot {
    /// 0: empty (a hash of 0 is stored as 1).
    key: u64,
    pub(crate) route: u32,
    pub(crate) host: u32,
    pub(crate) up: u32,
    /// The series id, with [`KEEP`] set when the host and route pass the filter.
    series_keep: u32,
    /// The run generation `cell` belongs to.
    pub(crate) run: u32,
    pub(crate) cell: u32,
}

const KEEP: u32 = 1 << 31;

impl Slot {
    pub(crate) fn new(route: u32, host: u32, up: u32, series: u32, keep: bool) -> Slot {
        debug_assert!(series < KEEP, "series ids are bounded far below 2^31");
        Slot {
            key: 0,
            route,
            host,
            up,
            series_keep: series | if keep { KEEP } else { 0 },
            run: 0,
            cell: 0,
        }
    }

    pub(crate) fn series(&self) -> u32 {
        self.series_keep & !KEEP
    }

    pub(crate) fn keep(&self) -> bool {
        self.series_keep & KEEP != 0
    }
}

/// A bounded map from key hashes to [`Slot`]s; once `cap` keys are held it starts afresh.
#[derive(Debug)]
pub(crate) struct KeyCache {
    slots: Vec<Slot>,
    len: usize,
    cap: usize,
}

impl KeyCache {
    pub(crate) fn new(cap: usize) -> KeyCache {
        KeyCache {
            slots: vec![Slot::default(); 1024],
            len: 0,
            cap,
        }
    }

    fn stored(key: u64) -> u64 {
        key.max(1)
    }

    /// The index of `key`'s slot, if it is held.
    #[inline]
    pub(crate) fn find(&self, key: u64) -> Option<usize> {
        let key = Self::stored(key);
        let mask = self.slots.len() - 1;
        let mut i = key as usize & mask;
        loop {
            let k = self.slots[i].key;
            if k == key {
                return Some(i);
            }
            if k == 0 {
                return None;
            }
            i = (i + 1) & mask;
        }
    }

    /// Stores `slot` under `key` (not held yet) and returns its index.
    pub(crate) fn insert(&mut self, key: u64, mut slot: Slot) -> usize {
        if self.len >= self.cap {
            self.slots.fill(Slot::default());
            self.len = 0;
        } else if (self.len + 1) * 2 > self.slots.len() {
            self.grow();
        }
        slot.key = Self::stored(key);
        let mask = self.slots.len() - 1;
        let mut i = slot.key as usize & mask;
        while self.slots[i].key != 0 {
            i = (i + 1) & mask;
        }
        self.slots[i] = slot;
        self.len += 1;
        i
    }

    fn grow(&mut self) {
        let size = self.slots.len() * 2;
        let old = std::mem::replace(&mut self.slots, vec![Slot::default(); size]);
        let mask = self.slots.len() - 1;
        for s in old.into_iter().filter(|s| s.key != 0) {
            let mut i = s.key as usize & mask;
            while self.slots[i].key != 0 {
                i = (i + 1) & mask;
            }
            self.slots[i] = s;
        }
    }

    pub(crate) fn slot(&self, i: usize) -> Slot {
        self.slots[i]
    }

    pub(crate) fn slot_mut(&mut self, i: usize) -> &mut Slot {
        &mut self.slots[i]
    }

    /// Forgets every key's cell (when run generations wrap around).
    pub(crate) fn forget_cells(&mut self) {
        for s in &mut self.slots {
            s.run = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_found_after_growth_and_forgotten_at_the_cap() {
        let mut c = KeyCache::new(5000);
        let key = |n: u64| (n + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        for n in 0..3000u64 {
            let i = c.insert(key(n), Slot::new(n as u32, 1, 2, n as u32, n % 2 == 0));
            assert_eq!(c.find(key(n)), Some(i));
        }
        for n in 0..3000u64 {
            let s = c.slot(c.find(key(n)).unwrap());
            assert_eq!(
                (s.route, s.series(), s.keep()),
                (n as u32, n as u32, n % 2 == 0)
            );
        }
        assert_eq!(c.find(key(3000)), None);
        // A hash of 0 is a key like any other.
        let i = c.insert(0, Slot::new(7, 0, 0, 7, true));
        assert_eq!(c.find(0), Some(i));
        for n in 3000..5001u64 {
            c.insert(key(n), Slot::new(0, 0, 0, 0, false));
        }
        assert_eq!(c.find(key(1)), None, "the cache starts afresh at its cap");
        assert!(c.find(key(5000)).is_some());
    }
}
