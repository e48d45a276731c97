//! JSON lines: one object per line, read by a [`JsonMapping`] compiled into a tree of keys.
//!
//! The scanner walks each line once; a key found in the tree has its value kept as a
//! borrowed slice (a string without its quotes, still escaped, e.g. `curl/8 \"x\"`; a number
//! as written), nested objects are followed only along mapped paths, and everything else is
//! skipped by scanning. No `Value` is built and nothing is allocated per line. The kept
//! values are then stored into the record as the text dialects store theirs, so `-` is empty
//! and a string `"502"` is as good as the number `502`; `null`, `true` and `false` count as
//! missing.

mod mapping;
mod scan;

pub use mapping::{JsonField, JsonKey, JsonMapping};

use faultline_model::Record;

use crate::plan::{apply, Var, MISSING_STATUS, REQ_METHOD, REQ_PATH, REQ_PROTOCOL};
use crate::time::TimeCache;
use crate::{FormatError, ParseError};
use mapping::FIELD_COUNT;
use scan::{head_word, Scanner, INVALID};

const MISSING_TIME: ParseError = ParseError {
    reason: "missing timestamp",
};

/// Buckets of a node's key table (a power of two), and the shift that picks one from a hash.
const BUCKETS: usize = 128;
const BUCKET_SHIFT: u32 = 64 - BUCKETS.trailing_zeros();

/// A compiled [`JsonMapping`].
#[derive(Debug, Clone)]
pub(crate) struct JsonParser {
    /// The tree of keys; the top-level object is node 0.
    nodes: Box<[Node]>,
    /// The fields the mapping has keys for, one bit per [`JsonField`].
    mapped: u32,
}

/// The keys of one object, hashed into buckets.
#[derive(Debug, Clone)]
struct Node {
    /// Entries of bucket `b` are `entries[starts[b]..starts[b + 1]]`.
    starts: Box<[u16]>,
    entries: Box<[Entry]>,
}

#[derive(Debug, Clone)]
struct Entry {
    /// The first eight bytes of the key ([`head_word`]), its last eight ([`last_word`]) and
    /// its length: all a key of up to 16 bytes needs to be compared.
    head: u64,
    last: u64,
    len: usize,
    key: Box<[u8]>,
    /// The field this key fills, when it is the end of a path.
    term: Option<Term>,
    /// The node of the keys below it, when paths go on.
    child: Option<u16>,
}

#[derive(Debug, Clone, Copy)]
struct Term {
    slot: u8,
    /// 0 for the field's first key; a lower number wins.
    prio: u8,
    var: Var,
}

/// The value kept for one field while a line is scanned.
#[derive(Debug, Clone, Copy)]
struct Kept<'a> {
    bytes: &'a [u8],
    prio: u8,
    var: Var,
}

const NONE: Kept<'static> = Kept {
    bytes: b"",
    prio: u8::MAX,
    var: Var::Ignore,
};

impl Kept<'_> {
    fn present(&self) -> bool {
        self.prio != u8::MAX
    }
}

type Values<'a> = [Kept<'a>; FIELD_COUNT];

/// The last eight bytes of a key of eight bytes or more, as a little-endian word.
#[inline]
fn last_word(key: &[u8]) -> u64 {
    match key.len().checked_sub(8) {
        Some(from) => {
            let mut w = [0u8; 8];
            w.copy_from_slice(&key[from..]);
            u64::from_le_bytes(w)
        }
        None => 0,
    }
}

