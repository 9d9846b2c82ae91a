//! The effective config as TOML text: every key with its value after
//! defaults, in the order of the reference. This is what an engineer is
//! shown when asking "what is the router actually running with", and
//! loading the output gives back an equal [`Config`].
//!
//! A password that came from `password_file` is rendered as that
//! `password_file`, never as the secret; an inline password is rendered
//! inline (it was in the file already), and so is
//! `system.root_password_hash` (a hash, and loading the output must give
//! the same login); `Debug` and `Serialize` redact both.

use std::fmt::{self, Write};
use std::net::Ipv6Addr;

use crate::model::*;

/// Renders `config` as a complete config file.
pub fn to_toml(config: &Config) -> String {
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = write_config(&mut out, config);
    out
}

fn write_config(out: &mut String, c: &Config) -> fmt::Result {
    let s = &c.system;
    writeln!(out, "[system]")?;
    writeln!(out, "hostname = {}", string(&s.hostname))?;
    writeln!(out, "log_level = {}", string(s.log_level.as_str()))?;
    writeln!(
        out,
        "state_dir = {}",
        string(&s.state_dir.to_string_lossy())
    )?;
    writeln!(out, "run_dir = {}", string(&s.run_dir.to_string_lossy()))?;
    if let Some(hash) = &s.root_password_hash {
        writeln!(out, "root_password_hash = {}", string(hash.as_str()))?;
    }

    write_wan(out, &c.wan)?;
    for lan in &c.lan {
        write_lan(out, lan)?;
    }
    write_dns(out, &c.dns)?;
    write_firewall(out, &c.firewall)?;
    write_ntp(out, &c.ntp)
}

fn write_ntp(out: &mut String, n: &Ntp) -> fmt::Result {
    writeln!(out, "\n[ntp]")?;
    writeln!(out, "enabled = {}", n.enabled)?;
    let servers: Vec<String> = n
        .servers
        .iter()
        .map(|a| a.to_canonical().to_string())
        .collect();
    writeln!(out, "servers = {}", list(servers.iter()))?;
    writeln!(out, "use_wan = {}", n.use_wan)?;
    writeln!(out, "set_clock = {}", n.set_clock)
}

fn write_wan(out: &mut String, w: &Wan) -> fmt::Result {
    writeln!(out, "\n[wan]")?;
    writeln!(out, "interface = {}", string(&w.interface))?;
    let mode = match w.mode {
        Mode::Ipoe => "ipoe",
        Mode::Pppoe => "pppoe",
    };
    writeln!(out, "mode = {}", string(mode))?;
    writeln!(out, "mtu = {}", w.mtu)?;
    writeln!(out, "ipv4 = {}", w.ipv4)?;
    writeln!(out, "closed_prefixes = {}", list(w.closed_prefixes.iter()))?;
    if let Some(p) = &w.pppoe {
        writeln!(out, "\n[wan.pppoe]")?;
        writeln!(out, "username = {}", string(&p.username))?;
        match &p.password_file {
            Some(file) => writeln!(out, "password_file = {}", string(&file.to_string_lossy()))?,
            None => writeln!(out, "password = {}", string(&p.password))?,
        }
        writeln!(out, "service = {}", string(&p.service))?;
        writeln!(out, "ac_name = {}", string(&p.ac_name))?;
        writeln!(out, "lcp_echo_interval = {}", p.lcp_echo_interval)?;
        writeln!(out, "lcp_echo_failure = {}", p.lcp_echo_failure)?;
        writeln!(out, "reconnect_min = {}", p.reconnect_min)?;
        writeln!(out, "reconnect_max = {}", p.reconnect_max)?;
    }
    let d = &w.dhcpv6;
    writeln!(out, "\n[wan.dhcpv6]")?;
    writeln!(out, "enabled = {}", d.enabled)?;
    writeln!(out, "request_prefix = {}", d.request_prefix)?;
    writeln!(out, "prefix_hint = {}", d.prefix_hint)?;
    let request_address = match d.request_address {
        RequestAddress::Auto => "\"auto\"",
        RequestAddress::Always => "true",
        RequestAddress::Never => "false",
    };
    writeln!(out, "request_address = {request_address}")?;
    writeln!(out, "rapid_commit = {}", d.rapid_commit)?;
    let start = match d.start {
        Dhcpv6Start::Ra => "\"ra\"",
        Dhcpv6Start::Always => "\"always\"",
    };
    writeln!(out, "start = {start}")?;
    write_s46(out, &w.ipv4_over_ipv6)
}

