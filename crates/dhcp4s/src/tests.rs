//! Engine tests with virtual time: real encoded client messages through
//! `Engine::handle`, replies decoded again with the strict codec.

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use cpe_wire::dhcpv4::{self, FLAG_BROADCAST, Message, MessageType, OP_REQUEST, Options};
use ipnet::Ipv4Net;
use proptest::prelude::*;

use crate::config::{DECLINE_QUARANTINE, OFFER_HOLD, PoolConfig};
use cpe_daemon::Engine as _;
use cpe_daemon::engine::drive::drain;

use crate::engine::{Action, Destination, DropReason, Engine, Input};
use crate::lease::{ClientKey, LeaseState, LeaseTable};
use crate::persist;

const ROUTER: Ipv4Addr = Ipv4Addr::new(192, 168, 1, 1);

pub(crate) fn cfg(first: u8, last: u8) -> PoolConfig {
    PoolConfig {
        address: Ipv4Net::new(ROUTER, 24).unwrap(),
        pool: (
            Ipv4Addr::new(192, 168, 1, first),
            Ipv4Addr::new(192, 168, 1, last),
        ),
        lease_time: 3600,
        domain: Some("lan".into()),
    }
}

fn ip(last: u8) -> Ipv4Addr {
    Ipv4Addr::new(192, 168, 1, last)
}

fn mac(n: u8) -> [u8; 6] {
    [2, 0, 0, 0, 3, n]
}

pub(crate) fn client_msg(n: u8, t: MessageType, f: impl FnOnce(&mut Message)) -> Vec<u8> {
    let mut m = Message {
        op: OP_REQUEST,
        hops: 0,
        xid: 0x1000 + u32::from(n),
        secs: 0,
        flags: FLAG_BROADCAST,
        ciaddr: Ipv4Addr::UNSPECIFIED,
        yiaddr: Ipv4Addr::UNSPECIFIED,
        siaddr: Ipv4Addr::UNSPECIFIED,
        giaddr: Ipv4Addr::UNSPECIFIED,
        chaddr: mac(n),
        options: Options {
            message_type: Some(t),
            client_id: vec![1, 2, 0, 0, 0, 3, n],
            parameter_list: vec![1, 3, 6, 15, 119],
            hostname: Some(format!("host{n}")),
            ..Options::default()
        },
    };
    f(&mut m);
    m.to_bytes().unwrap_or_else(|e| match e {})
}

/// The one action a datagram causes (the engine promises exactly one).
pub(crate) fn handle(s: &mut Engine, payload: &[u8], now: Instant) -> Action {
    s.handle(Input::Received(payload), now);
    let mut actions = drain(s);
    assert_eq!(actions.len(), 1, "one action per datagram: {actions:?}");
    actions.remove(0)
}

fn answer(o: Action) -> (Destination, Message) {
    match o {
        Action::Reply { to, payload, kind } => {
            let m = dhcpv4::Message::decode(&payload).expect("our reply decodes strictly");
            assert_eq!(m.message_type(), Some(kind));
            assert_eq!(m.op, dhcpv4::OP_REPLY);
            (to, m)
        }
        other => panic!("expected a reply, got {other:?}"),
    }
}

fn discover(s: &mut Engine, n: u8, now: Instant) -> Action {
    handle(s, &client_msg(n, MessageType::Discover, |_| {}), now)
}

fn select(s: &mut Engine, n: u8, addr: Ipv4Addr, now: Instant) -> Action {
    handle(
        s,
        &client_msg(n, MessageType::Request, |m| {
            m.options.server_id = Some(ROUTER);
            m.options.requested_ip = Some(addr);
        }),
        now,
    )
}

/// DISCOVER + REQUEST; returns the address acknowledged.
fn dora(s: &mut Engine, n: u8, now: Instant) -> Ipv4Addr {
    let (_, offer) = answer(discover(s, n, now));
    assert_eq!(offer.message_type(), Some(MessageType::Offer));
    let (_, ack) = answer(select(s, n, offer.yiaddr, now));
    assert_eq!(ack.message_type(), Some(MessageType::Ack));
    assert_eq!(ack.yiaddr, offer.yiaddr);
    ack.yiaddr
}

