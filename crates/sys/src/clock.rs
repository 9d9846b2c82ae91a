//! The system (wall) clock: read as an NTP timestamp, stepped by an offset.
//!
//! Stepping needs CAP_SYS_TIME, and the realtime clock is not namespaced:
//! a lab in a network namespace shares it with the host. The NTP daemon
//! therefore only calls [`step`] when `[ntp] set_clock` is on.

use std::io;
use std::time::{SystemTime, UNIX_EPOCH};

use cpe_wire::ntp::Timestamp;

const NANOS: i128 = 1_000_000_000;

/// The system clock now, as an NTP timestamp.
pub fn now_ntp() -> Timestamp {
    Timestamp::from_unix(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default(),
    )
}

/// Adds `offset_ns` to `CLOCK_REALTIME` in one read-modify-write (the
/// read and the write are a few microseconds apart, far below the 128 ms a
/// step corrects). Fails with `EPERM` without CAP_SYS_TIME, `EINVAL` when
/// the result would be before 1970.
pub fn step(offset_ns: i64) -> io::Result<()> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the timespec we own.
    if unsafe { libc::clock_gettime(libc::CLOCK_REALTIME, &mut ts) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let now = i128::from(ts.tv_sec) * NANOS + i128::from(ts.tv_nsec);
    let then = now + i128::from(offset_ns);
    if then < 0 {
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    }
    let target = libc::timespec {
        tv_sec: libc::time_t::try_from(then / NANOS)
            .map_err(|_| io::Error::from_raw_os_error(libc::EOVERFLOW))?,
        // Below 10^9: fits every c_long.
        tv_nsec: (then % NANOS) as libc::c_long,
    };
    // SAFETY: clock_settime reads the timespec we own; it changes only the
    // clock, and the kernel checks the caller's CAP_SYS_TIME.
    if unsafe { libc::clock_settime(libc::CLOCK_REALTIME, &target) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
