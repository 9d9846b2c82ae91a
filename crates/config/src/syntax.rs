//! Interpreting string values: names, addresses, prefixes, ranges, rates.
//! Each function returns a [`Problem`] whose message says what is wrong with
//! the text; the caller places it at the value.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use cpe_wire::name::{MAX_LABEL_LEN, Name, NameError};
use ipnet::{Ipv4Net, Ipv6Net};

use crate::model::{AddrOrSelf, HostSpec, RateLimit, RatePeriod};
use crate::reader::{Problem, quoted};

/// Linux interface names: 1..=15 bytes (IFNAMSIZ - 1), no '/', no
/// whitespace, not "." or "..".
pub(crate) fn interface_name(text: &str) -> Result<String, Problem> {
    if text.is_empty() {
        return Err(Problem::new("interface name is empty"));
    }
    if text.len() > 15 {
        return Err(Problem::new(format!(
            "interface name {} is longer than 15 bytes (the kernel's IFNAMSIZ limit)",
            quoted(text)
        )));
    }
    if text == "." || text == ".." {
        return Err(Problem::new(format!(
            "{} is not a valid interface name",
            quoted(text)
        )));
    }
    if let Some(bad) = text
        .chars()
        .find(|c| *c == '/' || *c == ':' || c.is_whitespace() || c.is_control())
    {
        return Err(Problem::new(format!(
            "interface name {} contains {:?}, which the kernel does not allow",
            quoted(text),
            bad
        )));
    }
    Ok(text.to_owned())
}

/// One DNS label as used in host names (RFC 1123 2.1): letters, digits and
/// hyphens, 1..=63 characters, no hyphen at either end.
fn check_label(label: &str, whole: &str) -> Result<(), Problem> {
    if label.is_empty() {
        return Err(Problem::new(format!(
            "{} has an empty label",
            quoted(whole)
        )));
    }
    if label.len() > MAX_LABEL_LEN {
        return Err(Problem::new(format!(
            "{} has a label longer than 63 characters",
            quoted(whole)
        )));
    }
    if let Some(bad) = label
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-'))
    {
        return Err(Problem::new(format!(
            "{} contains {:?}: only letters, digits and '-' are allowed in names",
            quoted(whole),
            bad
        )));
    }
    if label.starts_with('-') || label.ends_with('-') {
        return Err(Problem::new(format!(
            "{} has a label that starts or ends with '-'",
            quoted(whole)
        )));
    }
    Ok(())
}

/// A DNS domain name of letter-digit-hyphen labels; a trailing dot is
/// accepted and removed. The length limits are the wire codecs' own
/// ([`Name`]): 255 octets in wire form is 253 characters of text.
pub(crate) fn domain_name(text: &str) -> Result<String, Problem> {
    let name = text.strip_suffix('.').unwrap_or(text);
    if name.is_empty() {
        return Err(Problem::new("domain name is empty"));
    }
    if Name::from_dotted(name) == Err(NameError::NameTooLong) {
        return Err(Problem::new(format!(
            "{} is longer than 253 characters",
            quoted(text)
        )));
    }
    for label in name.split('.') {
        check_label(label, text)?;
    }
    Ok(name.to_ascii_lowercase())
}

/// The router's host name: a domain name of at most 64 characters
/// (HOST_NAME_MAX on Linux).
pub(crate) fn hostname(text: &str) -> Result<String, Problem> {
    if text.len() > 64 {
        return Err(Problem::new(format!(
            "{} is longer than 64 characters (HOST_NAME_MAX)",
            quoted(text)
        )));
    }
    let name =
        domain_name(text).map_err(|p| p.hint("use letters, digits and '-', e.g. \"cpe\""))?;
    if name
        .split('.')
        .all(|l| l.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(Problem::new(format!(
            "{} is all digits and would be read as an address",
            quoted(text)
        )));
    }
    Ok(name)
}

/// An absolute filesystem path.
pub(crate) fn absolute_path(text: &str) -> Result<std::path::PathBuf, Problem> {
    if !text.starts_with('/') {
        return Err(Problem::new(format!(
            "{} is not an absolute path (daemons do not share a working directory)",
            quoted(text)
        )));
    }
    if text.contains('\0') {
        return Err(Problem::new("path contains a NUL character"));
    }
    Ok(std::path::PathBuf::from(text))
}

