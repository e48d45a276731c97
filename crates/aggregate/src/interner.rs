use rustc_hash::FxHashMap;

/// Maps byte strings to dense ids, with a cap: once `cap` distinct keys exist, every new key
/// maps to one overflow id named `other`, so memory stays bounded whatever the input.
#[derive(Debug)]
pub struct Interner {
    ids: FxHashMap<Box<[u8]>, u32>,
    names: Vec<Box<[u8]>>,
    cap: usize,
    overflow: Option<u32>,
}

/// The name given to keys beyond the cap.
pub const OTHER: &[u8] = b"other";

impl Interner {
    pub fn new(cap: usize) -> Self {
        Interner {
            ids: FxHashMap::default(),
            names: Vec::new(),
            cap,
            overflow: None,
        }
    }

    /// The id of `key`, adding it when new.
    pub fn intern(&mut self, key: &[u8]) -> u32 {
        if let Some(&id) = self.ids.get(key) {
            return id;
        }
        if self.names.len() >= self.cap {
            return self.overflow_id();
        }
        let id = self.names.len() as u32;
        self.names.push(key.into());
        self.ids.insert(key.into(), id);
        id
    }

    fn overflow_id(&mut self) -> u32 {
        if let Some(id) = self.overflow {
            return id;
        }
        let id = self.names.len() as u32;
        self.names.push(OTHER.into());
        self.overflow = Some(id);
        id
    }

    pub fn name(&self, id: u32) -> &[u8] {
        &self.names[id as usize]
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// Whether some keys were folded into `other`.
    pub fn overflowed(&self) -> bool {
        self.overflow.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_beyond_the_cap_fold_into_other() {
        let mut i = Interner::new(2);
        let a = i.intern(b"a");
        assert_eq!(i.intern(b"a"), a);
        let b = i.intern(b"b");
        let c = i.intern(b"c");
        let d = i.intern(b"d");
        assert_ne!(a, b);
        assert_eq!(c, d);
        assert_eq!(i.name(c), OTHER);
        assert_eq!(i.intern(b"b"), b, "keys seen before the cap keep their id");
        assert!(i.overflowed());
    }
}
