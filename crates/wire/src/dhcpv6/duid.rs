//! DHCP Unique Identifiers (RFC 8415 section 11).
//!
//! A DUID is opaque to servers, but the router creates its own and operators
//! read it on the console, so the known types get constructors and a
//! decomposition, and every DUID prints as colon-separated hex (the form Kea
//! and most server logs use).

use std::fmt;

/// Hardware type for Ethernet in DUID-LL/LLT (IANA ARP hardware types).
pub const HW_TYPE_ETHERNET: u16 = 1;

const TYPE_LLT: u16 = 1;
const TYPE_EN: u16 = 2;
const TYPE_LL: u16 = 3;
const TYPE_UUID: u16 = 4;

/// Seconds between the Unix epoch and the DUID-LLT epoch (2000-01-01 UTC).
const DUID_EPOCH_UNIX: u64 = 946_684_800;

/// DUID-LLT time field for a Unix time: seconds since 2000-01-01 UTC, mod 2^32.
pub fn duid_time_from_unix(unix_secs: u64) -> u32 {
    (unix_secs.saturating_sub(DUID_EPOCH_UNIX) & 0xffff_ffff) as u32
}

/// A validated DUID: 2-octet type plus 1..=128 octets of identifier.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Duid(Vec<u8>);

/// The structure of a DUID, borrowed from its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DuidKind<'a> {
    /// Link-layer address plus time (type 1).
    LinkLayerTime {
        /// IANA hardware type.
        hw_type: u16,
        /// Seconds since 2000-01-01 UTC mod 2^32.
        time: u32,
        /// Link-layer address (a MAC for Ethernet).
        link_addr: &'a [u8],
    },
    /// Vendor-assigned, by enterprise number (type 2).
    Enterprise {
        /// IANA private enterprise number.
        enterprise: u32,
        /// Vendor identifier.
        id: &'a [u8],
    },
    /// Link-layer address (type 3).
    LinkLayer {
        /// IANA hardware type.
        hw_type: u16,
        /// Link-layer address.
        link_addr: &'a [u8],
    },
    /// UUID-based (type 4, RFC 6355).
    Uuid(&'a [u8; 16]),
    /// A type this codec does not know; still a valid DUID.
    Other(u16),
}

/// Why bytes are not a valid DUID.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DuidError {
    /// Total length outside 3..=130 octets.
    BadLength,
    /// A known type whose body is too short (or a UUID not exactly 16 octets).
    BadBody,
    /// Text that is not hex pairs.
    BadHex,
}

impl fmt::Display for DuidError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::BadLength => "DUID length must be 3..=130 octets",
            Self::BadBody => "DUID body does not match its type",
            Self::BadHex => "DUID text must be hex octets",
        })
    }
}

impl std::error::Error for DuidError {}

impl Duid {
    /// Shortest DUID: type plus one octet.
    pub const MIN_LEN: usize = 3;
    /// Longest DUID: type plus 128 octets.
    pub const MAX_LEN: usize = 130;

    /// Validates raw DUID bytes (as carried in a Client/Server ID option).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DuidError> {
        if !(Self::MIN_LEN..=Self::MAX_LEN).contains(&bytes.len()) {
            return Err(DuidError::BadLength);
        }
        let d = Self(bytes.to_vec());
        let ok = match d.duid_type() {
            TYPE_LLT => bytes.len() > 8,
            TYPE_EN => bytes.len() > 6,
            TYPE_LL => bytes.len() > 4,
            TYPE_UUID => bytes.len() == 18,
            _ => true,
        };
        if ok { Ok(d) } else { Err(DuidError::BadBody) }
    }

    /// DUID-LL: stable as long as the WAN MAC is, and needs no clock, which a
    /// router without RTC lacks at boot. Our default.
    pub fn link_layer(hw_type: u16, link_addr: &[u8]) -> Result<Self, DuidError> {
        let mut b = Vec::with_capacity(4 + link_addr.len());
        b.extend_from_slice(&TYPE_LL.to_be_bytes());
        b.extend_from_slice(&hw_type.to_be_bytes());
        b.extend_from_slice(link_addr);
        Self::from_bytes(&b)
    }

    /// DUID-LLT, for deployments whose servers expect it.
    pub fn link_layer_time(hw_type: u16, time: u32, link_addr: &[u8]) -> Result<Self, DuidError> {
        let mut b = Vec::with_capacity(8 + link_addr.len());
        b.extend_from_slice(&TYPE_LLT.to_be_bytes());
        b.extend_from_slice(&hw_type.to_be_bytes());
        b.extend_from_slice(&time.to_be_bytes());
        b.extend_from_slice(link_addr);
        Self::from_bytes(&b)
    }

    /// DUID-EN from an enterprise number and a vendor identifier.
    pub fn enterprise(enterprise: u32, id: &[u8]) -> Result<Self, DuidError> {
        let mut b = Vec::with_capacity(6 + id.len());
        b.extend_from_slice(&TYPE_EN.to_be_bytes());
        b.extend_from_slice(&enterprise.to_be_bytes());
        b.extend_from_slice(id);
        Self::from_bytes(&b)
    }

    /// DUID-UUID: for links without a hardware address (a PPP interface).
    pub fn uuid(uuid: [u8; 16]) -> Self {
        let mut b = Vec::with_capacity(18);
        b.extend_from_slice(&TYPE_UUID.to_be_bytes());
        b.extend_from_slice(&uuid);
        Self(b)
    }

    /// The wire bytes (type included).
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The 2-octet DUID type code.
    pub fn duid_type(&self) -> u16 {
        match self.0.as_slice() {
            [a, b, ..] => u16::from_be_bytes([*a, *b]),
            _ => 0,
        }
    }

    /// Decomposes a known DUID type; `Other` for the rest.
    pub fn kind(&self) -> DuidKind<'_> {
        let b = self.0.as_slice();
        let be16 = |i: usize| b.get(i..i + 2).map(|s| u16::from_be_bytes([s[0], s[1]]));
        let be32 = |i: usize| {
            b.get(i..i + 4)
                .map(|s| u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
        };
        let t = self.duid_type();
        match t {
            TYPE_LLT => match (be16(2), be32(4), b.get(8..)) {
                (Some(hw_type), Some(time), Some(link_addr)) => DuidKind::LinkLayerTime {
                    hw_type,
                    time,
                    link_addr,
                },
                _ => DuidKind::Other(t),
            },
            TYPE_EN => match (be32(2), b.get(6..)) {
                (Some(enterprise), Some(id)) => DuidKind::Enterprise { enterprise, id },
                _ => DuidKind::Other(t),
            },
            TYPE_LL => match (be16(2), b.get(4..)) {
                (Some(hw_type), Some(link_addr)) => DuidKind::LinkLayer { hw_type, link_addr },
                _ => DuidKind::Other(t),
            },
            TYPE_UUID => match b.get(2..).and_then(|s| <&[u8; 16]>::try_from(s).ok()) {
                Some(u) => DuidKind::Uuid(u),
                None => DuidKind::Other(t),
            },
            _ => DuidKind::Other(t),
        }
    }

    /// Colon-separated lowercase hex, e.g. `00:03:00:01:02:00:00:00:00:01`.
    pub fn to_hex(&self) -> String {
        self.to_string()
    }

    /// Parses hex with or without `:` or `-` separators (what operators paste).
    pub fn from_hex(text: &str) -> Result<Self, DuidError> {
        let digits: Vec<u8> = text.bytes().filter(|c| *c != b':' && *c != b'-').collect();
        if !digits.len().is_multiple_of(2) {
            return Err(DuidError::BadHex);
        }
        let nibble = |c: u8| (c as char).to_digit(16).ok_or(DuidError::BadHex);
        let mut bytes = Vec::with_capacity(digits.len() / 2);
        for pair in digits.chunks_exact(2) {
            if let [hi, lo] = pair {
                bytes.push((nibble(*hi)? << 4 | nibble(*lo)?) as u8);
            }
        }
        Self::from_bytes(&bytes)
    }
}