/// Parses an IPv6 address with messages that explain common mistakes.
pub(crate) fn ipv6_addr(text: &str) -> Result<Ipv6Addr, Problem> {
    if text.contains('%') {
        return Err(Problem::new(format!(
            "{} has a zone index; write the address without %zone",
            quoted(text)
        )));
    }
    if text.contains('/') {
        return Err(Problem::new(format!(
            "{} is a prefix; an address is expected here",
            quoted(text)
        )));
    }
    match text.parse::<IpAddr>() {
        Ok(IpAddr::V6(addr)) => {
            if addr.to_ipv4_mapped().is_some() {
                return Err(Problem::new(format!(
                    "{} is an IPv4-mapped address; an IPv6 address is expected here",
                    quoted(text)
                )));
            }
            Ok(addr)
        }
        Ok(IpAddr::V4(_)) => Err(Problem::new(format!(
            "{} is an IPv4 address; an IPv6 address is expected here",
            quoted(text)
        ))),
        Err(_) => Err(Problem::new(format!(
            "{} is not a valid IPv6 address",
            quoted(text)
        ))),
    }
}

/// An IP address of either family; IPv4-mapped IPv6 becomes plain IPv4 so it
/// is never shown or matched as IPv6.
pub(crate) fn ip_addr(text: &str) -> Result<IpAddr, Problem> {
    if text.contains('%') {
        return Err(Problem::new(format!(
            "{} has a zone index; write the address without %zone",
            quoted(text)
        )));
    }
    text.parse::<IpAddr>()
        .map(|a| a.to_canonical())
        .map_err(|_| Problem::new(format!("{} is not a valid IP address", quoted(text))))
}

/// Rejects addresses that can never be a server or a destination.
fn check_unicast(addr: IpAddr, text: &str) -> Result<IpAddr, Problem> {
    if addr.is_unspecified() {
        return Err(Problem::new(format!(
            "{} is the unspecified address",
            quoted(text)
        )));
    }
    if addr.is_multicast() {
        return Err(Problem::new(format!(
            "{} is a multicast address",
            quoted(text)
        )));
    }
    if let IpAddr::V4(v4) = addr
        && v4.is_broadcast()
    {
        return Err(Problem::new(format!(
            "{} is the broadcast address",
            quoted(text)
        )));
    }
    Ok(addr)
}

/// A unicast IPv6 server address.
pub(crate) fn ipv6_server(text: &str) -> Result<Ipv6Addr, Problem> {
    let addr = ipv6_addr(text)?;
    check_unicast(IpAddr::V6(addr), text)?;
    Ok(addr)
}

/// A unicast server address of either family (IPv4 never IPv4-mapped).
pub(crate) fn ip_server(text: &str) -> Result<IpAddr, Problem> {
    let addr = ip_addr(text)?;
    check_unicast(addr, text)
}

/// `"self"` or a unicast IPv6 address (RDNSS, DHCPv6 DNS option).
pub(crate) fn addr_or_self_v6(text: &str) -> Result<AddrOrSelf, Problem> {
    if text == "self" {
        return Ok(AddrOrSelf::SelfAddr);
    }
    ipv6_server(text)
        .map(|a| AddrOrSelf::Addr(IpAddr::V6(a)))
        .map_err(|p| p.hint("use \"self\" for this router, or an IPv6 address"))
}

/// `"self"` or a unicast address of either family (DNS host entries).
pub(crate) fn addr_or_self_any(text: &str) -> Result<AddrOrSelf, Problem> {
    if text == "self" {
        return Ok(AddrOrSelf::SelfAddr);
    }
    let addr = ip_addr(text)?;
    check_unicast(addr, text).map(AddrOrSelf::Addr)
}

/// A static prefix to advertise in a PIO: exactly /64, unicast, no host
/// bits.
pub(crate) fn advertised_prefix(text: &str) -> Result<Ipv6Net, Problem> {
    let net: Ipv6Net = text.parse().map_err(|_| {
        Problem::new(format!("{} is not a valid IPv6 prefix", quoted(text)))
            .hint("write it as address/length, e.g. \"2001:db8:0:1::/64\"")
    })?;
    if net.prefix_len() != 64 {
        return Err(Problem::new(format!(
            "{} is a /{}, but every advertised prefix must be a /64: hosts ignore \
             non-/64 prefixes for SLAAC (RFC 4862, RFC 7421) and get no address",
            quoted(text),
            net.prefix_len()
        ))
        .hint("advertise one /64 out of it, e.g. with subnet_id for delegated prefixes"));
    }
    if net.addr() != net.network() {
        return Err(
            Problem::new(format!("{} has bits set after the first 64", quoted(text)))
                .hint(format!("did you mean \"{}\"?", net.trunc())),
        );
    }
    let network = net.network();
    if network.is_multicast() || network.is_unspecified() || network.is_loopback() {
        return Err(Problem::new(format!(
            "{} is not a unicast prefix",
            quoted(text)
        )));
    }
    if network.is_unicast_link_local() {
        return Err(Problem::new(format!(
            "{} is link-local (fe80::/10); hosts form link-local addresses themselves",
            quoted(text)
        )));
    }
    Ok(net)
}

