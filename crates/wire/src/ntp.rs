//! NTP packet header (RFC 5905 section 7.3), as an SNTP client (RFC 4330)
//! sends and reads it.
//!
//! A message is the fixed 48-octet header. Extension fields and a MAC may
//! follow in what a server sends (RFC 7822); the router authenticates
//! nothing and uses none of them, so [`Message::decode`] accepts and ignores
//! anything after the header, and [`Message::encode`] writes the header
//! alone (what RFC 4330 section 5 says a client sends).
//!
//! Decoding is strict on the few things that make the header meaningless:
//! fewer than 48 octets (`too_short`), and a version outside 1..=4
//! (`bad_version`: version 0 is not NTP, 5-7 are not defined). Everything
//! else (leap, mode, stratum, timestamps) is a value the client judges
//! (RFC 4330 section 5: mode, stratum 0 = Kiss-o'-Death, leap 3 =
//! unsynchronised, zero transmit timestamp), so it decodes to the typed
//! value and the engine decides, with a counter of its own.

use std::fmt;
use std::time::Duration;

/// UDP port of NTP servers (RFC 5905 section 7.2).
pub const PORT: u16 = 123;
/// Octets of the header.
pub const HEADER_LEN: usize = 48;
/// The version the client sends (RFC 5905: NTPv4).
pub const VERSION: u8 = 4;
/// Seconds from the NTP prime epoch (1900-01-01) to the Unix epoch.
pub const UNIX_OFFSET: u64 = 2_208_988_800;

/// The leap indicator: a warning of a leap second, or "unsynchronised".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Leap {
    /// 0: no warning.
    NoWarning,
    /// 1: the last minute of the day has 61 seconds.
    AddSecond,
    /// 2: the last minute of the day has 59 seconds.
    DeleteSecond,
    /// 3: the server's clock is not synchronised (alarm condition).
    Unsynchronised,
}

impl Leap {
    fn from_bits(v: u8) -> Leap {
        match v & 3 {
            0 => Leap::NoWarning,
            1 => Leap::AddSecond,
            2 => Leap::DeleteSecond,
            _ => Leap::Unsynchronised,
        }
    }

    fn bits(self) -> u8 {
        match self {
            Leap::NoWarning => 0,
            Leap::AddSecond => 1,
            Leap::DeleteSecond => 2,
            Leap::Unsynchronised => 3,
        }
    }
}

/// The association mode (RFC 5905 figure 10).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    /// 0: reserved.
    Reserved,
    /// 1: symmetric active.
    SymmetricActive,
    /// 2: symmetric passive.
    SymmetricPassive,
    /// 3: client (what we send).
    Client,
    /// 4: server (the only reply a client accepts).
    Server,
    /// 5: broadcast.
    Broadcast,
    /// 6: NTP control message.
    Control,
    /// 7: reserved for private use.
    Private,
}

impl Mode {
    fn from_bits(v: u8) -> Mode {
        match v & 7 {
            0 => Mode::Reserved,
            1 => Mode::SymmetricActive,
            2 => Mode::SymmetricPassive,
            3 => Mode::Client,
            4 => Mode::Server,
            5 => Mode::Broadcast,
            6 => Mode::Control,
            _ => Mode::Private,
        }
    }

    fn bits(self) -> u8 {
        match self {
            Mode::Reserved => 0,
            Mode::SymmetricActive => 1,
            Mode::SymmetricPassive => 2,
            Mode::Client => 3,
            Mode::Server => 4,
            Mode::Broadcast => 5,
            Mode::Control => 6,
            Mode::Private => 7,
        }
    }
}

/// A 64-bit NTP timestamp: seconds since 1900 (modulo the 136-year era)
/// and a binary fraction of a second.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Timestamp(pub u64);

impl Timestamp {
    /// The zero timestamp, which RFC 5905 reserves for "unknown".
    pub const ZERO: Timestamp = Timestamp(0);

    /// The timestamp of a time since the Unix epoch (era 0 until 2036,
    /// then era 1, per RFC 4330 section 3's rule).
    pub fn from_unix(since_epoch: Duration) -> Timestamp {
        let secs = since_epoch.as_secs().wrapping_add(UNIX_OFFSET) & 0xffff_ffff;
        let frac = (u64::from(since_epoch.subsec_nanos()) << 32) / 1_000_000_000;
        Timestamp((secs << 32) | frac)
    }

    /// The time since the Unix epoch, taking a timestamp whose top bit is
    /// clear as era 1 (after 2036-02-07) as RFC 4330 section 3 does; `None`
    /// for a time before 1970.
    pub fn to_unix(self) -> Option<Duration> {
        let secs = self.0 >> 32;
        let secs = if secs & 0x8000_0000 == 0 {
            secs + (1 << 32)
        } else {
            secs
        };
        let nanos = ((self.0 & 0xffff_ffff) * 1_000_000_000) >> 32;
        let secs = secs.checked_sub(UNIX_OFFSET)?;
        Some(Duration::new(secs, u32::try_from(nanos).unwrap_or(0)))
    }

