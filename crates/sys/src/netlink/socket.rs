//! The netlink socket itself: open, send a request, collect the reply.

use super::consts::*;
use super::message::{Message, parse_message};
use super::wire::{MessageHeader, RequestBuilder, messages};
use std::io;
use std::mem;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// Largest datagram we accept. The kernel sizes dump chunks to at most 32 KiB
/// (and one page for notifications); a bigger buffer costs nothing.
pub(crate) const RECV_BUF: usize = 64 * 1024;

/// Opens an `AF_NETLINK`/`NETLINK_ROUTE` socket bound to a kernel-chosen
/// port, with capped acks and extended-ack text enabled.
pub(crate) fn open_socket(nonblocking: bool) -> io::Result<OwnedFd> {
    open_socket_for(NETLINK_ROUTE, nonblocking)
}

/// Opens an `AF_NETLINK` socket of `protocol` (rtnetlink, nfnetlink) bound
/// to a kernel-chosen port, with capped acks and extended-ack text enabled.
pub(crate) fn open_socket_for(protocol: i32, nonblocking: bool) -> io::Result<OwnedFd> {
    let mut ty = libc::SOCK_RAW | libc::SOCK_CLOEXEC;
    if nonblocking {
        ty |= libc::SOCK_NONBLOCK;
    }
    // SAFETY: plain socket(2) call; the result is checked before use.
    let fd = unsafe { libc::socket(libc::AF_NETLINK, ty, protocol) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fd is a fresh descriptor we own.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    // Best effort: both exist since Linux 4.3/4.12; without them acks are
    // just longer and carry no text.
    let _ = set_int_opt(&fd, SOL_NETLINK, NETLINK_CAP_ACK, 1);
    let _ = set_int_opt(&fd, SOL_NETLINK, NETLINK_EXT_ACK, 1);
    // SAFETY: sockaddr_nl is plain old data; all-zero is a valid value.
    let mut sa: libc::sockaddr_nl = unsafe { mem::zeroed() };
    sa.nl_family = libc::AF_NETLINK as libc::sa_family_t;
    // SAFETY: sa is a valid sockaddr_nl and the length matches it.
    let r = unsafe {
        libc::bind(
            fd.as_raw_fd(),
            (&sa as *const libc::sockaddr_nl).cast(),
            mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t,
        )
    };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(fd)
}

pub(crate) fn set_int_opt(fd: &OwnedFd, level: i32, name: i32, value: i32) -> io::Result<()> {
    // SAFETY: value lives across the call and its size is passed.
    let r = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (&value as *const i32).cast(),
            mem::size_of::<i32>() as libc::socklen_t,
        )
    };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// Receives one datagram from the kernel into `buf`, returning its length.
/// Datagrams from other senders are reported as `Ok(None)` and must be
/// ignored; a datagram larger than `buf` is an error (it was truncated).
pub(crate) fn recv_from_kernel(fd: &OwnedFd, buf: &mut [u8]) -> io::Result<Option<usize>> {
    recv_from_kernel_flags(fd, buf, 0)
}

/// [`recv_from_kernel`] with extra `recvfrom` flags (`MSG_DONTWAIT`).
pub(crate) fn recv_from_kernel_flags(
    fd: &OwnedFd,
    buf: &mut [u8],
    flags: i32,
) -> io::Result<Option<usize>> {
    // SAFETY: zeroed sockaddr_nl is valid; recvfrom writes at most buf.len()
    // bytes into buf and at most addrlen bytes into sa.
    let mut sa: libc::sockaddr_nl = unsafe { mem::zeroed() };
    let mut sa_len = mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t;
    let n = unsafe {
        libc::recvfrom(
            fd.as_raw_fd(),
            buf.as_mut_ptr().cast(),
            buf.len(),
            libc::MSG_TRUNC | flags,
            (&mut sa as *mut libc::sockaddr_nl).cast(),
            &mut sa_len,
        )
    };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    let n = n as usize;
    if n > buf.len() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("netlink datagram of {n} bytes truncated to {}", buf.len()),
        ));
    }
    if sa.nl_pid != 0 {
        return Ok(None);
    }
    Ok(Some(n))
}

/// Bounds every blocking receive on `fd` to `secs` seconds.
pub(crate) fn set_recv_timeout(fd: &OwnedFd, secs: u8) -> io::Result<()> {
    let tv = libc::timeval {
        // `time_t` is 32 or 64 bits depending on the target's libc.
        tv_sec: secs.into(),
        tv_usec: 0,
    };
    // SAFETY: tv lives across the call and its size is passed.
    let r = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVTIMEO,
            (&tv as *const libc::timeval).cast(),
            mem::size_of::<libc::timeval>() as libc::socklen_t,
        )
    };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Sends one datagram (one or more messages) to the kernel.
