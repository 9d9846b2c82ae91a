//! ICMP Echo for the console's active probes (`cpectl diag`): reachability
//! of the ISP's router and of a chosen target, and a Path MTU search.
//!
//! An unprivileged ICMP datagram socket ("ping socket") when the kernel
//! allows it (`net.ipv4.ping_group_range` includes our group); a raw socket
//! otherwise (root or CAP_NET_RAW). Either way the packets are the same:
//! Echo Requests of an exact IP packet size, never fragmented by us
//! (`IP[V6]_PMTUDISC_PROBE` and `IPV6_DONTFRAG`), so a size the path cannot
//! carry is lost (or refused at once with EMSGSIZE when it exceeds our own
//! link), which is what a Path MTU search needs.
//!
//! Blocking with deadlines: the console is a short-lived process of its own,
//! no daemon loop waits on it.

use std::io::{self, Read};
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, SockAddr, Socket, Type};

use super::{set_int, setsockopt};

const ECHO_REQUEST_V4: u8 = 8;
const ECHO_REPLY_V4: u8 = 0;
const ECHO_REQUEST_V6: u8 = 128;
const ECHO_REPLY_V6: u8 = 129;

/// IPv6 header plus ICMP header.
const V6_OVERHEAD: usize = 48;
/// IPv4 header (no options) plus ICMP header.
const V4_OVERHEAD: usize = 28;

/// An ICMP Echo socket for one address family.
pub struct Pinger {
    sock: Socket,
    v6: bool,
    /// A raw socket (we fill the identifier, and IPv4 replies come with
    /// their IP header) rather than a ping socket (the kernel does both).
    raw: bool,
    ident: u16,
}

impl Pinger {
    /// Opens an Echo socket for IPv6 (`v6`) or IPv4: a ping socket if
    /// allowed, else a raw one. The error names both attempts.
    pub fn open(v6: bool) -> io::Result<Pinger> {
        let (domain, proto) = if v6 {
            (Domain::IPV6, Protocol::ICMPV6)
        } else {
            (Domain::IPV4, Protocol::ICMPV4)
        };
        let (sock, raw) = match Socket::new(domain, Type::DGRAM, Some(proto)) {
            Ok(s) => (s, false),
            Err(dgram) => match Socket::new(domain, Type::RAW, Some(proto)) {
                Ok(s) => (s, true),
                Err(raw) => {
                    return Err(io::Error::new(
                        raw.kind(),
                        format!("ICMP socket: ping socket: {dgram}; raw socket: {raw}"),
                    ));
                }
            },
        };
        let fd = sock.as_raw_fd();
        if v6 {
            set_int(
                fd,
                libc::IPPROTO_IPV6,
                libc::IPV6_MTU_DISCOVER,
                libc::IPV6_PMTUDISC_PROBE,
            )?;
            set_int(fd, libc::IPPROTO_IPV6, libc::IPV6_DONTFRAG, 1)?;
            if raw {
                setsockopt(
                    fd,
                    libc::IPPROTO_ICMPV6,
                    super::icmp6::ICMP6_FILTER,
                    &super::filter_passing(&[ECHO_REPLY_V6]),
                )?;
            }
        } else {
            set_int(
                fd,
                libc::IPPROTO_IP,
                libc::IP_MTU_DISCOVER,
                libc::IP_PMTUDISC_PROBE,
            )?;
        }
        Ok(Pinger {
            sock,
            v6,
            raw,
            ident: (std::process::id() & 0xffff) as u16,
        })
    }

    /// The smallest packet [`send`](Self::send) makes.
    pub fn min_size(&self) -> usize {
        if self.v6 { V6_OVERHEAD } else { V4_OVERHEAD }
    }

