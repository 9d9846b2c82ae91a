//! When the lease file is written: rarely, and never later than
//! [`SAVE_DELAY`] after a change.
//!
//! Every write of the file is a rename and two fsyncs on the router's
//! flash, whose blocks wear out. A flood of REQUESTs from random hardware
//! addresses (each one a new binding) wrote the file once per binding:
//! 99 renames and 198 fsyncs in 0.1 s. Here the first change arms a
//! deadline [`SAVE_DELAY`] ahead and every change until then joins that one
//! write, so a flood costs one write per [`SAVE_DELAY`] however fast it
//! comes, and a quiet LAN still gets each change on disk within a second.
//! What a crash (power cut, SIGKILL) can lose is at most that second of
//! changes; those clients keep their address anyway (the client asks for it
//! again and it is still free). At shutdown [`LeaseStore::flush`] writes
//! whatever is pending, so a SIGTERM loses nothing.
//!
//! The store never reads the clock (callers pass `now`), so its tests run
//! in virtual time; the file itself is written with
//! `cpe_sys::persist::atomic_write`.

use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::engine::Engine;
use crate::persist;

/// Longest time a change waits before it is written.
pub const SAVE_DELAY: Duration = Duration::from_secs(1);
/// After a failed write, the next attempt waits this long (the file system
/// may be full or read-only; retrying at once would only spin).
pub const RETRY_DELAY: Duration = Duration::from_secs(10);

/// The lease file of one LAN and its write schedule.
#[derive(Debug)]
pub struct LeaseStore {
    path: PathBuf,
    due: Option<Instant>,
    writes: u64,
}

impl LeaseStore {
    /// The store writing to `path`.
    pub fn new(path: PathBuf) -> Self {
        Self {
            path,
            due: None,
            writes: 0,
        }
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Takes the server's unsaved changes at `now`: the first arms a write
    /// [`SAVE_DELAY`] ahead; later ones join it (the deadline never moves
    /// later, so a steady flood cannot postpone the write forever).
    pub fn note(&mut self, server: &mut Engine, now: Instant) {
        if server.take_dirty() && self.due.is_none() {
            self.due = Some(now + SAVE_DELAY);
        }
    }

    /// When the pending write is due (for the driver's timer).
    pub fn deadline(&self) -> Option<Instant> {
        self.due
    }

    /// Whether a change waits to be written.
    pub fn pending(&self) -> bool {
        self.due.is_some()
    }

    /// Files written so far.
    pub fn writes(&self) -> u64 {
        self.writes
    }

    /// Writes the table if the pending write is due at `now`. `unix_now` is
    /// the same moment on the wall clock. Returns whether it wrote.
    pub fn save_if_due(
        &mut self,
        server: &mut Engine,
        now: Instant,
        unix_now: u64,
    ) -> io::Result<bool> {
        self.note(server, now);
        match self.due {
            Some(due) if due <= now => self.write(server, now, unix_now).map(|()| true),
            _ => Ok(false),
        }
    }

    /// Writes any pending change now (shutdown).
    pub fn flush(&mut self, server: &mut Engine, now: Instant, unix_now: u64) -> io::Result<bool> {
        self.note(server, now);
        if self.due.is_some() {
            self.write(server, now, unix_now).map(|()| true)
        } else {
            Ok(false)
        }
    }

    fn write(&mut self, server: &Engine, now: Instant, unix_now: u64) -> io::Result<()> {
        let text = persist::render(server.leases(), now, unix_now);
        match cpe_sys::persist::atomic_write(&self.path, text.as_bytes()) {
            Ok(()) => {
                self.writes += 1;
                self.due = None;
                Ok(())
            }
            Err(e) => {
                self.due = Some(now + RETRY_DELAY);
                Err(e)
            }
        }
    }
}