/// The bucket of a key from its head word and length.
#[inline]
fn bucket(head: u64, len: usize) -> usize {
    let h = (head ^ (len as u64).rotate_right(8)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (h >> BUCKET_SHIFT) as usize
}

/// A node while the tree is built.
#[derive(Default)]
struct Draft {
    entries: Vec<(Vec<u8>, Option<Term>, Option<usize>)>,
}

impl JsonParser {
    pub(crate) fn compile(mapping: &JsonMapping) -> Result<JsonParser, FormatError> {
        mapping.validate()?;
        let mut drafts = vec![Draft::default()];
        let mut next_prio = [0u8; FIELD_COUNT];
        let mut mapped = 0u32;
        for key in mapping.keys() {
            let slot = key.field as usize;
            let term = Term {
                slot: slot as u8,
                prio: next_prio[slot],
                var: key.field.var(key.unit),
            };
            next_prio[slot] = next_prio[slot].saturating_add(1).min(u8::MAX - 1);
            mapped |= 1 << slot;
            for split in splits(&key.path) {
                insert(&mut drafts, &split, term).map_err(|other| FormatError::BadMapping {
                    part: format!("{}={}", key.field.name(), key.path),
                    reason: format!("the key is also mapped to {}", other.name()),
                })?;
            }
        }
        let nodes = drafts.into_iter().map(freeze).collect();
        Ok(JsonParser { nodes, mapped })
    }

    /// Number of fields the mapping has keys for.
    pub(crate) fn field_count(&self) -> usize {
        self.mapped.count_ones() as usize
    }

    /// Whether the mapping has a key for `field`.
    pub(crate) fn maps(&self, field: JsonField) -> bool {
        self.mapped & (1 << field as u32) != 0
    }

    // Out of line: inlined into `AccessParser::parse`, it would slow the text dialects' loop.
    #[inline(never)]
    pub(crate) fn parse<'a>(
        &self,
        line: &'a [u8],
        rec: &mut Record<'a>,
        cache: &mut TimeCache,
    ) -> Result<(), ParseError> {
        rec.clear();
        let mut values = [NONE; FIELD_COUNT];
        self.scan(line, &mut values)?;
        fill(&values, rec, cache)
    }

    /// The fields a line has keys for (present, even if `-`), one bit per [`JsonField`];
    /// `None` when the line does not parse.
    pub(crate) fn fields_present(&self, line: &[u8], cache: &mut TimeCache) -> Option<u32> {
        let mut values = [NONE; FIELD_COUNT];
        self.scan(line, &mut values).ok()?;
        fill(&values, &mut Record::default(), cache).ok()?;
        let bits = values.iter().enumerate().filter(|(_, v)| v.present());
        Some(bits.fold(0, |acc, (i, _)| acc | 1 << i))
    }

    fn scan<'a>(&self, line: &'a [u8], values: &mut Values<'a>) -> Result<(), ParseError> {
        let mut sc = Scanner::new(line);
        sc.ws();
        if sc.peek() != Some(b'{') {
            return Err(INVALID);
        }
        sc.enter(0)?;
        self.object(&mut sc, 0, 1, values)?;
        sc.ws();
        if sc.at_end() {
            Ok(())
        } else {
            Err(INVALID)
        }
    }

    /// The members of an object whose `{` was consumed, keys looked up in `node`.
    fn object<'a>(
        &self,
        sc: &mut Scanner<'a>,
        node: usize,
        depth: u32,
        values: &mut Values<'a>,
    ) -> Result<(), ParseError> {
        let node = &self.nodes[node];
        let mut first = true;
        while let Some((key, head)) = sc.next_key(&mut first)? {
            let Some(entry) = node.find(key, head) else {
                sc.skip_value(depth)?;
                continue;
            };
            let value = match (sc.peek(), entry.child) {
                (Some(b'{'), Some(child)) => {
                    sc.enter(depth)?;
                    self.object(sc, usize::from(child), depth + 1, values)?;
                    continue;
                }
                (Some(b'"'), _) => sc.string()?,
                (Some(b'-' | b'0'..=b'9'), _) => sc.number()?,
                _ => {
                    sc.skip_value(depth)?;
                    continue;
                }
            };
            if let Some(t) = entry.term {
                let kept = &mut values[usize::from(t.slot)];
                // A later duplicate of the same key wins, as in most JSON readers.
                if t.prio <= kept.prio {
                    *kept = Kept {
                        bytes: value,
                        prio: t.prio,
                        var: t.var,
                    };
                }
            }
        }
        Ok(())
    }
}

impl Node {
    /// The entry of `key`, whose head word is `head`.
    #[inline]
    fn find(&self, key: &[u8], head: u64) -> Option<&Entry> {
        let b = bucket(head, key.len());
        let (from, to) = (usize::from(self.starts[b]), usize::from(self.starts[b + 1]));
        self.entries.get(from..to)?.iter().find(|e| {
            e.head == head
                && e.len == key.len()
                && (e.len <= 8 || e.last == last_word(key))
                && (e.len <= 16 || e.key[8..] == key[8..])
        })
    }
}

/// Stores the kept values; a request line fills the parts whose own keys were missing.
fn fill<'a>(
    values: &Values<'a>,
    rec: &mut Record<'a>,
    cache: &mut TimeCache,
) -> Result<(), ParseError> {
    let has = |f: JsonField| values[f as usize].present();
    let request = values[JsonField::Request as usize];
    if request.present() {
        let mut parts = 0;
        for (field, part) in [
            (JsonField::Method, REQ_METHOD),
            (JsonField::Path, REQ_PATH),
            (JsonField::Protocol, REQ_PROTOCOL),
        ] {
            if !has(field) {
                parts |= part;
            }
        }
        apply(Var::Request(parts), request.bytes, rec, cache)?;
    }
    for (i, v) in values.iter().enumerate() {
        if v.present() && i != JsonField::Request as usize {
            apply(v.var, v.bytes, rec, cache)?;
        }
    }
    if rec.status == 0 {
        return Err(MISSING_STATUS);
    }
    if rec.time.is_none() {
        return Err(MISSING_TIME);
    }
    Ok(())
}

