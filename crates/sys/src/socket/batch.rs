//! `recvmmsg`/`sendmmsg` with per-datagram packet information: under load
//! one system call each way serves many datagrams. The DNS forwarder's
//! listening sockets use it; each answer leaves from the address its query
//! was sent to.

use std::io;
use std::mem;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::RawFd;

use socket2::{SockAddr, SockAddrStorage};

use super::cmsg::{self, ControlBuffer};
use super::{control_len, source_of};

/// Datagrams read or written per system call.
pub const BATCH: usize = 32;
/// Largest datagram read whole.
const DGRAM: usize = 4096;

/// A received datagram's addressing (its bytes are in [`RecvBatch`]).
#[derive(Debug, Clone, Copy)]
pub struct RecvInfo {
    /// Bytes received (already capped to the buffer).
    pub len: usize,
    /// Sender.
    pub peer: SocketAddr,
    /// Destination address of the datagram.
    pub local: Option<IpAddr>,
    /// Interface it arrived on (0 if the kernel did not say).
    pub iface: u32,
}

/// Buffers for [`recv_batch`], allocated once.
pub struct RecvBatch {
    bufs: Vec<[u8; DGRAM]>,
    names: Vec<SockAddrStorage>,
    cmsgs: Vec<ControlBuffer>,
    iovs: Vec<libc::iovec>,
    hdrs: Vec<libc::mmsghdr>,
}

impl RecvBatch {
    /// Buffers for [`BATCH`] datagrams.
    pub fn new() -> RecvBatch {
        // SAFETY: all-zero is a valid mmsghdr (no name, no buffers).
        let zero_hdr: libc::mmsghdr = unsafe { mem::zeroed() };
        RecvBatch {
            bufs: vec![[0u8; DGRAM]; BATCH],
            names: (0..BATCH).map(|_| SockAddrStorage::zeroed()).collect(),
            cmsgs: vec![ControlBuffer::default(); BATCH],
            iovs: (0..BATCH)
                .map(|_| libc::iovec {
                    iov_base: std::ptr::null_mut(),
                    iov_len: 0,
                })
                .collect(),
            hdrs: vec![zero_hdr; BATCH],
        }
    }

    /// Payload of datagram `i` of the last batch.
    pub fn data(&self, i: usize, len: usize) -> &[u8] {
        self.bufs.get(i).and_then(|b| b.get(..len)).unwrap_or(&[])
    }
}

impl Default for RecvBatch {
    fn default() -> RecvBatch {
        RecvBatch::new()
    }
}

/// `recvmmsg` of up to [`BATCH`] datagrams with packet info; `WouldBlock`
/// when none is queued. Fills `out` with each datagram's index in `b` and
/// its addressing; one without a usable sender is skipped.
pub fn recv_batch(
    fd: RawFd,
    b: &mut RecvBatch,
    out: &mut Vec<(usize, RecvInfo)>,
) -> io::Result<()> {
    out.clear();
    for i in 0..BATCH {
        b.iovs[i] = libc::iovec {
            iov_base: b.bufs[i].as_mut_ptr().cast(),
            iov_len: DGRAM,
        };
        b.names[i] = SockAddrStorage::zeroed();
        // SAFETY: all-zero is a valid msghdr; the pointers set below refer
        // to buffers owned by `b`, which outlives the call.
        let mut h: libc::msghdr = unsafe { mem::zeroed() };
        h.msg_name = (&mut b.names[i] as *mut SockAddrStorage).cast();
        h.msg_namelen = b.names[i].size_of();
        h.msg_iov = &mut b.iovs[i];
        h.msg_iovlen = 1;
        h.msg_control = b.cmsgs[i].0.as_mut_ptr().cast();
        h.msg_controllen = b.cmsgs[i].0.len() as _;
        b.hdrs[i] = libc::mmsghdr {
            msg_hdr: h,
            msg_len: 0,
        };
    }
    // SAFETY: hdrs holds BATCH valid headers pointing into live buffers.
    let n = unsafe {
        libc::recvmmsg(
            fd,
            b.hdrs.as_mut_ptr(),
            BATCH as libc::c_uint,
            libc::MSG_DONTWAIT as _,
            std::ptr::null_mut(),
        )
    };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    for i in 0..usize::try_from(n).unwrap_or(0).min(BATCH) {
        let h = &b.hdrs[i].msg_hdr;
        let name = mem::replace(&mut b.names[i], SockAddrStorage::zeroed());
        let Some(peer) = source_of(name, h.msg_namelen) else {
            continue;
        };
        let filled = control_len(h, b.cmsgs[i].0.len());
        let info = cmsg::parse(&b.cmsgs[i].0[..filled]);
        out.push((
            i,
            RecvInfo {
                len: (b.hdrs[i].msg_len as usize).min(DGRAM),
                peer,
                local: info.destination,
                iface: info.ifindex.unwrap_or(0),
            },
        ));
    }
    Ok(())
}