    /// `self - earlier` in nanoseconds, read as the shortest way round the
    /// era (valid while the two are within 68 years of each other, which
    /// covers a router whose clock starts at 1970).
    pub fn minus_nanos(self, earlier: Timestamp) -> i64 {
        let diff = self.0.wrapping_sub(earlier.0) as i64;
        ((i128::from(diff) * 1_000_000_000) >> 32) as i64
    }
}

/// An NTP header.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Message {
    /// Leap indicator.
    pub leap: Leap,
    /// Version number, 1..=4.
    pub version: u8,
    /// Association mode.
    pub mode: Mode,
    /// 0 = unspecified or Kiss-o'-Death, 1 = primary, 2..=15 secondary,
    /// 16 = unsynchronised.
    pub stratum: u8,
    /// Poll exponent (log2 seconds).
    pub poll: i8,
    /// Precision exponent (log2 seconds).
    pub precision: i8,
    /// Root delay, NTP short format (16.16 seconds).
    pub root_delay: u32,
    /// Root dispersion, NTP short format.
    pub root_dispersion: u32,
    /// Reference ID: the kiss code in ASCII when stratum is 0, the
    /// refclock's name at stratum 1, the server's IPv4 address or the first
    /// four octets of the MD5 of its IPv6 address above.
    pub reference_id: [u8; 4],
    /// When the server's clock was last set.
    pub reference: Timestamp,
    /// The request's transmit timestamp, echoed (T1 as the client sent it).
    pub origin: Timestamp,
    /// When the request arrived at the server (T2).
    pub receive: Timestamp,
    /// When the reply left the server (T3).
    pub transmit: Timestamp,
}

impl Message {
    /// A client request (RFC 4330 section 5: every field zero except
    /// version, mode and the transmit timestamp).
    pub fn request(transmit: Timestamp) -> Message {
        Message {
            leap: Leap::NoWarning,
            version: VERSION,
            mode: Mode::Client,
            stratum: 0,
            poll: 0,
            precision: 0,
            root_delay: 0,
            root_dispersion: 0,
            reference_id: [0; 4],
            reference: Timestamp::ZERO,
            origin: Timestamp::ZERO,
            receive: Timestamp::ZERO,
            transmit,
        }
    }

    /// The kiss code of a Kiss-o'-Death packet (stratum 0), e.g. `RATE`.
    pub fn kiss_code(&self) -> Option<[u8; 4]> {
        (self.stratum == 0).then_some(self.reference_id)
    }

    /// Decodes a header; octets after the 48th are ignored (see the module
    /// docs).
    pub fn decode(buf: &[u8]) -> Result<Message, DecodeError> {
        let h: &[u8; HEADER_LEN] = buf
            .get(..HEADER_LEN)
            .and_then(|s| s.try_into().ok())
            .ok_or(DecodeError::TooShort(buf.len()))?;
        let version = (h[0] >> 3) & 7;
        if !(1..=4).contains(&version) {
            return Err(DecodeError::BadVersion(version));
        }
        let u32_at = |i: usize| u32::from_be_bytes([h[i], h[i + 1], h[i + 2], h[i + 3]]);
        let ts_at = |i: usize| Timestamp((u64::from(u32_at(i)) << 32) | u64::from(u32_at(i + 4)));
        Ok(Message {
            leap: Leap::from_bits(h[0] >> 6),
            version,
            mode: Mode::from_bits(h[0]),
            stratum: h[1],
            poll: h[2] as i8,
            precision: h[3] as i8,
            root_delay: u32_at(4),
            root_dispersion: u32_at(8),
            reference_id: [h[12], h[13], h[14], h[15]],
            reference: ts_at(16),
            origin: ts_at(24),
            receive: ts_at(32),
            transmit: ts_at(40),
        })
    }

    /// Appends the 48-octet header to `out`. The version is written as its
    /// three bits (a value above 7 loses its high bits).
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        out.push((self.leap.bits() << 6) | ((self.version & 7) << 3) | self.mode.bits());
        out.push(self.stratum);
        out.push(self.poll as u8);
        out.push(self.precision as u8);
        out.extend_from_slice(&self.root_delay.to_be_bytes());
        out.extend_from_slice(&self.root_dispersion.to_be_bytes());
        out.extend_from_slice(&self.reference_id);
        for ts in [self.reference, self.origin, self.receive, self.transmit] {
            out.extend_from_slice(&ts.0.to_be_bytes());
        }
        Ok(())
    }

    /// The encoded header as a new buffer.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_LEN);
        match self.encode(&mut out) {
            Ok(()) => out,
            Err(e) => match e {},
        }
    }
}

/// Why a received datagram is not an NTP header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodeError {
    /// Fewer than 48 octets (the length received).
    TooShort(usize),
    /// Version 0 or 5..=7.
    BadVersion(u8),
}

