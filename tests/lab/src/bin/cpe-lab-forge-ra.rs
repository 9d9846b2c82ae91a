//! Sends one hand-made Router Advertisement, for hostile-input lab tests: a
//! spoofed withdrawal from the genuine router's own link-local address is
//! indistinguishable on the wire from the real thing, which is the point.
//!
//! `cpe-lab-forge-ra --interface IF --source LINK-LOCAL [--router-lifetime S]
//! [--managed] [--other]`; run it inside a lab namespace (root). The RA goes
//! to ff02::1 with hop limit 255 and no options; the kernel fills in the
//! ICMPv6 checksum.

use std::ffi::CString;
use std::net::Ipv6Addr;
use std::process::ExitCode;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cpe-lab-forge-ra: {e}");
            ExitCode::FAILURE
        }
    }
}

struct Args {
    interface: String,
    source: Ipv6Addr,
    router_lifetime: u16,
    managed: bool,
    other: bool,
}

fn parse() -> Result<Args, String> {
    let mut interface = None;
    let mut source = None;
    let mut router_lifetime = 0u16;
    let (mut managed, mut other) = (false, false);
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--interface" => interface = Some(value()?),
            "--source" => {
                let v = value()?;
                source = Some(v.parse().map_err(|_| format!("bad address {v:?}"))?);
            }
            "--router-lifetime" => {
                let v = value()?;
                router_lifetime = v.parse().map_err(|_| format!("bad lifetime {v:?}"))?;
            }
            "--managed" => managed = true,
            "--other" => other = true,
            _ => return Err(format!("unexpected argument {a:?}")),
        }
    }
    Ok(Args {
        interface: interface.ok_or("--interface is required")?,
        source: source.ok_or("--source is required")?,
        router_lifetime,
        managed,
        other,
    })
}

/// The RA: type 134, code 0, checksum 0 (kernel), cur hop limit 64, M/O,
/// router lifetime, reachable time 0, retrans timer 0 (RFC 4861 4.2).
fn ra(a: &Args) -> [u8; 16] {
    let mut m = [0u8; 16];
    m[0] = 134;
    m[4] = 64;
    m[5] = (u8::from(a.managed) << 7) | (u8::from(a.other) << 6);
    m[6..8].copy_from_slice(&a.router_lifetime.to_be_bytes());
    m
}

fn check(rc: libc::c_int, what: &str) -> Result<(), String> {
    if rc < 0 {
        Err(format!("{what}: {}", std::io::Error::last_os_error()))
    } else {
        Ok(())
    }
}

fn run() -> Result<(), String> {
    let a = parse()?;
    let name = CString::new(a.interface.clone()).map_err(|_| "bad interface name")?;
    // SAFETY: `name` is a valid NUL-terminated string.
    let index = unsafe { libc::if_nametoindex(name.as_ptr()) };
    if index == 0 {
        return Err(format!("no interface {}", a.interface));
    }
    // SAFETY: plain socket(2) call; the descriptor is closed below.
    let fd = unsafe { libc::socket(libc::AF_INET6, libc::SOCK_RAW, libc::IPPROTO_ICMPV6) };
    check(fd, "socket")?;
    let result = send(fd, index, &a);
    // SAFETY: `fd` is ours and not used after this.
    unsafe { libc::close(fd) };
    result
}

fn send(fd: libc::c_int, index: u32, a: &Args) -> Result<(), String> {
    let hops: libc::c_int = 255;
    let int_size = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: `hops` outlives the call and its size is passed.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            libc::IPPROTO_IPV6,
            libc::IPV6_MULTICAST_HOPS,
            (&hops as *const libc::c_int).cast(),
            int_size,
        )
    };
    check(rc, "IPV6_MULTICAST_HOPS")?;
    let sa = |addr: Ipv6Addr| libc::sockaddr_in6 {
        sin6_family: libc::AF_INET6 as libc::sa_family_t,
        sin6_port: 0,
        sin6_flowinfo: 0,
        sin6_addr: libc::in6_addr {
            s6_addr: addr.octets(),
        },
        sin6_scope_id: index,
    };
    let len = std::mem::size_of::<libc::sockaddr_in6>() as libc::socklen_t;
    let local = sa(a.source);
    // SAFETY: `local` is a valid sockaddr_in6 of `len` bytes.
    let rc = unsafe { libc::bind(fd, (&local as *const libc::sockaddr_in6).cast(), len) };
    check(rc, &format!("bind to {}%{}", a.source, a.interface))?;
    let message = ra(a);
    let all_nodes = sa(Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1));
    // SAFETY: `message` and `all_nodes` are valid for the lengths passed.
    let sent = unsafe {
        libc::sendto(
            fd,
            message.as_ptr().cast(),
            message.len(),
            0,
            (&all_nodes as *const libc::sockaddr_in6).cast(),
            len,
        )
    };
    if sent < 0 {
        return Err(format!("sendto: {}", std::io::Error::last_os_error()));
    }
    Ok(())
}
