//! PPPoE mode: discovery over a link-layer socket, then the session.
//!
//! [`discovery`] is the sans-IO engine (PADI .. PADS, PADT both ways); this
//! module is its thin driver: it finds the WAN link and brings it up, opens
//! the `AF_PACKET` socket for ethertype 0x8863 on it, feeds received
//! packets, carrier changes and timer expiries to the engine and carries out
//! what it asks (send, session up/down). Facts and the `pppoe` status
//! object are published after every step, so the console always says which
//! phase discovery is in and why it is not further.
//!
//! Once PADS gives a session id, the session belongs in the kernel: an
//! `AF_PPPOX` socket connected to it, then /dev/ppp (LCP and the rest run on
//! that channel). This build does not negotiate PPP yet, and a kernel without
//! PPP cannot carry a session at all; either way the daemon says exactly
//! that, with the session id, the AC and the errno, and sends PADT so the
//! access concentrator frees the session instead of holding it until its
//! own timeout.

pub mod discovery;
mod saved;
mod status;

use crate::config::WanSettings;
use crate::ipoe::STATUS_REFRESH;
use crate::outlet::Outlet;
use cpe_daemon::Engine;
use cpe_log::{LogThrottle, suppressed_note};
use cpe_sys::netlink::{Event, Group, Monitor, Netlink};
use cpe_sys::packet::{PacketSocket, errno_name, pppox_socket};
use cpe_wire::pppoe::ETHERTYPE_DISCOVERY;
use discovery::{Action, Discovery, DiscoveryConfig, Input, Session};
use std::io;
use std::time::{Duration, Instant};

/// How long the loop pauses after a failed receive on the discovery socket.
const RX_ERROR_PAUSE: Duration = Duration::from_millis(100);
use tokio::time::sleep_until;

/// How long to wait before looking again for a WAN interface that does not
/// exist yet.
const LINK_POLL: Duration = Duration::from_secs(1);

/// Runs PPPoE until shutdown or until the supervisor goes away. Sends PADT
/// for an established session on the way out.
pub async fn run(
    settings: &WanSettings,
    outlet: &mut Outlet,
    shutdown: impl std::future::Future<Output = ()>,
) -> io::Result<()> {
    tokio::pin!(shutdown);
    let ifname = settings.interface.clone();
    let mut nl = Netlink::open()?;
    let mut monitor = Monitor::open_groups(&[Group::Link])?;
    let link = loop {
        if let Some(link) = nl.link_by_name(&ifname)? {
            break link;
        }
        let why = format!("{ifname} does not exist");
        outlet.publish(&status::facts(settings, None, &why, false));
        outlet.set_status(&status::waiting(settings, &why));
        tokio::select! {
            _ = tokio::time::sleep(LINK_POLL) => {}
            _ = outlet.closed() => return Ok(()),
            _ = &mut shutdown => return Ok(()),
        }
    };
    nl.set_link_up(link.index, true)?;
    let socket = PacketSocket::open(link.index, ETHERTYPE_DISCOVERY).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("cannot open the PPPoE discovery socket on {ifname}: {e}"),
        )
    })?;
    let config = DiscoveryConfig::new(
        &settings.pppoe.service,
        &settings.pppoe.ac_name,
        host_uniq()?,
        Duration::from_secs(u64::from(settings.pppoe.reconnect_min)),
    );
    let mut d = Driver {
        engine: Discovery::new(config),
        socket,
        carrier: link.has_carrier(),
        index: link.index,
        send_errors: 0,
        interface: ifname.clone(),
        state_dir: settings.state_dir.clone(),
        stale: saved::load(&settings.state_dir).filter(|s| s.interface == ifname),
    };
    log::info!(
        "pppoe: discovery on {ifname} (service '{}', ac_name '{}')",
        settings.pppoe.service,
        settings.pppoe.ac_name
    );
    if d.carrier {
        d.start();
    }
    let mut buf = vec![0u8; 1600];
    // A receive error that repeats (the interface in a bad state) must
    // neither flood the console nor spin the loop: a few lines per minute,
    // the rest counted, and a short pause before the next read.
    let mut rx_errors = LogThrottle::new(3, Duration::from_secs(60));
    let mut next_status = Instant::now();
    let mut shown = String::new();
    loop {
        let acted = d.perform();
        let now = Instant::now();
        // An input can change the reason without any action (an AC's
        // refusal, a timeout): compare, so the console is never stale.
        let reason = status::reason(&d.engine, d.carrier, &ifname);
        if acted || reason != shown || now >= next_status {
            outlet.publish(&status::facts(
                settings,
                Some(&d.engine),
                &reason,
                d.carrier,
            ));
            outlet.set_status(&status::render(settings, &d.engine, d.send_errors));
            shown = reason;
            next_status = now + STATUS_REFRESH;
        }
        let deadline = d
            .engine
            .poll_timeout()
            .map_or(next_status, |t| t.min(next_status));
        tokio::select! {
            r = d.socket.recv(&mut buf) => match r {
                Ok(rx) if rx.kind.is_for_us() => {
                    let packet = buf.get(..rx.len).unwrap_or(&[]);
                    d.engine.handle(Input::Frame { src: rx.src, packet }, Instant::now());
                }
                Ok(_) => {}
                Err(e) => {
                    let now = Instant::now();
                    if let Some(n) = rx_errors.check(now) {
                        log::warn!("pppoe: receive on {ifname}: {e}{}", suppressed_note(n));
                    }
                    tokio::time::sleep(RX_ERROR_PAUSE).await;
                }
            },
            ev = monitor.next() => match ev? {
                Event::NewLink(l) if l.index == d.index => {
                    d.carrier_changed(l.has_carrier(), &ifname);
                }
                Event::DelLink(l) if l.index == d.index => {
                    // The socket is bound to an index that is gone; a new
                    // process (the supervisor restarts us) waits for the
                    // interface to come back and binds afresh.
                    d.engine.handle(Input::LinkDown, Instant::now());
                    d.perform();
                    outlet.publish(&status::facts(settings, Some(&d.engine), &format!("{ifname} disappeared"), false));
                    outlet.set_status(&status::render(settings, &d.engine, d.send_errors));
                    return Err(io::Error::other(format!("{ifname} disappeared")));
                }
                _ => {}
            },
            _ = sleep_until(deadline.into()) => d.engine.handle_timeout(Instant::now()),
            _ = outlet.closed() => {
                log::info!("supervisor gone; ending the PPPoE session if any");
                d.engine.handle(Input::Stop, Instant::now());
                d.perform();
                return Ok(());
            }
            _ = &mut shutdown => {
                log::info!("shutting down; ending the PPPoE session if any");
                d.engine.handle(Input::Stop, Instant::now());
                d.perform();
                outlet.set_status(&status::render(settings, &d.engine, d.send_errors));
                return Ok(());
            }
        }
    }
}

