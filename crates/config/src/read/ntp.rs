//! `[ntp]`.

use super::lan::items;
use crate::model::Ntp;
use crate::reader::{Ctx, Problem, Table};
use crate::schema;
use crate::syntax;

pub(super) fn read(ctx: &mut Ctx<'_>, root: &Table<'_, '_>) -> Ntp {
    let defaults = Ntp::default();
    let Some(t) = super::sub_table(ctx, root, "ntp", &schema::NTP) else {
        return defaults;
    };
    let ntp = Ntp {
        enabled: t.bool(ctx, "enabled").or(defaults.enabled),
        servers: items(t.list(ctx, "servers", syntax::ip_server)).or(defaults.servers),
        use_wan: t.bool(ctx, "use_wan").or(defaults.use_wan),
        set_clock: t.bool(ctx, "set_clock").or(defaults.set_clock),
    };
    if ntp.enabled && ntp.servers.is_empty() && !ntp.use_wan {
        ctx.warning(
            &t.span,
            Problem::new("[ntp] has no servers and use_wan = false: the clock is never set")
                .hint("list servers, set use_wan = true, or enabled = false"),
        );
    }
    ntp
}
