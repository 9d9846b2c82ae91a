//! The U-Boot environment block, as `env export -c` writes it and `env
//! import -c` reads it: a little-endian CRC-32 (IEEE 802.3, the one of
//! zlib) of the rest of the block, then `key=value` entries each ended by a
//! NUL, an empty entry (a second NUL) after the last, and padding to the
//! block size. A block whose CRC does not match is refused whole: the boot
//! script then takes the other copy, so a write cut by a power loss can
//! never be half-read.
//!
//! Pure codec, no I/O; [`crate::device`] reads and writes the copies.

use std::fmt;

/// Why a block is not a valid environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvError {
    /// Shorter than the CRC and one terminator.
    TooShort(usize),
    /// The stored CRC differs from the data's.
    BadCrc { stored: u32, computed: u32 },
    /// An entry without `=`, or not UTF-8, or no terminating empty entry.
    Malformed(String),
    /// The entries do not fit the block (when writing).
    TooBig { need: usize, size: usize },
    /// A name with `=` or NUL, or a value with NUL (when setting).
    BadName(String),
}

impl fmt::Display for EnvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EnvError::TooShort(n) => write!(f, "environment block of {n} bytes is too short"),
            EnvError::BadCrc { stored, computed } => write!(
                f,
                "environment CRC mismatch (stored {stored:#010x}, data {computed:#010x})"
            ),
            EnvError::Malformed(why) => write!(f, "environment malformed: {why}"),
            EnvError::TooBig { need, size } => {
                write!(f, "environment needs {need} bytes, the block has {size}")
            }
            EnvError::BadName(n) => write!(f, "invalid environment entry {n:?}"),
        }
    }
}

impl std::error::Error for EnvError {}

/// CRC-32 as zlib computes it (reflected polynomial 0xedb88320, initial
/// and final XOR 0xffffffff). Bitwise: the environment is a few KiB read
/// once per command, a table would only cost flash.
pub fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = (crc >> 1) ^ (0xedb8_8320 & (crc & 1).wrapping_neg());
        }
    }
    !crc
}

/// The variables of one environment, in their order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Env {
    vars: Vec<(String, String)>,
}

impl Env {
    /// Decodes a whole block (CRC checked).
    pub fn decode(block: &[u8]) -> Result<Env, EnvError> {
        if block.len() < 6 {
            return Err(EnvError::TooShort(block.len()));
        }
        let (crc, data) = block.split_at(4);
        let stored = u32::from_le_bytes([crc[0], crc[1], crc[2], crc[3]]);
        let computed = crc32(data);
        if stored != computed {
            return Err(EnvError::BadCrc { stored, computed });
        }
        let mut vars = Vec::new();
        let mut rest = data;
        loop {
            let Some(end) = rest.iter().position(|&b| b == 0) else {
                return Err(EnvError::Malformed("no terminating NUL".into()));
            };
            if end == 0 {
                break;
            }
            let entry = std::str::from_utf8(&rest[..end])
                .map_err(|_| EnvError::Malformed("an entry is not UTF-8".into()))?;
            let Some((k, v)) = entry.split_once('=') else {
                return Err(EnvError::Malformed(format!("entry {entry:?} has no '='")));
            };
            if k.is_empty() {
                return Err(EnvError::Malformed(format!("entry {entry:?} has no name")));
            }
            vars.push((k.to_string(), v.to_string()));
            rest = &rest[end + 1..];
        }
        Ok(Env { vars })
    }

    /// Encodes into a block of `size` bytes (CRC, entries, zero padding).
    pub fn encode(&self, size: usize) -> Result<Vec<u8>, EnvError> {
        let mut block = vec![0u8; 4];
        for (k, v) in &self.vars {
            block.extend_from_slice(k.as_bytes());
            block.push(b'=');
            block.extend_from_slice(v.as_bytes());
            block.push(0);
        }
        block.push(0);
        if block.len() > size {
            return Err(EnvError::TooBig {
                need: block.len(),
                size,
            });
        }
        block.resize(size, 0);
        let crc = crc32(&block[4..]);
        block[..4].copy_from_slice(&crc.to_le_bytes());
        Ok(block)
    }

