//! The IANA registries the router reads in DNS messages, as typed values.
//!
//! A record type or response code is a number on the wire and any number
//! may arrive, so each enum has an arm for the values it does not name.
//! [`Rtype::from_u16`] and [`Rcode::from_u16`] are the only way in from the
//! wire: they never put a named value into the `Unknown`/`Other` arm, so
//! equality and hashing (cache keys) see one value per wire number.

use std::fmt;

/// A resource record type (RFC 1035 3.2.2, IANA "Resource Record (RR)
/// TYPEs"). Also used for QTYPE, which is a superset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Rtype {
    /// IPv4 address.
    A,
    /// Name server.
    Ns,
    /// Canonical name.
    Cname,
    /// Start of authority (negative caching, RFC 2308).
    Soa,
    /// Reverse pointer.
    Ptr,
    /// Mail exchanger.
    Mx,
    /// Text.
    Txt,
    /// IPv6 address (RFC 3596).
    Aaaa,
    /// Service location (RFC 2782).
    Srv,
    /// EDNS0 pseudo record (RFC 6891).
    Opt,
    /// Incremental zone transfer (refused: not a forwarder's job).
    Ixfr,
    /// Zone transfer (refused).
    Axfr,
    /// QTYPE `*`: every type the server has (RFC 1035 3.2.3).
    Any,
    /// Any other value, kept as received.
    Unknown(u16),
}

impl Rtype {
    /// Maps the wire value.
    pub fn from_u16(v: u16) -> Rtype {
        match v {
            1 => Rtype::A,
            2 => Rtype::Ns,
            5 => Rtype::Cname,
            6 => Rtype::Soa,
            12 => Rtype::Ptr,
            15 => Rtype::Mx,
            16 => Rtype::Txt,
            28 => Rtype::Aaaa,
            33 => Rtype::Srv,
            41 => Rtype::Opt,
            251 => Rtype::Ixfr,
            252 => Rtype::Axfr,
            255 => Rtype::Any,
            other => Rtype::Unknown(other),
        }
    }

    /// The wire value.
    pub fn to_u16(self) -> u16 {
        match self {
            Rtype::A => 1,
            Rtype::Ns => 2,
            Rtype::Cname => 5,
            Rtype::Soa => 6,
            Rtype::Ptr => 12,
            Rtype::Mx => 15,
            Rtype::Txt => 16,
            Rtype::Aaaa => 28,
            Rtype::Srv => 33,
            Rtype::Opt => 41,
            Rtype::Ixfr => 251,
            Rtype::Axfr => 252,
            Rtype::Any => 255,
            Rtype::Unknown(v) => v,
        }
    }

    /// Where the RDATA holds domain names that a sender may compress: only
    /// the RFC 1035 types (RFC 3597 4). Returns the octets before the
    /// names, how many names follow, and the fixed octets after them.
    pub(crate) fn compressible_rdata(self) -> Option<(usize, usize, usize)> {
        match self.to_u16() {
            // NS, MD, MF, CNAME, MB, MG, MR, PTR: one name.
            2..=5 | 7..=9 | 12 => Some((0, 1, 0)),
            // SOA: MNAME, RNAME, then five 32-bit fields.
            6 => Some((0, 2, 20)),
            // MINFO: RMAILBX, EMAILBX.
            14 => Some((0, 2, 0)),
            // MX: preference, exchange.
            15 => Some((2, 1, 0)),
            _ => None,
        }
    }
}

impl From<u16> for Rtype {
    fn from(v: u16) -> Rtype {
        Rtype::from_u16(v)
    }
}

impl From<Rtype> for u16 {
    fn from(t: Rtype) -> u16 {
        t.to_u16()
    }
}

