//! The daemon side of the socket.
//!
//! A daemon calls [`connect`] once at start. It gets the config it must run
//! with and the first state snapshot, then publishes facts and status with
//! non-blocking calls and awaits new snapshots with [`Bus::next_state`]. When
//! the supervisor goes away the daemon sees `None` and exits: an orphaned
//! daemon must not keep configuring the box.

use std::io;
use std::path::PathBuf;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;
use tokio::sync::{mpsc, watch};

use crate::proto::{FromSupervisor, MAX_LINE, ToSupervisor, decode_line, encode_line};
use crate::registry::Daemon;
use crate::state::{Fact, SharedState};

/// What the supervisor hands a daemon on connect.
#[derive(Debug, Clone)]
pub struct Welcome {
    /// Path of the config file (for messages).
    pub config_file: String,
    /// The validated TOML text.
    pub config_source: String,
    /// The state at the time of connecting.
    pub state: SharedState,
}

/// A daemon's connection to the supervisor. Clones share the connection.
#[derive(Clone)]
pub struct Bus {
    out: mpsc::UnboundedSender<Vec<u8>>,
    states: watch::Receiver<Option<SharedState>>,
}

impl Bus {
    /// Publishes a fact. Never blocks; a lost supervisor shows up in
    /// [`Bus::next_state`].
    pub fn publish(&self, fact: Fact) {
        let _ = self.out.send(encode_line(&ToSupervisor::Publish(fact)));
    }

    /// Replaces this daemon's status object (shown by `cpectl`).
    pub fn set_status(&self, status: serde_json::Value) {
        let _ = self.out.send(encode_line(&ToSupervisor::Status(status)));
    }

    /// Waits for the next state snapshot; `None` once the supervisor is gone.
    /// Cancel-safe, and only the newest snapshot is returned when several
    /// arrived meanwhile.
    pub async fn next_state(&mut self) -> Option<SharedState> {
        loop {
            self.states.changed().await.ok()?;
            if let Some(s) = self.states.borrow_and_update().clone() {
                return Some(s);
            }
        }
    }
}

/// Reads one line of at most [`MAX_LINE`] bytes; `Ok(None)` at end of stream.
pub async fn read_line<R: tokio::io::AsyncBufRead + Unpin>(
    reader: &mut R,
    buf: &mut Vec<u8>,
) -> io::Result<Option<()>> {
    buf.clear();
    let n = (&mut *reader)
        .take(MAX_LINE as u64 + 1)
        .read_until(b'\n', buf)
        .await?;
    if n == 0 {
        return Ok(None);
    }
    if buf.last() == Some(&b'\n') {
        buf.pop();
    } else if buf.len() > MAX_LINE {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "line too long"));
    }
    Ok(Some(()))
}

/// Connects to the supervisor named by `$CPE_BUS` and introduces this
/// process as `daemon`.
pub async fn connect(daemon: &str) -> io::Result<(Bus, Welcome)> {
    let path = std::env::var_os(crate::ENV_BUS)
        .map(PathBuf::from)
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                "CPE_BUS is not set: daemons are started by `cpe run`",
            )
        })?;
    let stream = UnixStream::connect(&path).await?;
    let (rd, mut wr) = stream.into_split();
    let mut rd = BufReader::new(rd);
    let hello = ToSupervisor::Hello {
        daemon: daemon.to_string(),
        pid: std::process::id(),
    };
    wr.write_all(&encode_line(&hello)).await?;

    let mut line = Vec::new();
    let mut config = None;
    let state = loop {
        if read_line(&mut rd, &mut line).await?.is_none() {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "supervisor closed the connection during hello",
            ));
        }
        match decode_line::<FromSupervisor>(&line) {
            Ok(FromSupervisor::Config { file, source }) => config = Some((file, source)),
            Ok(FromSupervisor::State(s)) => break *s,
            Ok(FromSupervisor::Error { message }) => {
                return Err(io::Error::new(io::ErrorKind::PermissionDenied, message));
            }
            Ok(_) | Err(_) => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "unexpected message from supervisor during hello",
                ));
            }
        }
    };
    let (config_file, config_source) = config
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "supervisor sent no config"))?;

    let (out_tx, mut out_rx) = mpsc::unbounded_channel::<Vec<u8>>();
    tokio::spawn(async move {
        while let Some(buf) = out_rx.recv().await {
            if wr.write_all(&buf).await.is_err() {
                break;
            }
        }
    });
    let (st_tx, st_rx) = watch::channel(None);
    tokio::spawn(async move {
        let mut line = Vec::new();
        while let Ok(Some(())) = read_line(&mut rd, &mut line).await {
            if let Ok(FromSupervisor::State(s)) = decode_line::<FromSupervisor>(&line)
                && st_tx.send(Some(*s)).is_err()
            {
                break;
            }
        }
        // Dropping st_tx tells next_state() the supervisor is gone.
    });
    Ok((
        Bus {
            out: out_tx,
            states: st_rx,
        },
        Welcome {
            config_file,
            config_source,
            state: state.clone(),
        },
    ))
}

