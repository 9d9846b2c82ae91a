//! The kernel's PPP data path for a PPPoE session: the `AF_PPPOX` socket
//! connected to the session, its PPP channel attached through `/dev/ppp`,
//! and a PPP unit (`pppN`) the channel is connected to.
//!
//! Packets then stay in the kernel (a router forwards at line rate on a
//! weak CPU); only control frames come to us. Which descriptor carries what
//! follows the kernel's ppp_generic (Documentation/networking/ppp_generic.rst):
//! LCP, PAP and CHAP (protocol >= 0xc000) arrive on the *channel*
//! descriptor, network control protocols (IPCP 0x8021, IPV6CP 0x8057) on the
//! *unit* descriptor once the channel is connected to it. Every read and
//! write is one frame starting with the two-octet PPP Protocol field, with
//! no address/control octets (PPPoE never carries them, RFC 2516 7), which
//! is exactly the framing the engines in `cpe_wan::ppp` use. We write every
//! frame to the channel: with a single channel and no compression that is
//! what reaches the wire either way.
//!
//! The ioctl numbers are not in the `libc` crate (checked: 0.2.191 has no
//! `PPPIOC*`), so they are computed here from the uapi definitions with the
//! arch's `_IOC` layout: MIPS and PowerPC put the direction in 3 bits from
//! bit 29 with READ=2/WRITE=4, everything else in 2 bits from bit 30 with
//! READ=2/WRITE=1. Getting this wrong gives `ENOTTY` on the board only.

use crate::packet::{errno_name, pppox_socket};
use std::ffi::CString;
use std::fmt;
use std::io;
use std::mem;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;

/// The two `_IOC` layouts of Linux that our boards meet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// asm-generic: 2 direction bits at 30, size 14 bits; x86_64, arm,
    /// aarch64, riscv.
    Generic,
    /// MIPS and PowerPC: 3 direction bits at 29, size 13 bits.
    Mips,
}

impl Layout {
    /// The layout of the target this is compiled for.
    #[cfg(any(
        target_arch = "mips",
        target_arch = "mips64",
        target_arch = "powerpc",
        target_arch = "powerpc64"
    ))]
    pub const TARGET: Layout = Layout::Mips;
    /// The layout of the target this is compiled for.
    #[cfg(not(any(
        target_arch = "mips",
        target_arch = "mips64",
        target_arch = "powerpc",
        target_arch = "powerpc64"
    )))]
    pub const TARGET: Layout = Layout::Generic;
}

/// `_IOC_READ` / `_IOC_WRITE` as abstract bits; [`ioc_for`] maps them.
const READ: u32 = 1;
const WRITE: u32 = 2;

/// `_IOC(dir, type, nr, size)` for `layout`.
pub const fn ioc_for(layout: Layout, dir: u32, ty: u8, nr: u8, size: u32) -> u32 {
    let (read, write, dir_shift) = match layout {
        Layout::Generic => (2, 1, 30),
        Layout::Mips => (2, 4, 29),
    };
    let mut d = 0;
    if dir & READ != 0 {
        d |= read;
    }
    if dir & WRITE != 0 {
        d |= write;
    }
    (d << dir_shift) | (size << 16) | ((ty as u32) << 8) | nr as u32
}

/// The PPP ioctls of linux/ppp-ioctl.h we use, all on `int` arguments with
/// type `'t'`, for `layout`.
pub mod numbers {
    use super::{Layout, READ, WRITE, ioc_for};
    const INT: u32 = 4;
    const T: u8 = b't';

