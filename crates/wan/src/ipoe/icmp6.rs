//! The WAN's raw ICMPv6 socket: receives Router Advertisements (only), sends
//! Router Solicitations.

use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use std::io;
use std::mem;
use std::net::{Ipv6Addr, SocketAddrV6};
use std::os::fd::{AsRawFd, OwnedFd};
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;

/// `ICMP6_FILTER` (linux/icmpv6.h), absent from `libc`.
const ICMP6_FILTER: libc::c_int = 1;
const TYPE_RA: u8 = 134;
const ALL_ROUTERS: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 2);

/// One received ICMPv6 message.
#[derive(Debug, Clone, Copy)]
pub struct Received {
    /// Bytes in the buffer.
    pub len: usize,
    /// IPv6 source.
    pub source: Ipv6Addr,
    /// IPv6 hop limit (0 if the kernel did not say, which fails validation).
    pub hop_limit: u8,
}

/// Raw ICMPv6 socket bound to the WAN interface.
pub struct Icmp6Socket {
    fd: AsyncFd<OwnedFd>,
    ifindex: u32,
}

fn setsockopt<T>(
    fd: &impl AsRawFd,
    level: libc::c_int,
    name: libc::c_int,
    value: &T,
) -> io::Result<()> {
    // SAFETY: value points to a live T and its exact size is passed.
    let r = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (value as *const T).cast(),
            mem::size_of::<T>() as libc::socklen_t,
        )
    };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

impl Icmp6Socket {
    /// Opens the socket on `ifname` (index `ifindex`). Must run inside a
    /// tokio runtime.
    pub fn open(ifname: &str, ifindex: u32) -> io::Result<Icmp6Socket> {
        let ctx = |what: &str, e: io::Error| {
            io::Error::new(e.kind(), format!("ICMPv6 socket on {ifname}: {what}: {e}"))
        };
        let s = Socket::new(Domain::IPV6, Type::RAW, Some(Protocol::ICMPV6))
            .map_err(|e| ctx("socket", e))?;
        s.set_nonblocking(true).map_err(|e| ctx("nonblocking", e))?;
        s.bind_device(Some(ifname.as_bytes()))
            .map_err(|e| ctx("SO_BINDTODEVICE", e))?;
        // RFC 4861: ND is sent with hop limit 255 so receivers can tell it
        // was not forwarded.
        s.set_multicast_hops_v6(255)
            .map_err(|e| ctx("multicast hops", e))?;
        s.set_unicast_hops_v6(255)
            .map_err(|e| ctx("unicast hops", e))?;
        s.set_multicast_if_v6(ifindex)
            .map_err(|e| ctx("multicast if", e))?;
        s.set_multicast_loop_v6(false)
            .map_err(|e| ctx("multicast loop", e))?;
        // Block every ICMPv6 type except RA: bit set = blocked.
        let mut filter = [u32::MAX; 8];
        if let Some(word) = filter.get_mut(usize::from(TYPE_RA >> 5)) {
            *word &= !(1u32 << (TYPE_RA & 31));
        }
        setsockopt(&s, libc::IPPROTO_ICMPV6, ICMP6_FILTER, &filter)
            .map_err(|e| ctx("ICMP6_FILTER", e))?;
        setsockopt(&s, libc::IPPROTO_IPV6, libc::IPV6_RECVHOPLIMIT, &1i32)
            .map_err(|e| ctx("IPV6_RECVHOPLIMIT", e))?;
        let fd: OwnedFd = s.into();
        // SAFETY: the OwnedFd moves into the AsyncFd and stays open for its
        // whole lifetime.
        let fd = unsafe { AsyncFd::register_with_interest(fd, Interest::READABLE) }?;
        Ok(Icmp6Socket { fd, ifindex })
    }

    /// The interface index the socket is bound to.
    pub fn ifindex(&self) -> u32 {
        self.ifindex
    }

    /// Waits for the next message.
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<Received> {
        loop {
            let mut guard = self.fd.readable().await?;
            match guard.try_io(|fd| recv_with_hop_limit(fd.get_ref(), buf)) {
                Ok(r) => return r,
                Err(_would_block) => continue,
            }
        }
    }

    /// Sends a Router Solicitation (an encoded ICMPv6 message; the kernel
    /// fills the checksum) to all-routers on the WAN.
    pub fn send_rs(&self, message: &[u8]) -> io::Result<()> {
        let dst = SockAddr::from(SocketAddrV6::new(ALL_ROUTERS, 0, 0, self.ifindex));
        // SAFETY: message is a valid buffer, dst a valid sockaddr_in6.
        let n = unsafe {
            libc::sendto(
                self.fd.get_ref().as_raw_fd(),
                message.as_ptr().cast(),
                message.len(),
                0,
                dst.as_ptr().cast(),
                dst.len(),
            )
        };
        if n < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(())
        }
    }
}

fn recv_with_hop_limit(fd: &OwnedFd, buf: &mut [u8]) -> io::Result<Received> {
    // SAFETY: all-zero is valid for these plain C structs.
    let mut src: libc::sockaddr_in6 = unsafe { mem::zeroed() };
    let mut control = [0u64; 16]; // 128 bytes, u64-aligned as cmsghdr needs
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    // SAFETY: as above.
    let mut msg: libc::msghdr = unsafe { mem::zeroed() };
    msg.msg_name = (&mut src as *mut libc::sockaddr_in6).cast();
    msg.msg_namelen = mem::size_of::<libc::sockaddr_in6>() as libc::socklen_t;
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = mem::size_of_val(&control) as _;
    // SAFETY: msg points at buffers that outlive the call.
    let n = unsafe { libc::recvmsg(fd.as_raw_fd(), &mut msg, 0) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    let mut hop_limit = 0u8;
    // SAFETY: the CMSG_* helpers walk the control buffer the kernel filled,
    // within msg_controllen; each data pointer is read with read_unaligned
    // only when the header says it carries an int.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(&msg);
        while !c.is_null() {
            if (*c).cmsg_level == libc::IPPROTO_IPV6
                && (*c).cmsg_type == libc::IPV6_HOPLIMIT
                && (*c).cmsg_len as usize
                    >= libc::CMSG_LEN(mem::size_of::<libc::c_int>() as u32) as usize
            {
                let v = std::ptr::read_unaligned(libc::CMSG_DATA(c).cast::<libc::c_int>());
                hop_limit = u8::try_from(v).unwrap_or(0);
            }
            c = libc::CMSG_NXTHDR(&msg, c);
        }
    }
    Ok(Received {
        len: n as usize,
        source: Ipv6Addr::from(src.sin6_addr.s6_addr),
        hop_limit,
    })
}
