//! DNS (RFC 1035) message codec: bounded, allocation-free on the
//! forwarder's path, never trusting a length, count or pointer.
//!
//! Two views of the same octets:
//! - the lazy walker ([`Header::parse`], [`parse_question`],
//!   [`walk_records`]): positions and fixed fields of every record, read in
//!   place, so a forwarder can rewrite TTLs and copy record sections without
//!   re-encoding (compression pointers stay valid);
//! - [`Message`]: the whole message as a value with names decompressed,
//!   decoded with [`Message::decode`] and written with [`Message::encode`],
//!   built on the walker.
//!
//! Neither does I/O or reads a clock. What a forwarder does with a message
//! (which queries it answers, what it caches) is policy and lives in the
//! `cpe-dns` crate. Names are [`NameBuf`], the crate's one name type
//! ([`crate::name::Name`]): RFC 1035 limits (label 63, name
//! 255 octets in wire form), held inline.

mod error;
mod message;
mod name;
mod types;
mod walk;

pub use error::{DecodeError, EncodeError};
pub use message::{Message, Record};
pub use name::{
    LabelIter, MAX_LABEL_LEN, MAX_NAME_LEN, NameBuf, read_literal_name, read_name, skip_name,
};
pub use types::{Rcode, Rtype, rcode, rtype};
pub use walk::{
    CLASS_IN, Edns, FLAG_AA, FLAG_AD, FLAG_CD, FLAG_QR, FLAG_RA, FLAG_RD, FLAG_TC, HEADER_LEN,
    Header, Question, RecordRef, Section, edns_from_opt, opt_record, parse_question, put_u16,
    put_u32, u16_at, u32_at, walk_records,
};

#[cfg(test)]
mod tests;