/// An IPv6 network (`wan.closed_prefixes`): address/length with no bits
/// set after the length, so what is written is the range matched.
pub(crate) fn network_prefix(text: &str) -> Result<Ipv6Net, Problem> {
    let net: Ipv6Net = text.parse().map_err(|_| {
        Problem::new(format!("{} is not a valid IPv6 prefix", quoted(text)))
            .hint("write it as address/length, e.g. \"2408::/22\"")
    })?;
    if net.addr() != net.network() {
        return Err(Problem::new(format!(
            "{} has bits set after the first {}",
            quoted(text),
            net.prefix_len()
        ))
        .hint(format!("did you mean \"{}\"?", net.trunc())));
    }
    Ok(net)
}

/// A configured ULA prefix (`lan.ula`): a /48 of fd00::/8, the locally
/// assigned half of fc00::/7 (RFC 4193 3.1: L = 1; L = 0 is left to a
/// registry that was never defined), no bits after the 48th.
pub(crate) fn ula_prefix(text: &str) -> Result<Ipv6Net, Problem> {
    let net: Ipv6Net = text.parse().map_err(|_| {
        Problem::new(format!(
            "lan.ula: {} is neither true, false nor an IPv6 prefix",
            quoted(text)
        ))
        .hint("write a /48 of fd00::/8, e.g. \"fd12:3456:789a::/48\", or true to generate one")
    })?;
    let first = net.network().octets()[0];
    if first & 0xfe != 0xfc {
        return Err(Problem::new(format!(
            "lan.ula: {} is not a unique local prefix: ULAs are inside fc00::/7 (RFC 4193)",
            quoted(text)
        ))
        .hint(
            "global prefixes come from the ISP's delegation; use lan.ra.prefixes for a static /64",
        ));
    }
    if first != 0xfd {
        return Err(Problem::new(format!(
            "lan.ula: {} is in fc00::/8, where RFC 4193 3.1 leaves L = 0 to a future \
             allocation; locally chosen ULAs are in fd00::/8 (L = 1)",
            quoted(text)
        ))
        .hint(format!("did you mean \"fd{}\"?", &net.to_string()[2..])));
    }
    if net.prefix_len() != 48 {
        return Err(Problem::new(format!(
            "lan.ula: {} is a /{}, but a ULA prefix is a /48 (RFC 4193 3.1: fd00::/8 and a \
             40-bit Global ID); each LAN takes the subnet_id-th /64 of it",
            quoted(text),
            net.prefix_len()
        ))
        .hint(format!(
            "did you mean \"{}\"?",
            Ipv6Net::new(net.network(), 48).map_or(net, |n| n.trunc())
        )));
    }
    if net.addr() != net.network() {
        return Err(Problem::new(format!(
            "lan.ula: {} has bits set after the first 48",
            quoted(text)
        ))
        .hint(format!("did you mean \"{}\"?", net.trunc())));
    }
    Ok(net)
}

/// The router's LAN IPv4 address with its prefix length, e.g.
/// `192.168.1.1/24`: a host address of a /8../30 subnet.
pub(crate) fn ipv4_interface(text: &str) -> Result<Ipv4Net, Problem> {
    let net: Ipv4Net = text.parse().map_err(|_| {
        Problem::new(format!(
            "{} is not an IPv4 address with prefix length",
            quoted(text)
        ))
        .hint("write the router's address and the subnet size, e.g. \"192.168.1.1/24\"")
    })?;
    if !(8..=30).contains(&net.prefix_len()) {
        return Err(Problem::new(format!(
            "{} has prefix length /{}; a LAN subnet must be /8../30",
            quoted(text),
            net.prefix_len()
        )));
    }
    let addr = net.addr();
    if addr.is_multicast() || addr.is_loopback() || addr.is_unspecified() || addr.is_broadcast() {
        return Err(Problem::new(format!(
            "{} is not a unicast address",
            quoted(text)
        )));
    }
    if addr == net.network() {
        return Err(Problem::new(format!(
            "{} is the network address of the subnet; the router needs a host address",
            quoted(text)
        ))
        .hint(format!(
            "e.g. \"{}/{}\"",
            Ipv4Addr::from(u32::from(addr).wrapping_add(1)),
            net.prefix_len()
        )));
    }
    if addr == net.broadcast() {
        return Err(Problem::new(format!(
            "{} is the broadcast address of the subnet; the router needs a host address",
            quoted(text)
        )));
    }
    Ok(net)
}