#[test]
fn offer_and_ack_carry_router_dns_domain_and_lease() {
    let mut s = Engine::new(cfg(100, 199), LeaseTable::new());
    let t0 = Instant::now();
    let (to, offer) = answer(discover(&mut s, 1, t0));
    assert_eq!(to, Destination::Broadcast);
    assert_eq!(offer.xid, 0x1001);
    assert_eq!(offer.chaddr, mac(1));
    assert_eq!(offer.yiaddr, ip(100));
    let o = &offer.options;
    assert_eq!(o.server_id, Some(ROUTER));
    assert_eq!(o.subnet_mask, Some(Ipv4Addr::new(255, 255, 255, 0)));
    assert_eq!(o.broadcast_address, Some(ip(255)));
    assert_eq!(o.routers, [ROUTER]);
    assert_eq!(o.dns_servers, [ROUTER]);
    assert_eq!(o.domain_name.as_deref(), Some("lan"));
    assert_eq!(o.domain_search, ["lan"]);
    assert_eq!(
        (o.lease_time, o.renewal_time, o.rebinding_time),
        (Some(3600), Some(1800), Some(3150))
    );
    let (_, ack) = answer(select(&mut s, 1, ip(100), t0));
    assert_eq!(ack.yiaddr, ip(100));
    let l = s.leases().get(ip(100)).unwrap();
    assert_eq!(l.state, LeaseState::Bound);
    assert_eq!(l.hostname.as_deref(), Some("host1"));
    assert_eq!(l.until, t0 + Duration::from_secs(3600));
    assert!(s.take_dirty(), "a new binding must be saved");
    assert_eq!(s.counters().replies.get("offer"), Some(&1));
    assert_eq!(s.counters().replies.get("ack"), Some(&1));
}

#[test]
fn two_clients_get_different_addresses_and_keep_them() {
    let mut s = Engine::new(cfg(100, 199), LeaseTable::new());
    let t0 = Instant::now();
    let a = dora(&mut s, 1, t0);
    let b = dora(&mut s, 2, t0);
    assert_ne!(a, b);
    // Rediscovering gives the same address back.
    assert_eq!(dora(&mut s, 1, t0 + Duration::from_secs(10)), a);
}

#[test]
fn released_address_stays_sticky_while_unused_ones_remain() {
    let mut s = Engine::new(cfg(100, 199), LeaseTable::new());
    let t0 = Instant::now();
    let a = dora(&mut s, 1, t0);
    let rel = client_msg(1, MessageType::Release, |m| {
        m.ciaddr = a;
        m.options.server_id = Some(ROUTER);
    });
    assert_eq!(handle(&mut s, &rel, t0), Action::Handled);
    assert_eq!(s.leases().get(a).unwrap().state, LeaseState::Free);
    let b = dora(&mut s, 2, t0);
    assert_ne!(b, a, "a never-used address goes to a newcomer first");
    assert_eq!(dora(&mut s, 1, t0), a, "client 1 gets its old address back");
}

#[test]
fn lease_expiry_and_pool_exhaustion() {
    let mut s = Engine::new(cfg(100, 101), LeaseTable::new());
    let t0 = Instant::now();
    let a = dora(&mut s, 1, t0);
    let b = dora(&mut s, 2, t0);
    assert_eq!((a, b), (ip(100), ip(101)));
    assert_eq!(
        discover(&mut s, 3, t0),
        Action::Drop(DropReason::PoolExhausted)
    );
    assert_eq!(
        discover(&mut s, 3, t0),
        Action::Drop(DropReason::PoolExhausted)
    );
    assert_eq!(s.counters().drops.get("pool_exhausted"), Some(&2));
    // Client 1 renews at T1; client 2 does not.
    let t1 = t0 + Duration::from_secs(1800);
    let renew = client_msg(1, MessageType::Request, |m| {
        m.ciaddr = a;
        m.flags = 0;
    });
    let (to, ack) = answer(handle(&mut s, &renew, t1));
    assert_eq!(to, Destination::Unicast(a), "renewal answered to ciaddr");
    assert_eq!((ack.yiaddr, ack.ciaddr), (a, a));
    assert_eq!(
        s.leases().get(a).unwrap().until,
        t1 + Duration::from_secs(3600)
    );
    assert_eq!(s.poll_timeout(), Some(t0 + Duration::from_secs(3600)));
    // Client 2's lease runs out: its address becomes free and goes to 3.
    let t2 = t0 + Duration::from_secs(3600);
    s.handle_timeout(t2);
    assert_eq!(s.leases().get(b).unwrap().state, LeaseState::Free);
    assert_eq!(dora(&mut s, 3, t2), b);
    // Client 1 still holds its renewed lease.
    assert_eq!(s.leases().get(a).unwrap().state, LeaseState::Bound);
}

#[test]
fn unanswered_offers_are_released_after_the_hold() {
    let mut s = Engine::new(cfg(100, 100), LeaseTable::new());
    let t0 = Instant::now();
    answer(discover(&mut s, 1, t0));
    assert_eq!(
        discover(&mut s, 2, t0),
        Action::Drop(DropReason::PoolExhausted)
    );
    let (_, offer) = answer(discover(&mut s, 2, t0 + OFFER_HOLD));
    assert_eq!(offer.yiaddr, ip(100));
}

