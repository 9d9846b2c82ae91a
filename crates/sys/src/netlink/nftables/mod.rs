//! nf_tables over nfnetlink: build a ruleset transaction, commit it
//! atomically, read counters back.
//!
//! Our own codec rather than `nftnl` (bindings to the C libraries libnftnl
//! and libmnl, GPL, built per target) or a generic netfilter crate: the
//! router needs one table's worth of message shapes and a dozen expression
//! types, which fit in a few hundred lines over the rtnetlink framing that
//! already lives here (see docs/dependencies.md for what it costs).
//!
//! - [`Batch`]: pure builder of one transaction (table, chains, sets,
//!   elements, counters, rules of [`Expr`]s). No I/O.
//! - [`Nftables`]: blocking socket; [`Nftables::commit`] succeeds only if the
//!   kernel acked every message, and an error in any message fails the
//!   whole batch (the kernel aborts it; the old ruleset stays).
//! - [`parse_replies`]: the decoder of what the kernel answers (fuzzed).
//!
//! Attribute numbers come from the kernel uapi `linux/netfilter/nf_tables.h`.

mod batch;
mod client;
mod consts;
mod encode;
mod expr;
mod reply;

#[cfg(test)]
mod tests;

pub use batch::{BaseChain, Batch, ChainType, Element, Hook, SetKey, TableFamily};
pub use client::Nftables;
pub use expr::{CmpOp, Expr, MetaKey, PayloadBase, Reject, Verdict};
pub use reply::{CounterValue, Reply, parse_replies, parse_reply};
