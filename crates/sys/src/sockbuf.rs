//! Socket buffer sizing for the daemons' datagram sockets.
//!
//! A daemon that answers LAN hosts must never wait for room in its send
//! buffer (one unresolvable destination would stop its loop), so it sends
//! without blocking and counts what does not fit. How much fits is the
//! buffer size: the kernel default (`net.core.wmem_default`, ~208 KiB) holds
//! ~200 small datagrams waiting for neighbour resolution. The daemons run
//! with CAP_NET_ADMIN, so the FORCE options set the size they chose even
//! above `net.core.{w,r}mem_max`; without the capability the plain option
//! gets as close as the system allows.

use std::io;
use std::os::fd::RawFd;

fn setsockopt_int(fd: RawFd, name: libc::c_int, value: libc::c_int) -> io::Result<()> {
    crate::socket::set_int(fd, libc::SOL_SOCKET, name, value)
}

fn size(fd: RawFd, force: libc::c_int, plain: libc::c_int, bytes: usize) -> io::Result<()> {
    let bytes = libc::c_int::try_from(bytes).unwrap_or(libc::c_int::MAX);
    setsockopt_int(fd, force, bytes).or_else(|_| setsockopt_int(fd, plain, bytes))
}

/// The counter key for a datagram a non-blocking send could not queue:
/// `send_buffer_full` when the buffer had no room (`WouldBlock` from a UDP
/// socket, ENOBUFS from a raw one), else `send_error`. Every daemon
/// reports it under `counters.unsent`.
pub fn unsent_reason(e: &io::Error) -> &'static str {
    if e.kind() == io::ErrorKind::WouldBlock || e.raw_os_error() == Some(libc::ENOBUFS) {
        "send_buffer_full"
    } else {
        "send_error"
    }
}

/// Asks for a send buffer of `bytes` on `fd` (SO_SNDBUFFORCE, else
/// SO_SNDBUF). An error leaves the kernel default, which still works.
pub fn set_send_buffer(fd: RawFd, bytes: usize) -> io::Result<()> {
    size(fd, libc::SO_SNDBUFFORCE, libc::SO_SNDBUF, bytes)
}

/// Asks for a receive buffer of `bytes` on `fd` (SO_RCVBUFFORCE, else
/// SO_RCVBUF).
pub fn set_recv_buffer(fd: RawFd, bytes: usize) -> io::Result<()> {
    size(fd, libc::SO_RCVBUFFORCE, libc::SO_RCVBUF, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem;
    use std::net::UdpSocket;
    use std::os::fd::AsRawFd;

    fn get(fd: RawFd, name: libc::c_int) -> usize {
        let mut v: libc::c_int = 0;
        let mut len = mem::size_of::<libc::c_int>() as libc::socklen_t;
        // SAFETY: v and len are live and sized for the call.
        let r = unsafe {
            libc::getsockopt(
                fd,
                libc::SOL_SOCKET,
                name,
                (&mut v as *mut libc::c_int).cast(),
                &mut len,
            )
        };
        assert_eq!(r, 0);
        usize::try_from(v).unwrap_or(0)
    }

    #[test]
    fn unsent_reasons() {
        assert_eq!(
            unsent_reason(&io::Error::from(io::ErrorKind::WouldBlock)),
            "send_buffer_full"
        );
        assert_eq!(
            unsent_reason(&io::Error::from_raw_os_error(libc::EINVAL)),
            "send_error"
        );
    }

    #[test]
    fn buffers_grow_as_far_as_allowed() {
        let s = UdpSocket::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
        let before = get(s.as_raw_fd(), libc::SO_SNDBUF);
        set_send_buffer(s.as_raw_fd(), 4 * before).unwrap_or_else(|e| panic!("{e}"));
        set_recv_buffer(s.as_raw_fd(), 1 << 20).unwrap_or_else(|e| panic!("{e}"));
        // The kernel doubles the value for bookkeeping; without
        // CAP_NET_ADMIN it is capped at wmem_max, so only "not smaller".
        assert!(get(s.as_raw_fd(), libc::SO_SNDBUF) >= before);
    }
}