impl fmt::Display for Duid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, b) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(":")?;
            }
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Duid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Duid({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_layer_duid_layout_and_hex() {
        let d = Duid::link_layer(HW_TYPE_ETHERNET, &[2, 0, 0, 0, 0, 1]).unwrap();
        assert_eq!(d.as_bytes(), &[0, 3, 0, 1, 2, 0, 0, 0, 0, 1]);
        assert_eq!(d.to_hex(), "00:03:00:01:02:00:00:00:00:01");
        assert_eq!(Duid::from_hex("0003000102000000-0001").unwrap(), d);
        assert_eq!(
            d.kind(),
            DuidKind::LinkLayer {
                hw_type: 1,
                link_addr: &[2, 0, 0, 0, 0, 1]
            }
        );
    }

    #[test]
    fn llt_time_is_since_2000() {
        assert_eq!(duid_time_from_unix(946_684_800), 0);
        assert_eq!(duid_time_from_unix(946_684_801), 1);
        assert_eq!(duid_time_from_unix(0), 0);
        let d = Duid::link_layer_time(1, 7, &[1, 2, 3, 4, 5, 6]).unwrap();
        assert!(matches!(d.kind(), DuidKind::LinkLayerTime { time: 7, .. }));
    }

    #[test]
    fn rejects_bad_duids() {
        assert_eq!(Duid::from_bytes(&[0, 3]), Err(DuidError::BadLength));
        assert_eq!(Duid::from_bytes(&[0; 131]), Err(DuidError::BadLength));
        assert_eq!(Duid::from_bytes(&[0, 4, 1, 2]), Err(DuidError::BadBody));
        assert_eq!(
            Duid::from_bytes(&[0, 1, 0, 1, 0, 0, 0, 0]),
            Err(DuidError::BadBody)
        );
        assert_eq!(Duid::from_hex("0g"), Err(DuidError::BadHex));
        assert_eq!(Duid::from_hex("000"), Err(DuidError::BadHex));
        assert!(Duid::from_bytes(&[0xff, 0xff, 1]).is_ok());
        assert_eq!(Duid::uuid([7; 16]).kind(), DuidKind::Uuid(&[7; 16]));
    }

    proptest::proptest! {
        /// The DUID files of the DHCPv6 client and server (`{duid}\n`, read
        /// with `from_hex` after trimming) and the client's lease file hold
        /// every DUID the decoder accepts, so the same bound applies on the
        /// wire and on flash.
        #[test]
        fn every_accepted_duid_round_trips_through_its_text(
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..=Duid::MAX_LEN + 2),
            uuid in proptest::prelude::any::<[u8; 16]>(),
        ) {
            for d in Duid::from_bytes(&bytes).into_iter().chain([Duid::uuid(uuid)]) {
                let file = format!("{d}\n");
                proptest::prop_assert_eq!(Duid::from_hex(file.trim()), Ok(d.clone()));
                proptest::prop_assert_eq!(Duid::from_bytes(d.as_bytes()), Ok(d));
            }
        }
    }
}
