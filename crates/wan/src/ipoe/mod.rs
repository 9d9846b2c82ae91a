//! IPoE mode: the thin driver around [`Tracker`](crate::engine::Tracker).
//!
//! It prepares the link (sysctls, up, MTU), turns netlink notifications and
//! received RAs into tracker inputs, carries out the tracker's actions (RS,
//! publish), and runs the DHCPv4 client when `wan.ipv4` is on.

mod dhcp4;
mod icmp6;
mod kernel;
mod status;

use crate::config::WanSettings;
use crate::engine::{Action, Input, Tracker, TrackerConfig};
use crate::outlet::Outlet;
use crate::ra::accept_ra;
use cpe_daemon::Engine as _;
use cpe_sys::netlink::{Event, Monitor, Netlink};
use cpe_wire::nd::{NdOption, RouterSolicitation};
use dhcp4::Dhcp4;
use icmp6::Icmp6Socket;
use kernel::WanLink;
use std::io;
use std::time::{Duration, Instant};
use tokio::time::sleep_until;

pub use crate::counters::Counters;

/// How often the status object is refreshed even without changes, so ages
/// and remaining lifetimes stay current on the console.
pub(crate) const STATUS_REFRESH: Duration = Duration::from_secs(10);

/// Runs IPoE until `shutdown` resolves (the runner's stop).
pub async fn run(
    settings: &WanSettings,
    outlet: &mut Outlet,
    shutdown: impl std::future::Future<Output = ()>,
) -> io::Result<()> {
    let mut nl = Netlink::open()?;
    // Subscribe before reading state, so nothing changes unseen in between.
    let mut monitor = Monitor::open()?;
    let mut d = Driver {
        tracker: Tracker::new(TrackerConfig {
            mode: settings.mode.as_str().into(),
            interface: settings.interface.clone(),
        }),
        counters: Counters::default(),
        wan: WanLink::new(settings.clone()),
        icmp: None,
        dhcp4: None,
        settings: settings.clone(),
        ifname: settings.interface.clone(),
        logged: None,
        logged_mtu: (None, 0),
    };
    let mut buf = vec![0u8; 9216]; // an RA fits the link MTU, jumbo included
    let mut buf4 = vec![0u8; 1500];
    tokio::pin!(shutdown);

    let mut pending = d.attach(&mut nl)?;
    let mut next_status = Instant::now();
    loop {
        let now = Instant::now();
        if d.apply(std::mem::take(&mut pending), &mut nl, now, outlet) {
            next_status = now;
        }
        if now >= next_status {
            let mut st = status::render(&d.tracker, &d.wan, &d.counters, now);
            if let (Some(ipoe), Some(c)) = (st.ipoe.as_mut(), d.dhcp4.as_ref()) {
                ipoe.dhcpv4 = Some(c.status(now));
            }
            outlet.set_status(&st);
            next_status = now + STATUS_REFRESH;
        }
        let deadline = [
            d.tracker.poll_timeout(),
            d.dhcp4.as_ref().and_then(Dhcp4::poll_timeout),
            Some(next_status),
        ]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(next_status);

        tokio::select! {
            // RAs first: the raw socket gets its copy before the kernel acts
            // on it, so the reason for a route change is known when the
            // route notification is handled.
            biased;
            r = recv(d.icmp.as_ref(), &mut buf) => {
                match r {
                    Ok(rx) => {
                        d.on_icmp(buf.get(..rx.len).unwrap_or(&[]), rx, &mut pending);
                        // The kernel acts on an RA in the same receive path
                        // that queued our copy, so the route change it made is
                        // already queued on the monitor: take it now, so an
                        // RA and its route are judged as one (a genuine answer
                        // to our RS is never reported as "no default route is
                        // installed" for the moment before the notification
                        // is read).
                        d.take_events(&mut monitor, Vec::new(), &mut nl, &mut pending)?;
                    }
                    Err(e) => {
                        log::warn!("ICMPv6 receive on {}: {e}", d.ifname);
                        d.icmp = None;
                    }
                }
            }
            ev = monitor.next() => d.take_events(&mut monitor, vec![ev?], &mut nl, &mut pending)?,
            r = recv4(d.dhcp4.as_ref(), &mut buf4) => {
                match r {
                    Ok((n, _from)) => {
                        let packet = buf4.get(..n).unwrap_or(&[]).to_vec();
                        d.feed_dhcp4(crate::dhcpv4::engine::Input::Packet(packet), &mut nl, &mut pending);
                    }
                    Err(e) => log::warn!("DHCPv4 receive on {}: {e}", d.ifname),
                }
            }
            // Due timers run in `apply` at the top of the loop.
            _ = sleep_until(deadline.into()) => {}
            _ = &mut shutdown => return Ok(()),
        }
    }
}

/// The driver's state between events.
struct Driver {
    tracker: Tracker,
    counters: Counters,
    wan: WanLink,
    icmp: Option<Icmp6Socket>,
    dhcp4: Option<Dhcp4>,
    settings: WanSettings,
    ifname: String,
    /// The state and reason last logged: facts are republished when an
    /// address or a DNS server changes, and the log says only what an
    /// engineer reads as news (every "up" was logged twice).
    logged: Option<(cpe_bus::WanState, String)>,
    /// The RA MTU option and the IPv6 MTU last logged.
    logged_mtu: (Option<u32>, u32),
}

