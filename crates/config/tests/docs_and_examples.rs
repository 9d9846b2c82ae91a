//! The key reference (config/README.md) and the schema must name the same
//! keys, and every shipped example config must load cleanly.

use std::collections::BTreeSet;
use std::path::PathBuf;

fn repo_config_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../config")
}

/// Keys documented in the README: `## \`[table]\`` headings open a table;
/// table rows starting with a backticked key document `table.key`. Also
/// checks that every row fills the meaning column.
fn documented_keys(readme: &str) -> BTreeSet<String> {
    let mut keys = BTreeSet::new();
    let mut table = String::new();
    for (number, line) in readme.lines().enumerate() {
        let first_code = |text: &str| text.split('`').nth(1).map(str::to_owned);
        if let Some(heading) = line.strip_prefix("## ") {
            let Some(code) = first_code(heading) else {
                continue;
            };
            table = code.trim_matches(|c| c == '[' || c == ']').to_owned();
            keys.insert(table.clone());
        } else if line.starts_with("| `") {
            let Some(key) = first_code(line) else {
                panic!("line {}: unterminated code span", number + 1);
            };
            assert!(
                !table.is_empty(),
                "line {}: key row outside a table section",
                number + 1
            );
            let cells: Vec<&str> = line
                .trim()
                .trim_matches('|')
                .split('|')
                .map(str::trim)
                .collect();
            assert_eq!(
                cells.len(),
                5,
                "line {}: expected 5 columns: {line}",
                number + 1
            );
            assert!(cells[4].len() > 10, "line {}: no meaning", number + 1);
            keys.insert(format!("{table}.{key}"));
        }
    }
    keys
}

#[test]
fn readme_documents_exactly_the_schema_keys() {
    let readme = std::fs::read_to_string(repo_config_dir().join("README.md")).unwrap();
    let documented = documented_keys(&readme);
    let known: BTreeSet<String> = cpe_config::known_keys()
        .into_iter()
        .map(str::to_owned)
        .collect();
    let undocumented: Vec<_> = known.difference(&documented).collect();
    let unknown: Vec<_> = documented.difference(&known).collect();
    assert!(
        undocumented.is_empty(),
        "keys missing from config/README.md: {undocumented:?}"
    );
    assert!(
        unknown.is_empty(),
        "README documents keys the schema lacks: {unknown:?}"
    );
}

#[test]
fn known_keys_cover_nested_tables() {
    let keys = cpe_config::known_keys();
    for key in [
        "lan.ra.min_interval",
        "wan.pppoe.password_file",
        "firewall.pinhole.host",
        "dns.hosts.addresses",
        "lan.ipv4",
    ] {
        assert!(keys.contains(&key), "{key} missing");
    }
    let unique: BTreeSet<_> = keys.iter().collect();
    assert_eq!(unique.len(), keys.len(), "duplicates in known_keys");
}

#[test]
fn every_spec_key_is_known() {
    // Keys of the users' contract file, collected from its text, must all be
    // in the schema (the parse test checks they work; this checks nothing
    // in the spec is silently ignored by a rename).
    let spec = include_str!("fixtures/config-spec.toml");
    let known = cpe_config::known_keys();
    let mut table = String::new();
    for line in spec.lines().map(str::trim) {
        if line.starts_with('[') {
            table = line
                .split(']')
                .next()
                .unwrap()
                .trim_start_matches('[')
                .to_owned();
            assert!(known.contains(&table.as_str()), "{table}");
        } else if let Some((key, _)) = line.split_once('=')
            && !line.starts_with('#')
        {
            let key = key.trim();
            if key
                .chars()
                .all(|c| c.is_ascii_lowercase() || c == '_' || c.is_ascii_digit())
            {
                let dotted = format!("{table}.{key}");
                assert!(known.contains(&dotted.as_str()), "{dotted}");
            }
        }
    }
}

#[test]
fn example_configs_load_without_findings() {
    let mut seen = 0;
    for entry in std::fs::read_dir(repo_config_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            match cpe_config::load_file(&path) {
                Ok(loaded) => assert!(
                    loaded.warnings.is_empty(),
                    "{}: {:?}",
                    path.display(),
                    loaded.warnings
                ),
                Err(diags) => panic!("{} rejected:\n{diags}", path.display()),
            }
            seen += 1;
        }
    }
    assert!(
        seen >= 3,
        "expected the three example configs, found {seen}"
    );
}

#[test]
fn examples_say_what_they_claim() {
    use cpe_config::*;
    let load = |name: &str| load_file(&repo_config_dir().join(name)).unwrap().config;

    let default = load("default.toml");
    assert_eq!(default.wan.mode, Mode::Ipoe);
    assert_eq!(default.wan.interface, "wan0");
    assert_eq!(default.lan.len(), 1);
    assert_eq!(default.lan[0].interface, "br0");

    let ntt = load("ntt-ipoe.toml");
    assert_eq!(ntt.wan.mode, Mode::Ipoe);
    assert_eq!(ntt.wan.dhcpv6.prefix_hint, 56);
    assert_eq!(ntt.wan.dhcpv6.request_address, RequestAddress::Auto);
    assert!(ntt.lan[0].ra.other_config && !ntt.lan[0].ra.managed);

    let pppoe = load("pppoe-dualstack.toml");
    assert_eq!(pppoe.wan.mode, Mode::Pppoe);
    assert_eq!(pppoe.wan.mtu, 1492);
    assert!(pppoe.wan.ipv4);
    assert!(pppoe.wan.dhcpv6.request_prefix);
    assert!(pppoe.wan.pppoe.is_some());
    assert_eq!(pppoe.lan[0].ra.mtu, RaMtu::Auto);
    assert!(pppoe.firewall.mss_clamp);
}