/// Every way to read a dotted path as keys: `a.b.c` is `a`→`b`→`c`, `a.b`→`c`, `a`→`b.c`
/// and `a.b.c`, so that keys holding dots are found too.
fn splits(path: &str) -> Vec<Vec<String>> {
    let parts: Vec<&str> = path.split('.').collect();
    let joints = parts.len() - 1;
    (0..1u32 << joints)
        .map(|mask| {
            let mut keys = vec![parts[0].to_string()];
            for (j, part) in parts[1..].iter().enumerate() {
                if mask & (1 << j) != 0 {
                    let last = keys.len() - 1;
                    keys[last].push('.');
                    keys[last].push_str(part);
                } else {
                    keys.push((*part).to_string());
                }
            }
            keys
        })
        .collect()
}

/// Adds one path; a path already ending at another field is that field's error.
fn insert(drafts: &mut Vec<Draft>, keys: &[String], term: Term) -> Result<(), JsonField> {
    let mut node = 0;
    for (depth, key) in keys.iter().enumerate() {
        let at = match drafts[node]
            .entries
            .iter()
            .position(|e| e.0 == key.as_bytes())
        {
            Some(at) => at,
            None => {
                drafts[node]
                    .entries
                    .push((key.as_bytes().to_vec(), None, None));
                drafts[node].entries.len() - 1
            }
        };
        if depth + 1 == keys.len() {
            let entry = &mut drafts[node].entries[at];
            match entry.1 {
                None => entry.1 = Some(term),
                Some(t) if t.slot == term.slot => {}
                Some(t) => return Err(JsonField::ALL[usize::from(t.slot)]),
            }
            return Ok(());
        }
        node = match drafts[node].entries[at].2 {
            Some(child) => child,
            None => {
                drafts.push(Draft::default());
                let child = drafts.len() - 1;
                drafts[node].entries[at].2 = Some(child);
                child
            }
        };
    }
    Ok(())
}

fn freeze(draft: Draft) -> Node {
    let mut entries: Vec<Entry> = draft
        .entries
        .into_iter()
        .map(|(key, term, child)| Entry {
            head: head_word(&key),
            last: last_word(&key),
            len: key.len(),
            key: key.into(),
            term,
            child: child.map(|c| c as u16),
        })
        .collect();
    entries.sort_by_key(|e| bucket(e.head, e.len));
    let mut starts = vec![0u16; BUCKETS + 1];
    for e in &entries {
        starts[bucket(e.head, e.len) + 1] += 1;
    }
    for b in 0..BUCKETS {
        starts[b + 1] += starts[b];
    }
    Node {
        starts: starts.into(),
        entries: entries.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotted_paths_split_every_way() {
        assert_eq!(splits("a"), [["a"]]);
        let mut s = splits("a.b.c");
        s.sort();
        assert_eq!(
            s,
            [
                vec!["a", "b", "c"],
                vec!["a", "b.c"],
                vec!["a.b", "c"],
                vec!["a.b.c"]
            ]
        );
    }

    #[test]
    fn the_default_tree_finds_every_key() {
        let p = JsonParser::compile(&JsonMapping::default()).unwrap();
        assert_eq!(p.field_count(), FIELD_COUNT);
        let find = |k: &[u8]| p.nodes[0].find(k, head_word(k));
        for key in JsonMapping::default().keys() {
            let e = find(key.path.as_bytes()).unwrap();
            assert_eq!(e.term.unwrap().slot, key.field as u8, "{}", key.path);
        }
        for other in [
            &b"nope"[..],
            b"",
            b"status_",
            b"statu",
            b"upstream_addr_",
            b"upstream_adds",
        ] {
            assert!(find(other).is_none(), "{}", String::from_utf8_lossy(other));
        }
        // Few keys share a bucket.
        let most = (0..BUCKETS)
            .map(|b| p.nodes[0].starts[b + 1] - p.nodes[0].starts[b])
            .max();
        assert!(most <= Some(3), "{most:?}");
    }

    #[test]
    fn a_key_for_two_fields_is_refused() {
        let mut m = JsonMapping::default();
        m.add(JsonField::Host, "status", None);
        let e = JsonParser::compile(&m).unwrap_err().to_string();
        assert!(
            e.contains("host=status") && e.contains("also mapped to status"),
            "{e}"
        );
    }
}