    /// `PPPIOCGCHAN = _IOR('t', 55, int)`: channel index of a PPPoX socket.
    pub const fn gchan(l: Layout) -> u32 {
        ioc_for(l, READ, T, 55, INT)
    }
    /// `PPPIOCATTCHAN = _IOW('t', 56, int)`: attach /dev/ppp to a channel.
    pub const fn attchan(l: Layout) -> u32 {
        ioc_for(l, WRITE, T, 56, INT)
    }
    /// `PPPIOCCONNECT = _IOW('t', 58, int)`: connect a channel to a unit.
    pub const fn connect(l: Layout) -> u32 {
        ioc_for(l, WRITE, T, 58, INT)
    }
    /// `PPPIOCNEWUNIT = _IOWR('t', 62, int)`: create a unit (`pppN`).
    pub const fn newunit(l: Layout) -> u32 {
        ioc_for(l, READ | WRITE, T, 62, INT)
    }
    /// `PPPIOCSMRU = _IOW('t', 82, int)`: the unit's receive unit.
    pub const fn smru(l: Layout) -> u32 {
        ioc_for(l, WRITE, T, 82, INT)
    }
}

const PPPIOCGCHAN: u32 = numbers::gchan(Layout::TARGET);
const PPPIOCATTCHAN: u32 = numbers::attchan(Layout::TARGET);
const PPPIOCCONNECT: u32 = numbers::connect(Layout::TARGET);
const PPPIOCNEWUNIT: u32 = numbers::newunit(Layout::TARGET);
const PPPIOCSMRU: u32 = numbers::smru(Layout::TARGET);

/// `struct sockaddr_pppox` with the `pppoe_addr` member (linux/if_pppox.h):
/// declared `__packed`, 2 + 4 + 2 + 6 + 16 = 30 octets.
#[repr(C, packed)]
struct SockaddrPppox {
    sa_family: libc::sa_family_t,
    sa_protocol: u32,
    /// Session id, network byte order.
    sid: u16,
    remote: [u8; 6],
    dev: [u8; libc::IFNAMSIZ],
}

/// `PX_PROTO_OE` from linux/if_pppox.h.
const PX_PROTO_OE: u32 = 0;

/// Which step of the set-up failed, and how: the text names the call and
/// the errno ("open(/dev/ppp): ENOENT"), which is what an engineer looks up.
#[derive(Debug)]
pub struct SetupError {
    /// The call that failed.
    pub step: &'static str,
    /// The error.
    pub error: io::Error,
}

impl SetupError {
    fn new(step: &'static str, error: io::Error) -> SetupError {
        SetupError { step, error }
    }

    /// The errno, if the error came from the kernel.
    pub fn errno(&self) -> Option<i32> {
        self.error.raw_os_error()
    }
}

impl fmt::Display for SetupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match errno_name(&self.error) {
            Some(name) => write!(f, "{}: {name}", self.step),
            None => write!(f, "{}: {}", self.step, self.error),
        }
    }
}

/// Which descriptor a control frame came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The channel: LCP, PAP, CHAP.
    Channel,
    /// The unit: IPCP, IPV6CP.
    Unit,
}

/// A PPPoE session in the kernel: closing it (drop) disconnects the
/// channel, destroys `pppN` and releases the PPPoX socket, in that order.
pub struct PppSession {
    // Field order is drop order: unit first, then channel, then socket.
    unit: AsyncFd<OwnedFd>,
    channel: AsyncFd<OwnedFd>,
    _pppox: OwnedFd,
    unit_number: u32,
    name: String,
}

impl fmt::Debug for PppSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PppSession")
            .field("name", &self.name)
            .finish()
    }
}

fn int_ioctl(fd: &OwnedFd, request: u32, value: &mut libc::c_int) -> io::Result<()> {
    // SAFETY: every request passed here takes a pointer to one int (per
    // linux/ppp-ioctl.h), and `value` is a valid, writable int.
    // The request's type differs between libcs (c_ulong on glibc, c_int on
    // musl), hence the inferred cast.
    let rc = unsafe { libc::ioctl(fd.as_raw_fd(), request as _, std::ptr::from_mut(value)) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

fn open_dev_ppp() -> io::Result<OwnedFd> {
    let path = c"/dev/ppp";
    // SAFETY: path is a valid NUL-terminated string; the descriptor is
    // checked and then owned by exactly one OwnedFd.
    let raw = unsafe {
        libc::open(
            path.as_ptr(),
            libc::O_RDWR | libc::O_NONBLOCK | libc::O_CLOEXEC,
        )
    };
    if raw < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: raw is a fresh descriptor nobody else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(raw) })
}

