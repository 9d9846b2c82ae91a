//! Time-stamped logging for every process of the router.
//!
//! Field engineers correlate logs across boxes, so every line carries a UTC
//! timestamp with milliseconds (RFC 3339), the level and the process that
//! wrote it. A full logging framework costs ~100 KB of flash; this costs ~1 KB.
//! Lines a LAN host can trigger at will go through a [`LogThrottle`].

use std::io::Write;
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use log::{Level, LevelFilter, Log, Metadata, Record};

mod throttle;

pub use throttle::{LogThrottle, suppressed_note};

struct StderrLogger {
    name: &'static str,
}

static LOGGER: OnceLock<StderrLogger> = OnceLock::new();

impl Log for StderrLogger {
    fn enabled(&self, metadata: &Metadata) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &Record) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let line = format!(
            "{} {:<5} {}: {}\n",
            utc_timestamp(SystemTime::now()),
            level_word(record.level()),
            self.name,
            record.args()
        );
        // One write per line so lines of concurrent processes do not interleave.
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
    }

    fn flush(&self) {}
}

fn level_word(level: Level) -> &'static str {
    match level {
        Level::Error => "error",
        Level::Warn => "warn",
        Level::Info => "info",
        Level::Debug => "debug",
        Level::Trace => "trace",
    }
}

/// Parses the config's `log_level` words; unknown words fall back to `info`
/// (the config validator has already rejected them).
pub fn parse_level(word: &str) -> LevelFilter {
    match word {
        "error" => LevelFilter::Error,
        "warn" => LevelFilter::Warn,
        "debug" => LevelFilter::Debug,
        "trace" => LevelFilter::Trace,
        _ => LevelFilter::Info,
    }
}

/// Installs the logger for this process, naming it `name` in every line.
///
/// Calling it twice keeps the first name but still applies the new level, so
/// a daemon can raise its level after it has read its config.
pub fn init(name: &'static str, level: LevelFilter) {
    let logger = LOGGER.get_or_init(|| StderrLogger { name });
    let _ = log::set_logger(logger);
    log::set_max_level(level);
}

/// Changes the level at run time (config reload).
pub fn set_level(level: LevelFilter) {
    log::set_max_level(level);
}

/// Formats a wall-clock time as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
pub fn utc_timestamp(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs();
    let (y, m, day) = civil_from_days((secs / 86_400) as i64);
    let rem = secs % 86_400;
    format!(
        "{y:04}-{m:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60,
        d.subsec_millis()
    )
}

/// Converts days since 1970-01-01 into a proleptic Gregorian date
/// (Howard Hinnant's well-known civil calendar algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn timestamps_are_rfc3339_utc() {
        assert_eq!(utc_timestamp(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        let t = UNIX_EPOCH + Duration::from_millis(1_795_476_116_123);
        assert_eq!(utc_timestamp(t), "2026-11-23T23:21:56.123Z");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29
        assert_eq!(utc_timestamp(leap), "2000-02-29T00:00:00.000Z");
    }

    #[test]
    fn levels_parse() {
        assert_eq!(parse_level("debug"), LevelFilter::Debug);
        assert_eq!(parse_level("bogus"), LevelFilter::Info);
    }
}
