//! The raw ICMPv6 socket of Neighbour Discovery (RFC 4861), for the RA
//! sender on each LAN and the WAN's RA receiver.
//!
//! - hop limit 255 on everything sent (receivers drop ND with less: it
//!   proves the packet was not forwarded);
//! - bound to the device, multicast out of it and loop off, so our own
//!   messages do not come back and other links are not mixed in;
//! - ICMP6_FILTER passing only the types asked for, so the daemon never
//!   wakes for other ICMPv6 traffic;
//! - IPV6_RECVHOPLIMIT and IPV6_RECVPKTINFO, so each packet's hop limit and
//!   arrival interface can be checked.

use std::io;
use std::net::{Ipv6Addr, SocketAddrV6};
use std::os::fd::{AsRawFd, RawFd};

use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;

use super::{ReceivedDatagram, bind_to_device, recv_with_info, set_int, setsockopt};

/// `ICMP6_FILTER` socket option (linux/icmpv6.h, RFC 3542 3.2), absent
/// from `libc`.
pub(super) const ICMP6_FILTER: libc::c_int = 1;

/// The filter words for "block everything except these types" (RFC 3542:
/// a set bit blocks on Linux).
pub fn filter_passing(types: &[u8]) -> [u32; 8] {
    let mut words = [u32::MAX; 8];
    for t in types {
        if let Some(w) = words.get_mut(usize::from(t >> 5)) {
            *w &= !(1u32 << (t & 31));
        }
    }
    words
}

/// A raw ICMPv6 socket bound to one interface, registered with tokio.
pub struct Icmp6Socket {
    fd: AsyncFd<Socket>,
    ifindex: u32,
}

impl Icmp6Socket {
    /// Opens the socket on `ifname` (index `ifindex`), receiving only the
    /// ICMPv6 types in `pass`, member of `groups` there. Must run inside a
    /// tokio runtime. Errors name the interface and the step that failed.
    pub fn open(ifname: &str, ifindex: u32, pass: &[u8], groups: &[Ipv6Addr]) -> io::Result<Self> {
        let ctx = |what: &str, e: io::Error| {
            io::Error::new(e.kind(), format!("ICMPv6 socket on {ifname}: {what}: {e}"))
        };
        let s = Socket::new(Domain::IPV6, Type::RAW, Some(Protocol::ICMPV6))
            .map_err(|e| ctx("socket", e))?;
        s.set_nonblocking(true).map_err(|e| ctx("nonblocking", e))?;
        bind_to_device(&s, ifname).map_err(|e| ctx("bind", e))?;
        s.set_multicast_hops_v6(255)
            .map_err(|e| ctx("multicast hops", e))?;
        s.set_unicast_hops_v6(255)
            .map_err(|e| ctx("unicast hops", e))?;
        s.set_multicast_loop_v6(false)
            .map_err(|e| ctx("multicast loop", e))?;
        s.set_multicast_if_v6(ifindex)
            .map_err(|e| ctx("multicast if", e))?;
        for group in groups {
            s.join_multicast_v6(group, ifindex)
                .map_err(|e| ctx(&format!("join {group}"), e))?;
        }
        let fd = s.as_raw_fd();
        set_int(fd, libc::IPPROTO_IPV6, libc::IPV6_RECVHOPLIMIT, 1)
            .map_err(|e| ctx("IPV6_RECVHOPLIMIT", e))?;
        set_int(fd, libc::IPPROTO_IPV6, libc::IPV6_RECVPKTINFO, 1)
            .map_err(|e| ctx("IPV6_RECVPKTINFO", e))?;
        setsockopt(
            fd,
            libc::IPPROTO_ICMPV6,
            ICMP6_FILTER,
            &filter_passing(pass),
        )
        .map_err(|e| ctx("ICMP6_FILTER", e))?;
        // SAFETY: `s` owns its descriptor, which stays open and unchanged
        // until the AsyncFd (which takes ownership of `s`) is dropped.
        let fd = unsafe { AsyncFd::register_with_interest(s, Interest::READABLE) }
            .map_err(|e| ctx("register", io::Error::from(e)))?;
        Ok(Icmp6Socket { fd, ifindex })
    }

    /// The interface index the socket is bound to.
    pub fn ifindex(&self) -> u32 {
        self.ifindex
    }

    /// Waits for the next message; `buf` receives the ICMPv6 message (no
    /// IPv6 header), the result its sender, hop limit and interface.
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<ReceivedDatagram> {
        self.fd
            .async_io(Interest::READABLE, |s| recv_with_info(s.as_raw_fd(), buf))
            .await
    }

    /// Sends `message` (the kernel fills the checksum) to `to` on this
    /// interface without waiting: a full send buffer is an error at once
    /// (ENOBUFS on a raw socket), for the caller to count. A daemon's loop
    /// never stops for one send.
    pub fn try_send_to(&self, message: &[u8], to: Ipv6Addr) -> io::Result<()> {
        let to = SockAddr::from(SocketAddrV6::new(to, 0, 0, self.ifindex));
        self.fd.get_ref().send_to(message, &to).map(|_| ())
    }
}

impl AsRawFd for Icmp6Socket {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.get_ref().as_raw_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_passes_only_the_types_asked_for() {
        let f = filter_passing(&[133, 134]);
        let blocked = |t: u8| f[usize::from(t >> 5)] & (1 << (t & 31)) != 0;
        assert!(!blocked(133) && !blocked(134));
        assert!(blocked(135) && blocked(136) && blocked(128) && blocked(1) && blocked(255));
        assert_eq!(filter_passing(&[]), [u32::MAX; 8]);
    }
}