    /// Sends Echo Request `seq` to `to` as an IP packet of `size` bytes
    /// (at least [`min_size`](Self::min_size)). EMSGSIZE means our own
    /// link cannot carry it.
    pub fn send(&self, to: SocketAddr, seq: u16, size: usize) -> io::Result<()> {
        let payload = size.saturating_sub(self.min_size());
        let mut m = vec![0u8; 8 + payload];
        m[0] = if self.v6 {
            ECHO_REQUEST_V6
        } else {
            ECHO_REQUEST_V4
        };
        m[4..6].copy_from_slice(&self.ident.to_be_bytes());
        m[6..8].copy_from_slice(&seq.to_be_bytes());
        for (i, b) in m.iter_mut().enumerate().skip(8) {
            *b = i as u8;
        }
        // The kernel sums ICMPv6 (both socket kinds) and ping sockets'
        // ICMPv4; a raw IPv4 socket sends what it is given.
        if self.raw && !self.v6 {
            let sum = checksum(&m);
            m[2..4].copy_from_slice(&sum.to_be_bytes());
        }
        self.sock.send_to(&m, &SockAddr::from(to)).map(|_| ())
    }

    /// Waits until `deadline` for the Echo Reply to `seq`: `Ok(true)` when
    /// it came, `Ok(false)` at the deadline. Other packets are skipped.
    pub fn wait_reply(&self, seq: u16, deadline: Instant) -> io::Result<bool> {
        let mut buf = [0u8; 2048];
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(false);
            }
            self.sock
                .set_read_timeout(Some(left.max(Duration::from_millis(1))))?;
            let n = match (&self.sock).read(&mut buf) {
                Ok(n) => n,
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    return Ok(false);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if self.is_our_reply(buf.get(..n).unwrap_or(&[]), seq) {
                return Ok(true);
            }
        }
    }

    /// Whether `packet` (as the socket returned it) is the reply to `seq`.
    fn is_our_reply(&self, packet: &[u8], seq: u16) -> bool {
        let icmp = if self.raw && !self.v6 {
            let ihl = usize::from(packet.first().map_or(0, |b| b & 0x0f)) * 4;
            packet.get(ihl..).unwrap_or(&[])
        } else {
            packet
        };
        let Some(h) = icmp.get(..8) else { return false };
        let reply = if self.v6 {
            ECHO_REPLY_V6
        } else {
            ECHO_REPLY_V4
        };
        // A ping socket gets only replies to its own identifier (the kernel
        // chose it); a raw one sees everyone's.
        h[0] == reply
            && h[1] == 0
            && u16::from_be_bytes([h[6], h[7]]) == seq
            && (!self.raw || u16::from_be_bytes([h[4], h[5]]) == self.ident)
    }

    /// One Echo of `size` bytes to `to`: the round-trip time, `None`
    /// without a reply before `timeout`; EMSGSIZE when our link is smaller.
    pub fn ping(
        &self,
        to: SocketAddr,
        seq: u16,
        size: usize,
        timeout: Duration,
    ) -> io::Result<Option<Duration>> {
        let start = Instant::now();
        self.send(to, seq, size)?;
        Ok(self
            .wait_reply(seq, start + timeout)?
            .then(|| start.elapsed()))
    }
}

/// Whether `e` is the kernel refusing a packet larger than the link MTU.
pub fn is_too_big(e: &io::Error) -> bool {
    e.raw_os_error() == Some(libc::EMSGSIZE)
}

/// RFC 1071 Internet checksum.
fn checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = data
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], c.get(1).copied().unwrap_or(0)])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_of_an_echo_request_verifies_to_zero() {
        let mut m = vec![8, 0, 0, 0, 0x12, 0x34, 0, 1, 1, 2, 3];
        let sum = checksum(&m);
        m[2..4].copy_from_slice(&sum.to_be_bytes());
        assert_eq!(checksum(&m), 0);
    }

    /// Against the loopback of a fresh namespace-free test process: the
    /// kernel answers its own Echo (needs a ping or raw socket; skipped
    /// where neither is allowed).
    #[test]
    fn loopback_answers_and_oversize_is_refused_locally() {
        let Ok(p) = Pinger::open(true) else { return };
        let to: SocketAddr = "[::1]:0".parse().unwrap();
        assert!(
            p.ping(to, 1, 1280, Duration::from_secs(1))
                .unwrap()
                .is_some()
        );
        let e = p.ping(to, 2, 70_000, Duration::from_secs(1)).unwrap_err();
        assert!(e.raw_os_error().is_some(), "{e}");
    }
}
