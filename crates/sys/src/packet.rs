//! Link-layer sockets (`AF_PACKET`, `SOCK_DGRAM`) for protocols that run
//! directly on Ethernet, such as PPPoE Discovery (ethertype 0x8863).
//!
//! `SOCK_DGRAM` rather than `SOCK_RAW`: the kernel strips the Ethernet
//! header on receive (giving the source MAC and packet type beside the
//! payload) and builds it on send from the destination MAC we pass and the
//! interface's own address, so protocol code never handles Ethernet headers
//! and cannot get our own MAC wrong. The socket is bound to one interface
//! and one ethertype, so nothing else is queued to it.
//!
//! Also here: [`pppox_socket`], the kernel's PPPoE session socket, whose
//! absence is the reason a session cannot come up on a kernel without PPP.

use std::io;
use std::mem;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;

/// A MAC address.
pub type Mac = [u8; 6];

/// One received frame's payload description.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Received {
    /// Octets of payload written to the buffer (after the Ethernet header).
    pub len: usize,
    /// Source MAC of the frame.
    pub src: Mac,
    /// What the frame was addressed to, as the kernel classified it.
    pub kind: FrameKind,
}

/// `sll_pkttype`: to whom the frame was addressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameKind {
    /// Our own MAC (`PACKET_HOST`).
    Host,
    /// Broadcast.
    Broadcast,
    /// A multicast group.
    Multicast,
    /// Another host's MAC, seen because the interface is promiscuous: not
    /// for us.
    OtherHost,
    /// A frame we sent, looped back (`PACKET_OUTGOING`).
    Outgoing,
}

impl FrameKind {
    fn from_pkttype(t: u8) -> FrameKind {
        match t {
            libc::PACKET_HOST => FrameKind::Host,
            libc::PACKET_BROADCAST => FrameKind::Broadcast,
            libc::PACKET_MULTICAST => FrameKind::Multicast,
            libc::PACKET_OUTGOING => FrameKind::Outgoing,
            _ => FrameKind::OtherHost,
        }
    }

    /// Whether a host protocol should look at it at all.
    pub fn is_for_us(self) -> bool {
        matches!(
            self,
            FrameKind::Host | FrameKind::Broadcast | FrameKind::Multicast
        )
    }
}

/// An `AF_PACKET` datagram socket bound to one interface and ethertype,
/// registered with the tokio reactor.
pub struct PacketSocket {
    fd: AsyncFd<OwnedFd>,
    ifindex: u32,
    ethertype: u16,
}

fn sockaddr(ifindex: u32, ethertype: u16, dst: Option<&Mac>) -> io::Result<libc::sockaddr_ll> {
    // SAFETY: sockaddr_ll is plain old data; all-zero is a valid value.
    let mut sa: libc::sockaddr_ll = unsafe { mem::zeroed() };
    sa.sll_family = libc::AF_PACKET as u16;
    sa.sll_protocol = ethertype.to_be();
    sa.sll_ifindex = i32::try_from(ifindex)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "interface index too large"))?;
    if let Some(mac) = dst {
        sa.sll_halen = 6;
        sa.sll_addr[..6].copy_from_slice(mac);
    }
    Ok(sa)
}

const SOCKADDR_LL_LEN: libc::socklen_t = mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t;

impl PacketSocket {
    /// Opens a socket receiving and sending `ethertype` frames on
    /// `ifindex`. Needs CAP_NET_RAW; must be called inside a tokio runtime.
    pub fn open(ifindex: u32, ethertype: u16) -> io::Result<PacketSocket> {
        // SAFETY: socket(2) with constant arguments; the returned descriptor
        // is checked before use and owned by exactly one OwnedFd.
        let raw = unsafe {
            libc::socket(
                libc::AF_PACKET,
                libc::SOCK_DGRAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
                i32::from(ethertype.to_be()),
            )
        };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: raw is a fresh descriptor nobody else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let sa = sockaddr(ifindex, ethertype, None)?;
        // SAFETY: sa is a valid sockaddr_ll and the length passed is its size.
        let rc = unsafe {
            libc::bind(
                fd.as_raw_fd(),
                (&raw const sa).cast::<libc::sockaddr>(),
                SOCKADDR_LL_LEN,
            )
        };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: the OwnedFd is moved into the AsyncFd, so it stays open and
        // refers to this socket for the AsyncFd's whole lifetime.
        let fd = unsafe { AsyncFd::register_with_interest(fd, Interest::READABLE) }?;
        Ok(PacketSocket {
            fd,
            ifindex,
            ethertype,
        })
    }

    /// The interface the socket is bound to.
    pub fn ifindex(&self) -> u32 {
        self.ifindex
    }

    /// Sends `payload` to `dst` (the kernel adds the Ethernet header with
    /// our MAC as source). Discovery packets are small and rare, so a full
    /// send queue is reported as an error rather than waited for: the
    /// protocol's retransmission covers it.
    pub fn send_to(&self, dst: &Mac, payload: &[u8]) -> io::Result<()> {
        let sa = sockaddr(self.ifindex, self.ethertype, Some(dst))?;
        // SAFETY: payload is valid for payload.len() bytes; sa is a valid
        // sockaddr_ll whose size is passed.
        let n = unsafe {
            libc::sendto(
                self.fd.get_ref().as_raw_fd(),
                payload.as_ptr().cast(),
                payload.len(),
                libc::MSG_DONTWAIT,
                (&raw const sa).cast::<libc::sockaddr>(),
                SOCKADDR_LL_LEN,
            )
        };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        if n as usize != payload.len() {
            return Err(io::Error::other(format!(
                "short send: {n} of {} octets",
                payload.len()
            )));
        }
        Ok(())
    }

