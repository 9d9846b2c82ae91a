//! One received rtnetlink message, typed.

use super::addr::{Address, parse_address};
use super::consts::*;
use super::error::ParseError;
use super::link::{Link, parse_link};
use super::neigh::{Neighbour, parse_neighbour};
use super::route::{Route, parse_route};
use super::wire::{MessageHeader, attr_string, attributes, messages, take};
use std::io;

/// What one netlink message said. Dump replies and monitor notifications use
/// the same message types, so one enum serves both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A link appeared or changed.
    NewLink(Link),
    /// A link disappeared.
    DelLink(Link),
    /// An address appeared or changed (lifetimes, DAD state).
    NewAddress(Address),
    /// An address was removed.
    DelAddress(Address),
    /// A route appeared or changed.
    NewRoute(Route),
    /// A route was removed.
    DelRoute(Route),
    /// A neighbour cache entry (dump reply).
    NewNeighbour(Neighbour),
    /// End of a dump.
    Done,
    /// The answer to a request: `None` for success, or the errno and the
    /// kernel's extended-ack text.
    Ack(Option<KernelError>),
    /// A message type this module does not decode (skipped by callers).
    Other(u16),
}

/// An error the kernel returned for a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelError {
    /// Positive errno.
    pub errno: i32,
    /// The extended-ack message (`NLMSGERR_ATTR_MSG`), if the kernel gave one.
    pub message: Option<String>,
}

impl KernelError {
    /// As an `io::Error` that says which operation failed and why, e.g.
    /// `add route 2001:db8::/56 unreachable: File exists (os error 17)`.
    /// The errno stays retrievable with [`kernel_errno`].
    pub fn to_io(&self, context: &str) -> io::Error {
        let kind = io::Error::from_raw_os_error(self.errno).kind();
        io::Error::new(
            kind,
            RequestError {
                context: context.to_string(),
                error: self.clone(),
            },
        )
    }
}

/// A failed request, with what was asked for: the error inside the
/// `io::Error` returned by [`Netlink`](super::Netlink) methods.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestError {
    /// What was requested ("add route 2001:db8::/56 unreachable").
    pub context: String,
    /// What the kernel answered.
    pub error: KernelError,
}

impl std::fmt::Display for RequestError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let os = io::Error::from_raw_os_error(self.error.errno);
        write!(f, "{}: {os}", self.context)?;
        if let Some(m) = &self.error.message {
            write!(f, " ({m})")?;
        }
        Ok(())
    }
}

impl std::error::Error for RequestError {}

/// The kernel's errno behind an error from a netlink request or socket call,
/// so callers can treat e.g. `EEXIST` or `ENODEV` specially.
pub fn kernel_errno(e: &io::Error) -> Option<i32> {
    e.raw_os_error().or_else(|| {
        e.get_ref()
            .and_then(|inner| inner.downcast_ref::<RequestError>())
            .map(|r| r.error.errno)
    })
}

/// Decodes the payload of one message given its header.
pub fn parse_message(header: &MessageHeader, payload: &[u8]) -> Result<Message, ParseError> {
    Ok(match header.kind {
        RTM_NEWLINK => Message::NewLink(parse_link(payload)?),
        RTM_DELLINK => Message::DelLink(parse_link(payload)?),
        RTM_NEWADDR => Message::NewAddress(parse_address(payload)?),
        RTM_DELADDR => Message::DelAddress(parse_address(payload)?),
        RTM_NEWROUTE => Message::NewRoute(parse_route(payload)?),
        RTM_DELROUTE => Message::DelRoute(parse_route(payload)?),
        RTM_NEWNEIGH => Message::NewNeighbour(parse_neighbour(payload)?),
        NLMSG_DONE => Message::Done,
        NLMSG_ERROR => Message::Ack(parse_error(header, payload)?),
        other => Message::Other(other),
    })
}

/// `struct nlmsgerr`: errno, the echoed request header (capped, because we
/// set `NETLINK_CAP_ACK`, or the full request otherwise), then optional TLVs.
fn parse_error(header: &MessageHeader, payload: &[u8]) -> Result<Option<KernelError>, ParseError> {
    let raw = i32::from_ne_bytes(take::<4>(payload, 0, "nlmsgerr")?);
    let errno = raw.checked_neg().unwrap_or(i32::MAX);
    if errno == 0 {
        return Ok(None);
    }
    let echoed_len = super::wire::u32_at(payload, 4, "nlmsgerr")? as usize;
    let skip = if header.flags & NLM_F_CAPPED != 0 {
        4 + NLMSG_HDRLEN
    } else {
        4 + super::wire::align4(echoed_len.max(NLMSG_HDRLEN))
    };
    let mut message = None;
    if header.flags & NLM_F_ACK_TLVS != 0
        && let Some(tlvs) = payload.get(skip..)
    {
        for attr in attributes(tlvs, "nlmsgerr attribute") {
            let (kind, data) = attr?;
            if kind == NLMSGERR_ATTR_MSG {
                message = Some(attr_string(data));
            }
        }
    }
    // The errno must be a plausible positive error number.
    if !(1..4096).contains(&errno) {
        return Err(ParseError::BadLength {
            what: "nlmsgerr errno",
            len: errno.unsigned_abs() as usize,
        });
    }
    Ok(Some(KernelError { errno, message }))
}

/// Decodes every message of a datagram. Framing errors end the list (the
/// rest cannot be located); a message whose body is malformed is returned as
/// an `Err` in its place and the following ones are still decoded.
///
/// This is the entry point the fuzz target drives.
pub fn parse_datagram(buf: &[u8]) -> Vec<Result<(MessageHeader, Message), ParseError>> {
    messages(buf)
        .map(|m| m.and_then(|(h, p)| parse_message(&h, p).map(|msg| (h, msg))))
        .collect()
}