    /// The value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Sets `name` to `value` (kept in place if present, else appended).
    pub fn set(&mut self, name: &str, value: &str) -> Result<(), EnvError> {
        if name.is_empty() || name.contains(['=', '\0']) || value.contains('\0') {
            return Err(EnvError::BadName(format!("{name}={value}")));
        }
        match self.vars.iter_mut().find(|(k, _)| k == name) {
            Some((_, v)) => *v = value.to_string(),
            None => self.vars.push((name.to_string(), value.to_string())),
        }
        Ok(())
    }

    /// Removes `name` (U-Boot's `setenv name` with no value).
    pub fn remove(&mut self, name: &str) {
        self.vars.retain(|(k, _)| k != name);
    }

    /// All variables, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.vars.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_check_value() {
        // The CRC-32 check value of the catalogue of parametrised CRCs.
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
        assert_eq!(crc32(b""), 0);
    }

    /// A block as U-Boot 2023.01's `env export -c -s 0x40 ADDR slot
    /// bootcount` writes it (bytes laid out by hand from the format).
    #[test]
    fn decodes_a_uboot_block() {
        let mut block = vec![0u8; 0x40];
        let data = b"bootcount=2\0slot=b\0\0";
        block[4..4 + data.len()].copy_from_slice(data);
        let crc = crc32(&block[4..]);
        block[..4].copy_from_slice(&crc.to_le_bytes());
        let env = Env::decode(&block).expect("valid block");
        assert_eq!(env.get("slot"), Some("b"));
        assert_eq!(env.get("bootcount"), Some("2"));
        assert_eq!(env.get("bootlimit"), None);
        assert_eq!(env.encode(0x40).expect("fits"), block);
    }

    #[test]
    fn round_trip_and_set() {
        let mut env = Env::default();
        env.set("slot", "a").unwrap();
        env.set("upgrade_available", "0").unwrap();
        env.set("slot", "b").unwrap();
        env.remove("upgrade_available");
        env.set("empty", "").unwrap();
        let block = env.encode(4096).unwrap();
        assert_eq!(block.len(), 4096);
        let back = Env::decode(&block).unwrap();
        assert_eq!(back, env);
        assert_eq!(
            back.iter().collect::<Vec<_>>(),
            [("slot", "b"), ("empty", "")]
        );
    }

    #[test]
    fn every_flipped_bit_is_refused() {
        let mut env = Env::default();
        env.set("slot", "b").unwrap();
        env.set("upgrade_available", "1").unwrap();
        let block = env.encode(64).unwrap();
        for i in 0..block.len() * 8 {
            let mut bad = block.clone();
            bad[i / 8] ^= 1 << (i % 8);
            assert!(
                matches!(Env::decode(&bad), Err(EnvError::BadCrc { .. })),
                "bit {i}"
            );
        }
    }

    #[test]
    fn torn_write_and_erased_blocks_are_refused() {
        let mut env = Env::default();
        env.set("slot", "b").unwrap();
        let new = env.encode(4096).unwrap();
        // The first 512-byte sector of the new block over an old one.
        let mut old_env = Env::default();
        old_env.set("slot", "a").unwrap();
        old_env.set("version_a", "x".repeat(600).as_str()).unwrap();
        let mut torn = old_env.encode(4096).unwrap();
        torn[..512].copy_from_slice(&new[..512]);
        assert!(Env::decode(&torn).is_err());
        assert!(Env::decode(&[0u8; 4096]).is_err(), "erased eMMC (zeros)");
        assert!(Env::decode(&[0xffu8; 4096]).is_err(), "erased NOR (0xff)");
        assert_eq!(Env::decode(&[0u8; 3]), Err(EnvError::TooShort(3)));
    }

    #[test]
    fn malformed_and_oversized() {
        let mut block = vec![0u8; 32];
        block[4..9].copy_from_slice(b"novar");
        let crc = crc32(&block[4..]);
        block[..4].copy_from_slice(&crc.to_le_bytes());
        assert!(matches!(Env::decode(&block), Err(EnvError::Malformed(_))));
        let mut env = Env::default();
        env.set("k", &"v".repeat(100)).unwrap();
        assert!(matches!(env.encode(64), Err(EnvError::TooBig { .. })));
        assert!(env.set("a=b", "c").is_err());
        assert!(env.set("a", "c\0").is_err());
    }
}
