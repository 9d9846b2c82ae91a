//! Control messages (ancillary data) of `recvmsg`/`sendmsg`, read and
//! written as plain bytes.
//!
//! The kernel fills the control buffer with `struct cmsghdr` records
//! (`cmsg_len` as a `size_t`, then `cmsg_level` and `cmsg_type` as `int`s,
//! then the payload, each record padded to the alignment of `size_t`).
//! Walking them with the C `CMSG_*` macros takes raw pointers and trusts
//! every length; here the walk is safe code over a byte slice: a length
//! shorter than a header or past the end of the buffer ends the walk, a
//! payload shorter than its type needs is skipped, and nothing panics, so
//! the parser can be tested (and fuzzed) with hostile bytes.

use std::mem;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Alignment of records and payloads (`CMSG_ALIGN`): that of `size_t`.
const ALIGN: usize = mem::size_of::<usize>();
/// `struct cmsghdr` before its payload: `size_t` + two `int`s, aligned.
const HEADER: usize = align(mem::size_of::<usize>() + 8);
/// `struct in6_pktinfo`: the address, then the interface index.
const IN6_PKTINFO: usize = 16 + 4;
/// `struct in_pktinfo`: interface index, local address, header destination.
const IN_PKTINFO: usize = 4 + 4 + 4;

const fn align(n: usize) -> usize {
    (n + ALIGN - 1) & !(ALIGN - 1)
}

/// Room for one control message with `payload` octets (`CMSG_SPACE`).
pub const fn space(payload: usize) -> usize {
    HEADER + align(payload)
}

/// Control buffer large enough for the packet information, hop limit and
/// a few unexpected records, aligned like `struct cmsghdr`.
#[repr(C, align(8))]
#[derive(Clone, Copy)]
pub struct ControlBuffer(pub [u8; 128]);

impl Default for ControlBuffer {
    fn default() -> ControlBuffer {
        ControlBuffer([0; 128])
    }
}

/// What the control messages of one received datagram said.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Ancillary {
    /// Destination address of the datagram (IP_PKTINFO / IPV6_PKTINFO).
    pub destination: Option<IpAddr>,
    /// Interface it arrived on (the same records).
    pub ifindex: Option<u32>,
    /// IPv6 hop limit (IPV6_HOPLIMIT), if it was asked for and fits a u8.
    pub hop_limit: Option<u8>,
}

/// The records of a control buffer as `(level, type, payload)`.
pub fn records(control: &[u8]) -> impl Iterator<Item = (i32, i32, &[u8])> {
    let mut rest = control;
    std::iter::from_fn(move || {
        let len = usize::from_ne_bytes(rest.get(..ALIGN)?.try_into().ok()?);
        let level = i32::from_ne_bytes(rest.get(ALIGN..ALIGN + 4)?.try_into().ok()?);
        let kind = i32::from_ne_bytes(rest.get(ALIGN + 4..ALIGN + 8)?.try_into().ok()?);
        if len < HEADER {
            return None;
        }
        let payload = rest.get(HEADER..len)?;
        rest = rest.get(align(len)..).unwrap_or(&[]);
        Some((level, kind, payload))
    })
}

fn ne_u32(b: &[u8]) -> Option<u32> {
    Some(u32::from_ne_bytes(b.get(..4)?.try_into().ok()?))
}

/// Decodes the packet-information and hop-limit records of `control`
/// (the part of the buffer the kernel filled); others are ignored.
pub fn parse(control: &[u8]) -> Ancillary {
    let mut a = Ancillary::default();
    for (level, kind, data) in records(control) {
        match (level, kind) {
            (libc::IPPROTO_IPV6, libc::IPV6_PKTINFO) if data.len() >= IN6_PKTINFO => {
                let mut addr = [0u8; 16];
                addr.copy_from_slice(&data[..16]);
                a.destination = Some(IpAddr::V6(Ipv6Addr::from(addr)));
                a.ifindex = ne_u32(&data[16..]);
            }
            (libc::IPPROTO_IP, libc::IP_PKTINFO) if data.len() >= IN_PKTINFO => {
                a.ifindex = ne_u32(data);
                let mut addr = [0u8; 4];
                addr.copy_from_slice(&data[8..12]);
                a.destination = Some(IpAddr::V4(Ipv4Addr::from(addr)));
            }
            (libc::IPPROTO_IPV6, libc::IPV6_HOPLIMIT) => {
                if let Some(hop) = ne_u32(data) {
                    a.hop_limit = u8::try_from(hop as i32).ok();
                }
            }
            _ => {}
        }
    }
    a
}

fn put_record(out: &mut [u8], level: i32, kind: i32, payload: &[u8]) -> usize {
    let need = space(payload.len());
    let Some(rec) = out.get_mut(..need) else {
        return 0;
    };
    rec.fill(0);
    rec[..ALIGN].copy_from_slice(&(HEADER + payload.len()).to_ne_bytes());
    rec[ALIGN..ALIGN + 4].copy_from_slice(&level.to_ne_bytes());
    rec[ALIGN + 4..ALIGN + 8].copy_from_slice(&kind.to_ne_bytes());
    rec[HEADER..HEADER + payload.len()].copy_from_slice(payload);
    need
}

