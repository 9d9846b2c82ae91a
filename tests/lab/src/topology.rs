//! The standard IPoE topology: ISP, router, one or two LAN hosts.
//!
//! ```text
//!  isp (ISP)                 rtr (router under test)               host / host2
//!  isp0 ------ veth ------- wan0        br0 --+-- lan0 ---- veth ---- eth0
//!                                             +-- lan1 ---- veth ---- eth0 (host2)
//! ```
//! The builder configures what the ISP owns and what a fresh router's kernel
//! has before its daemons run: links up, sysctls, no addresses on `wan0` or
//! `br0` beyond kernel link-locals. Everything else is the test's (or our
//! daemons') job.

use std::net::IpAddr;
use std::time::Duration;

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

use crate::error::Result;
use crate::lab::{Lab, VethEnd};
use crate::netns::Netns;
use crate::peers::kea::{Kea4Options, KeaDhcp4, KeaDhcp6, KeaOptions};
use crate::peers::radvd::{Radvd, RadvdOptions};
use crate::peers::unbound::{Unbound, UnboundOptions};
use crate::plan::*;

/// Duplicate Address Detection policy for the router and LAN hosts. The
/// ISP namespace always runs without DAD (its addresses are not under test).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Dad {
    /// `accept_dad=0`: addresses are usable at once; fast tests.
    #[default]
    Off,
    /// Kernel default DAD (~1-3 s per address), as on a real router.
    On,
    /// Optimistic DAD (RFC 4429): usable while DAD runs.
    Optimistic,
}

/// Options of [`Lab::ipoe`].
#[derive(Debug, Clone, Default)]
pub struct TopologyOptions {
    /// DAD policy of router and hosts.
    pub dad: Dad,
    /// Adds `host2` behind `lan1`.
    pub second_host: bool,
    /// Multicast snooping on `br0`. Off by default so multicast (RA, DHCPv6)
    /// reaches every port deterministically.
    pub mcast_snooping: bool,
    /// The router is a QEMU guest, not this namespace: `rtr` becomes a
    /// layer-2 patch panel. `wan0` and tap [`GUEST_WAN_TAP`] are ports of
    /// bridge [`WAN_BRIDGE_IF`]; tap [`GUEST_LAN_TAP`] joins `br0`; none of
    /// them (nor `br0`) has IPv6. Start QEMU in `rtr` with
    /// `-netdev tap,ifname=<tap>,script=no,downscript=no` and give the
    /// guest's NICs [`WAN_MAC`] and [`BRIDGE_MAC`], which the namespace's
    /// own links then do not use, so the plan's link-locals hold for the
    /// guest.
    pub guest_router: bool,
}

/// Handles on the namespaces of the IPoE topology.
#[derive(Debug, Clone)]
pub struct IpoeTopology {
    /// The emulated ISP (`isp0`, DNS addresses on `lo`).
    pub isp: Netns,
    /// The router under test (`wan0`, `br0`, `lan0`[, `lan1`]).
    pub router: Netns,
    /// The first LAN host (`eth0`).
    pub host: Netns,
    /// The second LAN host, if requested.
    pub host2: Option<Netns>,
    /// Whether `rtr` is a patch panel for a QEMU guest router.
    pub guest_router: bool,
}