impl DecodeError {
    /// The stable drop-counter key.
    pub fn reason(&self) -> &'static str {
        match self {
            DecodeError::TooShort(_) => "too_short",
            DecodeError::BadVersion(_) => "bad_version",
        }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::TooShort(n) => write!(f, "{n} octets, an NTP header has {HEADER_LEN}"),
            DecodeError::BadVersion(v) => write!(f, "NTP version {v} (1 to 4 understood)"),
        }
    }
}

impl std::error::Error for DecodeError {}

/// Encoding an NTP header cannot fail; the alias keeps the codec shape
/// (`encode(..) -> Result<(), EncodeError>`) without a type of its own.
pub type EncodeError = std::convert::Infallible;

#[cfg(test)]
mod tests {
    use super::*;

    /// A server reply laid out by hand from RFC 5905 figure 8: stratum 3,
    /// poll 6, precision -23, timestamps in 2024.
    fn server_reply() -> Vec<u8> {
        let mut b = vec![
            0x24, 3, 6, 0xe9, // LI 0, VN 4, mode 4; stratum 3; poll 6; precision -23
            0, 0, 0, 0x10, 0, 0, 0, 0x20, // root delay, dispersion
            192, 0, 2, 1, // reference id
        ];
        for ts in [
            0xe9a1_0000_0000_0000u64,
            0xe9a1_0001_8000_0000,
            0xe9a1_0002_0000_0000,
            0xe9a1_0002_0100_0000,
        ] {
            b.extend_from_slice(&ts.to_be_bytes());
        }
        b
    }

    #[test]
    fn a_server_reply_decodes_field_by_field_and_re_encodes_exactly() {
        let bytes = server_reply();
        let m = Message::decode(&bytes).unwrap();
        assert_eq!(m.leap, Leap::NoWarning);
        assert_eq!(m.version, 4);
        assert_eq!(m.mode, Mode::Server);
        assert_eq!(m.stratum, 3);
        assert_eq!((m.poll, m.precision), (6, -23));
        assert_eq!(m.reference_id, [192, 0, 2, 1]);
        assert_eq!(m.origin, Timestamp(0xe9a1_0001_8000_0000));
        assert_eq!(m.transmit, Timestamp(0xe9a1_0002_0100_0000));
        assert_eq!(m.kiss_code(), None);
        assert_eq!(m.to_bytes(), bytes);
    }

    #[test]
    fn extension_fields_are_ignored_and_short_or_bad_versions_rejected() {
        let mut bytes = server_reply();
        bytes.extend_from_slice(&[0, 4, 0, 16, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
        assert_eq!(Message::decode(&bytes).unwrap().to_bytes().len(), 48);
        let e = Message::decode(&bytes[..47]).unwrap_err();
        assert_eq!((e, e.reason()), (DecodeError::TooShort(47), "too_short"));
        for version in [0u8, 5, 7] {
            let mut b = server_reply();
            b[0] = (b[0] & !0x38) | (version << 3);
            assert_eq!(Message::decode(&b), Err(DecodeError::BadVersion(version)));
        }
        let mut v3 = server_reply();
        v3[0] = 0x1c;
        assert_eq!(Message::decode(&v3).unwrap().version, 3);
    }

    #[test]
    fn a_kiss_of_death_carries_its_code_in_the_reference_id() {
        let mut b = server_reply();
        b[0] = 0xe4; // LI 3, VN 4, mode 4
        b[1] = 0;
        b[12..16].copy_from_slice(b"RATE");
        let m = Message::decode(&b).unwrap();
        assert_eq!(m.leap, Leap::Unsynchronised);
        assert_eq!(m.kiss_code(), Some(*b"RATE"));
    }

    #[test]
    fn a_request_is_version_4_client_mode_with_only_the_transmit_timestamp() {
        let b = Message::request(Timestamp(0x0102_0304_0506_0708)).to_bytes();
        assert_eq!(b.len(), 48);
        assert_eq!(b[0], 0x23);
        assert!(b[1..40].iter().all(|&x| x == 0));
        assert_eq!(&b[40..], &[1, 2, 3, 4, 5, 6, 7, 8]);
    }

    #[test]
    fn unix_time_converts_both_ways_across_the_2036_era_boundary() {
        for secs in [
            0u64,
            1_764_000_000,
            2_085_978_495,
            2_085_978_496,
            3_000_000_000,
        ] {
            let d = Duration::new(secs, 500_000_000);
            let back = Timestamp::from_unix(d).to_unix().unwrap();
            assert_eq!(back.as_secs(), secs, "{secs}");
            assert!(back.subsec_nanos().abs_diff(500_000_000) <= 1);
        }
        // 1970 and 2026 are 56 years apart: the difference is still right.
        let a = Timestamp::from_unix(Duration::from_secs(0));
        let b = Timestamp::from_unix(Duration::from_secs(1_764_000_000));
        assert_eq!(b.minus_nanos(a), 1_764_000_000 * 1_000_000_000);
        assert_eq!(a.minus_nanos(b), -1_764_000_000 * 1_000_000_000);
        let half = Timestamp(0x8000_0000);
        assert_eq!(half.minus_nanos(Timestamp::ZERO), 500_000_000);
    }
}
