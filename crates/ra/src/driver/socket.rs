//! The raw ICMPv6 socket of one LAN interface, set up as RFC 4861 needs it.
//!
//! - hop limit 255 on everything we send (receivers drop anything else);
//! - member of ff02::2 (all-routers) so Router Solicitations arrive;
//! - ICMP6_FILTER passing only RS and RA, so the daemon never wakes for
//!   other ICMPv6 traffic;
//! - IPV6_RECVHOPLIMIT and IPV6_RECVPKTINFO so each packet's hop limit and
//!   arrival interface can be checked (an off-link forged RS has hop < 255);
//! - bound to the device and multicast loop off, so our own RAs do not come
//!   back and RAs on other LANs are not mixed in.
//!
//! Setting the filter and reading ancillary data has no safe wrapper in
//! socket2; the few `unsafe` calls are confined here.

use std::io;
use std::mem;
use std::net::{Ipv6Addr, SocketAddrV6};
use std::os::fd::{AsRawFd, RawFd};

use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;

use cpe_wire::nd::{TYPE_ROUTER_ADVERTISEMENT, TYPE_ROUTER_SOLICITATION};

/// ff02::1, where RAs go.
pub const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);
/// ff02::2, where RSs arrive.
pub const ALL_ROUTERS: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 2);
/// `ICMP6_FILTER` socket option (linux/icmpv6.h, RFC 3542 3.2).
const ICMP6_FILTER: libc::c_int = 1;
/// `struct in6_pktinfo` (RFC 3542 6.1, linux/ipv6.h), absent from `libc`
/// for Linux.
#[repr(C)]
#[derive(Clone, Copy)]
struct In6Pktinfo {
    addr: [u8; 16],
    ifindex: libc::c_int,
}

/// Largest ND message we accept; anything longer is dropped as truncated.
pub const MAX_MESSAGE: usize = 4096;

/// One received packet's metadata.
#[derive(Debug, Clone, Copy)]
pub struct Meta {
    /// Octets of ICMPv6 message.
    pub len: usize,
    /// IPv6 source.
    pub source: Ipv6Addr,
    /// Hop limit from ancillary data.
    pub hop_limit: Option<u8>,
    /// Arrival interface from ancillary data.
    pub ifindex: Option<u32>,
    /// The message did not fit the buffer.
    pub truncated: bool,
}

/// The RA socket of one interface.
pub struct RaSocket {
    fd: AsyncFd<Socket>,
    ifindex: u32,
}