impl Lab {
    /// Builds the IPoE topology (see the module docs and README for the
    /// addressing plan). Returns once links are up and the ISP's addresses
    /// are usable.
    pub fn ipoe(&self, opts: &TopologyOptions) -> Result<IpoeTopology> {
        let isp = self.netns("isp")?;
        let router = self.netns("rtr")?;
        let host = self.netns("host")?;
        let host2 = if opts.second_host {
            Some(self.netns("host2")?)
        } else {
            None
        };

        // Namespace-wide sysctls first, so links created next inherit them.
        isp.sysctls_set(&dad_sysctls(Dad::Off))?;
        isp.sysctls_set(&[
            ("net.ipv6.conf.all.forwarding", "1"),
            ("net.ipv4.ip_forward", "1"),
        ])?;
        router.sysctls_set(&dad_sysctls(opts.dad))?;
        router.sysctls_set(&[
            ("net.ipv6.conf.all.forwarding", "1"),
            ("net.ipv4.ip_forward", "1"),
        ])?;
        let hosts: Vec<&Netns> = std::iter::once(&host).chain(host2.as_ref()).collect();
        for h in &hosts {
            h.sysctls_set(&dad_sysctls(opts.dad))?;
        }

        let guest = opts.guest_router;
        let (wan_mac, bridge_mac) = if guest {
            (PANEL_WAN_MAC, PANEL_BRIDGE_MAC)
        } else {
            (WAN_MAC, BRIDGE_MAC)
        };
        self.veth(
            VethEnd::new(&isp, ISP_IF, ISP_MAC),
            VethEnd::new(&router, WAN_IF, wan_mac),
        )?;
        let snooping = if opts.mcast_snooping { "1" } else { "0" };
        router.ip(&[
            "link",
            "add",
            BRIDGE_IF,
            "address",
            bridge_mac,
            "type",
            "bridge",
            "mcast_snooping",
            snooping,
        ])?;
        if guest {
            patch_panel(&router, snooping)?;
        }
        let ports = [
            (LAN_PORT_IF, LAN_PORT_MAC, HOST_MAC),
            (LAN_PORT2_IF, LAN_PORT2_MAC, HOST2_MAC),
        ];
        for (h, (port, port_mac, host_mac)) in hosts.iter().zip(ports) {
            self.veth(
                VethEnd::new(&router, port, port_mac),
                VethEnd::new(h, HOST_IF, host_mac),
            )?;
            // A bridge port is a layer-2 wire: no addresses, no RAs of its own.
            router.sysctl_set(&format!("net.ipv6.conf.{port}.disable_ipv6"), "1")?;
            router.ip(&["link", "set", "dev", port, "master", BRIDGE_IF])?;
        }
        if !guest {
            // With forwarding on, the kernel ignores RAs unless accept_ra=2.
            router.sysctl_set(&format!("net.ipv6.conf.{WAN_IF}.accept_ra"), "2")?;
        }

        isp.add_address(ISP_IF, IpNet::V6(Ipv6Net::new_assert(ISP_ADDR, 64)))?;
        isp.add_address(
            ISP_IF,
            IpNet::V4(Ipv4Net::new_assert(
                ISP_ADDR_V4,
                ISP_LINK_PREFIX_V4.prefix_len(),
            )),
        )?;
        for dns in [DNS_A, DNS_B] {
            isp.add_address("lo", IpNet::V6(Ipv6Net::new_assert(dns, 128)))?;
        }
        for dns in [DNS_A_V4, DNS_B_V4] {
            isp.add_address("lo", IpNet::V4(Ipv4Net::new_assert(dns, 32)))?;
        }

        isp.link_up(ISP_IF)?;
        router.link_up(WAN_IF)?;
        router.link_up(BRIDGE_IF)?;
        for (h, (port, _, _)) in hosts.iter().zip(ports) {
            router.link_up(port)?;
            h.link_up(HOST_IF)?;
        }
        // The kernel adds link-locals only after the carrier change went
        // through linkwatch, which can lag link-up by up to a second; a
        // client started before that fails ("no link-local address"). So
        // "up" here means every interface has its link-local (past DAD
        // when DAD is off; with DAD on, tentative is what a router sees).
        let mut expected = vec![(&isp, ISP_IF, ISP_LINK_LOCAL, true)];
        if !guest {
            expected.push((&router, WAN_IF, WAN_LINK_LOCAL, opts.dad == Dad::Off));
            expected.push((&router, BRIDGE_IF, BRIDGE_LINK_LOCAL, opts.dad == Dad::Off));
        }
        for (h, ll) in hosts.iter().zip([HOST_LINK_LOCAL, HOST2_LINK_LOCAL]) {
            expected.push((h, HOST_IF, ll, opts.dad == Dad::Off));
        }
        for (ns, ifname, ll, settled) in expected {
            ns.wait_for_address(ifname, Duration::from_secs(5), |a| {
                a.addr() == IpAddr::V6(ll) && !(settled && a.tentative)
            })?;
        }
        log::info!("IPoE topology {} up", self.stem());
        Ok(IpoeTopology {
            isp,
            router,
            host,
            host2,
            guest_router: guest,
        })
    }
}

