//! Network-namespace lab: an emulated ISP, the router under test and LAN
//! hosts, wired with veths and a bridge, with real peers from Debian
//! packages (Kea DHCPv6, radvd, Unbound) and independent probes (rdisc6,
//! kdig, dhclient).
//!
//! Integration tests of the supervisor, the DHCPv6 client, the RA sender,
//! the DNS forwarder and the QEMU system tests build on this crate, so its
//! guarantees are the point:
//!
//! * **Isolation.** Every lab has its own namespaces (`cl<pid>-<seq>-<role>`)
//!   and temp directory; tests run in parallel. All traffic stays inside the
//!   lab's namespaces.
//! * **Real PIDs.** Servers are started with `setns` between fork and exec,
//!   so a [`Process`] holds the server's own PID, never a wrapper's.
//! * **Cleanup by PID, even on panic.** Dropping a [`Process`] or the
//!   [`Lab`] stops what was started (SIGTERM, SIGKILL after a grace),
//!   kills anything else left in the namespaces and deletes them. Servers
//!   die with the test binary if it is killed (`PR_SET_PDEATHSIG`), and
//!   [`Lab::new`] sweeps what a crashed run left behind.
//!
//! ```no_run
//! use std::time::Duration;
//! use cpe_lab::{KeaOptions, Lab, RadvdOptions, TopologyOptions, plan};
//!
//! # fn main() -> cpe_lab::Result<()> {
//! let lab = Lab::new("my_test")?;
//! let topo = lab.ipoe(&TopologyOptions::default())?;
//! let _radvd = topo.start_radvd_isp(&RadvdOptions::isp())?;
//! let _kea = topo.start_kea_dhcp6(&KeaOptions::default())?;
//! // ... start the router's daemons in topo.router ...
//! let addr = topo.router.wait_for_global_v6(plan::WAN_IF, Duration::from_secs(5))?;
//! assert_eq!(addr.v6(), Some(plan::WAN_SLAAC_ADDR));
//! # Ok(())
//! # }
//! ```

#![warn(missing_docs)]

mod command;
mod error;
mod lab;
mod links;
mod naming;
mod netns;
pub mod parse;
pub mod peers;
pub mod plan;
mod probes;
mod process;
pub mod router;
mod spawn;
mod sweep;
mod topology;
pub mod wait;

pub use command::{CmdOutput, DEFAULT_EXEC_TIMEOUT};
pub use error::{LabError, Result};
pub use lab::{KEEP_ENV, Lab, TEARDOWN_GRACE, VethEnd};
pub use links::{Family, Transport};
pub use naming::{NAME_PREFIX, parse_owner, pid_alive};
pub use netns::{FileBase, Netns, SpawnOptions};
pub use parse::dhclient_lease::{DhclientLease, DhclientLeaseFile, LeasedAddress, LeasedPrefix};
pub use parse::iproute::{IfAddr, Route};
pub use parse::kdig::{DnsRecord, KdigReply};
pub use parse::kea_leases::KeaLease6;
pub use parse::rdisc6::{RaInfo, RaPrefix, RaRoute};
pub use parse::udhcpc_env::Dhcp4Lease;
pub use peers::anchors::{
    Dhclient, DhclientOptions, Dhcp6Request, Dhcp6c, Dhcp6cOptions, Dnsmasq, DnsmasqOptions,
};
pub use peers::chrony::{Chrony, ChronyOptions};
pub use peers::kea::{
    Kea4Options, KeaDhcp4, KeaDhcp6, KeaMapE, KeaOptions, KeaReservation, LeaseTimers, PdPool,
};
pub use peers::radvd::{RaPrefixOptions, Radvd, RadvdOptions};
pub use peers::udhcpc::{Udhcpc, UdhcpcOptions};
pub use peers::unbound::{Unbound, UnboundOptions};
pub use probes::Capture;
pub use process::{DROP_GRACE, Process};
pub use sweep::sweep_stale;
pub use topology::{Dad, IpoeTopology, Isp, IspOptions, TopologyOptions};
pub use wait::{Check, wait_for, wait_for_file, wait_for_process, wait_for_some, wait_until};

#[cfg(test)]
mod tests {
    /// Labs may live in a `static` shared by tests, and handles cross
    /// threads (`Netns::run`, scoped threads): keep them `Send + Sync`.
    #[test]
    fn handles_are_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<crate::Lab>();
        check::<crate::Netns>();
        check::<crate::Process>();
        check::<crate::KeaDhcp6>();
        check::<crate::IpoeTopology>();
    }
}