fn write_s46(out: &mut String, s: &Ipv4OverIpv6) -> fmt::Result {
    writeln!(out, "\n[wan.ipv4_over_ipv6]")?;
    writeln!(out, "mode = {}", string(s.mode.as_str()))?;
    if let Some(aftr) = &s.aftr {
        writeln!(out, "aftr = {}", string(&aftr.to_string()))?;
    }
    if let Some(r) = &s.map_rule {
        writeln!(
            out,
            "rule_ipv6_prefix = {}",
            string(&r.ipv6_prefix.to_string())
        )?;
        writeln!(
            out,
            "rule_ipv4_prefix = {}",
            string(&r.ipv4_prefix.to_string())
        )?;
        writeln!(out, "ea_bits = {}", r.ea_bits)?;
        writeln!(out, "psid_offset = {}", r.psid_offset)?;
        writeln!(out, "br = {}", string(&r.br.to_string()))?;
    }
    Ok(())
}

fn write_lan(out: &mut String, lan: &Lan) -> fmt::Result {
    writeln!(out, "\n[[lan]]")?;
    writeln!(out, "interface = {}", string(&lan.interface))?;
    writeln!(out, "subnet_id = {}", lan.subnet_id)?;
    match lan.ula_prefix {
        Some(net) if lan.ula => writeln!(out, "ula = {}", string(&net.to_string()))?,
        _ => writeln!(out, "ula = {}", lan.ula)?,
    }
    if lan.ipv4.is_none() {
        writeln!(out, "ipv4 = false")?;
    }

    let ra = &lan.ra;
    writeln!(out, "\n[lan.ra]")?;
    writeln!(out, "enabled = {}", ra.enabled)?;
    writeln!(out, "managed = {}", ra.managed)?;
    writeln!(out, "other_config = {}", ra.other_config)?;
    writeln!(out, "autonomous = {}", ra.autonomous)?;
    writeln!(out, "on_link = {}", ra.on_link)?;
    let preference = match ra.preference {
        RouterPreference::Low => "low",
        RouterPreference::Medium => "medium",
        RouterPreference::High => "high",
    };
    writeln!(out, "preference = {}", string(preference))?;
    writeln!(out, "min_interval = {}", ra.min_interval)?;
    writeln!(out, "max_interval = {}", ra.max_interval)?;
    writeln!(out, "router_lifetime = {}", ra.router_lifetime)?;
    match ra.mtu {
        RaMtu::Auto => writeln!(out, "mtu = \"auto\"")?,
        RaMtu::Off => writeln!(out, "mtu = \"off\"")?,
        RaMtu::Value(v) => writeln!(out, "mtu = {v}")?,
    }
    writeln!(out, "rdnss = {}", addr_list(&ra.rdnss))?;
    writeln!(out, "dnssl = {}", list(ra.dnssl.iter()))?;
    writeln!(out, "prefixes = {}", list(ra.prefixes.iter()))?;

    if let Some(v4) = &lan.ipv4 {
        writeln!(out, "\n[lan.ipv4]")?;
        writeln!(out, "address = {}", string(&v4.address.to_string()))?;
        writeln!(out, "dhcp = {}", v4.dhcp)?;
        writeln!(out, "pool = \"{}-{}\"", v4.pool.0, v4.pool.1)?;
        writeln!(out, "lease_time = {}", v4.lease_time)?;
    }

    let d = &lan.dhcpv6;
    writeln!(out, "\n[lan.dhcpv6]")?;
    let mode = match d.mode {
        Dhcpv6Mode::Stateless => "stateless",
        Dhcpv6Mode::Off => "off",
    };
    writeln!(out, "mode = {}", string(mode))?;
    writeln!(out, "dns = {}", addr_list(&d.dns))?;
    writeln!(out, "domain_search = {}", list(d.domain_search.iter()))?;
    writeln!(out, "ntp = {}", list(d.ntp.iter()))?;
    writeln!(out, "information_refresh = {}", d.information_refresh)
}

