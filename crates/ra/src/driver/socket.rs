//! The raw ICMPv6 socket of one LAN interface, set up as RFC 4861 needs it
//! (`cpe_sys::socket::Icmp6Socket`):
//!
//! - hop limit 255 on everything we send (receivers drop anything else);
//! - member of ff02::2 (all-routers) so Router Solicitations arrive;
//! - ICMP6_FILTER passing only RS and RA, so the daemon never wakes for
//!   other ICMPv6 traffic;
//! - IPV6_RECVHOPLIMIT and IPV6_RECVPKTINFO so each packet's hop limit and
//!   arrival interface can be checked (an off-link forged RS has hop < 255);
//! - bound to the device and multicast loop off, so our own RAs do not come
//!   back and RAs on other LANs are not mixed in.

use std::io;
use std::net::Ipv6Addr;

use cpe_sys::socket::Icmp6Socket;
use cpe_wire::nd::{TYPE_ROUTER_ADVERTISEMENT, TYPE_ROUTER_SOLICITATION};

/// ff02::1, where RAs go.
pub const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);
/// ff02::2, where RSs arrive.
pub const ALL_ROUTERS: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 2);

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
pub struct RaSocket(Icmp6Socket);

impl RaSocket {
    /// Opens and configures the socket for interface `name` (index `ifindex`).
    pub fn open(name: &str, ifindex: u32) -> io::Result<RaSocket> {
        let pass = [TYPE_ROUTER_SOLICITATION, TYPE_ROUTER_ADVERTISEMENT];
        Icmp6Socket::open(name, ifindex, &pass, &[ALL_ROUTERS]).map(RaSocket)
    }

    /// Waits for the next packet; `buf` receives the ICMPv6 message.
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<Meta> {
        let r = self.0.recv(buf).await?;
        Ok(Meta {
            len: r.len,
            source: r.source_v6(),
            hop_limit: r.info.hop_limit,
            ifindex: r.info.ifindex,
            truncated: r.truncated,
        })
    }

    /// Sends `message` to ff02::1 on the interface, without waiting: a
    /// full send buffer is an error at once (ENOBUFS on a raw socket). The loop must
    /// never stop for one send (it also answers RSs and follows the
    /// prefix); a lost RA is repeated by the schedule, and RAs are
    /// multicast (no neighbour resolution) and rate-limited by RFC 4861,
    /// so the default buffer never fills in normal operation.
    pub fn try_send_all_nodes(&self, message: &[u8]) -> io::Result<()> {
        self.0.try_send_to(message, ALL_NODES)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;

    /// A send buffer that stays full (a qdisc that holds every packet,
    /// as a stalled link would) makes the send fail at once, and the
    /// failure is reported as a full buffer: a raw socket says ENOBUFS
    /// where UDP says EAGAIN. A regression guard for the loop never
    /// waiting on a send. Needs root (a network namespace, a veth pair,
    /// `tc`); skipped otherwise.
    #[test]
    fn a_full_send_buffer_fails_at_once() {
        let outcome = std::thread::spawn(|| -> Result<(), String> {
            // Only this (short-lived) thread's network namespace changes.
            if cpe_sys::process::enter_new_netns().is_err() {
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
            let ifindex = cpe_sys::socket::require_ifindex("rafull0").map_err(|e| e.to_string())?;
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            let _guard = rt.enter();
            let socket = RaSocket::open("rafull0", ifindex).map_err(|e| e.to_string())?;
            let fd = socket.0.as_raw_fd();
            cpe_sys::socket::set_int(fd, libc::SOL_SOCKET, libc::SO_SNDBUF, 4096)
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
}
