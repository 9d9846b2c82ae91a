//! Short-lived commands (`ip`, `rdisc6`, `kdig`, ...) with a hard timeout.
//!
//! A probe that hangs (a DNS query to a dead server, an `rdisc6` with no
//! router) must fail the test in seconds with the command line in the
//! message, never hang the CI job.

use std::io::Read;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::error::{LabError, Result};

/// Default timeout of [`crate::Netns::exec`].
pub const DEFAULT_EXEC_TIMEOUT: Duration = Duration::from_secs(10);

/// What a finished command printed and how it exited.
#[derive(Debug, Clone)]
pub struct CmdOutput {
    /// The command line, for messages.
    pub command: String,
    /// Exit status.
    pub status: ExitStatus,
    /// Standard output (lossy UTF-8).
    pub stdout: String,
    /// Standard error (lossy UTF-8).
    pub stderr: String,
}

impl CmdOutput {
    /// True if the command exited with status 0.
    pub fn success(&self) -> bool {
        self.status.success()
    }

    /// Turns a non-zero exit into an error naming the command and its stderr.
    pub fn ok(self) -> Result<CmdOutput> {
        if self.success() {
            Ok(self)
        } else {
            Err(LabError::new(format!(
                "`{}` failed ({}): {}{}",
                self.command,
                self.status,
                self.stderr.trim_end(),
                if self.stderr.trim().is_empty() {
                    format!("(no stderr; stdout: {})", self.stdout.trim_end())
                } else {
                    String::new()
                }
            )))
        }
    }
}

/// Renders argv as a shell-like line for messages.
pub(crate) fn display_argv<S: AsRef<str>>(argv: &[S]) -> String {
    argv.iter()
        .map(|a| {
            let a = a.as_ref();
            if a.is_empty() || a.contains(|c: char| c.is_whitespace() || c == '"') {
                format!("'{a}'")
            } else {
                a.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Runs argv to completion, killing it after `timeout`.
pub(crate) fn run_argv<S: AsRef<str>>(argv: &[S], timeout: Duration) -> Result<CmdOutput> {
    let (program, args) = argv
        .split_first()
        .ok_or_else(|| LabError::new("empty command line"))?;
    let mut cmd = Command::new(program.as_ref());
    cmd.args(args.iter().map(|a| a.as_ref()));
    run_command(cmd, &display_argv(argv), timeout)
}

/// Runs a prepared command to completion with captured output and a timeout.
pub(crate) fn run_command(mut cmd: Command, display: &str, timeout: Duration) -> Result<CmdOutput> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .map_err(|e| LabError::io(format!("cannot run `{display}`"), e))?;
    let stdout = child.stdout.take().map(spawn_reader);
    let stderr = child.stderr.take().map(spawn_reader);
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                let out = stdout.map(join_reader).unwrap_or_default();
                let err = stderr.map(join_reader).unwrap_or_default();
                return Err(LabError::new(format!(
                    "`{display}` timed out after {} ms; stdout: {} stderr: {}",
                    timeout.as_millis(),
                    out.trim_end(),
                    err.trim_end()
                )));
            }
            Err(e) => return Err(LabError::io(format!("waiting for `{display}`"), e)),
        }
    };
    Ok(CmdOutput {
        command: display.to_string(),
        status,
        stdout: stdout.map(join_reader).unwrap_or_default(),
        stderr: stderr.map(join_reader).unwrap_or_default(),
    })
}

fn spawn_reader<R: Read + Send + 'static>(mut r: R) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = r.read_to_end(&mut buf);
        buf
    })
}

fn join_reader(h: std::thread::JoinHandle<Vec<u8>>) -> String {
    h.join()
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn captures_output_and_status() {
        let out = run_argv(
            &["sh", "-c", "echo out; echo err >&2; exit 3"],
            DEFAULT_EXEC_TIMEOUT,
        )
        .unwrap();
        assert_eq!(out.stdout, "out\n");
        assert_eq!(out.stderr, "err\n");
        assert_eq!(out.status.code(), Some(3));
        let err = out.ok().unwrap_err();
        assert!(err.message().contains("sh -c"), "{err}");
        assert!(err.message().contains("err"), "{err}");
    }

    #[test]
    fn hung_commands_are_killed() {
        let t = Instant::now();
        let err = run_argv(&["sleep", "5"], Duration::from_millis(100)).unwrap_err();
        assert!(t.elapsed() < Duration::from_secs(2));
        assert!(err.message().contains("timed out"), "{err}");
    }

    #[test]
    fn argv_display_quotes_spaces() {
        assert_eq!(display_argv(&["a", "b c", ""]), "a 'b c' ''");
    }
}
