//! Unpredictable query IDs and source ports.
//!
//! DNS cache poisoning (Kaminsky, and the DNSpooq CVEs in dnsmasq) works by
//! guessing the ID and source port of an outstanding upstream query. Both
//! therefore come from a ChaCha20 keystream (RFC 8439 block function) keyed
//! with 32 bytes the driver reads once from the kernel (`getrandom`). A
//! keystream generator is ~60 lines, needs no crate, and is as unpredictable
//! as its key; the engine stays deterministic under test with a fixed key.

/// ChaCha20-based random source.
pub struct Rng {
    key: [u32; 8],
    counter: u64,
    block: [u8; 64],
    used: usize,
}

fn quarter(s: &mut [u32; 16], a: usize, b: usize, c: usize, d: usize) {
    s[a] = s[a].wrapping_add(s[b]);
    s[d] = (s[d] ^ s[a]).rotate_left(16);
    s[c] = s[c].wrapping_add(s[d]);
    s[b] = (s[b] ^ s[c]).rotate_left(12);
    s[a] = s[a].wrapping_add(s[b]);
    s[d] = (s[d] ^ s[a]).rotate_left(8);
    s[c] = s[c].wrapping_add(s[d]);
    s[b] = (s[b] ^ s[c]).rotate_left(7);
}

/// The RFC 8439 2.3 block function.
fn chacha20_block(key: &[u32; 8], counter: u32, nonce: [u32; 3]) -> [u8; 64] {
    let mut init = [0u32; 16];
    init[..4].copy_from_slice(&[0x6170_7865, 0x3320_646e, 0x7962_2d32, 0x6b20_6574]);
    init[4..12].copy_from_slice(key);
    init[12] = counter;
    init[13..16].copy_from_slice(&nonce);
    let mut s = init;
    for _ in 0..10 {
        quarter(&mut s, 0, 4, 8, 12);
        quarter(&mut s, 1, 5, 9, 13);
        quarter(&mut s, 2, 6, 10, 14);
        quarter(&mut s, 3, 7, 11, 15);
        quarter(&mut s, 0, 5, 10, 15);
        quarter(&mut s, 1, 6, 11, 12);
        quarter(&mut s, 2, 7, 8, 13);
        quarter(&mut s, 3, 4, 9, 14);
    }
    let mut out = [0u8; 64];
    for (i, chunk) in out.chunks_exact_mut(4).enumerate() {
        chunk.copy_from_slice(&s[i].wrapping_add(init[i]).to_le_bytes());
    }
    out
}

impl Rng {
    /// A generator keyed with `seed` (32 bytes from the kernel in production,
    /// a constant in tests).
    pub fn from_seed(seed: [u8; 32]) -> Rng {
        let mut key = [0u32; 8];
        for (k, c) in key.iter_mut().zip(seed.chunks_exact(4)) {
            *k = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        }
        Rng {
            key,
            counter: 0,
            block: [0; 64],
            used: 64,
        }
    }

    fn refill(&mut self) {
        // 64-bit block counter split over the counter word and the first
        // nonce word, so the stream never repeats in the device's lifetime.
        let c = self.counter;
        self.block = chacha20_block(&self.key, c as u32, [(c >> 32) as u32, 0, 0]);
        self.counter = c.wrapping_add(1);
        self.used = 0;
    }

    /// Next 16 random bits.
    pub fn next_u16(&mut self) -> u16 {
        if self.used + 2 > self.block.len() {
            self.refill();
        }
        let v = u16::from_le_bytes([self.block[self.used], self.block[self.used + 1]]);
        self.used += 2;
        v
    }

    /// A source port in 1024..=65535, uniformly (rejection sampling).
    pub fn port(&mut self) -> u16 {
        loop {
            let p = self.next_u16();
            if p >= 1024 {
                return p;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_function_matches_rfc8439_vector() {
        // RFC 8439 2.3.2: key 00..1f, nonce 00:00:00:09 00:00:00:4a 00:00:00:00, counter 1.
        let mut seed = [0u8; 32];
        for (i, b) in seed.iter_mut().enumerate() {
            *b = i as u8;
        }
        let rng = Rng::from_seed(seed);
        let nonce = [0x0900_0000, 0x4a00_0000, 0];
        let out = chacha20_block(&rng.key, 1, nonce);
        assert_eq!(
            &out[..16],
            &[
                0x10, 0xf1, 0xe7, 0xe4, 0xd1, 0x3b, 0x59, 0x15, 0x50, 0x0f, 0xdd, 0x1f, 0xa3, 0x20,
                0x71, 0xc4
            ]
        );
        assert_eq!(&out[60..], &[0xa2, 0x50, 0x3c, 0x4e]);
    }

    #[test]
    fn ports_stay_in_range_and_ids_vary() {
        let mut r = Rng::from_seed([7; 32]);
        let mut seen = std::collections::HashSet::new();
        for _ in 0..1000 {
            let p = r.port();
            assert!(p >= 1024);
            seen.insert(r.next_u16());
        }
        assert!(seen.len() > 980, "{} distinct IDs", seen.len());
    }
}
