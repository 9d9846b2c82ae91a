//! Decoding what the kernel answers on an nfnetlink socket: acks and errors
//! for batch messages, and counter objects from a dump. Hostile input gives
//! [`ParseError`]s, never a panic (fuzzed by `crates/sys/fuzz`).

use super::super::consts::{NLMSG_DONE, NLMSG_ERROR};
use super::super::error::ParseError;
use super::super::message::{KernelError, Message, parse_message};
use super::super::wire::{MessageHeader, attr_string, attributes, messages};
use super::consts::*;

/// One message of a reply datagram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// Ack (`None`) or error for the request with the header's sequence number.
    Ack(Option<KernelError>),
    /// End of a dump.
    Done,
    /// A counter object from a dump.
    Counter(CounterValue),
    /// Another nf_tables message type (skipped).
    Other(u16),
}

/// A named counter as the kernel holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CounterValue {
    /// Table the counter belongs to.
    pub table: String,
    /// Counter name.
    pub name: String,
    /// Packets counted.
    pub packets: u64,
    /// Bytes counted.
    pub bytes: u64,
}

fn be64(payload: &[u8], what: &'static str) -> Result<u64, ParseError> {
    <[u8; 8]>::try_from(payload)
        .map(u64::from_be_bytes)
        .map_err(|_| ParseError::BadAttribute {
            what,
            len: payload.len(),
        })
}

fn be32(payload: &[u8], what: &'static str) -> Result<u32, ParseError> {
    <[u8; 4]>::try_from(payload)
        .map(u32::from_be_bytes)
        .map_err(|_| ParseError::BadAttribute {
            what,
            len: payload.len(),
        })
}

/// `NFT_MSG_NEWOBJ` body: nfgenmsg, then table, name, type and data. Objects
/// of other types come back as `Ok(None)`.
fn parse_object(payload: &[u8]) -> Result<Option<CounterValue>, ParseError> {
    let attrs = payload.get(NFGENMSG_LEN..).ok_or(ParseError::Truncated {
        what: "nfgenmsg",
        need: NFGENMSG_LEN,
        have: payload.len(),
    })?;
    let (mut table, mut name, mut ty) = (None, None, None);
    let (mut packets, mut bytes) = (None, None);
    for attr in attributes(attrs, "NFTA_OBJ attribute") {
        let (kind, data) = attr?;
        match kind {
            NFTA_OBJ_TABLE => table = Some(attr_string(data)),
            NFTA_OBJ_NAME => name = Some(attr_string(data)),
            NFTA_OBJ_TYPE => ty = Some(be32(data, "NFTA_OBJ_TYPE")?),
            NFTA_OBJ_DATA => {
                for inner in attributes(data, "NFTA_COUNTER attribute") {
                    let (k, d) = inner?;
                    match k {
                        NFTA_COUNTER_PACKETS => packets = Some(be64(d, "NFTA_COUNTER_PACKETS")?),
                        NFTA_COUNTER_BYTES => bytes = Some(be64(d, "NFTA_COUNTER_BYTES")?),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    if ty.ok_or(ParseError::Missing("NFTA_OBJ_TYPE"))? != NFT_OBJECT_COUNTER {
        return Ok(None);
    }
    Ok(Some(CounterValue {
        table: table.ok_or(ParseError::Missing("NFTA_OBJ_TABLE"))?,
        name: name.ok_or(ParseError::Missing("NFTA_OBJ_NAME"))?,
        packets: packets.ok_or(ParseError::Missing("NFTA_COUNTER_PACKETS"))?,
        bytes: bytes.ok_or(ParseError::Missing("NFTA_COUNTER_BYTES"))?,
    }))
}

/// Decodes one message of a reply.
pub fn parse_reply(header: &MessageHeader, payload: &[u8]) -> Result<Reply, ParseError> {
    match header.kind {
        NLMSG_ERROR | NLMSG_DONE => match parse_message(header, payload)? {
            Message::Ack(a) => Ok(Reply::Ack(a)),
            _ => Ok(Reply::Done),
        },
        k if k == (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWOBJ => {
            Ok(match parse_object(payload)? {
                Some(c) => Reply::Counter(c),
                None => Reply::Other(k),
            })
        }
        other => Ok(Reply::Other(other)),
    }
}

/// Decodes every message of a reply datagram; framing errors end the list,
/// a malformed body is an `Err` in its place. The fuzz target's entry point.
pub fn parse_replies(buf: &[u8]) -> Vec<Result<(MessageHeader, Reply), ParseError>> {
    messages(buf)
        .map(|m| m.and_then(|(h, p)| parse_reply(&h, p).map(|r| (h, r))))
        .collect()
}
