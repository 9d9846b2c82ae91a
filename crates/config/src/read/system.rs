//! `[system]`.

use crate::model::{LogLevel, System};
use crate::reader::{Ctx, Table};
use crate::schema;
use crate::syntax;

const LOG_LEVELS: &[(&str, LogLevel)] = &[
    ("error", LogLevel::Error),
    ("warn", LogLevel::Warn),
    ("info", LogLevel::Info),
    ("debug", LogLevel::Debug),
    ("trace", LogLevel::Trace),
];

pub(super) fn read(ctx: &mut Ctx<'_>, root: &Table<'_, '_>) -> System {
    let defaults = System::default();
    let Some(t) = super::sub_table(ctx, root, "system", &schema::SYSTEM) else {
        return defaults;
    };
    System {
        hostname: t
            .parsed(ctx, "hostname", syntax::hostname)
            .or(defaults.hostname),
        log_level: t
            .choice(ctx, "log_level", LOG_LEVELS)
            .or(defaults.log_level),
        state_dir: t
            .parsed(ctx, "state_dir", syntax::absolute_path)
            .or(defaults.state_dir),
        run_dir: t
            .parsed(ctx, "run_dir", syntax::absolute_path)
            .or(defaults.run_dir),
        root_password_hash: t
            .parsed(ctx, "root_password_hash", syntax::sha512_crypt)
            .map(Some)
            .or(None),
    }
}
