//! One test per validation rule: each asserts the exact line:col and a
//! message fragment of the diagnostic, and that nothing else was reported.

use cpe_config::*;

/// Every diagnostic of a load (errors or warnings), rendered as the user
/// sees them.
fn diagnostics(src: &str) -> Vec<String> {
    match parse_str(src, "t.toml") {
        Ok(loaded) => loaded.warnings.iter().map(ToString::to_string).collect(),
        Err(diags) => diags.0.iter().map(ToString::to_string).collect(),
    }
}

/// Asserts exactly one diagnostic, at `pos` ("line:col"), with `severity`,
/// containing `fragment`.
#[track_caller]
fn one(src: &str, pos: &str, severity: &str, fragment: &str) -> String {
    let all = diagnostics(src);
    assert_eq!(all.len(), 1, "expected one diagnostic, got {all:#?}");
    let line = &all[0];
    let prefix = format!("t.toml:{pos}: {severity}: ");
    assert!(
        line.starts_with(&prefix),
        "{line:?} does not start with {prefix:?}"
    );
    assert!(
        line.contains(fragment),
        "{line:?} does not contain {fragment:?}"
    );
    line.clone()
}

#[track_caller]
fn error(src: &str, pos: &str, fragment: &str) -> String {
    assert!(parse_str(src, "t.toml").is_err(), "config was accepted");
    one(src, pos, "error", fragment)
}

#[track_caller]
fn warning(src: &str, pos: &str, fragment: &str) -> String {
    assert!(parse_str(src, "t.toml").is_ok(), "config was rejected");
    one(src, pos, "warning", fragment)
}

fn load(src: &str) -> Config {
    match parse_str(src, "t.toml") {
        Ok(loaded) => loaded.config,
        Err(diags) => panic!("rejected:\n{diags}"),
    }
}

// ---- structure -----------------------------------------------------------

#[test]
fn unknown_key_with_did_you_mean() {
    let line = error(
        "[wan]\nmtx = 1500\n[[lan]]\n",
        "2:1",
        "unknown key \"mtx\" in [wan]",
    );
    assert!(line.ends_with("; hint: did you mean \"mtu\"?"), "{line}");
}

#[test]
fn unknown_key_in_nested_table_and_top_level() {
    let line = error(
        "[wan]\n[[lan]]\n[lan.ra]\nmin_intreval = 200\n",
        "4:1",
        "unknown key \"min_intreval\" in [lan.ra]",
    );
    assert!(line.contains("did you mean \"min_interval\"?"), "{line}");
    let line = error(
        "[wan]\n[[lan]]\n[dsn]\n",
        "3:2",
        "unknown key \"dsn\" at the top level",
    );
    assert!(line.contains("did you mean \"dns\"?"), "{line}");
}

#[test]
fn key_in_wrong_table_points_at_the_right_one() {
    let line = error(
        "[wan]\n[[lan]]\nprefix_hint = 56\n",
        "3:1",
        "unknown key \"prefix_hint\" in [[lan]]",
    );
    assert!(line.contains("[wan.dhcpv6]"), "{line}");
}

#[test]
fn wrong_type() {
    error(
        "[wan]\nmtu = \"1500\"\n[[lan]]\n",
        "2:7",
        "wan.mtu: expected an integer, found a string",
    );
    error(
        "[wan]\nipv4 = 1\n[[lan]]\n",
        "2:8",
        "wan.ipv4: expected true or false, found an integer",
    );
    error(
        "[wan]\n[[lan]]\n[lan.ra]\nrdnss = \"self\"\n",
        "4:9",
        "lan.ra.rdnss: expected an array of strings, found a string",
    );
    error(
        "[wan]\n[[lan]]\n[lan.ra]\ndnssl = [1]\n",
        "4:10",
        "lan.ra.dnssl entry: expected a string",
    );
}

#[test]
fn wan_table_must_be_a_table() {
    error("wan = 1\n[[lan]]\n", "1:7", "wan must be a table");
}

#[test]
fn lan_must_be_an_array_of_tables() {
    let line = error("[wan]\n[lan]\n", "2:1", "lan must be an array of tables");
    assert!(line.contains("write [[lan]] once per entry"), "{line}");
}

#[test]
fn missing_wan_and_lan() {
    let all = diagnostics("");
    assert_eq!(
        all,
        vec![
            "t.toml:1:1: error: missing [wan] table; hint: a minimal config is [wan] and one [[lan]]",
            "t.toml:1:1: error: missing [[lan]]: at least one LAN is required; hint: a minimal config is [wan] and one [[lan]]",
        ]
    );
    let all = diagnostics("[wan]\nlan = []\n");
    assert_eq!(all.len(), 2, "{all:?}");
    assert!(all[1].starts_with("t.toml:2:1: error: unknown key \"lan\" in [wan]; hint: did you mean to put it in the top level?"), "{all:?}");
    error("lan = []\n[wan]\n", "1:7", "lan is empty");
}

#[test]
fn toml_syntax_error_has_position() {
    let all = diagnostics("[wan]\nmtu = = 3\n[[lan]]\n");
    assert!(
        all[0].starts_with("t.toml:2:7: error: TOML syntax: "),
        "{all:?}"
    );
    // Schema problems are not reported on a document that did not parse.
    assert!(all.iter().all(|l| l.contains("TOML syntax")), "{all:?}");
}

#[test]
fn duplicate_key_is_a_syntax_error() {
    let all = diagnostics("[wan]\nmtu = 1500\nmtu = 1400\n[[lan]]\n");
    assert_eq!(all.len(), 1, "{all:?}");
    assert!(
        all[0].starts_with("t.toml:3:1: error: TOML syntax: duplicate key"),
        "{all:?}"
    );
}

// ---- system -------------------------------------------------------------

#[test]
fn log_level_must_be_one_of_five() {
    let line = error(
        "[system]\nlog_level = \"warning\"\n[wan]\n[[lan]]\n",
        "2:13",
        "is not one of \"error\", \"warn\", \"info\", \"debug\", \"trace\"",
    );
    assert!(line.contains("did you mean \"warn\"?"), "{line}");
}