/// `first-last` IPv4 range, in either order of validity checking left to the
/// caller (which knows the subnet).
pub(crate) fn ipv4_range(text: &str) -> Result<(Ipv4Addr, Ipv4Addr), Problem> {
    let hint = "write the first and last address, e.g. \"192.168.1.100-192.168.1.199\"";
    let Some((first, last)) = text.split_once('-') else {
        return Err(Problem::new(format!("{} is not an address range", quoted(text))).hint(hint));
    };
    let parse = |part: &str| {
        part.trim().parse::<Ipv4Addr>().map_err(|_| {
            Problem::new(format!("{} is not an IPv4 address", quoted(part.trim()))).hint(hint)
        })
    };
    let first = parse(first)?;
    let last = parse(last)?;
    if u32::from(first) > u32::from(last) {
        return Err(Problem::new(format!(
            "range {} is reversed: {first} comes after {last}",
            quoted(text)
        ))
        .hint(format!("did you mean \"{last}-{first}\"?")));
    }
    Ok((first, last))
}

/// `N/second|minute|hour|day`, N in 1..=1000000.
pub(crate) fn rate(text: &str) -> Result<RateLimit, Problem> {
    let hint = "write it as N/second, N/minute, N/hour or N/day, e.g. \"10/second\"";
    let Some((count, unit)) = text.split_once('/') else {
        return Err(Problem::new(format!("{} is not a rate", quoted(text))).hint(hint));
    };
    let count: u32 = match count.trim().parse() {
        Ok(n) if (1..=1_000_000).contains(&n) => n,
        _ => {
            return Err(Problem::new(format!(
                "{} is not a count of 1..=1000000 in rate {}",
                quoted(count.trim()),
                quoted(text)
            ))
            .hint(hint));
        }
    };
    let per = match unit.trim() {
        "second" => RatePeriod::Second,
        "minute" => RatePeriod::Minute,
        "hour" => RatePeriod::Hour,
        "day" => RatePeriod::Day,
        other => {
            let mut problem = Problem::new(format!(
                "{} is not a rate unit (second, minute, hour, day)",
                quoted(other)
            ));
            if let Some(best) = crate::suggest::closest(other, &["second", "minute", "hour", "day"])
            {
                problem = problem.hint(format!("did you mean \"{count}/{best}\"?"));
            }
            return Err(problem);
        }
    };
    Ok(RateLimit { count, per })
}

/// A pinhole destination: `::IID` (upper 64 bits zero) follows the LAN
/// prefix; anything else must be a full global address.
pub(crate) fn pinhole_host(text: &str) -> Result<HostSpec, Problem> {
    if text.parse::<Ipv4Addr>().is_ok() {
        return Err(Problem::new(format!(
            "{} is IPv4; pinholes open IPv6 only (IPv4 port forwarding is not supported)",
            quoted(text)
        )));
    }
    // Parsed directly: "::ffff:1.2.3.4" is a valid interface identifier
    // here, not an IPv4-mapped address.
    let addr: Ipv6Addr = text.parse().map_err(|_| {
        Problem::new(format!("{} is not a valid IPv6 address", quoted(text)))
            .hint("write an interface identifier such as \"::1234\", or a full address")
    })?;
    let bits = u128::from(addr);
    if bits >> 64 == 0 {
        let iid = u64::try_from(bits & u128::from(u64::MAX)).unwrap_or(0);
        if iid == 0 {
            return Err(Problem::new(format!(
                "{} has an all-zero interface identifier",
                quoted(text)
            )));
        }
        return Ok(HostSpec::InterfaceId(iid));
    }
    if addr.is_multicast() || addr.is_unicast_link_local() || addr.is_loopback() {
        return Err(
            Problem::new(format!("{} is not a global unicast address", quoted(text))).hint(
                "write the host's interface identifier, e.g. \"::1234\", to follow prefix changes",
            ),
        );
    }
    Ok(HostSpec::Address(addr))
}

