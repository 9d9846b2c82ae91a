//! Processes, clocks and namespaces: the few system calls the supervisor,
//! the bus and the tests make that `std` and tokio do not wrap.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;

/// Milliseconds of `CLOCK_MONOTONIC`: time since boot, one clock for every
/// process of the router, never going backwards (NTP does not move it).
pub fn monotonic_ms() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the timespec we own; CLOCK_MONOTONIC
    // is always available on Linux.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    let secs = u64::try_from(ts.tv_sec).unwrap_or(0);
    let nanos = u64::try_from(ts.tv_nsec).unwrap_or(0);
    secs.saturating_mul(1000).saturating_add(nanos / 1_000_000)
}

/// Sends signal `sig` to process `pid`. A process that is already gone is
/// `ESRCH`, which callers that only want it gone can ignore.
pub fn signal(pid: u32, sig: libc::c_int) -> io::Result<()> {
    let pid =
        libc::pid_t::try_from(pid).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: kill(2) has no memory effects; a stale PID at worst yields ESRCH.
    if unsafe { libc::kill(pid, sig) } == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Makes the child that `cmd` starts receive SIGTERM when this process
/// dies, and exit at once if this process is already gone by the time it
/// starts: a daemon must never outlive the process that owns the shared
/// state.
pub fn die_with_parent(cmd: &mut tokio::process::Command) {
    // SAFETY: getpid has no memory effects.
    let parent = unsafe { libc::getpid() };
    // SAFETY: the closure runs in the forked child before exec and only
    // calls async-signal-safe functions (prctl, getppid, _exit).
    unsafe {
        cmd.pre_exec(move || {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
            if libc::getppid() != parent {
                libc::_exit(1);
            }
            Ok(())
        });
    }
}

/// Moves the calling thread into a new, empty network namespace (tests
/// that build their own links; needs CAP_SYS_ADMIN).
pub fn enter_new_netns() -> io::Result<()> {
    // SAFETY: unshare changes only this thread's network namespace.
    if unsafe { libc::unshare(libc::CLONE_NEWNET) } == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Moves the calling thread into the network namespace `ns` is a handle
/// of (`/run/netns/<name>`, `/proc/<pid>/ns/net`).
pub fn enter_netns(ns: &File) -> io::Result<()> {
    // SAFETY: setns on a caller-owned descriptor changes only this
    // thread's network namespace.
    if unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) } == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_monotonic_clock_moves_forward() {
        let a = monotonic_ms();
        std::thread::sleep(std::time::Duration::from_millis(20));
        let b = monotonic_ms();
        assert!(b >= a + 19, "{a} -> {b}");
    }

    #[test]
    fn signal_zero_probes_and_a_missing_process_is_esrch() {
        signal(std::process::id(), 0).unwrap();
        // PIDs above pid_max (at most 2^22) never exist.
        let e = signal(1 << 23, 0).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::ESRCH));
    }

    #[test]
    fn a_thread_can_enter_a_new_namespace_and_come_back() {
        let outcome = std::thread::spawn(|| -> io::Result<()> {
            let home = File::open("/proc/thread-self/ns/net")?;
            enter_new_netns()?;
            // Only lo, down, in a new namespace.
            assert_eq!(crate::socket::ifindex("lo"), Some(1));
            enter_netns(&home)
        })
        .join();
        match outcome {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!("skipped: {e}"),
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }
}