/// [`connect`], then parses the config the supervisor handed over, applies
/// its log level and keeps only `daemon`'s projection of it
/// ([`daemon_config`]): what every daemon does first.
///
/// The text was validated by the supervisor before it was sent, so an error
/// here means a version mismatch or a bug, and the daemon should exit (the
/// supervisor restarts it with backoff and the log says why).
pub async fn connect_configured(
    daemon: Daemon,
) -> Result<(Bus, Welcome, cpe_config::Config), String> {
    let (bus, welcome) = connect(daemon.name())
        .await
        .map_err(|e| format!("cannot connect to the supervisor: {e}"))?;
    let config = daemon_config(daemon, &welcome)?;
    Ok((bus, welcome, config))
}

/// The config `daemon` runs with, from the supervisor's welcome: the whole
/// file parsed, its log level applied (the runner's, for every daemon), and
/// then only the daemon's projection ([`Daemon::project`]), the same view
/// the supervisor compares on a reload. A field the daemon reads without
/// declaring it holds its default, which the daemon's lab tests show,
/// instead of a reload that silently misses the change.
pub fn daemon_config(daemon: Daemon, welcome: &Welcome) -> Result<cpe_config::Config, String> {
    let loaded = cpe_config::parse_str(&welcome.config_source, &welcome.config_file)
        .map_err(|d| format!("config from the supervisor does not validate: {d}"))?;
    cpe_log::set_level(cpe_log::parse_level(
        loaded.config.system.log_level.as_str(),
    ));
    Ok(daemon.project(&loaded.config))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a daemon gets from the welcome is its projection: the NTP
    /// client sees its `[ntp]` but not the WAN interface or the hostname.
    #[test]
    fn a_daemon_is_handed_only_its_projection() {
        let welcome = Welcome {
            config_file: "/etc/cpe/config.toml".into(),
            config_source: "[system]\nhostname = \"gw\"\n[wan]\ninterface = \"eth9\"\n\
                            [[lan]]\n[ntp]\nservers = [\"2001:db8::123\"]\n"
                .into(),
            state: SharedState::default(),
        };
        let whole = cpe_config::parse_str(&welcome.config_source, "t.toml")
            .unwrap()
            .config;
        let ntp = daemon_config(Daemon::Ntp, &welcome).unwrap();
        assert_eq!(ntp.ntp, whole.ntp);
        assert_eq!(ntp.wan.interface, "wan0");
        assert_eq!(ntp.system.hostname, "cpe");
        let dns = daemon_config(Daemon::Dns, &welcome).unwrap();
        assert_eq!(
            (dns.wan.interface.as_str(), dns.system.hostname.as_str()),
            ("eth9", "gw")
        );
        assert_eq!(dns.ntp, cpe_config::Ntp::default());
    }
}
