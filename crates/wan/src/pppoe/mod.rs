//! PPPoE mode. The session engine (discovery, LCP, authentication, IPCP,
//! IPV6CP) arrives in a later release; until then the daemon says so plainly
//! instead of pretending, and stays connected so the supervisor does not
//! restart it in a loop.

pub mod discovery;

use crate::outlet::Outlet;
use cpe_bus::{WanFacts, WanState};

/// What an engineer reads on the console in PPPoE mode for now.
pub const NOT_IN_THIS_BUILD: &str = "pppoe mode is not in this build yet";

/// The facts reported in PPPoE mode.
pub fn facts(interface: &str, mtu: u32) -> WanFacts {
    WanFacts {
        mode: "pppoe".into(),
        interface: interface.into(),
        state: WanState::Down,
        reason: NOT_IN_THIS_BUILD.into(),
        mtu,
        ..WanFacts::default()
    }
}

/// Reports the PPPoE placeholder state and waits for the supervisor to go.
pub async fn run(interface: &str, mtu: u32, outlet: &mut Outlet) {
    log::warn!("wan: {NOT_IN_THIS_BUILD} (interface {interface})");
    outlet.publish(&facts(interface, mtu));
    outlet.set_status(serde_json::json!({
        "mode": "pppoe",
        "interface": interface,
        "implemented": false,
        "note": NOT_IN_THIS_BUILD,
    }));
    outlet.closed().await;
}