impl PppSession {
    /// Hands PPPoE session `session_id` with the AC at `remote` on
    /// interface `ifname` to the kernel and creates its `pppN`. Must be
    /// called inside a tokio runtime; needs CAP_NET_ADMIN.
    pub fn open(session_id: u16, remote: [u8; 6], ifname: &str) -> Result<PppSession, SetupError> {
        let name = CString::new(ifname)
            .ok()
            .filter(|n| n.as_bytes().len() < libc::IFNAMSIZ)
            .ok_or_else(|| {
                SetupError::new("interface name", io::Error::from_raw_os_error(libc::EINVAL))
            })?;
        let pppox = pppox_socket().map_err(|e| SetupError::new("socket(AF_PPPOX)", e))?;
        let mut dev = [0u8; libc::IFNAMSIZ];
        dev[..name.as_bytes().len()].copy_from_slice(name.as_bytes());
        let sa = SockaddrPppox {
            sa_family: libc::AF_PPPOX as libc::sa_family_t,
            sa_protocol: PX_PROTO_OE,
            sid: session_id.to_be(),
            remote,
            dev,
        };
        // SAFETY: sa is a valid, fully initialised sockaddr_pppox and its
        // exact size is passed.
        let rc = unsafe {
            libc::connect(
                pppox.as_raw_fd(),
                (&raw const sa).cast::<libc::sockaddr>(),
                mem::size_of::<SockaddrPppox>() as libc::socklen_t,
            )
        };
        if rc < 0 {
            return Err(SetupError::new(
                "connect(AF_PPPOX)",
                io::Error::last_os_error(),
            ));
        }
        let mut chan: libc::c_int = 0;
        int_ioctl(&pppox, PPPIOCGCHAN, &mut chan)
            .map_err(|e| SetupError::new("ioctl(PPPIOCGCHAN)", e))?;
        let channel = open_dev_ppp().map_err(|e| SetupError::new("open(/dev/ppp)", e))?;
        int_ioctl(&channel, PPPIOCATTCHAN, &mut chan)
            .map_err(|e| SetupError::new("ioctl(PPPIOCATTCHAN)", e))?;
        let unit = open_dev_ppp().map_err(|e| SetupError::new("open(/dev/ppp)", e))?;
        // -1: the kernel picks the first free unit number.
        let mut number: libc::c_int = -1;
        int_ioctl(&unit, PPPIOCNEWUNIT, &mut number)
            .map_err(|e| SetupError::new("ioctl(PPPIOCNEWUNIT)", e))?;
        let mut connect_to = number;
        int_ioctl(&channel, PPPIOCCONNECT, &mut connect_to)
            .map_err(|e| SetupError::new("ioctl(PPPIOCCONNECT)", e))?;
        let register = |fd: OwnedFd| {
            // SAFETY: the OwnedFd is moved into the AsyncFd, which keeps it
            // open for as long as it is registered.
            unsafe { AsyncFd::register_with_interest(fd, Interest::READABLE) }
                .map_err(|e| SetupError::new("epoll registration", e.into()))
        };
        let unit_number = u32::try_from(number).map_err(|_| {
            SetupError::new(
                "ioctl(PPPIOCNEWUNIT)",
                io::Error::from_raw_os_error(libc::EINVAL),
            )
        })?;
        Ok(PppSession {
            unit: register(unit)?,
            channel: register(channel)?,
            _pppox: pppox,
            unit_number,
            name: format!("ppp{unit_number}"),
        })
    }

    /// The unit's interface name, `pppN`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The unit number N.
    pub fn unit_number(&self) -> u32 {
        self.unit_number
    }

