//! ICMP errors on connected UDP sockets.
//!
//! Without IP_RECVERR / IPV6_RECVERR, Linux reports only the "fatal" ICMP
//! errors on a connected UDP socket (port unreachable as ECONNREFUSED); a
//! host or network unreachable (e.g. the next hop's neighbour resolution
//! failed, or a router on the path has no route) is dropped silently and the
//! sender waits for its own timeout. With the option set, every ICMP
//! destination unreachable for the connected peer fails the next receive
//! with its errno (EHOSTUNREACH, ENETUNREACH, ...), so a dead peer is known
//! within one round trip. The queued error message itself is left on the
//! error queue; callers that close the socket after the first error never
//! need to read it.

use std::io;
use std::os::fd::RawFd;

/// Enables IP_RECVERR (IPv4) or IPV6_RECVERR (IPv6) on `fd`.
pub fn report_icmp_errors(fd: RawFd, ipv6: bool) -> io::Result<()> {
    let (level, opt) = if ipv6 {
        (libc::IPPROTO_IPV6, libc::IPV6_RECVERR)
    } else {
        (libc::IPPROTO_IP, libc::IP_RECVERR)
    };
    crate::socket::set_int(fd, level, opt, 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::UdpSocket;
    use std::os::fd::AsRawFd;
    use std::time::Duration;

    /// A connected socket to a closed loopback port: the kernel's own ICMP
    /// port unreachable fails the receive with ECONNREFUSED, option on.
    ///
    /// The kernel rate-limits ICMP errors (a global token bucket that other
    /// tests running at the same moment can drain), so one datagram may go
    /// unanswered: the test sends up to ten, each waiting 300 ms, and fails
    /// only if none of them is refused.
    #[test]
    fn connected_socket_reports_port_unreachable() {
        let closed = UdpSocket::bind("127.0.0.1:0").unwrap();
        let target = closed.local_addr().unwrap();
        drop(closed);
        let s = UdpSocket::bind("127.0.0.1:0").unwrap();
        report_icmp_errors(s.as_raw_fd(), false).unwrap();
        s.connect(target).unwrap();
        s.set_read_timeout(Some(Duration::from_millis(300)))
            .unwrap();
        let mut last = None;
        for _ in 0..10 {
            // A send can itself fail with the error queued by the previous
            // attempt's ICMP; that is the refusal the test is after.
            let err = match s.send(b"x") {
                Err(e) => e,
                Ok(_) => {
                    let mut buf = [0u8; 16];
                    match s.recv(&mut buf) {
                        Err(e) => e,
                        Ok(n) => panic!("a closed port answered with {n} bytes"),
                    }
                }
            };
            if err.kind() == io::ErrorKind::ConnectionRefused {
                return;
            }
            last = Some(err);
        }
        panic!("no ICMP port unreachable in ten tries; last error: {last:?}");
    }
}
