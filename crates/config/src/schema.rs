//! The key sets of every table: one source for unknown-key detection, for
//! "did you mean" hints, and for the documentation drift test.

/// The keys one TOML table accepts.
pub(crate) struct TableSchema {
    /// Dotted path of the table, as written in a header (`lan.ra`); empty for
    /// the document root.
    pub path: &'static str,
    /// How the table is written in a header, for messages (`[[lan]]`).
    pub header: &'static str,
    /// Accepted keys, including the names of sub-tables.
    pub keys: &'static [&'static str],
    /// The same keys as full dotted paths (`lan.ra.mtu`), same order.
    pub dotted: &'static [&'static str],
}

/// Declares a table schema; the dotted paths are built at compile time.
macro_rules! table {
    ($name:ident, $path:literal, $header:literal, [$($key:literal),* $(,)?]) => {
        pub(crate) const $name: TableSchema = TableSchema {
            path: $path,
            header: $header,
            keys: &[$($key),*],
            dotted: &[$(concat!($path, ".", $key)),*],
        };
    };
}

pub(crate) const ROOT: TableSchema = TableSchema {
    path: "",
    header: "the top level",
    keys: &["system", "wan", "lan", "dns", "firewall", "ntp"],
    dotted: &["system", "wan", "lan", "dns", "firewall", "ntp"],
};

table!(
    SYSTEM,
    "system",
    "[system]",
    [
        "hostname",
        "log_level",
        "state_dir",
        "run_dir",
        "root_password_hash",
    ]
);

table!(
    NTP,
    "ntp",
    "[ntp]",
    ["enabled", "servers", "use_wan", "set_clock",]
);

table!(
    WAN,
    "wan",
    "[wan]",
    [
        "interface",
        "mode",
        "mtu",
        "ipv4",
        "pppoe",
        "dhcpv6",
        "closed_prefixes",
        "ipv4_over_ipv6",
    ]
);

table!(
    WAN_IPV4_OVER_IPV6,
    "wan.ipv4_over_ipv6",
    "[wan.ipv4_over_ipv6]",
    [
        "mode",
        "aftr",
        "rule_ipv6_prefix",
        "rule_ipv4_prefix",
        "ea_bits",
        "psid_offset",
        "br",
    ]
);

table!(
    WAN_PPPOE,
    "wan.pppoe",
    "[wan.pppoe]",
    [
        "username",
        "password",
        "password_file",
        "service",
        "ac_name",
        "lcp_echo_interval",
        "lcp_echo_failure",
        "reconnect_min",
        "reconnect_max",
    ]
);

table!(
    WAN_DHCPV6,
    "wan.dhcpv6",
    "[wan.dhcpv6]",
    [
        "enabled",
        "request_prefix",
        "prefix_hint",
        "request_address",
        "rapid_commit",
        "start",
    ]
);

table!(
    LAN,
    "lan",
    "[[lan]]",
    ["interface", "subnet_id", "ula", "ra", "ipv4", "dhcpv6",]
);

table!(
    LAN_RA,
    "lan.ra",
    "[lan.ra]",
    [
        "enabled",
        "managed",
        "other_config",
        "autonomous",
        "on_link",
        "preference",
        "min_interval",
        "max_interval",
        "router_lifetime",
        "mtu",
        "rdnss",
        "dnssl",
        "prefixes",
    ]
);

table!(
    LAN_IPV4,
    "lan.ipv4",
    "[lan.ipv4]",
    ["address", "dhcp", "pool", "lease_time",]
);

table!(
    LAN_DHCPV6,
    "lan.dhcpv6",
    "[lan.dhcpv6]",
    ["mode", "dns", "domain_search", "ntp", "information_refresh",]
);

table!(
    DNS,
    "dns",
    "[dns]",
    [
        "enabled",
        "listen",
        "upstream",
        "cache_size",
        "local_domain",
        "hosts",
    ]
);

table!(
    DNS_HOSTS,
    "dns.hosts",
    "a dns.hosts entry",
    ["name", "addresses",]
);

table!(
    FIREWALL,
    "firewall",
    "[firewall]",
    [
        "enabled",
        "wan_inbound",
        "icmpv6",
        "echo_request_limit",
        "ipv4_nat",
        "mss_clamp",
        "pinhole",
    ]
);

table!(
    FIREWALL_PINHOLE,
    "firewall.pinhole",
    "[[firewall.pinhole]]",
    ["name", "proto", "port", "host",]
);

/// Every table, in document order.
pub(crate) const ALL: &[&TableSchema] = &[
    &ROOT,
    &SYSTEM,
    &WAN,
    &WAN_PPPOE,
    &WAN_DHCPV6,
    &WAN_IPV4_OVER_IPV6,
    &LAN,
    &LAN_RA,
    &LAN_IPV4,
    &LAN_DHCPV6,
    &DNS,
    &DNS_HOSTS,
    &FIREWALL,
    &FIREWALL_PINHOLE,
    &NTP,
];

/// Every dotted path the configuration language knows: tables (`lan.ra`)
/// and keys (`lan.ra.min_interval`). Entries of arrays of tables are
/// addressed without an index (`firewall.pinhole.port`).
///
/// Exposed so documentation and tooling (the README drift test, shell
/// completion in `cpectl`) are checked against the schema the parser uses.
pub fn known_keys() -> Vec<&'static str> {
    let mut keys: Vec<&'static str> = Vec::new();
    for table in ALL {
        let paths = std::iter::once(table.path).chain(table.dotted.iter().copied());
        for path in paths {
            if !path.is_empty() && !keys.contains(&path) {
                keys.push(path);
            }
        }
    }
    keys
}

/// Tables whose key set contains `key`, to point a key written in the wrong
/// table at the right one.
pub(crate) fn tables_with_key(key: &str) -> impl Iterator<Item = &'static TableSchema> + '_ {
    ALL.iter().copied().filter(move |t| t.keys.contains(&key))
}
