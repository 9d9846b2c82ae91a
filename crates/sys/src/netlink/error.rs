//! Why a netlink message was rejected.

use std::fmt;
use std::io;

/// A netlink message or attribute that does not follow the kernel's layout.
///
/// The kernel is trusted to be correct, but a parser that trusts its input
/// turns one kernel quirk (or one hostile sender on a misconfigured socket)
/// into a crash of the router's WAN daemon. Every check that fails becomes
/// one of these, naming what was being read, so a log line says where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    /// Fewer bytes than the structure needs.
    Truncated {
        /// What was being read ("nlmsghdr", "ifaddrmsg", "IFA_CACHEINFO"...).
        what: &'static str,
        /// Bytes needed.
        need: usize,
        /// Bytes available.
        have: usize,
    },
    /// A length field that points outside its container or below its header.
    BadLength {
        /// What carried the length.
        what: &'static str,
        /// The length found.
        len: usize,
    },
    /// An attribute whose payload size is wrong for its type.
    BadAttribute {
        /// Which attribute, by its header name.
        what: &'static str,
        /// The payload length found.
        len: usize,
    },
    /// An address family this module does not handle where one is required.
    UnknownFamily(u8),
    /// A prefix length larger than the address.
    BadPrefixLen(u8),
    /// A required attribute is absent (e.g. an address message without an address).
    Missing(&'static str),
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::Truncated { what, need, have } => {
                write!(f, "truncated {what}: need {need} bytes, have {have}")
            }
            ParseError::BadLength { what, len } => write!(f, "bad {what} length {len}"),
            ParseError::BadAttribute { what, len } => {
                write!(f, "attribute {what} has invalid payload length {len}")
            }
            ParseError::UnknownFamily(af) => write!(f, "unknown address family {af}"),
            ParseError::BadPrefixLen(len) => write!(f, "prefix length {len} too long"),
            ParseError::Missing(what) => write!(f, "missing attribute {what}"),
        }
    }
}

impl std::error::Error for ParseError {}

impl From<ParseError> for io::Error {
    fn from(e: ParseError) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidData, format!("netlink: {e}"))
    }
}