/// Turns `rtr` into layer-2 wiring for a guest router: `wanbr` joins `wan0`
/// and the WAN tap, the LAN tap joins `br0`, and nothing in `rtr` speaks
/// IPv6 (the guest is the router). Links are brought up by the caller.
fn patch_panel(router: &Netns, snooping: &str) -> Result<()> {
    router.ip(&[
        "link",
        "add",
        WAN_BRIDGE_IF,
        "address",
        PANEL_WAN_BRIDGE_MAC,
        "type",
        "bridge",
        "mcast_snooping",
        snooping,
    ])?;
    for (tap, mac, bridge) in [
        (GUEST_WAN_TAP, PANEL_WAN_TAP_MAC, WAN_BRIDGE_IF),
        (GUEST_LAN_TAP, PANEL_LAN_TAP_MAC, BRIDGE_IF),
    ] {
        router.ip(&["tuntap", "add", "dev", tap, "mode", "tap"])?;
        router.ip(&["link", "set", "dev", tap, "address", mac])?;
        router.ip(&["link", "set", "dev", tap, "master", bridge])?;
    }
    router.ip(&["link", "set", "dev", WAN_IF, "master", WAN_BRIDGE_IF])?;
    for ifname in [
        WAN_IF,
        WAN_BRIDGE_IF,
        BRIDGE_IF,
        GUEST_WAN_TAP,
        GUEST_LAN_TAP,
    ] {
        router.sysctl_set(&format!("net.ipv6.conf.{ifname}.disable_ipv6"), "1")?;
    }
    for ifname in [WAN_BRIDGE_IF, GUEST_WAN_TAP, GUEST_LAN_TAP] {
        router.link_up(ifname)?;
    }
    Ok(())
}

fn dad_sysctls(dad: Dad) -> Vec<(&'static str, &'static str)> {
    let accept = if dad == Dad::Off { "0" } else { "1" };
    let mut v = vec![
        ("net.ipv6.conf.all.accept_dad", accept),
        ("net.ipv6.conf.default.accept_dad", accept),
    ];
    // Only touched when asked for: the keys exist only with
    // CONFIG_IPV6_OPTIMISTIC_DAD.
    if dad == Dad::Optimistic {
        v.extend([
            ("net.ipv6.conf.all.optimistic_dad", "1"),
            ("net.ipv6.conf.default.optimistic_dad", "1"),
            ("net.ipv6.conf.all.use_optimistic", "1"),
            ("net.ipv6.conf.default.use_optimistic", "1"),
        ]);
    }
    v
}

impl IpoeTopology {
    /// The LAN hosts (one or two).
    pub fn hosts(&self) -> Vec<&Netns> {
        std::iter::once(&self.host)
            .chain(self.host2.as_ref())
            .collect()
    }

    /// Routes a delegated prefix to the router on the ISP side, via the
    /// WAN's link-local address. Kea delegates but does not route; a real
    /// ISP's BNG would install this route.
    pub fn route_delegated_prefix(&self, prefix: Ipv6Net) -> Result<()> {
        self.isp.replace_route(
            IpNet::V6(prefix),
            Some(IpAddr::V6(WAN_LINK_LOCAL)),
            Some(ISP_IF),
        )
    }

