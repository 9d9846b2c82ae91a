//! The DHCPv4 client's I/O: its UDP socket on the WAN and applying leases
//! through netlink.

use crate::dhcpv4::engine::{Action, Client, Destination, Input, Lease, State};
use crate::dhcpv4::store;
use crate::engine::Ipv4Lease;
use cpe_bus::status::wan::Dhcp4ClientStatus;
use cpe_daemon::Engine as _;
use cpe_sys::netlink::{Address, Lifetimes, Netlink, Route, RouteProtocol, kernel_errno};
use ipnet::{IpNet, Ipv4Net};
use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use std::io;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::path::PathBuf;
use std::time::Instant;
use tokio::net::UdpSocket;

const CLIENT_PORT: u16 = 68;
const SERVER_PORT: u16 = 67;

/// The DHCPv4 client with its socket.
pub struct Dhcp4 {
    client: Client,
    socket: UdpSocket,
    ifindex: u32,
    state_dir: PathBuf,
    link_up: bool,
}

impl Dhcp4 {
    /// Opens UDP 68 on `ifname` and creates the client, seeded with the
    /// lease remembered in `state_dir`.
    pub fn open(
        ifname: &str,
        ifindex: u32,
        mac: &[u8],
        state_dir: PathBuf,
        now: Instant,
    ) -> io::Result<Dhcp4> {
        let mac: [u8; 6] = mac.try_into().map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{ifname} has no Ethernet MAC"),
            )
        })?;
        let ctx = |what: &str, e: io::Error| {
            io::Error::new(e.kind(), format!("DHCPv4 socket on {ifname}: {what}: {e}"))
        };
        let s = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))
            .map_err(|e| ctx("socket", e))?;
        s.set_reuse_address(true)
            .map_err(|e| ctx("SO_REUSEADDR", e))?;
        s.set_broadcast(true).map_err(|e| ctx("SO_BROADCAST", e))?;
        cpe_sys::socket::bind_to_device(&s, ifname).map_err(|e| ctx("bind", e))?;
        s.set_nonblocking(true).map_err(|e| ctx("nonblocking", e))?;
        let any = SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, CLIENT_PORT);
        s.bind(&SockAddr::from(any))
            .map_err(|e| ctx("bind 0.0.0.0:68", e))?;
        let socket = UdpSocket::from_std(s.into())?;
        let remembered = store::load(&state_dir);
        if let Some(r) = &remembered {
            log::info!(
                "DHCPv4: will ask again for {} (from {})",
                r.address,
                r.server
            );
        }
        let client = Client::new(mac, None, cpe_sys::random::seed_or_clock(), remembered, now);
        Ok(Dhcp4 {
            client,
            socket,
            ifindex,
            state_dir,
            link_up: false,
        })
    }

    /// The interface index this client runs on.
    pub fn ifindex(&self) -> u32 {
        self.ifindex
    }

    /// When the client's next timeout is due.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.client.poll_timeout()
    }

    /// Tells the client whether the link can carry traffic; only changes are
    /// passed on.
    pub fn set_link(&mut self, up: bool, nl: &mut Netlink, now: Instant) -> Vec<Ipv4Update> {
        if up == self.link_up {
            return Vec::new();
        }
        self.link_up = up;
        let input = if up { Input::LinkUp } else { Input::LinkDown };
        self.feed(input, nl, now)
    }

    /// Receives one datagram (cancel-safe).
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.socket.recv_from(buf).await
    }

    /// Feeds an input and carries out the client's actions.
    pub fn feed(&mut self, input: Input, nl: &mut Netlink, now: Instant) -> Vec<Ipv4Update> {
        self.client.handle(input, now);
        self.perform(nl, now)
    }

    /// Lets the client's timers run to `now` if one is due, and carries out
    /// its actions.
    pub fn timeout(&mut self, nl: &mut Netlink, now: Instant) -> Vec<Ipv4Update> {
        if self.client.poll_timeout().is_some_and(|t| t <= now) {
            self.client.handle_timeout(now);
        }
        self.perform(nl, now)
    }

    /// Carries out every queued action; lease changes are returned for the
    /// tracker.
    fn perform(&mut self, nl: &mut Netlink, now: Instant) -> Vec<Ipv4Update> {
        let mut updates = Vec::new();
        while let Some(action) = self.client.poll_action() {
            match action {
                Action::Send(bytes, dst) => self.send(&bytes, dst),
                Action::Configure(lease) => {
                    self.configure(&lease, nl, now);
                    updates.push(Ipv4Update(Some(Ipv4Lease {
                        address: IpNet::V4(net_of(&lease)),
                        router: lease.router,
                        dns: lease.dns.clone(),
                        ntp: lease.ntp.clone(),
                    })));
                }
                Action::Deconfigure(lease) => {
                    self.deconfigure(&lease, nl);
                    updates.push(Ipv4Update(None));
                }
                Action::Remember(r) => {
                    if let Err(e) = store::save(&self.state_dir, r.as_ref()) {
                        log::warn!("cannot store the DHCPv4 lease: {e}");
                    }
                }
            }
        }
        updates
    }

    fn send(&self, bytes: &[u8], dst: Destination) {
        let to = match dst {
            Destination::Broadcast => Ipv4Addr::BROADCAST,
            Destination::Unicast(a) => a,
        };
        let addr = SockAddr::from(SocketAddrV4::new(to, SERVER_PORT));
        // Straight to the socket: tokio's try_send_to reports WouldBlock
        // until the reactor has polled a new socket once, and a datagram
        // send on an idle socket does not block anyway.
        if let Err(e) = socket2::SockRef::from(&self.socket).send_to(bytes, &addr) {
            log::warn!("DHCPv4 send to {to}: {e}");
        }
    }

    fn configure(&self, lease: &Lease, nl: &mut Netlink, now: Instant) {
        let left = lease.expires.saturating_duration_since(now).as_secs();
        let left = u32::try_from(left).unwrap_or(u32::MAX - 1);
        let mut a = Address::new(self.ifindex, IpNet::V4(net_of(lease)));
        a.lifetimes = Some(Lifetimes {
            preferred: left,
            valid: left,
        });
        if let Err(e) = nl.replace_address(&a) {
            log::error!("{e}");
        }
        if let Some(router) = lease.router {
            let mut r = Route::unicast(
                IpNet::V4(Ipv4Net::default()),
                Some(router.into()),
                Some(self.ifindex),
            );
            r.protocol = RouteProtocol::DHCP;
            if let Err(e) = nl.replace_route(&r) {
                log::error!("{e}");
            }
        }
    }

    fn deconfigure(&self, lease: &Lease, nl: &mut Netlink) {
        if let Some(router) = lease.router {
            let mut r = Route::unicast(
                IpNet::V4(Ipv4Net::default()),
                Some(router.into()),
                Some(self.ifindex),
            );
            r.protocol = RouteProtocol::DHCP;
            if let Err(e) = nl.del_route(&r)
                && kernel_errno(&e) != Some(libc::ESRCH)
            {
                log::warn!("{e}");
            }
        }
        let a = Address::new(self.ifindex, IpNet::V4(net_of(lease)));
        if let Err(e) = nl.del_address(&a)
            && kernel_errno(&e) != Some(libc::EADDRNOTAVAIL)
        {
            log::warn!("{e}");
        }
    }

    /// The status object's `dhcpv4` member.
    pub fn status(&self, now: Instant) -> Dhcp4ClientStatus {
        let secs = |t: Instant| t.saturating_duration_since(now).as_secs();
        let l = self.client.lease();
        let counters = self.client.counters();
        Dhcp4ClientStatus {
            state: self.client.state().as_str().into(),
            address: l.map(|l| format!("{}/{}", l.address, l.prefix_len)),
            server: l.map(|l| l.server.to_string()),
            router: l.and_then(|l| l.router).map(|r| r.to_string()),
            lease_s: l.map(|l| secs(l.expires)),
            t1_s: l
                .filter(|_| self.client.state() == State::Bound)
                .map(|l| secs(l.t1)),
            t2_s: l.map(|l| secs(l.t2)),
            malformed: counters.malformed,
            ignored: counters.ignored,
            naks: counters.naks,
        }
    }
}

/// A change of the IPv4 lease for the tracker.
pub struct Ipv4Update(pub Option<Ipv4Lease>);

fn net_of(l: &Lease) -> Ipv4Net {
    Ipv4Net::new(l.address, l.prefix_len).unwrap_or_else(|_| Ipv4Net::from(l.address))
}
