//! ICMPv6 checksum over the IPv6 pseudo-header (RFC 8200 8.1, RFC 4443 2.3).
//!
//! Raw ICMPv6 sockets have the kernel fill and verify it, so the daemon never
//! needs this on its data path; captures, fixtures and lab tools do.

use std::net::Ipv6Addr;

const NEXT_HEADER_ICMPV6: u32 = 58;

fn add_words(mut sum: u64, bytes: &[u8]) -> u64 {
    let mut chunks = bytes.chunks_exact(2);
    for pair in &mut chunks {
        if let [hi, lo] = pair {
            sum += u64::from(u16::from_be_bytes([*hi, *lo]));
        }
    }
    if let [last] = chunks.remainder() {
        sum += u64::from(*last) << 8;
    }
    sum
}

fn fold(mut sum: u64) -> u16 {
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum as u16
}

fn pseudo_header_sum(src: &Ipv6Addr, dst: &Ipv6Addr, len: usize) -> u64 {
    let mut sum = add_words(0, &src.octets());
    sum = add_words(sum, &dst.octets());
    // The upper-layer length is 32 bits; ND messages are far below that.
    let len = u32::try_from(len).unwrap_or(u32::MAX);
    sum = add_words(sum, &len.to_be_bytes());
    add_words(sum, &NEXT_HEADER_ICMPV6.to_be_bytes())
}

/// The checksum `message` must carry, computed as if its checksum field
/// (octets 2..4) were zero.
pub fn icmpv6_checksum(src: &Ipv6Addr, dst: &Ipv6Addr, message: &[u8]) -> u16 {
    let mut sum = pseudo_header_sum(src, dst, message.len());
    sum = add_words(sum, message.get(..2).unwrap_or(message));
    sum = add_words(sum, message.get(4..).unwrap_or(&[]));
    !fold(sum)
}

/// Writes the correct checksum into `message` (no-op on messages shorter than
/// the ICMPv6 header).
pub fn set_checksum(src: &Ipv6Addr, dst: &Ipv6Addr, message: &mut [u8]) {
    let sum = icmpv6_checksum(src, dst, message);
    if let Some(field) = message.get_mut(2..4) {
        field.copy_from_slice(&sum.to_be_bytes());
    }
}

/// Whether the checksum carried in `message` is correct.
pub fn checksum_is_valid(src: &Ipv6Addr, dst: &Ipv6Addr, message: &[u8]) -> bool {
    match message.get(2..4) {
        Some(&[hi, lo]) => icmpv6_checksum(src, dst, message) == u16::from_be_bytes([hi, lo]),
        _ => false,
    }
}