#[test]
fn hostname_validity() {
    error(
        "[system]\nhostname = \"my_router\"\n[wan]\n[[lan]]\n",
        "2:12",
        "system.hostname: \"my_router\" contains '_'",
    );
    error(
        "[system]\nhostname = \"-cpe\"\n[wan]\n[[lan]]\n",
        "2:12",
        "starts or ends with '-'",
    );
    error(
        "[system]\nhostname = \"\"\n[wan]\n[[lan]]\n",
        "2:12",
        "empty",
    );
    let long = "a".repeat(65);
    error(
        &format!("[system]\nhostname = \"{long}\"\n[wan]\n[[lan]]\n"),
        "2:12",
        "longer than 64",
    );
}

#[test]
fn dirs_must_be_absolute() {
    error(
        "[system]\nstate_dir = \"var/lib\"\n[wan]\n[[lan]]\n",
        "2:13",
        "not an absolute path",
    );
}

// ---- wan ----------------------------------------------------------------

#[test]
fn wan_mtu_range() {
    error(
        "[wan]\nmtu = 1200\n[[lan]]\n",
        "2:7",
        "wan.mtu = 1200 is out of range: must be 1280..=9000 bytes",
    );
    error("[wan]\nmtu = 9001\n[[lan]]\n", "2:7", "out of range");
}

/// `wan.closed_prefixes`: NTT NGN's ranges by default, `[]` turns the
/// warning off, a custom list replaces it; a malformed, host-bit or
/// overlapping entry is an error at that entry.
#[test]
fn wan_closed_prefixes_default_empty_custom_and_bad_entries() {
    let c = load("[wan]\n[[lan]]\n");
    assert_eq!(c.wan.closed_prefixes, default_closed_prefixes());
    assert_eq!(c.wan.closed_prefixes.len(), 5);
    assert!(
        load("[wan]\nclosed_prefixes = []\n[[lan]]\n")
            .wan
            .closed_prefixes
            .is_empty()
    );
    let c = load("[wan]\nclosed_prefixes = [\"2001:db8::/32\"]\n[[lan]]\n");
    assert_eq!(c.wan.closed_prefixes, ["2001:db8::/32".parse().unwrap()]);
    error(
        "[wan]\nclosed_prefixes = [\"2408::/22\", \"nope\"]\n[[lan]]\n",
        "2:33",
        "wan.closed_prefixes: \"nope\" is not a valid IPv6 prefix",
    );
    let line = error(
        "[wan]\nclosed_prefixes = [\"2408:1::/22\"]\n[[lan]]\n",
        "2:20",
        "\"2408:1::/22\" has bits set after the first 22",
    );
    assert!(line.contains("did you mean \"2408::/22\"?"), "{line}");
    error(
        "[wan]\nclosed_prefixes = [\"2408::/22\", \"2408:100::/24\"]\n[[lan]]\n",
        "2:33",
        "wan.closed_prefixes: 2408:100::/24 is already covered by 2408::/22",
    );
    error(
        "[wan]\nclosed_prefixes = \"2408::/22\"\n[[lan]]\n",
        "2:19",
        "wan.closed_prefixes: expected an array of strings",
    );
}

#[test]
fn pppoe_mtu_defaults_to_1492() {
    let c =
        load("[wan]\nmode = \"pppoe\"\n[wan.pppoe]\nusername = \"u\"\npassword = \"p\"\n[[lan]]\n");
    assert_eq!(c.wan.mtu, 1492);
    let c = load(
        "[wan]\nmode = \"pppoe\"\nmtu = 1454\n[wan.pppoe]\nusername = \"u\"\npassword = \"p\"\n[[lan]]\n",
    );
    assert_eq!(c.wan.mtu, 1454);
    assert_eq!(load("[wan]\n[[lan]]\n").wan.mtu, 1500);
}

#[test]
fn pppoe_mtu_above_1492_warns_about_rfc4638() {
    warning(
        "[wan]\nmode = \"pppoe\"\nmtu = 1500\n[wan.pppoe]\nusername = \"u\"\npassword = \"p\"\n[[lan]]\n",
        "3:7",
        "RFC 4638",
    );
}

#[test]
fn pppoe_mode_needs_credentials() {
    let line = error(
        "[wan]\nmode = \"pppoe\"\n[[lan]]\n",
        "2:8",
        "mode = \"pppoe\" needs a [wan.pppoe] table",
    );
    assert!(line.contains("hint: add [wan.pppoe]"), "{line}");
    error(
        "[wan]\nmode = \"pppoe\"\n[wan.pppoe]\npassword = \"p\"\n[[lan]]\n",
        "3:1",
        "[wan.pppoe] is missing required key \"username\"",
    );
    error(
        "[wan]\nmode = \"pppoe\"\n[wan.pppoe]\nusername = \"u\"\n[[lan]]\n",
        "3:1",
        "[wan.pppoe] is missing required key \"password\"",
    );
}

#[test]
fn password_and_password_file_together_is_an_error() {
    error(
        "[wan]\nmode = \"pppoe\"\n[wan.pppoe]\nusername = \"u\"\npassword = \"p\"\npassword_file = \"/x\"\n[[lan]]\n",
        "6:1",
        "set either password or password_file, not both",
    );
}

#[test]
fn missing_password_file_is_an_error_at_the_key() {
    error(
        "[wan]\nmode = \"pppoe\"\n[wan.pppoe]\nusername = \"u\"\npassword_file = \"/nonexistent/cpe-secret\"\n[[lan]]\n",
        "5:17",
        "wan.pppoe.password_file: cannot read \"/nonexistent/cpe-secret\"",
    );
}

#[test]
fn password_file_must_be_a_regular_file() {
    error(
        "[wan]\nmode = \"pppoe\"\n[wan.pppoe]\nusername = \"u\"\npassword_file = \"/dev/zero\"\n[[lan]]\n",
        "5:17",
        "cannot read \"/dev/zero\": not a regular file",
    );
    error(
        "[wan]\nmode = \"pppoe\"\n[wan.pppoe]\nusername = \"u\"\npassword_file = \"/tmp\"\n[[lan]]\n",
        "5:17",
        "not a regular file",
    );
}