impl Driver {
    /// Finds the WAN link and adopts it. The ICMPv6 socket is opened before
    /// the link is brought up, so the answer to the kernel's own first
    /// Router Solicitation is not missed.
    fn attach(&mut self, nl: &mut Netlink) -> io::Result<Vec<Input>> {
        let Some(link) = self.wan.find(nl)? else {
            self.icmp = None;
            return Ok(vec![Input::Link(None)]);
        };
        if self.icmp.as_ref().map(Icmp6Socket::ifindex) != Some(link.index) {
            self.icmp = match Icmp6Socket::open(&self.ifname, link.index) {
                Ok(s) => Some(s),
                Err(e) => {
                    log::error!("{e}");
                    None
                }
            };
        }
        let index = link.index;
        let mac = link.mac.clone();
        let inputs = self.wan.adopt(nl, link)?;
        if self.settings.ipv4 && self.dhcp4.as_ref().map(Dhcp4::ifindex) != Some(index) {
            self.dhcp4 = match Dhcp4::open(
                &self.ifname,
                index,
                &mac,
                self.settings.state_dir.clone(),
                Instant::now(),
            ) {
                Ok(c) => Some(c),
                Err(e) => {
                    log::error!("{e}");
                    None
                }
            };
        }
        Ok(inputs)
    }

    /// Turns `events` and every notification already queued on `monitor`
    /// into tracker inputs: a burst (stale events behind a fresh dump, an
    /// interface flap) is judged as a whole and published once.
    fn take_events(
        &mut self,
        monitor: &mut Monitor,
        mut events: Vec<Event>,
        nl: &mut Netlink,
        pending: &mut Vec<Input>,
    ) -> io::Result<()> {
        while let Some(more) = monitor.try_next()? {
            events.push(more);
        }
        self.counters.netlink_malformed = monitor.malformed();
        for ev in events {
            if matches!(ev, Event::Overrun) {
                log::warn!("netlink monitor overrun; re-reading link, addresses and routes");
                pending.extend(self.attach(nl)?);
                continue;
            }
            match self.wan.on_event(ev) {
                Some(inputs) => pending.extend(inputs),
                None => pending.extend(self.attach(nl)?),
            }
        }
        Ok(())
    }

    /// Feeds the DHCPv4 client; lease changes become tracker inputs.
    fn feed_dhcp4(
        &mut self,
        input: crate::dhcpv4::engine::Input,
        nl: &mut Netlink,
        pending: &mut Vec<Input>,
    ) {
        if let Some(c) = self.dhcp4.as_mut() {
            let now = Instant::now();
            pending.extend(c.feed(input, nl, now).into_iter().map(|u| Input::Ipv4(u.0)));
        }
    }

    /// Feeds inputs to the tracker and carries out its actions; only the
    /// last set of facts is published. Returns whether anything changed.
    fn apply(
        &mut self,
        mut inputs: Vec<Input>,
        nl: &mut Netlink,
        now: Instant,
        outlet: &mut Outlet,
    ) -> bool {
        let mut facts = None;
        // A due timer first: the loop's sleep ends at the earliest deadline.
        if self.tracker.poll_timeout().is_some_and(|t| t <= now) {
            self.tracker.handle_timeout(now);
            self.tracker_actions(&mut facts);
        }
        // The DHCPv4 client follows the link as the tracker sees it and runs
        // its timers; its lease changes go back into the tracker.
        for round in 0..2 {
            for input in inputs.drain(..) {
                self.tracker.handle(input, now);
                self.tracker_actions(&mut facts);
            }
            if round == 1 {
                break;
            }
            if let Some(c) = self.dhcp4.as_mut() {
                let ready = self
                    .tracker
                    .view()
                    .link
                    .is_some_and(|l| l.admin_up && l.carrier && l.running);
                let mut updates = c.set_link(ready, nl, now);
                updates.extend(c.timeout(nl, now));
                inputs.extend(updates.into_iter().map(|u| Input::Ipv4(u.0)));
            }
        }
        self.log_mtu();
        let Some(f) = facts else { return false };
        let line = (f.state, f.reason.clone());
        if let Some(level) = change_level(self.logged.as_ref(), &line) {
            log::log!(
                level,
                "{}: {}: {}",
                f.interface,
                state_word(f.state),
                f.reason
            );
            self.logged = Some(line);
        }
        outlet.publish(&f);
        true
    }

    /// Carries out the tracker's queued actions; the last facts are kept
    /// in `facts` for one publication.
    fn tracker_actions(&mut self, facts: &mut Option<cpe_bus::WanFacts>) {
        while let Some(action) = self.tracker.poll_action() {
            match action {
                Action::SendRs => self.send_rs(),
                Action::Publish(f) => *facts = Some(f),
            }
        }
    }

