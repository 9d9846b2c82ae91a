//! The supervisor's socket: daemons and the console connect here.
//!
//! Each connection gets its own small task that only parses lines and hands
//! them to the main loop as [`Event`]s; all state lives in the main loop, so
//! there is no locking and no way for a slow client to stall the others.

use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use cpe_bus::client::read_line;
use cpe_bus::proto::{FromSupervisor, ToSupervisor, decode_line, encode_line};
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{mpsc, oneshot};

use crate::Event;

/// Binds the socket, refusing to steal it from a live supervisor.
pub fn bind(path: &Path) -> io::Result<UnixListener> {
    if std::os::unix::net::UnixStream::connect(path).is_ok() {
        return Err(io::Error::new(
            io::ErrorKind::AddrInUse,
            format!("another supervisor is running on {}", path.display()),
        ));
    }
    // A socket file left by a crashed supervisor.
    let _ = std::fs::remove_file(path);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let listener = UnixListener::bind(path)?;
    // Only root may talk to the supervisor: it can reconfigure the router.
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    Ok(listener)
}

/// Accepts connections forever.
pub async fn accept_loop(listener: UnixListener, events: mpsc::UnboundedSender<Event>) {
    let mut next_id = 1u64;
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                let id = next_id;
                next_id += 1;
                tokio::spawn(serve(id, stream, events.clone()));
            }
            Err(e) => {
                log::error!("accept on control socket failed: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        }
    }
}

async fn serve(id: u64, stream: UnixStream, events: mpsc::UnboundedSender<Event>) {
    let (rd, mut wr) = stream.into_split();
    let mut rd = BufReader::new(rd);
    let mut line = Vec::new();
    let first = match read_line(&mut rd, &mut line).await {
        Ok(Some(())) => decode_line::<ToSupervisor>(&line),
        _ => return,
    };
    match first {
        Ok(ToSupervisor::Request(req)) => {
            let (tx, rx) = oneshot::channel();
            if events
                .send(Event::Console {
                    request: req,
                    reply: tx,
                })
                .is_err()
            {
                return;
            }
            if let Ok(answer) = rx.await {
                let _ = wr.write_all(&encode_line(&answer)).await;
            }
        }
        Ok(ToSupervisor::Hello { daemon, pid }) => {
            let (out_tx, mut out_rx) = mpsc::unbounded_channel::<Vec<u8>>();
            let writer = tokio::spawn(async move {
                while let Some(buf) = out_rx.recv().await {
                    if wr.write_all(&buf).await.is_err() {
                        break;
                    }
                }
            });
            let _ = events.send(Event::DaemonHello {
                conn: id,
                daemon,
                pid,
                out: out_tx,
            });
            loop {
                match read_line(&mut rd, &mut line).await {
                    Ok(Some(())) => match decode_line::<ToSupervisor>(&line) {
                        Ok(ToSupervisor::Publish(fact)) => {
                            let _ = events.send(Event::Publish { conn: id, fact });
                        }
                        Ok(ToSupervisor::Status(value)) => {
                            let _ = events.send(Event::DaemonStatus { conn: id, value });
                        }
                        Ok(other) => {
                            log::warn!("unexpected message on daemon connection: {other:?}")
                        }
                        Err(e) => log::warn!("malformed message on daemon connection: {e}"),
                    },
                    Ok(None) => break,
                    Err(e) => {
                        log::warn!("daemon connection dropped: {e}");
                        break;
                    }
                }
            }
            let _ = events.send(Event::DaemonGone { conn: id });
            writer.abort();
        }
        Ok(other) => {
            let msg = FromSupervisor::Error {
                message: format!("expected hello or request first, got {other:?}"),
            };
            let _ = wr.write_all(&encode_line(&msg)).await;
        }
        Err(e) => {
            let msg = FromSupervisor::Error {
                message: format!("malformed request: {e}"),
            };
            let _ = wr.write_all(&encode_line(&msg)).await;
        }
    }
}