/// One queued UDP answer.
pub struct Outgoing {
    /// Client.
    pub peer: SocketAddr,
    /// Source address.
    pub local: IpAddr,
    /// Interface.
    pub iface: u32,
    /// Message.
    pub data: Vec<u8>,
}

/// `sendmmsg` of queued answers, each from its own source address; returns
/// how many were sent (the rest stay queued for the caller to drop or
/// retry). An answer whose source family differs from its peer's goes
/// without packet information (the routing table picks the source).
pub fn send_batch(fd: RawFd, queue: &[Outgoing]) -> io::Result<usize> {
    let n = queue.len().min(BATCH);
    let dests: Vec<SockAddr> = queue
        .iter()
        .take(n)
        .map(|o| SockAddr::from(o.peer))
        .collect();
    let mut iovs: Vec<libc::iovec> = queue
        .iter()
        .take(n)
        .map(|o| libc::iovec {
            iov_base: o.data.as_ptr() as *mut libc::c_void,
            iov_len: o.data.len(),
        })
        .collect();
    let mut cmsgs = vec![ControlBuffer::default(); n];
    let mut hdrs: Vec<libc::mmsghdr> = Vec::with_capacity(n);
    for (i, o) in queue.iter().take(n).enumerate() {
        let same_family = o.local.is_ipv6() == o.peer.is_ipv6();
        let used = if same_family {
            cmsg::put_pktinfo(&mut cmsgs[i].0, o.local, o.iface)
        } else {
            0
        };
        // SAFETY: all-zero is a valid msghdr; the pointers set below refer
        // to the vectors above, which live until after sendmmsg returns.
        let mut h: libc::msghdr = unsafe { mem::zeroed() };
        h.msg_name = dests[i].as_ptr() as *mut libc::c_void;
        h.msg_namelen = dests[i].len();
        h.msg_iov = &mut iovs[i];
        h.msg_iovlen = 1;
        if used > 0 {
            h.msg_control = cmsgs[i].0.as_mut_ptr().cast();
            h.msg_controllen = used as _;
        }
        hdrs.push(libc::mmsghdr {
            msg_hdr: h,
            msg_len: 0,
        });
    }
    // SAFETY: hdrs holds n valid headers pointing into live buffers.
    let sent = unsafe {
        libc::sendmmsg(
            fd,
            hdrs.as_mut_ptr(),
            n as libc::c_uint,
            libc::MSG_DONTWAIT as _,
        )
    };
    if sent < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(usize::try_from(sent).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::socket::enable_pktinfo;
    use std::net::{Ipv4Addr, UdpSocket};
    use std::os::fd::AsRawFd;

    /// Two datagrams read in one call, answered in one call from the
    /// address they were sent to.
    #[test]
    fn a_batch_is_read_and_answered_with_packet_information() {
        let server = UdpSocket::bind("127.0.0.1:0").unwrap();
        enable_pktinfo(server.as_raw_fd(), false).unwrap();
        let client = UdpSocket::bind("127.0.0.1:0").unwrap();
        client
            .set_read_timeout(Some(std::time::Duration::from_secs(2)))
            .unwrap();
        client
            .send_to(b"one", server.local_addr().unwrap())
            .unwrap();
        client
            .send_to(b"two", server.local_addr().unwrap())
            .unwrap();
        let mut peek = [0u8; 1];
        let _ = server.peek(&mut peek);
        let mut b = RecvBatch::new();
        let mut out = Vec::new();
        recv_batch(server.as_raw_fd(), &mut b, &mut out).unwrap();
        assert_eq!(out.len(), 2, "both queued datagrams in one call");
        let (i, info) = out[1];
        assert_eq!(b.data(i, info.len), b"two");
        assert_eq!(info.peer, client.local_addr().unwrap());
        assert_eq!(info.local, Some(Ipv4Addr::LOCALHOST.into()));
        assert_eq!(info.iface, 1);
        let queue: Vec<Outgoing> = out
            .iter()
            .map(|(i, info)| Outgoing {
                peer: info.peer,
                local: info.local.unwrap(),
                iface: info.iface,
                data: b.data(*i, info.len).to_vec(),
            })
            .collect();
        assert_eq!(send_batch(server.as_raw_fd(), &queue).unwrap(), 2);
        let mut buf = [0u8; 8];
        let (n, from) = client.recv_from(&mut buf).unwrap();
        assert_eq!(
            (&buf[..n], from),
            (&b"one"[..], server.local_addr().unwrap())
        );
    }
}
