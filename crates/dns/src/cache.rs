//! Answer cache: positive and negative (RFC 2308), LRU-bounded, compact.
//!
//! Memory per entry matters on a 64-128 MB router, so an entry is one
//! allocation holding the key name followed by the answer body and its TTL
//! offsets, plus a fixed 40-byte slot. The index maps a keyed 64-bit hash of
//! (lowercase name, type, class, DO, CD) to the slot; the stored key is compared
//! on lookup, so a hash collision is a miss, never a wrong answer. Time is
//! kept as whole seconds since the cache was created (TTLs are seconds).

use crate::message::AnswerParts;
use cpe_wire::dns::{NameBuf, Rcode, Rtype};
use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher, RandomState};
use std::time::Instant;

/// Cache key: what makes two questions share an answer.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CacheKey {
    /// Lowercase owner name.
    pub name: NameBuf,
    /// QTYPE.
    pub qtype: Rtype,
    /// QCLASS.
    pub qclass: u16,
    /// DNSSEC OK: answers with and without signatures differ.
    pub dnssec_ok: bool,
    /// Checking Disabled. A CD=1 answer may hold data that failed
    /// validation upstream, which must never reach a CD=0 client; and a
    /// CD=0 SERVFAIL is not what a CD=1 client asked for. So CD is part of
    /// the key (and of the join key) rather than CD=1 answers going
    /// uncached: validating stubs set CD on every query, and leaving them
    /// uncached would send all their traffic upstream. The cost is one bit
    /// in the key byte that already holds DO.
    pub checking_disabled: bool,
}

const NIL: u32 = u32::MAX;

struct Slot {
    /// key name wire ++ [qtype, qclass, do|cd<<1] (5 bytes) ++ body ++ ttl offsets (u16 LE)
    blob: Box<[u8]>,
    hash: u64,
    stored_at: u32,
    ttl: u32,
    prev: u32,
    next: u32,
    key_len: u16,
    body_len: u16,
    counts: [u16; 3],
    flags: u16,
    rcode: Rcode,
}

/// A hasher for keys that already are hashes.
#[derive(Default)]
struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) | u64::from(b);
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }
}

/// Cache counters for `cpectl show dns`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct CacheStats {
    /// Lookups answered from the cache.
    pub hits: u64,
    /// Lookups that missed (absent or expired).
    pub misses: u64,
    /// Entries pushed out by the size bound.
    pub evictions: u64,
    /// Entries dropped because their TTL ran out.
    pub expirations: u64,
}

/// The LRU answer cache.
pub struct Cache {
    slots: Vec<Slot>,
    free: Vec<u32>,
    index: HashMap<u64, u32, BuildHasherDefault<PassThrough>>,
    hasher: RandomState,
    head: u32,
    tail: u32,
    capacity: usize,
    epoch: Instant,
    blob_bytes: usize,
    stats: CacheStats,
}

/// An answer found in the cache, with the seconds elapsed since it was
/// stored (subtracted from every TTL on the way out).
pub struct Hit<'a> {
    /// The cached answer.
    pub answer: AnswerParts<'a>,
    /// Seconds since it was stored.
    pub age: u32,
}

impl Cache {
    /// An empty cache holding at most `capacity` entries; `epoch` is the
    /// driver's start time, the zero of the cache's second counter.
    pub fn new(capacity: usize, epoch: Instant) -> Cache {
        Cache {
            slots: Vec::new(),
            free: Vec::new(),
            index: HashMap::default(),
            hasher: RandomState::new(),
            head: NIL,
            tail: NIL,
            capacity,
            epoch,
            blob_bytes: 0,
            stats: CacheStats::default(),
        }
    }

    fn secs(&self, now: Instant) -> u32 {
        u32::try_from(now.saturating_duration_since(self.epoch).as_secs()).unwrap_or(u32::MAX)
    }

    fn hash(&self, key: &CacheKey) -> u64 {
        self.hasher.hash_one(key)
    }