fn write_dns(out: &mut String, d: &Dns) -> fmt::Result {
    writeln!(out, "\n[dns]")?;
    writeln!(out, "enabled = {}", d.enabled)?;
    writeln!(out, "listen = {}", list(d.listen.iter()))?;
    let upstream: Vec<String> = d
        .upstream
        .iter()
        .map(|u| match u {
            UpstreamSpec::Auto => "auto".to_owned(),
            UpstreamSpec::Addr(a) => a.to_canonical().to_string(),
        })
        .collect();
    writeln!(out, "upstream = {}", list(upstream.iter()))?;
    writeln!(out, "cache_size = {}", d.cache_size)?;
    writeln!(out, "local_domain = {}", string(&d.local_domain))?;
    let hosts: Vec<String> = d
        .hosts
        .iter()
        .map(|h| {
            format!(
                "{{ name = {}, addresses = {} }}",
                string(&h.name),
                addr_list(&h.addresses)
            )
        })
        .collect();
    writeln!(out, "hosts = [{}]", hosts.join(", "))
}

fn write_firewall(out: &mut String, f: &Firewall) -> fmt::Result {
    writeln!(out, "\n[firewall]")?;
    writeln!(out, "enabled = {}", f.enabled)?;
    let inbound = match f.wan_inbound {
        InboundPolicy::Drop => "drop",
        InboundPolicy::Reject => "reject",
        InboundPolicy::Accept => "accept",
    };
    writeln!(out, "wan_inbound = {}", string(inbound))?;
    let icmpv6 = match f.icmpv6 {
        Icmpv6Policy::Rfc4890 => "rfc4890",
    };
    writeln!(out, "icmpv6 = {}", string(icmpv6))?;
    let per = match f.echo_request_limit.per {
        RatePeriod::Second => "second",
        RatePeriod::Minute => "minute",
        RatePeriod::Hour => "hour",
        RatePeriod::Day => "day",
    };
    writeln!(
        out,
        "echo_request_limit = \"{}/{per}\"",
        f.echo_request_limit.count
    )?;
    writeln!(out, "ipv4_nat = {}", f.ipv4_nat)?;
    writeln!(out, "mss_clamp = {}", f.mss_clamp)?;
    for p in &f.pinhole {
        writeln!(out, "\n[[firewall.pinhole]]")?;
        writeln!(out, "name = {}", string(&p.name))?;
        let proto = match p.proto {
            PinholeProto::Tcp => "tcp",
            PinholeProto::Udp => "udp",
        };
        writeln!(out, "proto = {}", string(proto))?;
        writeln!(out, "port = {}", p.port)?;
        let host = match p.host {
            HostSpec::InterfaceId(iid) => Ipv6Addr::from(u128::from(iid)).to_string(),
            HostSpec::Address(addr) => addr.to_string(),
        };
        writeln!(out, "host = {}", string(&host))?;
    }
    Ok(())
}

/// A TOML basic string with every character that needs it escaped.
fn string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn list<T: fmt::Display>(items: impl Iterator<Item = T>) -> String {
    let items: Vec<String> = items.map(|i| string(&i.to_string())).collect();
    format!("[{}]", items.join(", "))
}

fn addr_list(items: &[AddrOrSelf]) -> String {
    list(items.iter().map(|a| match a {
        AddrOrSelf::SelfAddr => "self".to_owned(),
        AddrOrSelf::Addr(addr) => addr.to_canonical().to_string(),
    }))
}