#[test]
fn declined_address_is_quarantined() {
    let mut s = Engine::new(cfg(100, 101), LeaseTable::new());
    let t0 = Instant::now();
    let a = dora(&mut s, 1, t0);
    let decline = client_msg(1, MessageType::Decline, |m| {
        m.options.server_id = Some(ROUTER);
        m.options.requested_ip = Some(a);
    });
    assert_eq!(handle(&mut s, &decline, t0), Action::Handled);
    assert_eq!(s.leases().get(a).unwrap().state, LeaseState::Declined);
    // Client 1 retries and gets the other address; nobody gets `a`.
    assert_eq!(dora(&mut s, 1, t0), ip(101));
    assert_eq!(
        discover(&mut s, 2, t0),
        Action::Drop(DropReason::PoolExhausted)
    );
    // After the quarantine the address is back in the pool.
    let later = t0 + DECLINE_QUARANTINE;
    assert_eq!(dora(&mut s, 2, later), a);
    // A DECLINE for somebody else's address changes nothing.
    let forged = client_msg(3, MessageType::Decline, |m| {
        m.options.requested_ip = Some(a)
    });
    assert_eq!(
        handle(&mut s, &forged, later),
        Action::Drop(DropReason::NoSuchLease)
    );
    assert_eq!(s.leases().get(a).unwrap().state, LeaseState::Bound);
}

#[test]
fn init_reboot_acks_own_address_and_naks_wrong_ones() {
    let mut s = Engine::new(cfg(100, 199), LeaseTable::new());
    let t0 = Instant::now();
    let a = dora(&mut s, 1, t0);
    let b = dora(&mut s, 2, t0);
    let reboot = |n: u8, want: Ipv4Addr| {
        client_msg(n, MessageType::Request, |m| {
            m.options.requested_ip = Some(want)
        })
    };
    let (_, ack) = answer(handle(&mut s, &reboot(1, a), t0 + Duration::from_secs(60)));
    assert_eq!(
        (ack.message_type(), ack.yiaddr),
        (Some(MessageType::Ack), a)
    );
    // Moved from another network.
    let (to, nak) = answer(handle(&mut s, &reboot(1, Ipv4Addr::new(10, 0, 0, 5)), t0));
    assert_eq!(
        (to, nak.message_type()),
        (Destination::Broadcast, Some(MessageType::Nak))
    );
    assert_eq!(nak.options.server_id, Some(ROUTER));
    assert_eq!(nak.yiaddr, Ipv4Addr::UNSPECIFIED);
    // Someone else's address.
    let (_, nak) = answer(handle(&mut s, &reboot(1, b), t0));
    assert_eq!(nak.message_type(), Some(MessageType::Nak));
    assert_eq!(
        s.leases().get(b).unwrap().client,
        ClientKey::Id(vec![1, 2, 0, 0, 0, 3, 2])
    );
    // A free address in the pool is adopted (state lost elsewhere).
    let (_, ack) = answer(handle(&mut s, &reboot(3, ip(150)), t0));
    assert_eq!(
        (ack.message_type(), ack.yiaddr),
        (Some(MessageType::Ack), ip(150))
    );
}

#[test]
fn selecting_another_server_withdraws_our_offer() {
    let mut s = Engine::new(cfg(100, 100), LeaseTable::new());
    let t0 = Instant::now();
    answer(discover(&mut s, 1, t0));
    let other = client_msg(1, MessageType::Request, |m| {
        m.options.server_id = Some(Ipv4Addr::new(192, 168, 1, 2));
        m.options.requested_ip = Some(Ipv4Addr::new(192, 168, 1, 50));
    });
    assert_eq!(
        handle(&mut s, &other, t0),
        Action::Drop(DropReason::OtherServer)
    );
    let (_, offer) = answer(discover(&mut s, 2, t0));
    assert_eq!(offer.yiaddr, ip(100), "the withdrawn offer is free at once");
    // Client 1 asking for an address it was not offered gets a NAK.
    let (_, nak) = answer(select(&mut s, 1, ip(100), t0));
    assert_eq!(nak.message_type(), Some(MessageType::Nak));
}

#[test]
fn inform_gets_options_without_a_lease() {
    let mut s = Engine::new(cfg(100, 199), LeaseTable::new());
    let inform = client_msg(1, MessageType::Inform, |m| m.ciaddr = ip(20));
    let (to, ack) = answer(handle(&mut s, &inform, Instant::now()));
    assert_eq!(to, Destination::Unicast(ip(20)));
    assert_eq!(ack.yiaddr, Ipv4Addr::UNSPECIFIED);
    assert_eq!(ack.options.lease_time, None);
    assert_eq!(ack.options.dns_servers, [ROUTER]);
    assert!(s.leases().is_empty());
}