impl fmt::Display for Rtype {
    /// The mnemonic, or `TYPEnnn` for unnamed values (RFC 3597 5).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            Rtype::A => "A",
            Rtype::Ns => "NS",
            Rtype::Cname => "CNAME",
            Rtype::Soa => "SOA",
            Rtype::Ptr => "PTR",
            Rtype::Mx => "MX",
            Rtype::Txt => "TXT",
            Rtype::Aaaa => "AAAA",
            Rtype::Srv => "SRV",
            Rtype::Opt => "OPT",
            Rtype::Ixfr => "IXFR",
            Rtype::Axfr => "AXFR",
            Rtype::Any => "ANY",
            Rtype::Unknown(v) => return write!(f, "TYPE{v}"),
        };
        f.write_str(name)
    }
}

/// A response code (RFC 1035 4.1.1; values above 15 need the EDNS extended
/// RCODE, RFC 6891 6.1.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Rcode {
    /// No error.
    NoError,
    /// Format error: the query could not be interpreted.
    FormErr,
    /// Server failure: no upstream answered.
    ServFail,
    /// The name does not exist.
    NxDomain,
    /// Opcode not implemented.
    NotImp,
    /// Refused by policy.
    Refused,
    /// Any other value, kept as received.
    Other(u16),
}

impl Rcode {
    /// Maps the wire value.
    pub fn from_u16(v: u16) -> Rcode {
        match v {
            0 => Rcode::NoError,
            1 => Rcode::FormErr,
            2 => Rcode::ServFail,
            3 => Rcode::NxDomain,
            4 => Rcode::NotImp,
            5 => Rcode::Refused,
            other => Rcode::Other(other),
        }
    }

    /// The wire value.
    pub fn to_u16(self) -> u16 {
        match self {
            Rcode::NoError => 0,
            Rcode::FormErr => 1,
            Rcode::ServFail => 2,
            Rcode::NxDomain => 3,
            Rcode::NotImp => 4,
            Rcode::Refused => 5,
            Rcode::Other(v) => v,
        }
    }

    /// The four bits the header carries.
    pub fn header_bits(self) -> u16 {
        self.to_u16() & 0x000f
    }
}

impl fmt::Display for Rcode {
    /// The mnemonic, or `RCODEnnn` for unnamed values.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            Rcode::NoError => "NOERROR",
            Rcode::FormErr => "FORMERR",
            Rcode::ServFail => "SERVFAIL",
            Rcode::NxDomain => "NXDOMAIN",
            Rcode::NotImp => "NOTIMP",
            Rcode::Refused => "REFUSED",
            Rcode::Other(v) => return write!(f, "RCODE{v}"),
        };
        f.write_str(name)
    }
}

/// Response codes by their RFC mnemonics, so match arms read like the RFC.
pub mod rcode {
    use super::Rcode;
    /// No error.
    pub const NOERROR: Rcode = Rcode::NoError;
    /// Format error.
    pub const FORMERR: Rcode = Rcode::FormErr;
    /// Server failure.
    pub const SERVFAIL: Rcode = Rcode::ServFail;
    /// The name does not exist.
    pub const NXDOMAIN: Rcode = Rcode::NxDomain;
    /// Opcode not implemented.
    pub const NOTIMP: Rcode = Rcode::NotImp;
    /// Refused by policy.
    pub const REFUSED: Rcode = Rcode::Refused;
}

/// Record types by their RFC mnemonics.
pub mod rtype {
    use super::Rtype;
    /// IPv4 address.
    pub const A: Rtype = Rtype::A;
    /// Name server.
    pub const NS: Rtype = Rtype::Ns;
    /// Canonical name.
    pub const CNAME: Rtype = Rtype::Cname;
    /// Start of authority.
    pub const SOA: Rtype = Rtype::Soa;
    /// Reverse pointer.
    pub const PTR: Rtype = Rtype::Ptr;
    /// IPv6 address.
    pub const AAAA: Rtype = Rtype::Aaaa;
    /// EDNS0 pseudo record.
    pub const OPT: Rtype = Rtype::Opt;
    /// Incremental zone transfer.
    pub const IXFR: Rtype = Rtype::Ixfr;
    /// Zone transfer.
    pub const AXFR: Rtype = Rtype::Axfr;
    /// Every type.
    pub const ANY: Rtype = Rtype::Any;
}