/// Writes one packet-information record into `out` that makes a datagram
/// leave from `source` on interface `ifindex` (0: the routing table
/// chooses); returns the octets used, 0 if `out` is too small.
pub fn put_pktinfo(out: &mut [u8], source: IpAddr, ifindex: u32) -> usize {
    match source {
        IpAddr::V6(a) => {
            let mut p = [0u8; IN6_PKTINFO];
            p[..16].copy_from_slice(&a.octets());
            p[16..].copy_from_slice(&ifindex.to_ne_bytes());
            put_record(out, libc::IPPROTO_IPV6, libc::IPV6_PKTINFO, &p)
        }
        IpAddr::V4(a) => {
            // ipi_spec_dst is the source to use; ipi_addr is ignored on send.
            let mut p = [0u8; IN_PKTINFO];
            p[..4].copy_from_slice(&ifindex.to_ne_bytes());
            p[4..8].copy_from_slice(&a.octets());
            put_record(out, libc::IPPROTO_IP, libc::IP_PKTINFO, &p)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Builds a control buffer with the C macros, as the kernel lays it
    /// out, to check the byte walk against them.
    fn with_c_macros(records: &[(i32, i32, &[u8])]) -> Vec<u8> {
        let mut buf = ControlBuffer([0; 128]);
        let mut used = 0usize;
        // SAFETY: all-zero is a valid msghdr; the control pointer refers to
        // `buf`, which outlives every use below, and each record is written
        // only after CMSG_NXTHDR/CMSG_FIRSTHDR checked it fits.
        unsafe {
            let mut msg: libc::msghdr = mem::zeroed();
            msg.msg_control = buf.0.as_mut_ptr().cast();
            msg.msg_controllen = buf.0.len() as _;
            let mut c = libc::CMSG_FIRSTHDR(&msg);
            for (level, kind, data) in records {
                assert!(!c.is_null());
                (*c).cmsg_level = *level;
                (*c).cmsg_type = *kind;
                (*c).cmsg_len = libc::CMSG_LEN(data.len() as u32) as _;
                std::ptr::copy_nonoverlapping(data.as_ptr(), libc::CMSG_DATA(c), data.len());
                used += libc::CMSG_SPACE(data.len() as u32) as usize;
                c = libc::CMSG_NXTHDR(&msg, c);
            }
        }
        buf.0[..used].to_vec()
    }

    #[test]
    fn layout_matches_the_c_macros() {
        // SAFETY: CMSG_SPACE only computes a size.
        let c_space = unsafe { libc::CMSG_SPACE(20) } as usize;
        assert_eq!(space(20), c_space);
        let mut pkt6 = [0u8; 20];
        pkt6[..16].copy_from_slice(&"fe80::1".parse::<Ipv6Addr>().unwrap().octets());
        pkt6[16..].copy_from_slice(&7u32.to_ne_bytes());
        let hop = 255i32.to_ne_bytes();
        let other = [1u8, 2, 3];
        let buf = with_c_macros(&[
            (libc::SOL_SOCKET, 99, &other),
            (libc::IPPROTO_IPV6, libc::IPV6_HOPLIMIT, &hop),
            (libc::IPPROTO_IPV6, libc::IPV6_PKTINFO, &pkt6),
        ]);
        let a = parse(&buf);
        assert_eq!(a.destination, Some("fe80::1".parse().unwrap()));
        assert_eq!(a.ifindex, Some(7));
        assert_eq!(a.hop_limit, Some(255));
        assert_eq!(records(&buf).count(), 3);
    }

    #[test]
    fn written_pktinfo_reads_back_and_matches_the_c_macros() {
        for (src, ifindex) in [
            (IpAddr::from(Ipv4Addr::new(192, 0, 2, 1)), 3),
            (IpAddr::from("2001:db8::1".parse::<Ipv6Addr>().unwrap()), 9),
        ] {
            let mut out = [0u8; 64];
            let n = put_pktinfo(&mut out, src, ifindex);
            let (level, kind, payload) = records(&out[..n]).next().unwrap();
            assert_eq!(with_c_macros(&[(level, kind, payload)]), out[..n].to_vec());
            let a = parse(&out[..n]);
            assert_eq!(a.ifindex, Some(ifindex));
            if src.is_ipv6() {
                assert_eq!(a.destination, Some(src));
            }
        }
        assert_eq!(put_pktinfo(&mut [0u8; 8], Ipv4Addr::LOCALHOST.into(), 1), 0);
    }

    #[test]
    fn hostile_lengths_end_the_walk() {
        let hop = 64i32.to_ne_bytes();
        let mut buf = with_c_macros(&[(libc::IPPROTO_IPV6, libc::IPV6_HOPLIMIT, &hop)]);
        // A length past the end of the buffer.
        let past = buf.len() + 1;
        buf[..ALIGN].copy_from_slice(&past.to_ne_bytes());
        assert_eq!(parse(&buf), Ancillary::default());
        // A length shorter than the header.
        buf[..ALIGN].copy_from_slice(&3usize.to_ne_bytes());
        assert_eq!(records(&buf).count(), 0);
        // A truncated pktinfo payload is skipped.
        let short = with_c_macros(&[(libc::IPPROTO_IPV6, libc::IPV6_PKTINFO, &[0u8; 8])]);
        assert_eq!(parse(&short), Ancillary::default());
        // A negative hop limit is no hop limit.
        let neg = (-1i32).to_ne_bytes();
        let b = with_c_macros(&[(libc::IPPROTO_IPV6, libc::IPV6_HOPLIMIT, &neg)]);
        assert_eq!(parse(&b).hop_limit, None);
    }

    proptest! {
        #[test]
        fn any_bytes_parse_without_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = parse(&bytes);
            prop_assert!(records(&bytes).count() <= bytes.len() / HEADER);
        }
    }
}