    fn on_icmp(&mut self, msg: &[u8], rx: icmp6::Received, pending: &mut Vec<Input>) {
        match accept_ra(msg, rx.source, rx.hop_limit) {
            Ok(ra) => {
                self.counters.ra_accepted += 1;
                log::debug!(
                    "RA from {}: M={} O={} router lifetime {} s, {} RDNSS",
                    ra.source,
                    u8::from(ra.managed),
                    u8::from(ra.other_config),
                    ra.router_lifetime,
                    ra.rdnss.len()
                );
                pending.push(Input::Ra(ra));
            }
            Err(why) => {
                self.counters.ra_rejected += 1;
                let n = self.counters.ra_rejected;
                if n <= 10 || n.is_power_of_two() {
                    log::warn!(
                        "dropped RA from {} on {}: {why} ({n} dropped so far)",
                        rx.source,
                        self.ifname
                    );
                }
            }
        }
    }

    /// One line when the IPv6 MTU in effect changes, saying where it
    /// comes from, and one when an RA MTU option is not applied (the
    /// facts do not change then, so this does not wait for a publication).
    fn log_mtu(&mut self) {
        let v = self.tracker.view();
        let Some(link) = v.link else { return };
        let now = (v.ra_mtu, v.ipv6_mtu());
        // The link MTU alone is logged where the daemon sets it.
        let news = now != self.logged_mtu && (now.0.is_some() || self.logged_mtu.0.is_some());
        self.logged_mtu = now;
        if !news {
            return;
        }
        let ifname = &self.ifname;
        match now {
            (Some(m), v6) if m == v6 => log::info!(
                "{ifname}: IPv6 MTU {m} from the ISP's RA (link MTU {})",
                link.mtu
            ),
            (Some(m), v6) => log::warn!(
                "{ifname}: ignoring RA MTU option {m}: outside 1280..={} (the link MTU); IPv6 MTU {v6}",
                link.mtu
            ),
            (None, v6) => log::info!("{ifname}: IPv6 MTU {v6}, the link MTU (RA MTU forgotten)"),
        }
    }

    fn send_rs(&mut self) {
        let Some(sock) = self.icmp.as_ref() else {
            return;
        };
        let mut rs = RouterSolicitation::default();
        if let Some(mac) = self.wan.mac().filter(|m| !m.is_empty()) {
            rs.options
                .push(NdOption::SourceLinkLayerAddress(mac.to_vec()));
        }
        let sent = rs
            .to_bytes()
            .map_err(|e| io::Error::other(format!("{e:?}")))
            .and_then(|m| sock.send_rs(&m));
        match sent {
            Ok(()) => {
                self.counters.rs_sent += 1;
                log::info!("sent Router Solicitation on {}", self.ifname);
            }
            Err(e) => log::warn!("Router Solicitation on {}: {e}", self.ifname),
        }
    }
}

/// The state as the status document spells it.
/// How a change of the WAN's state and reason is logged, `None` when it
/// is no change. Up again with other words (the router lifetime learned a
/// moment after the kernel's route, a DHCPv4 lease that its client logs
/// itself) is not a second "up" on the console: debug.
fn change_level(
    logged: Option<&(cpe_bus::WanState, String)>,
    now: &(cpe_bus::WanState, String),
) -> Option<log::Level> {
    match logged {
        Some(l) if l == now => None,
        Some((cpe_bus::WanState::Up, _)) if now.0 == cpe_bus::WanState::Up => {
            Some(log::Level::Debug)
        }
        _ => Some(log::Level::Info),
    }
}

fn state_word(s: cpe_bus::WanState) -> &'static str {
    match s {
        cpe_bus::WanState::Unknown => "unknown",
        cpe_bus::WanState::Down => "down",
        cpe_bus::WanState::Connecting => "connecting",
        cpe_bus::WanState::Up => "up",
    }
}

async fn recv4(c: Option<&Dhcp4>, buf: &mut [u8]) -> io::Result<(usize, std::net::SocketAddr)> {
    match c {
        Some(c) => c.recv(buf).await,
        None => std::future::pending().await,
    }
}

async fn recv(sock: Option<&Icmp6Socket>, buf: &mut [u8]) -> io::Result<icmp6::Received> {
    match sock {
        Some(s) => s.recv(buf).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod log_tests {
    use super::change_level;
    use cpe_bus::WanState;

    #[test]
    fn up_is_logged_once_whatever_the_reason_adds() {
        let up = |r: &str| (WanState::Up, r.to_owned());
        let first = up("default route via fe80::1 on wan0");
        assert_eq!(change_level(None, &first), Some(log::Level::Info));
        assert_eq!(change_level(Some(&first), &first), None);
        let more = up("default route via fe80::1 on wan0 (router lifetime 1800 s)");
        assert_eq!(change_level(Some(&first), &more), Some(log::Level::Debug));
        let down = (
            WanState::Connecting,
            "waiting for a Router Advertisement".to_owned(),
        );
        assert_eq!(change_level(Some(&more), &down), Some(log::Level::Info));
        assert_eq!(change_level(Some(&down), &first), Some(log::Level::Info));
    }
}