#[test]
fn hostile_and_foreign_messages_are_counted_not_served() {
    let mut s = Engine::new(cfg(100, 199), LeaseTable::new());
    let t0 = Instant::now();
    let relayed = client_msg(1, MessageType::Discover, |m| {
        m.giaddr = Ipv4Addr::new(10, 0, 0, 1)
    });
    assert_eq!(
        handle(&mut s, &relayed, t0),
        Action::Drop(DropReason::Relayed)
    );
    let reply = client_msg(1, MessageType::Offer, |m| m.op = dhcpv4::OP_REPLY);
    assert_eq!(
        handle(&mut s, &reply, t0),
        Action::Drop(DropReason::NotARequest)
    );
    let bootp = client_msg(1, MessageType::Discover, |m| m.options.message_type = None);
    assert_eq!(
        handle(&mut s, &bootp, t0),
        Action::Drop(DropReason::NoMessageType)
    );
    let mut truncated = client_msg(1, MessageType::Discover, |_| {});
    truncated.truncate(250);
    truncated.extend_from_slice(&[61, 30, 1]);
    assert!(matches!(
        handle(&mut s, &truncated, t0),
        Action::Drop(DropReason::Malformed(_))
    ));
    assert_eq!(
        handle(&mut s, &[0u8; 10], t0),
        Action::Drop(DropReason::Malformed(dhcpv4::DecodeError::TooShort(10)))
    );
    let c = s.counters();
    assert_eq!(c.received, 5);
    assert_eq!(c.dropped(), 5);
    assert_eq!(c.drops.get("truncated_option"), Some(&1));
    assert_eq!(c.drops.get("too_short"), Some(&1));
    assert!(s.leases().is_empty());
    // And it still serves.
    dora(&mut s, 1, t0);
}

#[test]
fn leases_survive_a_restart_through_the_file() {
    let t0 = Instant::now();
    let unix0 = 1_800_000_000;
    let mut s = Engine::new(cfg(100, 199), LeaseTable::new());
    let a = dora(&mut s, 1, t0);
    let b = dora(&mut s, 2, t0);
    let c = dora(&mut s, 3, t0);
    let rel = client_msg(2, MessageType::Release, |m| m.ciaddr = b);
    handle(&mut s, &rel, t0);
    let decline = client_msg(3, MessageType::Decline, |m| {
        m.options.requested_ip = Some(c)
    });
    handle(&mut s, &decline, t0);
    answer(discover(&mut s, 4, t0)); // an offer: not saved
    let text = persist::render(s.leases(), t0 + Duration::from_secs(100), unix0 + 100);
    assert!(text.starts_with(persist::HEADER));
    assert_eq!(text.lines().count(), 4, "{text}");
    assert!(
        text.contains(&format!(
            "{a} bound id:01020000000301 02:00:00:00:03:01 {} host1",
            unix0 + 3600
        )),
        "{text}"
    );

    // "Reboot": a new process with a new Instant base, 300 s after t0.
    let t1 = Instant::now() + Duration::from_secs(5000);
    let (table, skipped) = persist::parse(
        &format!("{text}garbage line\n1.2.3.4 bound x y z -\n"),
        t1,
        unix0 + 300,
    );
    assert_eq!(skipped, 2);
    let l = table.get(a).unwrap();
    assert_eq!(
        (l.state, l.until),
        (LeaseState::Bound, t1 + Duration::from_secs(3300))
    );
    assert_eq!(table.get(b).unwrap().state, LeaseState::Free);
    assert_eq!(table.get(c).unwrap().state, LeaseState::Declined);
    let mut s2 = Engine::new(cfg(100, 199), table);
    assert_eq!(
        dora(&mut s2, 1, t1),
        a,
        "same client, same address after restart"
    );
    assert_eq!(dora(&mut s2, 2, t1), b, "released address still sticky");
    assert_ne!(dora(&mut s2, 5, t1), c, "quarantine survives the restart");
    s2.handle_timeout(t1 + Duration::from_secs(300));
    assert!(s2.leases().get(c).is_none(), "and ends on time");

    // A shrunk pool forgets what is outside it.
    let (table, _) = persist::parse(&text, t1, unix0);
    let s3 = Engine::new(cfg(150, 199), table);
    assert!(s3.leases().is_empty());
    // A file from another program is ignored, not fatal.
    let (table, skipped) = persist::parse("lease { }\n", t1, unix0);
    assert!(table.is_empty());
    assert_eq!(skipped, 1);
}

fn arb_event() -> impl Strategy<Value = (u8, u8, u8, u16)> {
    // (client, message kind, address byte, seconds to advance)
    (0u8..4, 0u8..7, 98u8..104, 0u16..4000)
}