    fn key_bytes(key: &CacheKey) -> impl Iterator<Item = u8> + '_ {
        let t = key.qtype.to_u16().to_be_bytes();
        let c = key.qclass.to_be_bytes();
        key.name.as_wire().iter().copied().chain([
            t[0],
            t[1],
            c[0],
            c[1],
            u8::from(key.dnssec_ok) | u8::from(key.checking_disabled) << 1,
        ])
    }

    fn key_matches(slot: &Slot, key: &CacheKey) -> bool {
        let stored = slot.blob.get(..usize::from(slot.key_len)).unwrap_or(&[]);
        stored.len() == key.name.as_wire().len() + 5
            && stored.iter().copied().eq(Cache::key_bytes(key))
    }

    /// Number of live entries (including ones expired but not yet swept).
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// Whether the cache is empty.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// Configured entry bound.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Counters.
    pub fn stats(&self) -> CacheStats {
        self.stats
    }

    /// Approximate heap bytes used: slots, index buckets and blobs, with a
    /// 16-byte allocator overhead per blob. Divided by `len()` this is the
    /// "memory per entry" figure reported to operators.
    pub fn memory_bytes(&self) -> usize {
        let slot = std::mem::size_of::<Slot>() * self.slots.capacity();
        let index = self.index.capacity() * (std::mem::size_of::<(u64, u32)>() + 1);
        slot + index + self.blob_bytes + 16 * self.index.len() + 4 * self.free.capacity()
    }

    /// Looks up an answer; expired entries are removed and count as misses.
    pub fn get(&mut self, key: &CacheKey, now: Instant) -> Option<Hit<'_>> {
        let h = self.hash(key);
        let idx = match self.index.get(&h) {
            Some(&i) => i,
            None => {
                self.stats.misses += 1;
                return None;
            }
        };
        let now_s = self.secs(now);
        let (matches, expired) = match self.slots.get(idx as usize) {
            Some(s) => (
                Cache::key_matches(s, key),
                now_s.saturating_sub(s.stored_at) >= s.ttl,
            ),
            None => (false, true),
        };
        if !matches {
            self.stats.misses += 1;
            return None;
        }
        if expired {
            self.remove(idx);
            self.stats.expirations += 1;
            self.stats.misses += 1;
            return None;
        }
        self.touch(idx);
        self.stats.hits += 1;
        let s = self.slots.get(idx as usize)?;
        let k = usize::from(s.key_len);
        let b = usize::from(s.body_len);
        let body = s.blob.get(k..k + b)?;
        Some(Hit {
            answer: AnswerParts {
                rcode: s.rcode,
                flags: s.flags,
                counts: s.counts,
                body,
                ttl_offsets: s.blob.get(k + b..)?,
            },
            age: now_s.saturating_sub(s.stored_at),
        })
    }

    /// Stores an answer for `ttl` seconds, replacing an older one for the
    /// same key and evicting the least recently used entry when full.
    pub fn insert(&mut self, key: &CacheKey, answer: AnswerParts<'_>, ttl: u32, now: Instant) {
        if self.capacity == 0 || ttl == 0 {
            return;
        }
        let (Ok(body_len), Ok(key_len)) = (
            u16::try_from(answer.body.len()),
            u16::try_from(key.name.as_wire().len() + 5),
        ) else {
            return;
        };
        let h = self.hash(key);
        if let Some(&old) = self.index.get(&h) {
            self.remove(old);
        }
        while self.index.len() >= self.capacity && self.tail != NIL {
            let t = self.tail;
            self.remove(t);
            self.stats.evictions += 1;
        }
        let mut blob =
            Vec::with_capacity(usize::from(key_len) + answer.body.len() + answer.ttl_offsets.len());
        blob.extend(Cache::key_bytes(key));
        blob.extend_from_slice(answer.body);
        blob.extend_from_slice(answer.ttl_offsets);
        let blob = blob.into_boxed_slice();
        self.blob_bytes += blob.len();
        let slot = Slot {
            blob,
            hash: h,
            stored_at: self.secs(now),
            ttl,
            prev: NIL,
            next: NIL,
            key_len,
            body_len,
            counts: answer.counts,
            flags: answer.flags,
            rcode: answer.rcode,
        };
        let idx = match self.free.pop() {
            Some(i) => {
                if let Some(s) = self.slots.get_mut(i as usize) {
                    *s = slot;
                }
                i
            }
            None => {
                self.slots.push(slot);
                (self.slots.len() - 1) as u32
            }
        };
        self.index.insert(h, idx);
        self.link_front(idx);
    }

    /// Drops every entry (used only when an operator asks for a flush).
    pub fn clear(&mut self) {
        self.slots.clear();
        self.free.clear();
        self.index.clear();
        self.head = NIL;
        self.tail = NIL;
        self.blob_bytes = 0;
    }

    fn remove(&mut self, idx: u32) {
        self.unlink(idx);
        if let Some(s) = self.slots.get_mut(idx as usize) {
            self.index.remove(&s.hash);
            self.blob_bytes = self.blob_bytes.saturating_sub(s.blob.len());
            s.blob = Box::new([]);
            self.free.push(idx);
        }
    }

    fn touch(&mut self, idx: u32) {
        if self.head != idx {
            self.unlink(idx);
            self.link_front(idx);
        }
    }

    fn unlink(&mut self, idx: u32) {
        let Some(s) = self.slots.get(idx as usize) else {
            return;
        };
        let (prev, next) = (s.prev, s.next);
        match self.slots.get_mut(prev as usize) {
            Some(p) => p.next = next,
            None => self.head = next,
        }
        match self.slots.get_mut(next as usize) {
            Some(n) => n.prev = prev,
            None => self.tail = prev,
        }
        if let Some(s) = self.slots.get_mut(idx as usize) {
            s.prev = NIL;
            s.next = NIL;
        }
    }

    fn link_front(&mut self, idx: u32) {
        let old = self.head;
        if let Some(s) = self.slots.get_mut(idx as usize) {
            s.prev = NIL;
            s.next = old;
        }
        match self.slots.get_mut(old as usize) {
            Some(o) => o.prev = idx,
            None => self.tail = idx,
        }
        self.head = idx;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn key(name: &str, qtype: u16) -> CacheKey {
        let qtype = Rtype::from_u16(qtype);
        CacheKey {
            name: NameBuf::from_text(name).unwrap().to_lowercase(),
            qtype,
            qclass: 1,
            dnssec_ok: false,
            checking_disabled: false,
        }
    }

    fn parts(body: &[u8]) -> AnswerParts<'_> {
        AnswerParts {
            rcode: Rcode::NoError,
            flags: 0,
            counts: [1, 0, 0],
            body,
            ttl_offsets: &[6, 0],
        }
    }

    #[test]
    fn hit_reports_age_and_expires_at_ttl() {
        let t0 = Instant::now();
        let mut c = Cache::new(10, t0);
        c.insert(&key("a.example", 1), parts(b"body-a"), 60, t0);
        let hit = c
            .get(&key("A.example", 1), t0 + Duration::from_secs(59))
            .unwrap();
        assert_eq!(hit.age, 59);
        assert_eq!(hit.answer.body, b"body-a");
        assert_eq!(hit.answer.ttl_offsets, &[6, 0]);
        assert!(c.get(&key("a.example", 28), t0).is_none());
        assert!(
            c.get(&key("a.example", 1), t0 + Duration::from_secs(60))
                .is_none()
        );
        assert_eq!(c.len(), 0);
        let s = c.stats();
        assert_eq!((s.hits, s.misses, s.expirations), (1, 2, 1));
    }

    #[test]
    fn lru_evicts_least_recently_used() {
        let t0 = Instant::now();
        let mut c = Cache::new(2, t0);
        c.insert(&key("a", 1), parts(b"a"), 60, t0);
        c.insert(&key("b", 1), parts(b"b"), 60, t0);
        assert!(c.get(&key("a", 1), t0).is_some()); // a is now most recent
        c.insert(&key("c", 1), parts(b"c"), 60, t0);
        assert!(c.get(&key("b", 1), t0).is_none());
        assert!(c.get(&key("a", 1), t0).is_some());
        assert!(c.get(&key("c", 1), t0).is_some());
        assert_eq!(c.len(), 2);
        assert_eq!(c.stats().evictions, 1);
    }

    #[test]
    fn replacing_a_key_keeps_one_entry() {
        let t0 = Instant::now();
        let mut c = Cache::new(4, t0);
        c.insert(&key("a", 1), parts(b"old"), 60, t0);
        c.insert(&key("a", 1), parts(b"new"), 60, t0);
        assert_eq!(c.len(), 1);
        assert_eq!(c.get(&key("a", 1), t0).unwrap().answer.body, b"new");
    }

    #[test]
    fn memory_per_entry_is_under_200_bytes_for_typical_answers() {
        let t0 = Instant::now();
        let mut c = Cache::new(10_000, t0);
        // A typical A answer body: compressed owner + A record = 16 bytes.
        let body = [0xc0, 12, 0, 1, 0, 1, 0, 0, 1, 44, 0, 4, 192, 0, 2, 1];
        for i in 0..10_000 {
            c.insert(
                &key(&format!("host{i}.example.com"), 1),
                parts(&body),
                300,
                t0,
            );
        }
        assert_eq!(c.len(), 10_000);
        let per_entry = c.memory_bytes() / c.len();
        println!(
            "cache: {per_entry} bytes per entry, slot {} bytes",
            std::mem::size_of::<Slot>()
        );
        assert!(per_entry < 200, "{per_entry} bytes per entry");
    }

    proptest::proptest! {
        /// The cache never holds more than its bound, and what it returns is
        /// always what was last stored under that key.
        #[test]
        fn bounded_and_consistent(ops in proptest::collection::vec((0u8..20, 0u16..3, 1u32..100, 0u64..200), 1..300)) {
            let t0 = Instant::now();
            let mut c = Cache::new(8, t0);
            let mut model: HashMap<(u8, u16), (Vec<u8>, u64, u32)> = HashMap::new();
            let mut now = 0u64;
            for (n, t, ttl, dt) in ops {
                now += dt / 10;
                let at = t0 + Duration::from_secs(now);
                let k = key(&format!("n{n}"), t);
                if dt % 3 == 0 {
                    let body = vec![n, t as u8, ttl as u8];
                    c.insert(&k, parts(&body), ttl, at);
                    model.insert((n, t), (body, now, ttl));
                } else if let Some(hit) = c.get(&k, at) {
                    let (body, stored, mttl) = model.get(&(n, t)).unwrap();
                    proptest::prop_assert_eq!(hit.answer.body, &body[..]);
                    proptest::prop_assert_eq!(u64::from(hit.age), now - stored);
                    proptest::prop_assert!(u64::from(hit.age) < u64::from(*mttl));
                }
                proptest::prop_assert!(c.len() <= 8);
            }
        }
    }
}