    /// Sets the unit's MRU (the largest frame it accepts from the peer).
    pub fn set_mru(&self, mru: u16) -> io::Result<()> {
        let mut v = libc::c_int::from(mru);
        int_ioctl(self.unit.get_ref(), PPPIOCSMRU, &mut v)
    }

    /// Sends one control frame (Protocol field first). Control traffic is
    /// small and rare, so a full queue is an error for the caller to count,
    /// not a wait: the protocols retransmit.
    pub fn send(&self, frame: &[u8]) -> io::Result<()> {
        // SAFETY: frame is valid for frame.len() bytes.
        let n = unsafe {
            libc::write(
                self.channel.get_ref().as_raw_fd(),
                frame.as_ptr().cast(),
                frame.len(),
            )
        };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Waits for the next control frame from either descriptor. `Ok(0)`
    /// means the channel is gone (the kernel saw PADT or the device
    /// vanished): the session is over.
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<(Source, usize)> {
        loop {
            let (source, mut guard) = tokio::select! {
                g = self.channel.readable() => (Source::Channel, g?),
                g = self.unit.readable() => (Source::Unit, g?),
            };
            let r = guard.try_io(|fd| {
                // SAFETY: buf is valid for writes of buf.len() bytes.
                let n = unsafe {
                    libc::read(fd.get_ref().as_raw_fd(), buf.as_mut_ptr().cast(), buf.len())
                };
                if n < 0 {
                    Err(io::Error::last_os_error())
                } else {
                    Ok(n as usize)
                }
            });
            match r {
                Ok(result) => return result.map(|n| (source, n)),
                Err(_would_block) => continue,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::numbers::*;
    use super::*;

    /// The expected values are worked out by hand from linux/ppp-ioctl.h
    /// (`_IOR('t', 55, int)` etc.) and the two `_IOC` layouts:
    ///
    /// asm-generic/ioctl.h (x86_64, arm, aarch64): nr bits 0-7, type
    /// 8-15, size 16-29, dir 30-31 with WRITE=1, READ=2. So
    /// `_IOR('t',55,int)` = 2<<30 | 4<<16 | 0x74<<8 | 55 = 0x80047437.
    ///
    /// arch/mips/include/uapi/asm/ioctl.h (and powerpc): size 16-28, dir
    /// 29-31 with READ=2, WRITE=4. So `_IOR('t',55,int)` =
    /// 2<<29 | 4<<16 | 0x7437 = 0x40047437, `_IOW` = 4<<29 = 0x8000_0000 |
    /// ..., and `_IOWR` = 6<<29 = 0xc000_0000 | ... (the same as generic's
    /// 3<<30 by coincidence).
    #[test]
    fn ioctl_numbers_match_the_kernel_headers_per_arch() {
        let g = Layout::Generic;
        assert_eq!(gchan(g), 0x8004_7437);
        assert_eq!(attchan(g), 0x4004_7438);
        assert_eq!(connect(g), 0x4004_743a);
        assert_eq!(newunit(g), 0xc004_743e);
        assert_eq!(smru(g), 0x4004_7452);
        let m = Layout::Mips;
        assert_eq!(gchan(m), 0x4004_7437);
        assert_eq!(attchan(m), 0x8004_7438);
        assert_eq!(connect(m), 0x8004_743a);
        assert_eq!(newunit(m), 0xc004_743e);
        assert_eq!(smru(m), 0x8004_7452);
        // This host's build uses its own layout.
        #[cfg(any(target_arch = "x86_64", target_arch = "aarch64", target_arch = "arm"))]
        assert_eq!(PPPIOCGCHAN, 0x8004_7437);
    }

    #[test]
    fn sockaddr_pppox_has_the_kernels_packed_size() {
        assert_eq!(mem::size_of::<SockaddrPppox>(), 30);
    }

    #[test]
    fn setup_errors_name_the_call_and_the_errno() {
        let e = SetupError::new("open(/dev/ppp)", io::Error::from_raw_os_error(libc::ENOENT));
        assert_eq!(e.to_string(), "open(/dev/ppp): ENOENT");
    }
}