#[test]
fn a_looping_client_is_rate_limited_and_others_are_not() {
    let mut s = Engine::new(cfg(100, 199), LeaseTable::new());
    let t0 = Instant::now();
    let answered = (0..50)
        .filter(|_| matches!(discover(&mut s, 1, t0), Action::Reply { .. }))
        .count();
    assert_eq!(answered, 10, "burst of 10");
    assert_eq!(s.counters().drops.get("rate_limited"), Some(&40));
    assert_eq!(dora(&mut s, 2, t0), ip(101), "another host is served");
    // Refilled two per second.
    assert_eq!(dora(&mut s, 1, t0 + Duration::from_secs(1)), ip(100));
}

#[test]
fn a_renewal_after_a_restart_with_an_older_file_is_still_acknowledged() {
    // The file kept the first lease end; the client renewed since, the
    // router restarted after the saved end passed.
    let t0 = Instant::now();
    let mut s = Engine::new(cfg(100, 199), LeaseTable::new());
    let a = dora(&mut s, 1, t0);
    let text = persist::render(s.leases(), t0, 1_800_000_000);
    let t1 = t0 + Duration::from_secs(5000);
    let (table, _) = persist::parse(&text, t1, 1_800_000_000 + 5000);
    let mut s2 = Engine::new(cfg(100, 199), table);
    let renew = client_msg(1, MessageType::Request, |m| {
        m.ciaddr = a;
        m.flags = 0;
    });
    let (_, ack) = answer(handle(&mut s2, &renew, t1));
    assert_eq!(
        (ack.message_type(), ack.yiaddr),
        (Some(MessageType::Ack), a)
    );
}

proptest! {
    #[test]
    fn any_datagram_is_answered_or_counted(data in prop::collection::vec(any::<u8>(), 0..600)) {
        let mut s = Engine::new(cfg(100, 110), LeaseTable::new());
        let out = handle(&mut s, &data, Instant::now());
        let c = s.counters();
        prop_assert_eq!(c.received, 1);
        let handled = u64::from(out == Action::Handled);
        prop_assert_eq!(c.replied() + c.dropped() + handled, 1);
    }

    #[test]
    fn no_client_ever_holds_two_leases(events in prop::collection::vec(arb_event(), 1..60)) {
        let mut s = Engine::new(cfg(100, 102), LeaseTable::new());
        let mut now = Instant::now();
        for (n, kind, last, dt) in events {
            now += Duration::from_secs(u64::from(dt));
            let addr = ip(last);
            let bytes = match kind {
                0 => client_msg(n, MessageType::Discover, |_| {}),
                1 => client_msg(n, MessageType::Request, |m| { m.options.server_id = Some(ROUTER); m.options.requested_ip = Some(addr); }),
                2 => client_msg(n, MessageType::Request, |m| m.options.requested_ip = Some(addr)),
                3 => client_msg(n, MessageType::Request, |m| m.ciaddr = addr),
                4 => client_msg(n, MessageType::Release, |m| m.ciaddr = addr),
                5 => client_msg(n, MessageType::Decline, |m| m.options.requested_ip = Some(addr)),
                _ => client_msg(n, MessageType::Inform, |m| m.ciaddr = addr),
            };
            if let Action::Reply { payload, kind, .. } = handle(&mut s, &bytes, now) {
                let m = dhcpv4::Message::decode(&payload).unwrap();
                if kind == MessageType::Ack && m.options.lease_time.is_some() {
                    prop_assert!(s.config().in_pool(m.yiaddr), "ACK outside the pool: {}", m.yiaddr);
                }
            }
            let mut holders = std::collections::HashMap::new();
            for (a, l) in s.leases().iter() {
                prop_assert!(s.config().in_pool(*a));
                if matches!(l.state, LeaseState::Bound | LeaseState::Offered) && l.until > now {
                    prop_assert!(holders.insert(l.client.clone(), *a).is_none(), "{:?} holds two", l.client);
                }
            }
        }
    }
}