    /// Starts radvd on the ISP side (`RadvdOptions::isp()` for the IPoE
    /// defaults: M=1, O=1, the WAN link prefix).
    pub fn start_radvd_isp(&self, opts: &RadvdOptions) -> Result<Radvd> {
        Radvd::start(&self.isp, opts)
    }

    /// Starts Kea DHCPv6 on the ISP side.
    pub fn start_kea_dhcp6(&self, opts: &KeaOptions) -> Result<KeaDhcp6> {
        KeaDhcp6::start(&self.isp, opts)
    }

    /// Starts an Unbound upstream resolver on the ISP side.
    pub fn start_unbound(&self, opts: &UnboundOptions) -> Result<Unbound> {
        Unbound::start(&self.isp, opts)
    }
}

/// Which ISP peers [`IpoeTopology::start_isp`] starts (`None`/empty: not
/// started). The default is the whole standard ISP.
#[derive(Debug, Clone)]
pub struct IspOptions {
    /// IPoE RAs on `isp0`.
    pub radvd: Option<RadvdOptions>,
    /// DHCPv6 (IA_NA + IA_PD).
    pub kea: Option<KeaOptions>,
    /// DHCPv4 on the access link (not started by default: most tests run
    /// the WAN without IPv4).
    pub kea4: Option<Kea4Options>,
    /// Upstream DNS servers.
    pub dns: Vec<UnboundOptions>,
}

impl Default for IspOptions {
    /// radvd (`RadvdOptions::isp()`), Kea (`KeaOptions::default()`) and
    /// Unbound upstreams A and B.
    fn default() -> Self {
        IspOptions {
            radvd: Some(RadvdOptions::isp()),
            kea: Some(KeaOptions::default()),
            kea4: None,
            dns: vec![UnboundOptions::upstream_a(), UnboundOptions::upstream_b()],
        }
    }
}

/// The running ISP peers.
pub struct Isp {
    /// radvd, if started.
    pub radvd: Option<Radvd>,
    /// Kea, if started.
    pub kea: Option<KeaDhcp6>,
    /// Kea DHCPv4, if started.
    pub kea4: Option<KeaDhcp4>,
    /// Unbound instances, in the order of [`IspOptions::dns`].
    pub dns: Vec<Unbound>,
}

impl IpoeTopology {
    /// Starts the ISP's peers in parallel (each start waits for its peer
    /// to be ready, so this costs the slowest one, not the sum). Kea is
    /// ready before radvd sends its first RA with M=1, so a client reacting
    /// to the RA finds the DHCPv6 server up.
    pub fn start_isp(&self, opts: &IspOptions) -> Result<Isp> {
        let (kea, kea4, dns) = std::thread::scope(|s| {
            let kea = opts
                .kea
                .as_ref()
                .map(|o| s.spawn(move || KeaDhcp6::start(&self.isp, o)));
            let kea4 = opts
                .kea4
                .as_ref()
                .map(|o| s.spawn(move || KeaDhcp4::start(&self.isp, o)));
            let dns: Vec<_> = opts
                .dns
                .iter()
                .map(|o| s.spawn(move || Unbound::start(&self.isp, o)))
                .collect();
            let kea = kea.map(join_start).transpose();
            let kea4 = kea4.map(join_start).transpose();
            let dns: Result<Vec<Unbound>> = dns.into_iter().map(join_start).collect();
            (kea, kea4, dns)
        });
        let (kea, kea4, dns) = (kea?, kea4?, dns?);
        let radvd = opts
            .radvd
            .as_ref()
            .map(|o| Radvd::start(&self.isp, o))
            .transpose()?;
        Ok(Isp {
            radvd,
            kea,
            kea4,
            dns,
        })
    }
}

/// Joins a start thread; a panic inside it propagates.
fn join_start<T>(h: std::thread::ScopedJoinHandle<'_, Result<T>>) -> Result<T> {
    match h.join() {
        Ok(r) => r,
        Err(panic) => std::panic::resume_unwind(panic),
    }
}