struct Driver {
    engine: Discovery,
    socket: PacketSocket,
    carrier: bool,
    index: u32,
    send_errors: u64,
    interface: String,
    state_dir: std::path::PathBuf,
    /// A session left from before a restart, cleared (PADT) at the first
    /// start with carrier: without carrier the PADT could not go out.
    stale: Option<saved::SavedSession>,
}

impl Driver {
    /// Carries out every queued action; true if anything happened that the
    /// status should show.
    fn perform(&mut self) -> bool {
        let mut changed = false;
        while let Some(action) = self.engine.poll_action() {
            changed = true;
            match action {
                Action::Send { dst, packet } => {
                    if let Err(e) = self.socket.send_to(&dst, &packet) {
                        // The engine's retransmission covers a lost send.
                        self.send_errors += 1;
                        log::warn!("pppoe: send to {}: {e}", discovery::mac_text(&dst));
                    }
                }
                Action::SessionUp(session) => {
                    // Remembered before anything can crash, so a restart
                    // can free it on the AC.
                    self.save(Some(saved::SavedSession {
                        interface: self.interface.clone(),
                        session_id: session.id,
                        ac_mac: session.ac.mac,
                    }));
                    let reason = attach(&session);
                    self.engine.handle(Input::Close { reason }, Instant::now());
                }
                Action::SessionDown { session, reason } => {
                    log::info!("pppoe: session 0x{:04x} down: {reason}", session.id);
                    self.save(None);
                }
            }
        }
        changed
    }

    /// Records (or forgets) the live session; a failure only costs the
    /// stale-session PADT after a crash, so it is logged, not fatal.
    fn save(&self, session: Option<saved::SavedSession>) {
        if let Err(e) = saved::save(&self.state_dir, session.as_ref()) {
            log::warn!(
                "pppoe: cannot update {} in {}: {e}",
                saved::FILE_NAME,
                self.state_dir.display()
            );
        }
    }

    /// Starts discovery, after PADT for a session left from before a
    /// restart if there is one.
    fn start(&mut self) {
        let now = Instant::now();
        if let Some(stale) = self.stale.take() {
            self.engine.handle(
                Input::ClearStale {
                    session_id: stale.session_id,
                    ac: stale.ac_mac,
                },
                now,
            );
            self.perform();
            self.save(None);
        }
        self.engine.handle(Input::Start, now);
    }

    fn carrier_changed(&mut self, carrier: bool, ifname: &str) {
        if carrier == self.carrier {
            return;
        }
        self.carrier = carrier;
        let now = Instant::now();
        if carrier {
            log::info!("pppoe: carrier on {ifname}; discovering");
            self.start();
        } else {
            log::warn!("pppoe: no carrier on {ifname}");
            self.engine.handle(Input::LinkDown, now);
        }
    }
}

/// Tries to hand the discovered session to the kernel. Returns why it
/// cannot go further in this build: either the kernel lacks PPPoE (the
/// `AF_PPPOX` socket does not open) or PPP negotiation is not built yet.
fn attach(session: &Session) -> String {
    let who = format!(
        "PPPoE session 0x{:04x} with AC {}",
        session.id,
        session.ac.describe()
    );
    match pppox_socket() {
        Err(e) if e.raw_os_error() == Some(libc::EAFNOSUPPORT) => {
            format!("{who}: the kernel has no PPP support (socket(AF_PPPOX): EAFNOSUPPORT)")
        }
        Err(e) => format!(
            "{who}: cannot open the kernel's PPPoE socket (socket(AF_PPPOX): {})",
            errno_name(&e).map_or_else(|| e.to_string(), str::to_owned)
        ),
        Ok(_socket) => format!("{who}: PPP negotiation (LCP) is not in this build yet"),
    }
}

/// Eight random octets from the kernel: Host-Uniq only has to be
/// unpredictable enough that another host's answers are not taken for ours.
fn host_uniq() -> io::Result<Vec<u8>> {
    let mut b = vec![0u8; 8];
    cpe_sys::random::fill(&mut b)?;
    Ok(b)
}