/// Pinhole names end up in rule comments and counter names.
pub(crate) fn rule_name(text: &str) -> Result<String, Problem> {
    if text.is_empty() || text.len() > 32 {
        return Err(Problem::new("name must be 1..=32 characters"));
    }
    if let Some(bad) = text
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
    {
        return Err(Problem::new(format!(
            "{} contains {:?}: use letters, digits, '-', '_' and '.'",
            quoted(text),
            bad
        )));
    }
    Ok(text.to_owned())
}

/// crypt(3)'s alphabet for salts and hashes.
fn is_crypt_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'.' || b == b'/'
}

/// A crypt(3) SHA-512 hash as `mkpasswd -m sha-512` or `openssl passwd -6`
/// print it: `$6$`, optionally `rounds=N$` (1000..=999999999, the range
/// glibc and busybox accept without clamping), a salt of 1 to 16
/// characters, `$`, and 86 characters of hash. Form only: nothing here can
/// tell a right password from a wrong one. Messages never repeat the text,
/// since it ends up in logs.
pub(crate) fn sha512_crypt(text: &str) -> Result<crate::model::CryptHash, Problem> {
    let hint = "generate one with `mkpasswd -m sha-512` or `openssl passwd -6`";
    let bad =
        |what: &str| Err(Problem::new(format!("not a SHA-512 crypt hash: {what}")).hint(hint));
    let Some(rest) = text.strip_prefix("$6$") else {
        return bad("it does not start with $6$ (MD5 $1$, SHA-256 $5$ and DES are too weak)");
    };
    let rest = match rest.strip_prefix("rounds=") {
        Some(r) => {
            let Some((n, after)) = r.split_once('$') else {
                return bad("rounds= is not followed by $");
            };
            match n.parse::<u32>() {
                Ok(1000..=999_999_999) if !n.starts_with('0') => after,
                _ => return bad("rounds must be 1000 to 999999999"),
            }
        }
        None => rest,
    };
    let Some((salt, hash)) = rest.split_once('$') else {
        return bad("no $ between salt and hash");
    };
    if salt.is_empty() || salt.len() > 16 || !salt.bytes().all(is_crypt_char) {
        return bad("the salt must be 1 to 16 characters of a-z A-Z 0-9 . /");
    }
    if hash.len() != 86 || !hash.bytes().all(is_crypt_char) {
        return bad("the hash part must be 86 characters of a-z A-Z 0-9 . /");
    }
    Ok(crate::model::CryptHash::new(text.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interface_names() {
        assert!(interface_name("br0").is_ok());
        assert!(interface_name("eth0.100").is_ok());
        assert!(interface_name("").is_err());
        assert!(interface_name("a-very-long-name0").is_err());
        assert!(interface_name("a/b").is_err());
        assert!(interface_name("a b").is_err());
    }

    #[test]
    fn domains() {
        assert_eq!(domain_name("Home.Arpa.").ok(), Some("home.arpa".to_owned()));
        assert!(domain_name("a..b").is_err());
        assert!(domain_name("-a").is_err());
        assert!(domain_name("a_b").is_err());
        assert!(hostname("123").is_err());
        assert!(hostname("cpe-1").is_ok());
    }

    #[test]
    fn domain_limits_are_the_wire_codecs() {
        // 63 + 63 + 63 + 61 characters and three dots: 253 characters, 255
        // octets in wire form.
        let at = [
            "a".repeat(63),
            "b".repeat(63),
            "c".repeat(63),
            "d".repeat(61),
        ]
        .join(".");
        assert_eq!(at.len(), 253);
        assert!(domain_name(&at).is_ok());
        assert!(domain_name(&format!("{at}.")).is_ok());
        let over = format!("{at}d");
        let p = domain_name(&over).err().map(|p| p.message);
        assert!(p.is_some_and(|m| m.contains("longer than 253")));
        assert!(domain_name(&"a".repeat(63)).is_ok());
        let p = domain_name(&"a".repeat(64)).err().map(|p| p.message);
        assert!(p.is_some_and(|m| m.contains("label longer than 63")));
    }

    #[test]
    fn prefixes() {
        assert!(advertised_prefix("2001:db8:0:1::/64").is_ok());
        let p = advertised_prefix("2001:db8::/48").err().map(|p| p.message);
        assert!(p.is_some_and(|m| m.contains("hosts ignore non-/64")));
        let p = advertised_prefix("2001:db8::1/64").err();
        assert_eq!(
            p.and_then(|p| p.hint),
            Some("did you mean \"2001:db8::/64\"?".to_owned())
        );
        assert!(advertised_prefix("fe80::/64").is_err());
        assert!(advertised_prefix("ff02::/64").is_err());
    }

    #[test]
    fn ranges_and_rates() {
        assert!(ipv4_range("192.168.1.10-192.168.1.20").is_ok());
        assert!(ipv4_range("192.168.1.20-192.168.1.10").is_err());
        assert!(ipv4_range("192.168.1.20").is_err());
        let r = rate("10/second").ok();
        assert_eq!(
            r,
            Some(RateLimit {
                count: 10,
                per: RatePeriod::Second
            })
        );
        assert!(rate("0/second").is_err());
        assert!(rate("10/fortnight").is_err());
        assert_eq!(
            rate("10/secnd").err().and_then(|p| p.hint),
            Some("did you mean \"10/second\"?".to_owned())
        );
    }

    #[test]
    fn pinhole_hosts() {
        assert_eq!(
            pinhole_host("::1234").ok(),
            Some(HostSpec::InterfaceId(0x1234))
        );
        assert!(matches!(
            pinhole_host("2001:db8::5").ok(),
            Some(HostSpec::Address(_))
        ));
        assert!(pinhole_host("::").is_err());
        assert_eq!(
            pinhole_host("::ffff:1.2.3.4").ok(),
            Some(HostSpec::InterfaceId(0xffff_0102_0304))
        );
        assert!(pinhole_host("fe80::1").is_err());
        assert!(pinhole_host("192.0.2.1").is_err());
    }

    #[test]
    fn addresses() {
        assert!(ipv6_addr("::ffff:192.0.2.1").is_err());
        assert!(ipv6_addr("192.0.2.1").is_err());
        assert!(ipv6_addr("fe80::1%br0").is_err());
        assert_eq!(
            ip_addr("::ffff:192.0.2.1").ok(),
            Some(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)))
        );
        assert!(addr_or_self_v6("ff02::1").is_err());
        assert_eq!(addr_or_self_v6("self").ok(), Some(AddrOrSelf::SelfAddr));
        assert!(ipv4_interface("192.168.1.0/24").is_err());
        assert!(ipv4_interface("192.168.1.255/24").is_err());
        assert!(ipv4_interface("192.168.1.1/31").is_err());
        assert!(ipv4_interface("192.168.1.1/24").is_ok());
    }

    /// `openssl passwd -6 -salt abcdefgh secret`.
    const HASH: &str = "$6$abcdefgh$ltjgWl6579NluT/Vi1nwEvcil.G5Nbc4NiXZaNGStk8PSwGfQv72N2CKPPrVACtLtip/cZ/1GM/O6IND4WQhG.";

    #[test]
    fn sha512_crypt_hashes_are_checked_for_form_and_never_echoed() {
        assert_eq!(
            sha512_crypt(HASH).ok().map(|h| h.as_str().to_owned()),
            Some(HASH.to_owned())
        );
        let with_rounds = HASH.replacen("$6$", "$6$rounds=5000$", 1);
        assert!(sha512_crypt(&with_rounds).is_ok());
        for bad in [
            "secret".to_owned(),                               // a password, not a hash
            HASH.replacen("$6$", "$1$", 1),                    // MD5
            HASH.replacen("$6$", "$5$", 1),                    // SHA-256
            HASH[..HASH.len() - 1].to_owned(),                 // 85 hash characters
            format!("{HASH}x"),                                // 87
            HASH.replacen("abcdefgh", "", 1),                  // empty salt
            HASH.replacen("abcdefgh", "abcdefgh12345678x", 1), // 17-character salt
            HASH.replacen("abcdefgh", "abc:efgh", 1),          // ':' would break /etc/shadow
            HASH.replacen("$6$", "$6$rounds=999$", 1),
            HASH.replacen("$6$", "$6$rounds=01000$", 1),
            HASH.replacen("$6$", "$6$rounds=x$", 1),
            HASH.replace('.', "\n"),
        ] {
            let Err(problem) = sha512_crypt(&bad) else {
                panic!("accepted {bad:?}");
            };
            let message = format!("{} {:?}", problem.message, problem.hint);
            assert!(!message.contains("ltjgWl"), "{message}");
        }
    }
}
