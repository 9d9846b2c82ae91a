//! The console side of the socket: one request, one answer, blocking.
//!
//! `cpectl` runs on a serial console, often while the router is in trouble,
//! so it must never hang: every request has a deadline.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use crate::proto::{FromSupervisor, MAX_LINE, Request, ToSupervisor, decode_line, encode_line};

/// Sends `request` to the supervisor at `socket` and returns its answer.
pub fn request(socket: &Path, request: Request, timeout: Duration) -> io::Result<FromSupervisor> {
    let mut stream = UnixStream::connect(socket).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("cannot reach the supervisor at {}: {e}", socket.display()),
        )
    })?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    stream.write_all(&encode_line(&ToSupervisor::Request(request)))?;
    let mut reader = BufReader::new(stream).take(MAX_LINE as u64);
    let mut line = Vec::new();
    reader.read_until(b'\n', &mut line)?;
    if line.last() == Some(&b'\n') {
        line.pop();
    }
    if line.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "the supervisor closed the connection without answering",
        ));
    }
    decode_line(&line).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}