    /// Receives one frame's payload into `buf` without waiting; `Ok(None)`
    /// if nothing is queued. A payload longer than `buf` is cut (and its
    /// `len` is that of the cut payload).
    pub fn try_recv(&self, buf: &mut [u8]) -> io::Result<Option<Received>> {
        match recv_ll(self.fd.get_ref(), buf) {
            Ok(r) => Ok(Some(r)),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Waits for one frame and receives its payload into `buf`.
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<Received> {
        loop {
            let mut guard = self.fd.readable().await?;
            match guard.try_io(|fd| recv_ll(fd.get_ref(), buf)) {
                Ok(result) => return result,
                Err(_would_block) => continue,
            }
        }
    }
}

fn recv_ll(fd: &OwnedFd, buf: &mut [u8]) -> io::Result<Received> {
    // SAFETY: sockaddr_ll is plain old data; all-zero is a valid value.
    let mut sa: libc::sockaddr_ll = unsafe { mem::zeroed() };
    let mut sa_len = SOCKADDR_LL_LEN;
    // SAFETY: buf is valid for writes of buf.len() bytes; sa and sa_len
    // describe a writable sockaddr_ll of the size given.
    let n = unsafe {
        libc::recvfrom(
            fd.as_raw_fd(),
            buf.as_mut_ptr().cast(),
            buf.len(),
            libc::MSG_DONTWAIT,
            (&raw mut sa).cast::<libc::sockaddr>(),
            &raw mut sa_len,
        )
    };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    let mut src = [0u8; 6];
    src.copy_from_slice(&sa.sll_addr[..6]);
    Ok(Received {
        len: (n as usize).min(buf.len()),
        src,
        kind: FrameKind::from_pkttype(sa.sll_pkttype),
    })
}

/// Opens the kernel's PPPoE session socket (`socket(AF_PPPOX, SOCK_STREAM,
/// PX_PROTO_OE)`), the first step of attaching a discovered session to the
/// kernel's data path. On a kernel built without PPPoE (or without the
/// `pppoe` module loaded) this fails with `EAFNOSUPPORT`; [`errno_name`]
/// turns that into the word an engineer can search for.
pub fn pppox_socket() -> io::Result<OwnedFd> {
    /// `PX_PROTO_OE` from linux/if_pppox.h.
    const PX_PROTO_OE: libc::c_int = 0;
    // SAFETY: socket(2) with constant arguments; the descriptor is checked
    // and then owned by exactly one OwnedFd.
    let raw = unsafe {
        libc::socket(
            libc::AF_PPPOX,
            libc::SOCK_STREAM | libc::SOCK_CLOEXEC,
            PX_PROTO_OE,
        )
    };
    if raw < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: raw is a fresh descriptor nobody else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(raw) })
}

/// The symbolic name of the errno values socket set-up meets, for messages
/// that must be exact ("socket(AF_PPPOX): EAFNOSUPPORT").
pub fn errno_name(e: &io::Error) -> Option<&'static str> {
    Some(match e.raw_os_error()? {
        libc::EAFNOSUPPORT => "EAFNOSUPPORT",
        libc::EPROTONOSUPPORT => "EPROTONOSUPPORT",
        libc::EPERM => "EPERM",
        libc::EACCES => "EACCES",
        libc::ENOENT => "ENOENT",
        libc::ENODEV => "ENODEV",
        libc::ENXIO => "ENXIO",
        libc::ENETDOWN => "ENETDOWN",
        libc::EINVAL => "EINVAL",
        libc::ENOBUFS => "ENOBUFS",
        libc::ENOMEM => "ENOMEM",
        libc::EMFILE => "EMFILE",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errno_names_are_the_kernels() {
        let e = io::Error::from_raw_os_error(libc::EAFNOSUPPORT);
        assert_eq!(errno_name(&e), Some("EAFNOSUPPORT"));
        assert_eq!(errno_name(&io::Error::other("x")), None);
    }

    #[test]
    fn frame_kinds_follow_sll_pkttype() {
        assert!(FrameKind::from_pkttype(libc::PACKET_HOST).is_for_us());
        assert!(FrameKind::from_pkttype(libc::PACKET_BROADCAST).is_for_us());
        assert!(!FrameKind::from_pkttype(libc::PACKET_OTHERHOST).is_for_us());
        assert!(!FrameKind::from_pkttype(libc::PACKET_OUTGOING).is_for_us());
    }

    #[test]
    fn sockaddr_carries_the_ethertype_in_network_order() {
        let sa = sockaddr(3, 0x8863, Some(&[2, 0, 0, 0, 0, 1])).unwrap();
        assert_eq!(sa.sll_protocol.to_ne_bytes(), [0x88, 0x63]);
        assert_eq!(sa.sll_ifindex, 3);
        assert_eq!(
            (sa.sll_halen, &sa.sll_addr[..6]),
            (6, &[2, 0, 0, 0, 0, 1][..])
        );
    }
}