/// Reads datagrams from `fd` until `on_reply` ends the exchange: every
/// message with sequence number `seq` is passed to it (others are late
/// replies to an earlier, abandoned request, and skipped), and it returns
/// `Some` with the outcome when the exchange is over. The one reply loop of
/// the rtnetlink and nfnetlink clients.
pub(crate) fn await_replies<R>(
    fd: &OwnedFd,
    buf: &mut [u8],
    seq: u32,
    mut on_reply: impl FnMut(&MessageHeader, &[u8]) -> io::Result<Option<R>>,
) -> io::Result<R> {
    loop {
        let Some(n) = recv_from_kernel(fd, buf)? else {
            continue;
        };
        let data = buf.get(..n).unwrap_or(&[]);
        for m in messages(data) {
            let (h, payload) = m?;
            if h.seq != seq {
                continue;
            }
            if let Some(r) = on_reply(&h, payload)? {
                return Ok(r);
            }
        }
    }
}

pub(crate) fn send_to_kernel(fd: &OwnedFd, bytes: &[u8]) -> io::Result<()> {
    // SAFETY: zeroed sockaddr_nl is valid (pid 0 = the kernel); bytes is a
    // valid buffer of the given length. The kernel's address is passed
    // explicitly because the socket is not connected.
    let mut sa: libc::sockaddr_nl = unsafe { mem::zeroed() };
    sa.nl_family = libc::AF_NETLINK as libc::sa_family_t;
    let n = unsafe {
        libc::sendto(
            fd.as_raw_fd(),
            bytes.as_ptr().cast(),
            bytes.len(),
            0,
            (&sa as *const libc::sockaddr_nl).cast(),
            mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t,
        )
    };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    if n as usize != bytes.len() {
        return Err(io::Error::new(
            io::ErrorKind::WriteZero,
            format!("netlink: sent {n} of {} bytes", bytes.len()),
        ));
    }
    Ok(())
}

/// A blocking rtnetlink request socket.
///
/// Blocking is deliberate: rtnetlink requests are executed by the kernel
/// inside `sendmsg`, and dump replies are produced inside `recvmsg`, so a
/// call never waits on anything outside the kernel. A 5 s receive timeout
/// still bounds a call should that ever not hold. Async daemons call these
/// methods directly from their (single-threaded) runtime.
pub struct Netlink {
    fd: OwnedFd,
    seq: u32,
    buf: Vec<u8>,
}

impl Netlink {
    /// Opens a request socket in the calling thread's network namespace.
    pub fn open() -> io::Result<Netlink> {
        let fd = open_socket(false)?;
        set_recv_timeout(&fd, 5)?;
        Ok(Netlink {
            fd,
            // Start somewhere other than 0/1 so a stale reply of a previous
            // process on a reused port id never matches.
            seq: std::process::id().wrapping_mul(7919),
            buf: vec![0; RECV_BUF],
        })
    }

    fn send(&mut self, req: RequestBuilder) -> io::Result<u32> {
        self.seq = self.seq.wrapping_add(1).max(1);
        let seq = self.seq;
        let bytes = req.finish(seq);
        send_to_kernel(&self.fd, &bytes)?;
        Ok(seq)
    }

    /// Sends a request that expects only an ack.
    pub(crate) fn request_ack(&mut self, req: RequestBuilder, context: &str) -> io::Result<()> {
        let seq = self.send(req)?;
        await_replies(
            &self.fd,
            &mut self.buf,
            seq,
            |h, payload| match parse_message(h, payload)? {
                Message::Ack(None) => Ok(Some(())),
                Message::Ack(Some(e)) => Err(e.to_io(context)),
                _ => Ok(None),
            },
        )
    }

    /// Sends a request that returns messages (a dump, or a single get), and
    /// collects what `pick` keeps. Restarts a dump the kernel flags as
    /// interrupted (the table changed while it was being read).
    pub(crate) fn request_collect<T>(
        &mut self,
        mut req: impl FnMut() -> RequestBuilder,
        context: &str,
        mut pick: impl FnMut(Message) -> Option<T>,
    ) -> io::Result<Vec<T>> {
        for _attempt in 0..5 {
            let seq = self.send(req())?;
            let mut out = Vec::new();
            let mut interrupted = false;
            await_replies(&self.fd, &mut self.buf, seq, |h, payload| {
                if h.flags & NLM_F_DUMP_INTR != 0 {
                    interrupted = true;
                }
                match parse_message(h, payload)? {
                    Message::Done | Message::Ack(None) => Ok(Some(())),
                    Message::Ack(Some(e)) => Err(e.to_io(context)),
                    other => {
                        if let Some(t) = pick(other) {
                            out.push(t);
                        }
                        // A single reply (not a dump) ends the exchange.
                        Ok((h.flags & NLM_F_MULTI == 0).then_some(()))
                    }
                }
            })?;
            if !interrupted {
                return Ok(out);
            }
        }
        Err(io::Error::new(
            io::ErrorKind::Interrupted,
            format!("{context}: dump kept being interrupted by changes"),
        ))
    }
}
