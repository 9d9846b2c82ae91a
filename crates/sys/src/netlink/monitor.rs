//! Kernel change notifications: links, addresses and routes as they change.

use super::addr::Address;
use super::consts::*;
use super::link::Link;
use super::message::{Message, parse_datagram};
use super::route::Route;
use super::socket::{RECV_BUF, open_socket, recv_from_kernel, set_int_opt};
use std::collections::VecDeque;
use std::io;
use std::os::fd::OwnedFd;
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;

/// A change the kernel announced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A link appeared or changed (flags, carrier, operstate, MTU).
    NewLink(Link),
    /// A link disappeared.
    DelLink(Link),
    /// An address appeared or changed.
    NewAddress(Address),
    /// An address was removed.
    DelAddress(Address),
    /// A route appeared or changed.
    NewRoute(Route),
    /// A route was removed.
    DelRoute(Route),
    /// The socket buffer overflowed and notifications were lost: the
    /// receiver must re-read what it tracks with a dump.
    Overrun,
}

impl Event {
    fn from_message(m: Message) -> Option<Event> {
        Some(match m {
            Message::NewLink(l) => Event::NewLink(l),
            Message::DelLink(l) => Event::DelLink(l),
            Message::NewAddress(a) => Event::NewAddress(a),
            Message::DelAddress(a) => Event::DelAddress(a),
            Message::NewRoute(r) => Event::NewRoute(r),
            Message::DelRoute(r) => Event::DelRoute(r),
            Message::Done | Message::Ack(_) | Message::Other(_) | Message::NewNeighbour(_) => {
                return None;
            }
        })
    }
}

/// A multicast group to subscribe to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    /// Link changes.
    Link,
    /// IPv4 address changes.
    Ipv4Addr,
    /// IPv6 address changes.
    Ipv6Addr,
    /// IPv4 route changes.
    Ipv4Route,
    /// IPv6 route changes.
    Ipv6Route,
}

impl Group {
    /// Every group the WAN and LAN daemons use.
    pub const ALL: [Group; 5] = [
        Group::Link,
        Group::Ipv4Addr,
        Group::Ipv6Addr,
        Group::Ipv4Route,
        Group::Ipv6Route,
    ];

    fn number(self) -> u32 {
        match self {
            Group::Link => RTNLGRP_LINK,
            Group::Ipv4Addr => RTNLGRP_IPV4_IFADDR,
            Group::Ipv6Addr => RTNLGRP_IPV6_IFADDR,
            Group::Ipv4Route => RTNLGRP_IPV4_ROUTE,
            Group::Ipv6Route => RTNLGRP_IPV6_ROUTE,
        }
    }
}

/// Decodes a notification datagram into events, counting malformed messages
/// in `malformed` instead of failing: one bad message must not hide the
/// others, nor stop the daemon.
pub fn decode_events(buf: &[u8], malformed: &mut u64) -> Vec<Event> {
    let mut out = Vec::new();
    for r in parse_datagram(buf) {
        match r {
            Ok((_, m)) => out.extend(Event::from_message(m)),
            Err(e) => {
                *malformed += 1;
                if *malformed <= 10 || malformed.is_power_of_two() {
                    log::warn!(
                        "netlink monitor: dropped malformed message ({e}); {malformed} so far"
                    );
                }
            }
        }
    }
    out
}

/// An async subscription to rtnetlink notifications.
pub struct Monitor {
    fd: AsyncFd<OwnedFd>,
    buf: Vec<u8>,
    pending: VecDeque<Event>,
    malformed: u64,
}

impl Monitor {
    /// Subscribes to links, IPv4/IPv6 addresses and IPv4/IPv6 routes.
    /// Must be called inside a tokio runtime.
    pub fn open() -> io::Result<Monitor> {
        Monitor::open_groups(&Group::ALL)
    }

    /// Subscribes to the given groups.
    pub fn open_groups(groups: &[Group]) -> io::Result<Monitor> {
        let fd = open_socket(true)?;
        for g in groups {
            set_int_opt(&fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, g.number() as i32)?;
        }
        // A burst (an interface flap removes and re-adds dozens of routes)
        // must not overflow the default ~200 KB; ask for more, best effort.
        let _ = set_int_opt(&fd, libc::SOL_SOCKET, libc::SO_RCVBUF, 1 << 20);
        // SAFETY: the OwnedFd is moved into the AsyncFd, so it stays open and
        // refers to this socket for the AsyncFd's whole lifetime.
        let fd = unsafe { AsyncFd::register_with_interest(fd, Interest::READABLE) }?;
        Ok(Monitor {
            fd,
            buf: vec![0; RECV_BUF],
            pending: VecDeque::new(),
            malformed: 0,
        })
    }

    /// How many malformed notifications were dropped so far.
    pub fn malformed(&self) -> u64 {
        self.malformed
    }

    /// The next event if one is already queued or readable without waiting;
    /// lets a daemon take a burst of notifications as one batch.
    pub fn try_next(&mut self) -> io::Result<Option<Event>> {
        loop {
            if let Some(e) = self.pending.pop_front() {
                return Ok(Some(e));
            }
            match recv_from_kernel(self.fd.get_ref(), &mut self.buf) {
                Ok(Some(n)) => {
                    let data = self.buf.get(..n).unwrap_or(&[]);
                    self.pending
                        .extend(decode_events(data, &mut self.malformed));
                }
                Ok(None) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(None),
                Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => {
                    return Ok(Some(Event::Overrun));
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// The next event. Cancel-safe: events already read stay queued.
    pub async fn next(&mut self) -> io::Result<Event> {
        loop {
            if let Some(e) = self.pending.pop_front() {
                return Ok(e);
            }
            let mut guard = self.fd.readable().await?;
            let res = guard.try_io(|fd| recv_from_kernel(fd.get_ref(), &mut self.buf));
            match res {
                Err(_would_block) => continue,
                Ok(Ok(Some(n))) => {
                    let data = self.buf.get(..n).unwrap_or(&[]);
                    self.pending
                        .extend(decode_events(data, &mut self.malformed));
                }
                Ok(Ok(None)) => {} // not from the kernel: ignore
                Ok(Err(e)) if e.raw_os_error() == Some(libc::ENOBUFS) => {
                    return Ok(Event::Overrun);
                }
                Ok(Err(e)) => return Err(e),
            }
        }
    }
}
