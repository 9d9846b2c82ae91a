//! The on-disk form of the prefixes remembered across restarts (RFC 9096
//! section 3.5), one small JSON file per LAN interface in `state_dir`.
//!
//! A file that cannot be read back (power cut on an old firmware, manual
//! edit) must not stop the RA sender: decoding failures fall back to
//! "nothing remembered", which only loses the deprecation of stale prefixes.

use ipnet::Ipv6Net;
use serde::{Deserialize, Serialize};

/// Format version written into the file.
const VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
struct File {
    version: u32,
    prefixes: Vec<Ipv6Net>,
}

/// Bytes to store for `prefixes`.
pub fn encode(prefixes: &[Ipv6Net]) -> Vec<u8> {
    let file = File {
        version: VERSION,
        prefixes: prefixes.to_vec(),
    };
    let mut out = serde_json::to_vec_pretty(&file).unwrap_or_default();
    out.push(b'\n');
    out
}

/// Prefixes from stored bytes; only /64s survive (nothing else is advertised).
pub fn decode(bytes: &[u8]) -> Result<Vec<Ipv6Net>, String> {
    let file: File = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    if file.version != VERSION {
        return Err(format!("unknown version {}", file.version));
    }
    Ok(file
        .prefixes
        .into_iter()
        .filter(|p| p.prefix_len() == 64)
        .map(|p| p.trunc())
        .collect())
}

/// File name for one interface's memory inside `state_dir`.
pub fn file_name(interface: &str) -> String {
    let safe: String = interface
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("ra-prefixes-{safe}.json")
}

#[cfg(test)]
mod tests {
    use std::net::Ipv6Addr;
    use std::time::Instant;

    use proptest::prelude::*;

    use super::*;
    use crate::prefixes::{LanPrefix, PrefixTable};

    proptest! {
        /// Whatever the table decides to remember (from any delegated
        /// prefixes, any length, host bits set or not) reads back as itself.
        #[test]
        fn what_the_table_remembers_reads_back(
            delegated in prop::collection::vec(
                (any::<u128>(), prop_oneof![Just(64u8), 0u8..=128], any::<bool>()),
                0..8,
            ),
        ) {
            let now = Instant::now();
            let current: Vec<LanPrefix> = delegated
                .into_iter()
                .filter_map(|(a, len, deprecated)| {
                    Some(LanPrefix {
                        prefix: Ipv6Net::new(Ipv6Addr::from(a), len).ok()?,
                        preferred_until: None,
                        valid_until: None,
                        deprecated,
                    })
                })
                .collect();
            let mut table = PrefixTable::with_remembered(&[]);
            table.update(&current, true, now);
            let remember = table.to_remember();
            let back = decode(&encode(&remember)).unwrap();
            prop_assert_eq!(&back, &remember);
            prop_assert_eq!(PrefixTable::with_remembered(&back).to_remember(), remember);
        }
    }

    #[test]
    fn round_trip_and_garbage() {
        let p: Vec<Ipv6Net> = vec!["2001:db8:1:1::/64".parse().unwrap()];
        assert_eq!(decode(&encode(&p)).unwrap(), p);
        assert!(decode(b"{").is_err());
        assert!(decode(br#"{"version":9,"prefixes":[]}"#).is_err());
        let mixed = br#"{"version":1,"prefixes":["2001:db8::/48","2001:db8:0:2::1/64"]}"#;
        assert_eq!(
            decode(mixed).unwrap(),
            vec!["2001:db8:0:2::/64".parse::<Ipv6Net>().unwrap()]
        );
        assert_eq!(file_name("br0"), "ra-prefixes-br0.json");
        assert_eq!(file_name("../x"), "ra-prefixes-.._x.json");
    }
}