#[test]
fn password_file_is_read_relative_to_the_config() {
    let dir = std::env::temp_dir().join(format!("cpe-config-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let secret = dir.join("pppoe.secret");
    std::fs::write(&secret, "s3cret\n").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let config = dir.join("cpe.toml");
    std::fs::write(
        &config,
        "[wan]\nmode = \"pppoe\"\n[wan.pppoe]\nusername = \"u\"\npassword_file = \"pppoe.secret\"\n[[lan]]\n",
    )
    .unwrap();
    let loaded = load_file(&config).unwrap();
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    let pppoe = loaded.config.wan.pppoe.unwrap();
    assert_eq!(pppoe.password, "s3cret");
    assert_eq!(pppoe.password_file.as_deref(), Some(secret.as_path()));
    // The secret never shows in Debug output.
    assert!(!format!("{pppoe:?}").contains("s3cret"));

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o644)).unwrap();
        let loaded = load_file(&config).unwrap();
        assert_eq!(loaded.warnings.len(), 1);
        assert!(
            loaded.warnings[0].to_string().contains(":5:17: warning: "),
            "{:?}",
            loaded.warnings
        );
        assert!(
            loaded.warnings[0]
                .message
                .contains("readable by every user")
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn reconnect_backoff_order() {
    error(
        "[wan]\n[wan.pppoe]\nusername = \"u\"\npassword = \"p\"\nreconnect_min = 60\nreconnect_max = 30\n[[lan]]\n",
        "6:17",
        "reconnect_max (30) is below reconnect_min (60)",
    );
}

#[test]
fn pppoe_field_ranges() {
    error(
        "[wan]\n[wan.pppoe]\nusername = \"u\"\npassword = \"p\"\nlcp_echo_failure = 0\n[[lan]]\n",
        "5:20",
        "wan.pppoe.lcp_echo_failure = 0 is out of range: must be 1..=100",
    );
}

#[test]
fn prefix_hint_range() {
    error(
        "[wan]\n[wan.dhcpv6]\nprefix_hint = 40\n[[lan]]\n",
        "3:15",
        "wan.dhcpv6.prefix_hint = 40 is out of range: must be 48..=64",
    );
    error(
        "[wan]\n[wan.dhcpv6]\nprefix_hint = 65\n[[lan]]\n",
        "3:15",
        "out of range",
    );
}

#[test]
fn dhcpv6_start_is_ra_or_always() {
    assert_eq!(load("[wan]\n[[lan]]\n").wan.dhcpv6.start, Dhcpv6Start::Ra);
    let c = load("[wan]\n[wan.dhcpv6]\nstart = \"always\"\n[[lan]]\n");
    assert_eq!(c.wan.dhcpv6.start, Dhcpv6Start::Always);
    error(
        "[wan]\n[wan.dhcpv6]\nstart = \"sometimes\"\n[[lan]]\n",
        "3:9",
        "start",
    );
}

#[test]
fn request_address_accepts_auto_and_booleans() {
    let c = load("[wan]\n[wan.dhcpv6]\nrequest_address = true\n[[lan]]\n");
    assert_eq!(c.wan.dhcpv6.request_address, RequestAddress::Always);
    let c = load("[wan]\n[wan.dhcpv6]\nrequest_address = false\n[[lan]]\n");
    assert_eq!(c.wan.dhcpv6.request_address, RequestAddress::Never);
    error(
        "[wan]\n[wan.dhcpv6]\nrequest_address = \"sometimes\"\n[[lan]]\n",
        "3:19",
        "request_address",
    );
}

// ---- wan.ipv4_over_ipv6 -------------------------------------------------

/// A MAP-E table with the given rule lines, and one LAN.
fn s46(lines: &str) -> String {
    // `auto` takes a written rule as well.
    format!("[wan]\n[wan.ipv4_over_ipv6]\nmode = \"auto\"\n{lines}[[lan]]\n")
}

#[test]
fn s46_defaults_to_off_without_rule() {
    let c = load("[wan]\n[[lan]]\n");
    assert_eq!(c.wan.ipv4_over_ipv6, Ipv4OverIpv6::default());
    assert_eq!(c.wan.ipv4_over_ipv6.mode, S46Mode::Off);
}

#[test]
fn s46_aftr_name_or_address() {
    let c = load(
        "[wan]\n[wan.ipv4_over_ipv6]\nmode = \"dslite\"\naftr = \"AFTR.Example.JP.\"\n[[lan]]\n",
    );
    assert_eq!(c.wan.ipv4_over_ipv6.mode, S46Mode::DsLite);
    assert_eq!(
        c.wan.ipv4_over_ipv6.aftr,
        Some(Aftr::Name("aftr.example.jp".to_owned()))
    );
    let c = load("[wan]\n[wan.ipv4_over_ipv6]\naftr = \"2001:db8::1\"\n[[lan]]\n");
    assert_eq!(
        c.wan.ipv4_over_ipv6.aftr,
        Some(Aftr::Address("2001:db8::1".parse().unwrap()))
    );
}

#[test]
fn s46_aftr_ipv4_is_refused() {
    error(
        "[wan]\n[wan.ipv4_over_ipv6]\naftr = \"192.0.2.1\"\n[[lan]]\n",
        "3:8",
        "the AFTR is reached over IPv6",
    );
}

#[test]
fn s46_unknown_mode_gets_a_hint() {
    error(
        "[wan]\n[wan.ipv4_over_ipv6]\nmode = \"mape\"\n[[lan]]\n",
        "3:8",
        "wan.ipv4_over_ipv6.mode",
    );
}

#[test]
fn s46_rfc7597_rule_loads() {
    // RFC 7597 appendix A, example 1: 2001:db8::/40, 192.0.2.0/24, 16 EA bits.
    let c = load(&s46(
        "rule_ipv6_prefix = \"2001:db8::/40\"\nrule_ipv4_prefix = \"192.0.2.0/24\"\nea_bits = 16\nbr = \"2001:db8:ffff::1\"\n",
    ));
    let rule = c.wan.ipv4_over_ipv6.map_rule.expect("rule");
    assert_eq!(rule.psid_offset, 6);
    assert_eq!(rule.psid_len(), 8);
}

#[test]
fn s46_rule_needs_all_keys() {
    error(
        &s46("rule_ipv4_prefix = \"192.0.2.0/24\"\nea_bits = 16\nbr = \"2001:db8::1\"\n"),
        "2:1",
        "[wan.ipv4_over_ipv6] is missing required key \"rule_ipv6_prefix\"",
    );
}

#[test]
fn s46_ea_bits_below_ipv4_suffix() {
    error(
        &s46(
            "rule_ipv6_prefix = \"2001:db8::/40\"\nrule_ipv4_prefix = \"192.0.2.0/24\"\nea_bits = 6\nbr = \"2001:db8::1\"\n",
        ),
        "6:11",
        "ea_bits = 6 is less than the 8 IPv4 suffix bits",
    );
}

#[test]
fn s46_ea_bits_past_64() {
    error(
        &s46(
            "rule_ipv6_prefix = \"2001:db8::/48\"\nrule_ipv4_prefix = \"192.0.0.0/16\"\nea_bits = 20\nbr = \"2001:db8::1\"\n",
        ),
        "6:11",
        "is 68 bits",
    );
}

#[test]
fn s46_psid_longer_than_a_port() {
    error(
        &s46(
            "rule_ipv6_prefix = \"2001:db8::/32\"\nrule_ipv4_prefix = \"192.0.2.0/24\"\nea_bits = 25\nbr = \"2001:db8::1\"\n",
        ),
        "6:11",
        "17-bit PSID",
    );
}

#[test]
fn s46_psid_offset_plus_length_past_16() {
    error(
        &s46(
            "rule_ipv6_prefix = \"2001:db8::/40\"\nrule_ipv4_prefix = \"192.0.2.0/24\"\nea_bits = 16\npsid_offset = 10\nbr = \"2001:db8::1\"\n",
        ),
        "7:15",
        "more than the 16 bits of a port",
    );
}

#[test]
fn s46_rule_prefix_host_bits() {
    error(
        &s46(
            "rule_ipv6_prefix = \"2001:db8::1/40\"\nrule_ipv4_prefix = \"192.0.2.0/24\"\nea_bits = 16\nbr = \"2001:db8::1\"\n",
        ),
        "4:20",
        "did you mean \"2001:db8::/40\"",
    );
}

// ---- lan ----------------------------------------------------------------

#[test]
fn prefixes_must_be_64_and_say_why() {
    let line = error(
        "[wan]\n[[lan]]\n[lan.ra]\nprefixes = [\"2001:db8::/48\"]\n",
        "4:13",
        "\"2001:db8::/48\" is a /48, but every advertised prefix must be a /64",
    );
    assert!(
        line.contains("hosts ignore non-/64 prefixes for SLAAC"),
        "{line}"
    );
}

#[test]
fn malformed_prefix_and_address() {
    error(
        "[wan]\n[[lan]]\n[lan.ra]\nprefixes = [\"2001:db8::/64x\"]\n",
        "4:13",
        "is not a valid IPv6 prefix",
    );
    error(
        "[wan]\n[[lan]]\n[lan.ra]\nrdnss = [\"self\", \"2001:db8::zz\"]\n",
        "4:18",
        "lan.ra.rdnss: \"2001:db8::zz\" is not a valid IPv6 address",
    );
    error(
        "[wan]\n[[lan]]\n[lan.ra]\nrdnss = [\"192.0.2.53\"]\n",
        "4:10",
        "is an IPv4 address; an IPv6 address is expected",
    );
    error(
        "[wan]\n[[lan]]\n[lan.dhcpv6]\nntp = [\"ff02::101\"]\n",
        "4:8",
        "multicast",
    );
}

#[test]
fn ra_interval_ranges() {
    error(
        "[wan]\n[[lan]]\n[lan.ra]\nmax_interval = 2000\n",
        "4:16",
        "lan.ra.max_interval = 2000 is out of range: must be 4..=1800",
    );
    error(
        "[wan]\n[[lan]]\n[lan.ra]\nmax_interval = 3\n",
        "4:16",
        "out of range",
    );
    error(
        "[wan]\n[[lan]]\n[lan.ra]\nmin_interval = 2\n",
        "4:16",
        "lan.ra.min_interval = 2 is out of range: must be 3..=1350",
    );
}

#[test]
fn min_interval_must_be_below_max_interval() {
    error(
        "[wan]\n[[lan]]\n[lan.ra]\nmin_interval = 600\nmax_interval = 600\n",
        "4:16",
        "lan.ra.min_interval = 600 must be less than max_interval (600)",
    );
    error(
        "[wan]\n[[lan]]\n[lan.ra]\nmin_interval = 700\n",
        "4:16",
        "must be less than the default max_interval (600)",
    );
    error(
        "[wan]\n[[lan]]\n[lan.ra]\nmin_interval = 500\nmax_interval = 600\n",
        "4:16",
        "lan.ra.min_interval = 500 exceeds 0.75 x max_interval (600) = 450",
    );
}

#[test]
fn ra_interval_defaults_follow_max_interval() {
    let c = load("[wan]\n[[lan]]\n[lan.ra]\nmax_interval = 30\n");
    assert_eq!(
        (c.lan[0].ra.min_interval, c.lan[0].ra.router_lifetime),
        (10, 90)
    );
    let c = load("[wan]\n[[lan]]\n[lan.ra]\nmax_interval = 4\n");
    assert_eq!(
        (c.lan[0].ra.min_interval, c.lan[0].ra.router_lifetime),
        (3, 12)
    );
    let c = load("[wan]\n[[lan]]\n[lan.ra]\nmax_interval = 1800\n");
    assert_eq!(c.lan[0].ra.router_lifetime, 5400);
}

#[test]
fn router_lifetime_zero_or_at_least_max_interval() {
    load("[wan]\n[[lan]]\n[lan.ra]\nrouter_lifetime = 0\n");
    error(
        "[wan]\n[[lan]]\n[lan.ra]\nrouter_lifetime = 100\n",
        "4:19",
        "lan.ra.router_lifetime = 100 is below max_interval (600)",
    );
    error(
        "[wan]\n[[lan]]\n[lan.ra]\nrouter_lifetime = 9001\n",
        "4:19",
        "must be 0..=9000",
    );
}

#[test]
fn ra_mtu_forms() {
    assert_eq!(
        load("[wan]\n[[lan]]\n[lan.ra]\nmtu = 1400\n").lan[0].ra.mtu,
        RaMtu::Value(1400)
    );
    assert_eq!(
        load("[wan]\n[[lan]]\n[lan.ra]\nmtu = \"off\"\n").lan[0]
            .ra
            .mtu,
        RaMtu::Off
    );
    error(
        "[wan]\n[[lan]]\n[lan.ra]\nmtu = 1000\n",
        "4:7",
        "lan.ra.mtu = 1000 is out of range: must be 1280..=9000",
    );
    error(
        "[wan]\n[[lan]]\n[lan.ra]\nmtu = \"on\"\n",
        "4:7",
        "is not \"auto\", \"off\" or a number",
    );
}

#[test]
fn managed_without_stateful_server_is_an_error() {
    let line = error(
        "[wan]\n[[lan]]\n[lan.ra]\nmanaged = true\n",
        "4:11",
        "managed = true (M flag) needs a stateful DHCPv6 server",
    );
    assert!(line.contains("only has a stateless one"), "{line}");
}

#[test]
fn other_config_false_with_stateless_server_warns() {
    let line = warning(
        "[wan]\n[[lan]]\n[lan.ra]\nother_config = false\n",
        "4:16",
        "other_config = false while lan.dhcpv6.mode = \"stateless\"",
    );
    assert!(line.contains("never send Information-Request"), "{line}");
    // No warning when the server is off too.
    assert!(
        diagnostics(
            "[wan]\n[[lan]]\n[lan.ra]\nother_config = false\n[lan.dhcpv6]\nmode = \"off\"\n"
        )
        .is_empty()
    );
}

#[test]
fn other_config_true_with_server_off_warns() {
    warning(
        "[wan]\n[[lan]]\n[lan.dhcpv6]\nmode = \"off\"\n",
        "4:8",
        "hosts ask a DHCPv6 server that never answers",
    );
}

#[test]
fn duplicate_lan_interfaces() {
    error(
        "[wan]\n[[lan]]\ninterface = \"br0\"\n[[lan]]\ninterface = \"br0\"\nsubnet_id = 2\nipv4 = false\n",
        "5:13",
        "lan interface \"br0\" is already used by LAN #1",
    );
}

#[test]
fn duplicate_subnet_ids() {
    error(
        "[wan]\n[[lan]]\nsubnet_id = 3\nipv4 = false\n[[lan]]\ninterface = \"br1\"\nsubnet_id = 3\nipv4 = false\n",
        "7:13",
        "subnet_id 3 is already used by LAN #1 (\"br0\")",
    );
}

#[test]
fn defaulted_subnet_id_collision_explains_the_default() {
    let line = error(
        "[wan]\n[[lan]]\nsubnet_id = 2\nipv4 = false\n[[lan]]\ninterface = \"br1\"\nipv4 = false\n",
        "5:1",
        "subnet_id 2 is already used by LAN #1",
    );
    assert!(line.contains("defaults to its position (2)"), "{line}");
}

#[test]
fn second_lan_gets_next_subnet_id_by_default() {
    let c = load("[wan]\n[[lan]]\n[[lan]]\ninterface = \"br1\"\nipv4 = false\n");
    assert_eq!((c.lan[0].subnet_id, c.lan[1].subnet_id), (1, 2));
    assert_eq!(c.lan[1].ipv4, None);
}

#[test]
fn subnet_id_must_fit_the_prefix_hint() {
    let line = error(
        "[wan]\n[wan.dhcpv6]\nprefix_hint = 60\n[[lan]]\nsubnet_id = 16\n",
        "5:13",
        "subnet_id = 16 does not fit the /60 prefix hint: a /60 holds 16 /64s (subnet_id 0..=15)",
    );
    assert!(line.contains("prefix_hint = 59 or shorter"), "{line}");
    load("[wan]\n[wan.dhcpv6]\nprefix_hint = 60\n[[lan]]\nsubnet_id = 15\n");
    load("[wan]\n[wan.dhcpv6]\nprefix_hint = 64\n[[lan]]\nsubnet_id = 0\n");
    // Without prefix delegation the hint does not constrain it.
    load(
        "[wan]\n[wan.dhcpv6]\nprefix_hint = 60\nrequest_prefix = false\n[[lan]]\nsubnet_id = 300\n",
    );
    error(
        "[wan]\n[[lan]]\nsubnet_id = 65536\n",
        "3:13",
        "lan.subnet_id = 65536 is out of range: must be 0..=65535",
    );
}

/// RFC 7084 ULA-3: `lan.ula` takes a /48 of fd00::/8 besides true/false;
/// anything else is refused naming the key and the rule broken.
#[test]
fn ula_may_be_a_configured_48_of_fd00() {
    let c = load("[wan]\n[[lan]]\nula = \"fd12:3456:789a::/48\"\n");
    assert!(c.lan[0].ula);
    assert_eq!(
        c.lan[0].ula_prefix,
        Some("fd12:3456:789a::/48".parse().unwrap())
    );
    let c = load("[wan]\n[[lan]]\nula = false\n");
    assert!(!c.lan[0].ula && c.lan[0].ula_prefix.is_none());
    let c = load("[wan]\n[[lan]]\n");
    assert!(c.lan[0].ula && c.lan[0].ula_prefix.is_none());

    for (value, fragment) in [
        (
            "2001:db8::/48",
            "lan.ula: \"2001:db8::/48\" is not a unique local prefix",
        ),
        (
            "fc12:3456:789a::/48",
            "lan.ula: \"fc12:3456:789a::/48\" is in fc00::/8",
        ),
        (
            "fd12:3456:789a::/56",
            "lan.ula: \"fd12:3456:789a::/56\" is a /56, but a ULA prefix is a /48",
        ),
        (
            "fd12:3456:789a::1/48",
            "lan.ula: \"fd12:3456:789a::1/48\" has bits set after the first 48",
        ),
        (
            "yes",
            "lan.ula: \"yes\" is neither true, false nor an IPv6 prefix",
        ),
    ] {
        error(
            &format!("[wan]\n[[lan]]\nula = \"{value}\"\n"),
            "3:7",
            fragment,
        );
    }
    let line = error(
        "[wan]\n[[lan]]\nula = \"fc12:3456:789a::/48\"\n",
        "3:7",
        "fd00::/8",
    );
    assert!(
        line.contains("did you mean \"fd12:3456:789a::/48\""),
        "{line}"
    );
    error("[wan]\n[[lan]]\nula = 48\n", "3:7", "lan.ula");
}

/// RFC 7084 L-6/L-7: `lan.ra.autonomous` and `lan.ra.on_link` set the PIO A
/// and L flags, true by default; A = 0 leaves hosts without an address from
/// this router, which deserves a warning.
#[test]
fn pio_flags_are_configurable_and_a_off_is_warned_about() {
    let c = load("[wan]\n[[lan]]\n");
    assert!(c.lan[0].ra.autonomous && c.lan[0].ra.on_link);
    let c = load("[wan]\n[[lan]]\n[lan.ra]\non_link = false\n");
    assert!(c.lan[0].ra.autonomous && !c.lan[0].ra.on_link);
    warning(
        "[wan]\n[[lan]]\n[lan.ra]\nautonomous = false\n",
        "4:14",
        "autonomous = false (PIO A flag): hosts form no address",
    );
    let c = match parse_str("[wan]\n[[lan]]\n[lan.ra]\nautonomous = false\n", "t.toml") {
        Ok(loaded) => loaded.config,
        Err(d) => panic!("{d}"),
    };
    assert!(!c.lan[0].ra.autonomous);
    error(
        "[wan]\n[[lan]]\n[lan.ra]\non_link = \"yes\"\n",
        "4:11",
        "lan.ra.on_link",
    );
}

#[test]
fn lan_interface_equal_to_wan() {
    error(
        "[wan]\ninterface = \"eth0\"\n[[lan]]\ninterface = \"eth0\"\n",
        "4:13",
        "lan interface \"eth0\" is also the WAN interface",
    );
    error(
        "[wan]\n[[lan]]\ninterface = \"wan0\"\n",
        "3:13",
        "is also the WAN interface",
    );
}

#[test]
fn interface_name_validity() {
    error(
        "[wan]\ninterface = \"a-very-long-name0\"\n[[lan]]\n",
        "2:13",
        "longer than 15 bytes",
    );
}

#[test]
fn pool_outside_subnet_or_reversed() {
    error(
        "[wan]\n[[lan]]\n[lan.ipv4]\naddress = \"192.168.1.1/24\"\npool = \"192.168.2.10-192.168.2.20\"\n",
        "5:8",
        "lan.ipv4.pool 192.168.2.10-192.168.2.20 is outside the LAN subnet 192.168.1.0/24",
    );
    let line = error(
        "[wan]\n[[lan]]\n[lan.ipv4]\npool = \"192.168.1.200-192.168.1.100\"\n",
        "4:8",
        "range \"192.168.1.200-192.168.1.100\" is reversed",
    );
    assert!(
        line.contains("did you mean \"192.168.1.100-192.168.1.200\"?"),
        "{line}"
    );
    error(
        "[wan]\n[[lan]]\n[lan.ipv4]\npool = \"192.168.1.1-192.168.1.50\"\n",
        "4:8",
        "includes the router's own address 192.168.1.1",
    );
    error(
        "[wan]\n[[lan]]\n[lan.ipv4]\npool = \"192.168.1.2-192.168.1.255\"\n",
        "4:8",
        "includes the network or broadcast address",
    );
}

#[test]
fn pool_default_follows_the_address() {
    let c = load("[wan]\n[[lan]]\n[lan.ipv4]\naddress = \"10.1.2.1/16\"\n");
    let v4 = c.lan[0].ipv4.clone().unwrap();
    assert_eq!(
        v4.pool,
        ("10.1.0.100".parse().unwrap(), "10.1.0.199".parse().unwrap())
    );
}

#[test]
fn lan_ipv4_address_forms() {
    error(
        "[wan]\n[[lan]]\n[lan.ipv4]\naddress = \"192.168.1.0/24\"\n",
        "4:11",
        "is the network address of the subnet",
    );
    error(
        "[wan]\n[[lan]]\n[lan.ipv4]\naddress = \"192.168.1.1\"\n",
        "4:11",
        "is not an IPv4 address with prefix length",
    );
}

#[test]
fn overlapping_lan_subnets() {
    let line = error(
        "[wan]\n[[lan]]\n[[lan]]\ninterface = \"br1\"\n",
        "3:1",
        "lan.ipv4 subnet 192.168.1.0/24 of \"br1\" overlaps 192.168.1.0/24 of \"br0\"",
    );
    assert!(line.contains("ipv4 = false"), "{line}");
}

#[test]
fn lease_time_range() {
    error(
        "[wan]\n[[lan]]\n[lan.ipv4]\nlease_time = 60\n",
        "4:14",
        "lan.ipv4.lease_time = 60 is out of range: must be 120..=31536000 seconds",
    );
}

#[test]
fn information_refresh_minimum() {
    error(
        "[wan]\n[[lan]]\n[lan.dhcpv6]\ninformation_refresh = 10\n",
        "4:23",
        "must be 600..=4294967295",
    );
}

// ---- dns ----------------------------------------------------------------

#[test]
fn cache_size_bounds() {
    error(
        "[wan]\n[[lan]]\n[dns]\ncache_size = 200000\n",
        "4:14",
        "dns.cache_size = 200000 is out of range: must be 0..=100000 entries",
    );
    error(
        "[wan]\n[[lan]]\n[dns]\ncache_size = -1\n",
        "4:14",
        "out of range",
    );
}

#[test]
fn dns_listen_unknown_role_or_interface() {
    let line = error(
        "[wan]\n[[lan]]\n[dns]\nlisten = [\"lan\", \"br9\"]\n",
        "4:18",
        "dns.listen: \"br9\" is neither a role (lan, wan, lo) nor a configured interface",
    );
    assert!(line.contains("did you mean \"br0\"?"), "{line}");
    load("[wan]\n[[lan]]\n[dns]\nlisten = [\"br0\", \"lo\"]\n");
}

#[test]
fn dns_listen_on_wan_warns() {
    warning(
        "[wan]\n[[lan]]\n[dns]\nlisten = [\"lan\", \"wan0\"]\n",
        "4:18",
        "open resolver",
    );
}

#[test]
fn dns_disabled_while_lans_point_at_it_warns() {
    warning(
        "[wan]\n[[lan]]\n[dns]\nenabled = false\n",
        "4:11",
        "announces this router as DNS server",
    );
}

#[test]
fn dns_hosts_entries() {
    error(
        "[wan]\n[[lan]]\n[dns]\nhosts = [{ name = \"nas\" }]\n",
        "4:10",
        "a dns.hosts entry is missing required key \"addresses\"",
    );
    error(
        "[wan]\n[[lan]]\n[dns]\nhosts = [{ name = \"nas\", adresses = [] }]\n",
        "4:26",
        "did you mean \"addresses\"?",
    );
    error(
        "[wan]\n[[lan]]\n[dns]\nhosts = [{ name = \"nas\", addresses = [\"nas\"] }]\n",
        "4:39",
        "not a valid IP address",
    );
}

#[test]
fn dns_hosts_entry_must_be_a_table() {
    let line = error(
        "[wan]\n[[lan]]\n[dns]\nhosts = [3]\n",
        "4:10",
        "each dns.hosts entry must be a table, found an integer",
    );
    assert!(
        line.contains("hint: write each entry as { name = "),
        "{line}"
    );
    error(
        "[wan]\n[[lan]]\n[dns]\nhosts = 3\n",
        "4:9",
        "dns.hosts must be an array of tables",
    );
}

#[test]
fn upstream_entries() {
    let c =
        load("[wan]\n[[lan]]\n[dns]\nupstream = [\"auto\", \"192.0.2.53\", \"2001:db8::53\"]\n");
    assert_eq!(c.dns.upstream.len(), 3);
    error(
        "[wan]\n[[lan]]\n[dns]\nupstream = [\"8.8.8\"]\n",
        "4:13",
        "not a valid IP address",
    );
}

// ---- firewall -----------------------------------------------------------

#[test]
fn rate_syntax() {
    let line = error(
        "[wan]\n[[lan]]\n[firewall]\necho_request_limit = \"10/sec\"\n",
        "4:22",
        "firewall.echo_request_limit: \"sec\" is not a rate unit",
    );
    assert!(line.contains("did you mean \"10/second\"?"), "{line}");
    error(
        "[wan]\n[[lan]]\n[firewall]\necho_request_limit = \"ten/second\"\n",
        "4:22",
        "is not a count",
    );
    error(
        "[wan]\n[[lan]]\n[firewall]\necho_request_limit = \"10\"\n",
        "4:22",
        "is not a rate",
    );
    let c = load("[wan]\n[[lan]]\n[firewall]\necho_request_limit = \"5/minute\"\n");
    assert_eq!(
        c.firewall.echo_request_limit,
        RateLimit {
            count: 5,
            per: RatePeriod::Minute
        }
    );
}

#[test]
fn pinhole_proto_and_port() {
    let base = "[wan]\n[[lan]]\n[[firewall.pinhole]]\nname = \"x\"\nhost = \"::1\"\n";
    error(
        &format!("{base}proto = \"icmp\"\nport = 22\n"),
        "6:9",
        "firewall.pinhole.proto: \"icmp\" is not one of \"tcp\", \"udp\"",
    );
    error(
        &format!("{base}proto = \"tcp\"\nport = 0\n"),
        "7:8",
        "firewall.pinhole.port = 0 is out of range: must be 1..=65535",
    );
    error(
        &format!("{base}proto = \"tcp\"\nport = 65536\n"),
        "7:8",
        "out of range",
    );
    error(
        &format!("{base}proto = \"tcp\"\n"),
        "3:1",
        "[[firewall.pinhole]] is missing required key \"port\"",
    );
}

#[test]
fn pinhole_hosts() {
    let base =
        "[wan]\n[[lan]]\n[[firewall.pinhole]]\nname = \"x\"\nproto = \"udp\"\nport = 51820\n";
    let c = load(&format!("{base}host = \"2001:db8::10\"\n"));
    assert_eq!(
        c.firewall.pinhole[0].host,
        HostSpec::Address("2001:db8::10".parse().unwrap())
    );
    error(
        &format!("{base}host = \"192.168.1.10\"\n"),
        "7:8",
        "pinholes open IPv6 only",
    );
    error(
        &format!("{base}host = \"fe80::1\"\n"),
        "7:8",
        "not a global unicast address",
    );
}

#[test]
fn wan_inbound_accept_warns() {
    warning(
        "[wan]\n[[lan]]\n[firewall]\nwan_inbound = \"accept\"\n",
        "4:15",
        "reaches every LAN host",
    );
}

// ---- reporting ----------------------------------------------------------

/// The acceptance case: a /48 in prefixes, an unknown key and a bad address
/// give exactly those three lines, in file order.
#[test]
fn three_problems_three_lines() {
    let src = "\
[wan]
interface = \"wan0\"
mtx = 1500

[[lan]]
interface = \"br0\"

[lan.ra]
prefixes = [\"2001:db8::/48\"]
rdnss = [\"2001:db8::g\"]
";
    let diags = parse_str(src, "cpe.toml").unwrap_err();
    let text = diags.to_string();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert_eq!(
        lines[0],
        "cpe.toml:3:1: error: unknown key \"mtx\" in [wan]; hint: did you mean \"mtu\"?"
    );
    assert!(lines[1].starts_with("cpe.toml:9:13: error: lan.ra.prefixes: \"2001:db8::/48\" is a /48, but every advertised prefix must be a /64: hosts ignore non-/64 prefixes for SLAAC"), "{}", lines[1]);
    assert!(
        lines[2].starts_with(
            "cpe.toml:10:10: error: lan.ra.rdnss: \"2001:db8::g\" is not a valid IPv6 address"
        ),
        "{}",
        lines[2]
    );
}

#[test]
fn all_problems_are_reported_at_once_and_sorted() {
    let src = "\
[firewall]
pinhole = 3
[system]
log_level = \"loud\"
[wan]
mtu = 100
[[lan]]
subnet_id = -1
";
    let diags = parse_str(src, "t.toml").unwrap_err();
    let positions: Vec<(usize, usize)> = diags.0.iter().map(|d| (d.line, d.col)).collect();
    assert_eq!(
        positions,
        vec![(2, 11), (4, 13), (6, 7), (8, 13)],
        "{diags}"
    );
    assert!(diags.0.iter().all(|d| d.severity == Severity::Error));
}

#[test]
fn warnings_travel_with_errors() {
    let diags = parse_str(
        "[wan]\nmtu = 1\n[[lan]]\n[firewall]\nwan_inbound = \"accept\"\n",
        "t.toml",
    )
    .unwrap_err();
    let severities: Vec<Severity> = diags.0.iter().map(|d| d.severity).collect();
    assert_eq!(severities, vec![Severity::Error, Severity::Warning]);
}

#[test]
fn columns_count_characters_not_bytes() {
    error(
        "# ルーター\n[wan]\nmtu = \"x\" # é\n[[lan]]\n",
        "3:7",
        "wan.mtu",
    );
    error(
        "[wan]\npppoe = { username = \"ユーザー\", password = 1 }\n[[lan]]\n",
        "2:41",
        "wan.pppoe.password: expected a string",
    );
}

#[test]
fn load_file_reports_io_and_encoding_problems() {
    let missing = load_file(std::path::Path::new("/nonexistent/cpe.toml")).unwrap_err();
    assert_eq!(missing.0.len(), 1);
    assert!(
        missing
            .to_string()
            .starts_with("/nonexistent/cpe.toml: error: cannot read the config file")
    );

    let dir = std::env::temp_dir().join(format!("cpe-config-utf8-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bad.toml");
    std::fs::write(&path, b"[wan]\nmtu = 15\xff00\n").unwrap();
    let err = load_file(&path).unwrap_err();
    assert_eq!((err.0[0].line, err.0[0].col), (2, 9));
    assert!(err.0[0].message.contains("not valid UTF-8"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn oversized_input_is_refused() {
    let big = format!("[wan]\n[[lan]]\n#{}\n", "x".repeat(MAX_CONFIG_BYTES));
    error(&big, "1:1", "more than the");
}

#[test]
fn ntp_servers_are_unicast_addresses_and_a_client_without_servers_is_flagged() {
    error(
        "[wan]\n[[lan]]\n[ntp]\nservers = [\"ff02::101\"]\n",
        "4:12",
        "multicast",
    );
    error(
        "[wan]\n[[lan]]\n[ntp]\nservers = [\"pool.ntp.org\"]\n",
        "4:12",
        "is not a valid IP address",
    );
    warning(
        "[wan]\n[[lan]]\n[ntp]\nuse_wan = false\n",
        "3:1",
        "the clock is never set",
    );
    let c = load(
        "[wan]\n[[lan]]\n[ntp]\nservers = [\"192.0.2.123\", \"2001:db8::123\"]\nset_clock = false\n",
    );
    assert_eq!(
        c.ntp.servers,
        [
            "192.0.2.123".parse::<std::net::IpAddr>().unwrap(),
            "2001:db8::123".parse().unwrap()
        ]
    );
    assert!(c.ntp.use_wan && !c.ntp.set_clock && c.ntp.enabled);
}

#[test]
fn s46_map_e_loads_without_a_warning() {
    let loaded = cpe_config::parse_str(
        "[wan]\n[wan.ipv4_over_ipv6]\nmode = \"map-e\"\n[[lan]]\n",
        "t.toml",
    )
    .unwrap();
    assert_eq!(loaded.config.wan.ipv4_over_ipv6.mode, S46Mode::MapE);
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
}

/// `openssl passwd -6 -salt abcdefgh secret`.
const ROOT_HASH: &str = "$6$abcdefgh$ltjgWl6579NluT/Vi1nwEvcil.G5Nbc4NiXZaNGStk8PSwGfQv72N2CKPPrVACtLtip/cZ/1GM/O6IND4WQhG.";

#[test]
fn root_password_hash_is_kept_for_login_and_redacted_when_shown() {
    let src = format!("[system]\nroot_password_hash = \"{ROOT_HASH}\"\n[wan]\n[[lan]]\n");
    let loaded = parse_str(&src, "t.toml").unwrap();
    let hash = loaded.config.system.root_password_hash.as_ref().unwrap();
    assert_eq!(hash.as_str(), ROOT_HASH);
    let debug = format!("{:?}", loaded.config);
    let json = serde_json::to_string(&loaded.config).unwrap();
    for shown in [&debug, &json] {
        assert!(!shown.contains("ltjgWl"), "{shown}");
        assert!(shown.contains("<redacted>"), "{shown}");
    }
    // The effective config loads back to the same login.
    let again = parse_str(&to_toml(&loaded.config), "t.toml").unwrap();
    assert_eq!(again.config, loaded.config);
    // Absent: no login, and no line in the effective config.
    let plain = parse_str("[wan]\n[[lan]]\n", "t.toml").unwrap();
    assert_eq!(plain.config.system.root_password_hash, None);
    assert!(!to_toml(&plain.config).contains("root_password_hash"));
}

#[test]
fn root_password_hash_that_is_not_sha512_crypt_is_refused_without_echo() {
    let md5 = ROOT_HASH.replacen("$6$", "$1$", 1);
    let line = error(
        &format!("[system]\nroot_password_hash = \"{md5}\"\n[wan]\n[[lan]]\n"),
        "2:22",
        "does not start with $6$",
    );
    assert!(!line.contains("ltjgWl"), "{line}");
}