/// A fresh directory for one test's lease file.
fn scratch_dir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("cpe-dhcp4s-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

#[test]
fn a_request_flood_costs_one_lease_file_write_per_save_delay() {
    use crate::store::{LeaseStore, SAVE_DELAY};
    const UNIX: u64 = 1_800_000_000;
    let dir = scratch_dir("flood");
    let path = dir.join("leases-br0");
    let mut s = Engine::new(cfg(2, 254), LeaseTable::new());
    let mut store = LeaseStore::new(path.clone());
    let t0 = Instant::now();
    // The flood of the issue: 99 INIT-REBOOT REQUESTs from as many
    // hardware addresses in 0.1 s, each a new binding. The old driver
    // wrote the file after each (99 renames, 198 fsyncs); the store is
    // asked after each datagram here, more often than the driver does.
    for n in 0..99u8 {
        let now = t0 + Duration::from_millis(u64::from(n));
        let out = handle(
            &mut s,
            &client_msg(n, MessageType::Request, |m| {
                m.options.requested_ip = Some(ip(10 + n));
            }),
            now,
        );
        assert_eq!(answer(out).1.message_type(), Some(MessageType::Ack));
        store.note(&mut s, now);
        assert!(!store.save_if_due(&mut s, now, UNIX).unwrap());
    }
    assert_eq!(store.writes(), 0);
    assert_eq!(
        store.deadline(),
        Some(t0 + SAVE_DELAY),
        "the first change sets the deadline"
    );
    assert!(store.save_if_due(&mut s, t0 + SAVE_DELAY, UNIX).unwrap());
    assert_eq!(store.writes(), 1, "one write for the whole burst");
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(text.matches(" bound ").count(), 99, "{text}");

    // A steady flood cannot postpone the write: one per SAVE_DELAY.
    let t1 = t0 + SAVE_DELAY;
    for i in 0..3000u32 {
        let now = t1 + Duration::from_millis(u64::from(i));
        let n = (i % 99) as u8;
        // RELEASE and rebind alternately: a change every datagram.
        let msg = if i % 2 == 0 {
            client_msg(n, MessageType::Release, |m| m.ciaddr = ip(10 + n))
        } else {
            client_msg(n, MessageType::Request, |m| {
                m.options.requested_ip = Some(ip(10 + n));
            })
        };
        let _ = handle(&mut s, &msg, now);
        store.note(&mut s, now);
        store.save_if_due(&mut s, now, UNIX).unwrap();
    }
    // (The per-client rate limit drops part of it; what remains still
    // changes the table every few milliseconds.)
    assert!(
        (1..=3).contains(&(store.writes() - 1)),
        "3 s of changes, {} writes",
        store.writes() - 1
    );

    // Shutdown: what is pending is written at once, nothing is lost.
    let t2 = t1 + Duration::from_secs(10);
    store.save_if_due(&mut s, t2, UNIX).unwrap();
    let before = store.writes();
    let _ = handle(
        &mut s,
        &client_msg(200, MessageType::Request, |m| {
            m.options.requested_ip = Some(ip(250))
        }),
        t2,
    );
    store.note(&mut s, t2);
    assert!(store.flush(&mut s, t2, UNIX).unwrap());
    assert_eq!(store.writes(), before + 1);
    assert!(
        !store.flush(&mut s, t2, UNIX).unwrap(),
        "nothing left to write"
    );
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("192.168.1.250 bound"), "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Issue 9 item 5: 100 DISCOVERs from made-up hardware addresses must not
/// hand a returning client's address to the flood. Before the newcomer
/// offer limit and sticky-only memory, the 100th made-up client was
/// offered the returning client's free record and the returning client
/// got another address.
#[test]
fn a_discover_flood_cannot_take_a_returning_clients_address() {
    let mut s = Engine::new(cfg(100, 199), LeaseTable::new());
    let t0 = Instant::now();
    let a = dora(&mut s, 1, t0);
    // Its lease runs out while the client is away.
    let t1 = t0 + Duration::from_secs(3600);
    s.handle_timeout(t1);
    assert_eq!(s.leases().get(a).unwrap().state, LeaseState::Free);

    let mut offered = Vec::new();
    for n in 10..110u8 {
        match discover(&mut s, n, t1) {
            o @ Action::Reply { .. } => offered.push(answer(o).1.yiaddr),
            Action::Drop(r) => assert_eq!(r, DropReason::OfferLimit),
            o => panic!("{o:?}"),
        }
    }
    let limit = s.config().newcomer_offer_limit();
    assert_eq!(limit, 25, "a quarter of the pool");
    assert_eq!(offered.len(), limit, "offers to newcomers are bounded");
    assert!(
        !offered.contains(&a),
        "the remembered address is not offered"
    );
    assert_eq!(s.counters().drops.get("offer_limit"), Some(&75));

    // The returning client is not limited and gets its own address.
    assert_eq!(dora(&mut s, 1, t1 + Duration::from_secs(1)), a);
    // A newcomer cannot take a remembered address by asking for it in an
    // INIT-REBOOT REQUEST while never-used addresses remain.
    let rel = client_msg(1, MessageType::Release, |m| m.ciaddr = a);
    assert_eq!(
        handle(&mut s, &rel, t1 + Duration::from_secs(2)),
        Action::Handled
    );
    let grab = client_msg(200, MessageType::Request, |m| {
        m.options.requested_ip = Some(a)
    });
    let (_, nak) = answer(handle(&mut s, &grab, t1 + Duration::from_secs(2)));
    assert_eq!(nak.message_type(), Some(MessageType::Nak));
    assert_eq!(
        s.leases().get(a).unwrap().client,
        ClientKey::of(&[1, 2, 0, 0, 0, 3, 1], mac(1))
    );
}

#[test]
fn offers_under_pressure_are_held_shorter_and_leave_no_memory() {
    use crate::config::OFFER_HOLD_UNDER_PRESSURE;
    let mut s = Engine::new(cfg(100, 199), LeaseTable::new());
    let t0 = Instant::now();
    let limit = s.config().newcomer_offer_limit();
    let holds: Vec<Duration> = (0..limit)
        .map(|i| {
            let n = u8::try_from(10 + i).unwrap();
            let (_, o) = answer(discover(&mut s, n, t0));
            s.leases().get(o.yiaddr).unwrap().until - t0
        })
        .collect();
    // Below half the limit the normal hold, from there the short one.
    let half = limit.div_ceil(2);
    assert!(holds[..half].iter().all(|h| *h == OFFER_HOLD), "{holds:?}");
    assert!(
        holds[half..]
            .iter()
            .all(|h| *h == OFFER_HOLD_UNDER_PRESSURE),
        "{holds:?}"
    );
    assert_eq!(
        discover(&mut s, 200, t0),
        Action::Drop(DropReason::OfferLimit)
    );
    // A client that already holds an offer is answered again (retransmit).
    assert!(matches!(discover(&mut s, 10, t0), Action::Reply { .. }));

    // The short offers end and leave nothing behind: the addresses are
    // never-used again and newcomers get offers again.
    let t1 = t0 + OFFER_HOLD_UNDER_PRESSURE;
    s.handle_timeout(t1);
    assert_eq!(s.leases().count(LeaseState::Offered), half);
    assert_eq!(s.leases().len(), half, "expired offers are forgotten");
    assert!(matches!(discover(&mut s, 200, t1), Action::Reply { .. }));
    s.handle_timeout(t0 + OFFER_HOLD);
    assert_eq!(s.leases().count(LeaseState::Free), 0);
}

#[test]
fn an_offer_released_or_withdrawn_leaves_no_memory_a_lease_does() {
    let mut s = Engine::new(cfg(100, 199), LeaseTable::new());
    let t0 = Instant::now();
    let (_, o) = answer(discover(&mut s, 1, t0));
    let rel = client_msg(1, MessageType::Release, |m| m.ciaddr = o.yiaddr);
    assert_eq!(handle(&mut s, &rel, t0), Action::Handled);
    assert!(s.leases().get(o.yiaddr).is_none(), "offer forgotten");
    let (_, o) = answer(discover(&mut s, 2, t0));
    let other = client_msg(2, MessageType::Request, |m| {
        m.options.server_id = Some(Ipv4Addr::new(192, 168, 1, 2));
        m.options.requested_ip = Some(ip(9));
    });
    assert_eq!(
        handle(&mut s, &other, t0),
        Action::Drop(DropReason::OtherServer)
    );
    assert!(
        s.leases().get(o.yiaddr).is_none(),
        "withdrawn offer forgotten"
    );
    let a = dora(&mut s, 3, t0);
    let rel = client_msg(3, MessageType::Release, |m| m.ciaddr = a);
    assert_eq!(handle(&mut s, &rel, t0), Action::Handled);
    let l = s.leases().get(a).unwrap();
    assert_eq!(
        (l.state, l.sticky),
        (LeaseState::Free, true),
        "a lease is remembered"
    );
}

/// The names offered to the DNS forwarder are those of bound leases: a
/// release or an expiry takes the name away, an offer gives none, and a
/// client that takes over an address another client left behind does not
/// inherit that client's name.
#[test]
fn lease_names_are_those_of_bound_leases_only() {
    let mut s = Engine::new(cfg(100, 100), LeaseTable::new());
    let t0 = Instant::now();
    let names = |s: &Engine| -> Vec<(String, Ipv4Addr)> {
        s.lease_names()
            .into_iter()
            .map(|n| (n.name, n.address))
            .collect()
    };
    let (_, offer) = answer(discover(&mut s, 1, t0));
    assert_eq!(offer.yiaddr, ip(100));
    assert!(names(&s).is_empty(), "an offer has no name");
    answer(select(&mut s, 1, ip(100), t0));
    assert_eq!(names(&s), vec![("host1".to_string(), ip(100))]);
    let release = client_msg(1, MessageType::Release, |m| {
        m.ciaddr = ip(100);
        m.options.server_id = Some(ROUTER);
    });
    s.handle(Input::Received(&release), t0);
    drain(&mut s);
    assert!(names(&s).is_empty(), "released");
    // The only address goes to client 2 (once 1's memory may be reused),
    // which sends no name: it gets none, not host1.
    let later = t0 + Duration::from_secs(1);
    let nameless = |n: u8, t: MessageType, addr: Option<Ipv4Addr>| {
        client_msg(n, t, |m| {
            m.options.hostname = None;
            m.options.requested_ip = addr;
            m.options.server_id = addr.map(|_| ROUTER);
        })
    };
    let (_, offer) = answer(handle(
        &mut s,
        &nameless(2, MessageType::Discover, None),
        later,
    ));
    assert_eq!(offer.yiaddr, ip(100));
    answer(handle(
        &mut s,
        &nameless(2, MessageType::Request, Some(ip(100))),
        later,
    ));
    assert_eq!(
        s.leases().get(ip(100)).unwrap().client,
        ClientKey::Id(vec![1, 2, 0, 0, 0, 3, 2])
    );
    assert!(names(&s).is_empty(), "{:?}", names(&s));
    // Expiry ends a name as well.
    answer(handle(
        &mut s,
        &client_msg(2, MessageType::Request, |m| {
            m.ciaddr = ip(100);
        }),
        later,
    ));
    assert_eq!(names(&s), vec![("host2".to_string(), ip(100))]);
    s.handle_timeout(later + Duration::from_secs(3601));
    assert!(names(&s).is_empty());
}

/// Host names are kept as sent or not at all: a name with characters no
/// host name has, or longer than a DNS name, is refused whole (it would
/// otherwise reach the console and DNS as a name the client never sent).
#[test]
fn hostile_host_names_are_refused_not_repaired() {
    assert_eq!(
        persist::clean_hostname("Laptop-2").as_deref(),
        Some("Laptop-2")
    );
    assert_eq!(persist::clean_hostname("pc\0").as_deref(), Some("pc"));
    assert_eq!(
        persist::clean_hostname("pc.home.arpa").as_deref(),
        Some("pc.home.arpa")
    );
    for bad in ["my pc", "a\0b", "x;rm", "caf\u{e9}", "-", "...", ""] {
        assert_eq!(persist::clean_hostname(bad), None, "{bad:?}");
    }
    assert_eq!(persist::clean_hostname(&"a".repeat(300)), None);
    assert!(persist::clean_hostname(&"a".repeat(253)).is_some());
}

/// RFC 4702: a client that sends its FQDN (option 81) is known by it,
/// in either name form, before its option 12; an unreadable FQDN falls
/// back to option 12.
#[test]
fn client_fqdn_names_the_lease() {
    let t0 = Instant::now();
    let name_with = |fqdn: Option<dhcpv4::ClientFqdn>| {
        let mut s = Engine::new(cfg(100, 110), LeaseTable::new());
        let req = client_msg(1, MessageType::Request, |m| {
            m.options.requested_ip = Some(ip(100));
            m.options.client_fqdn = fqdn.clone();
        });
        answer(handle(&mut s, &req, t0));
        s.lease_names()
            .into_iter()
            .map(|n| n.name)
            .collect::<Vec<_>>()
    };
    let wire = dhcpv4::ClientFqdn {
        flags: 0x05,
        name: b"\x07desktop\x04home\x00".to_vec(),
    };
    assert_eq!(name_with(Some(wire)), vec!["desktop.home"]);
    let text = dhcpv4::ClientFqdn {
        flags: 0x01,
        name: b"Phone-2".to_vec(),
    };
    assert_eq!(name_with(Some(text)), vec!["Phone-2"]);
    let broken = dhcpv4::ClientFqdn {
        flags: 0x04,
        name: b"\x09short".to_vec(),
    };
    assert_eq!(name_with(Some(broken)), vec!["host1"]);
    assert_eq!(name_with(None), vec!["host1"]);
}

/// The ISP's NTP servers (WAN option 42) reach the LAN clients that ask
/// for option 42 in their parameter request list, and only those.
#[test]
fn the_isps_ntp_servers_are_passed_on_in_option_42() {
    let t0 = Instant::now();
    let mut s = Engine::new(cfg(100, 110), LeaseTable::new());
    let asks = |n| {
        client_msg(n, MessageType::Discover, |m| {
            m.options.parameter_list.push(dhcpv4::code::NTP_SERVERS)
        })
    };
    let (_, o) = answer(handle(&mut s, &asks(1), t0));
    assert!(
        o.options.ntp_servers.is_empty(),
        "nothing known, nothing sent"
    );
    let isp = [
        Ipv4Addr::new(192, 0, 2, 123),
        Ipv4Addr::new(198, 51, 100, 7),
    ];
    s.handle(Input::WanNtp(&isp), t0);
    assert_eq!(s.ntp(), isp);
    let (_, o) = answer(handle(&mut s, &asks(2), t0));
    assert_eq!(o.options.ntp_servers, isp);
    let inform = client_msg(3, MessageType::Inform, |m| {
        m.ciaddr = ip(50);
        m.options.parameter_list = vec![dhcpv4::code::NTP_SERVERS];
    });
    let (_, o) = answer(handle(&mut s, &inform, t0));
    assert_eq!(o.options.ntp_servers, isp, "INFORM gets it too");
    let (_, o) = answer(handle(
        &mut s,
        &client_msg(4, MessageType::Discover, |_| {}),
        t0,
    ));
    assert!(o.options.ntp_servers.is_empty(), "not asked for, not sent");
}
