//! Every parser of the lab fed the same bytes: `ip -j` JSON, /proc/net socket
//! tables, rdisc6 and kdig output, dhclient and Kea lease files, udhcpc's
//! environment, lab names.
//! None may panic; the encoders must round-trip whatever they are given.
#![no_main]

use cpe_lab::parse::{dhclient_lease, iproute, kdig, kea_leases, proc_net, rdisc6, udhcpc_env};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = iproute::parse_addresses(&text);
    let _ = iproute::parse_routes(&text);
    let _ = proc_net::parse_socket_table(&text);
    let _ = rdisc6::parse_rdisc6(&text);
    let _ = kdig::parse_kdig(&text);
    let _ = kea_leases::parse_kea_leases6(&text);
    let _ = kea_leases::parse_hex_bytes(&text);
    let _ = dhclient_lease::parse_dhclient_leases(&text);
    let _ = dhclient_lease::decode_string(&text);
    let _ = udhcpc_env::parse_udhcpc_env(&text);
    let _ = cpe_lab::parse_owner(&text);

    let encoded = dhclient_lease::encode_dhclient_string(data);
    assert_eq!(dhclient_lease::decode_string(&encoded).as_deref(), Some(data));
    let hex = kea_leases::hex_bytes(data);
    assert_eq!(kea_leases::parse_hex_bytes(&hex).as_deref(), Some(data));
});