fn setsockopt<T>(fd: RawFd, level: libc::c_int, name: libc::c_int, value: &T) -> io::Result<()> {
    let len = libc::socklen_t::try_from(mem::size_of::<T>())
        .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: `value` points to a live, initialised T of `len` bytes for the
    // duration of the call; the kernel only reads it.
    let rc = unsafe { libc::setsockopt(fd, level, name, (value as *const T).cast(), len) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

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

impl RaSocket {
    /// Opens and configures the socket for interface `name` (index `ifindex`).
    pub fn open(name: &str, ifindex: u32) -> io::Result<RaSocket> {
        let s = Socket::new(Domain::IPV6, Type::RAW, Some(Protocol::ICMPV6))?;
        s.set_nonblocking(true)?;
        s.bind_device(Some(name.as_bytes()))?;
        s.set_multicast_hops_v6(255)?;
        s.set_unicast_hops_v6(255)?;
        s.set_multicast_loop_v6(false)?;
        s.set_multicast_if_v6(ifindex)?;
        s.join_multicast_v6(&ALL_ROUTERS, ifindex)?;
        s.set_recv_hoplimit_v6(true)?;
        let fd = s.as_raw_fd();
        setsockopt(
            fd,
            libc::IPPROTO_IPV6,
            libc::IPV6_RECVPKTINFO,
            &1 as &libc::c_int,
        )?;
        let filter = filter_passing(&[TYPE_ROUTER_SOLICITATION, TYPE_ROUTER_ADVERTISEMENT]);
        setsockopt(fd, libc::IPPROTO_ICMPV6, ICMP6_FILTER, &filter)?;
        // SAFETY: `s` owns its descriptor, which stays open and unchanged
        // until the AsyncFd (which takes ownership of `s`) is dropped.
        let fd = unsafe { AsyncFd::register(s) }.map_err(io::Error::from)?;
        Ok(RaSocket { fd, ifindex })
    }

    /// Waits for the next packet; `buf` receives the ICMPv6 message.
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<Meta> {
        self.fd
            .async_io(Interest::READABLE, |s| recv_once(s.as_raw_fd(), buf))
            .await
    }

    /// Sends `message` to ff02::1 on the interface, without waiting: a
    /// full send buffer is an error at once (ENOBUFS on a raw socket). The loop must
    /// never stop for one send (it also answers RSs and follows the
    /// prefix); a lost RA is repeated by the schedule, and RAs are
    /// multicast (no neighbour resolution) and rate-limited by RFC 4861,
    /// so the default buffer never fills in normal operation.
    pub fn try_send_all_nodes(&self, message: &[u8]) -> io::Result<()> {
        let to = SockAddr::from(SocketAddrV6::new(ALL_NODES, 0, 0, self.ifindex));
        self.fd.get_ref().send_to(message, &to).map(|_| ())
    }
}

fn recv_once(fd: RawFd, buf: &mut [u8]) -> io::Result<Meta> {
    // u64 elements give the control buffer cmsghdr alignment.
    let mut control = [0u64; 32];
    // SAFETY: sockaddr_in6 and msghdr are plain C structs for which all-zero
    // is a valid value.
    let mut addr: libc::sockaddr_in6 = unsafe { mem::zeroed() };
    let mut msg: libc::msghdr = unsafe { mem::zeroed() };
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    msg.msg_name = (&mut addr as *mut libc::sockaddr_in6).cast();
    msg.msg_namelen = mem::size_of::<libc::sockaddr_in6>() as libc::socklen_t;
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = mem::size_of_val(&control) as _;
    // SAFETY: every pointer in `msg` refers to a live local buffer of the
    // stated length, valid for the whole call.
    let n = unsafe { libc::recvmsg(fd, &mut msg, libc::MSG_DONTWAIT) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    let len = usize::try_from(n).unwrap_or(0);
    let mut meta = Meta {
        len: len.min(buf.len()),
        source: Ipv6Addr::from(addr.sin6_addr.s6_addr),
        hop_limit: None,
        ifindex: None,
        truncated: msg.msg_flags & libc::MSG_TRUNC != 0,
    };
    // SAFETY: the CMSG_* helpers walk the control buffer the kernel filled,
    // bounded by msg_controllen; data is read unaligned into owned values.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(&msg);
        while !c.is_null() {
            let level = (*c).cmsg_level;
            let kind = (*c).cmsg_type;
            let data = libc::CMSG_DATA(c);
            if level == libc::IPPROTO_IPV6 && kind == libc::IPV6_HOPLIMIT {
                let hop = std::ptr::read_unaligned(data.cast::<libc::c_int>());
                meta.hop_limit = u8::try_from(hop).ok();
            } else if level == libc::IPPROTO_IPV6 && kind == libc::IPV6_PKTINFO {
                let info = std::ptr::read_unaligned(data.cast::<In6Pktinfo>());
                meta.ifindex = u32::try_from(info.ifindex).ok();
            }
            c = libc::CMSG_NXTHDR(&msg, c);
        }
    }
    Ok(meta)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A send buffer that stays full (a qdisc that holds every packet,
    /// as a stalled link would) makes the send fail at once, and the
    /// failure is reported as a full buffer: a raw socket says ENOBUFS
    /// where UDP says EAGAIN. A regression guard for the loop never
    /// waiting on a send. Needs root (a network namespace, a veth pair,
    /// `tc`); skipped otherwise.
    #[test]
    fn a_full_send_buffer_fails_at_once() {
        let outcome = std::thread::spawn(|| -> Result<(), String> {
            // SAFETY: unshare only changes this (short-lived) thread's
            // network namespace.
            if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
                return Err("no network namespace".into());
            }
            for cmd in [
                // No DAD: the link-local source is usable at once.
                "sysctl -qw net.ipv6.conf.default.accept_dad=0",
                "ip link add rafull0 type veth peer name rafull1",
                "ip link set rafull0 up",
                "ip link set rafull1 up",
                "tc qdisc replace dev rafull0 root tbf rate 8bit burst 1600 limit 10000000",
            ] {
                let argv: Vec<&str> = cmd.split(' ').collect();
                let ok = std::process::Command::new(argv[0])
                    .args(&argv[1..])
                    .output()
                    .is_ok_and(|o| o.status.success());
                if !ok {
                    return Err(format!("`{cmd}` failed"));
                }
            }
            let name = std::ffi::CString::new("rafull0").map_err(|e| e.to_string())?;
            // SAFETY: a valid NUL-terminated string for the call.
            let ifindex = unsafe { libc::if_nametoindex(name.as_ptr()) };
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            let _guard = rt.enter();
            let socket = RaSocket::open("rafull0", ifindex).map_err(|e| e.to_string())?;
            let fd = socket.fd.get_ref().as_raw_fd();
            setsockopt(fd, libc::SOL_SOCKET, libc::SO_SNDBUF, &4096 as &libc::c_int)
                .map_err(|e| e.to_string())?;
            // A minimal RA: type 134, hop limit 64, no options.
            let ra = [134u8, 0, 0, 0, 64, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
            let start = std::time::Instant::now();
            let mut sent = 0;
            let err = loop {
                match socket.try_send_all_nodes(&ra) {
                    Ok(()) => sent += 1,
                    Err(e) => break e,
                }
                assert!(sent < 10_000, "the buffer never filled");
            };
            assert_eq!(
                cpe_sys::sockbuf::unsent_reason(&err),
                "send_buffer_full",
                "{err} after {sent} RAs"
            );
            assert!(start.elapsed() < std::time::Duration::from_millis(200));
            Ok(())
        })
        .join();
        match outcome {
            Ok(Ok(())) => {}
            Ok(Err(why)) => eprintln!("skipped: {why}"),
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }

    #[test]
    fn filter_passes_only_rs_and_ra() {
        let f = filter_passing(&[133, 134]);
        let blocked = |t: u8| f[usize::from(t >> 5)] & (1 << (t & 31)) != 0;
        assert!(!blocked(133) && !blocked(134));
        assert!(blocked(135) && blocked(136) && blocked(128) && blocked(1) && blocked(255));
    }
}
