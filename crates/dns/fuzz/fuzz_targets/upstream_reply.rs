//! Upstream reply handling: a client asks "example.com A", the fuzzer's
//! bytes arrive as the reply on the right socket from the right address
//! (with the right ID patched in, so acceptance rules and record walking are
//! reached), over UDP or TCP; then the same question is asked again to run
//! the cache hit path (TTL rewriting, truncation) on whatever was stored.
#![no_main]

use cpe_daemon::Engine as _;
use cpe_daemon::engine::drive::drain;
use cpe_dns::config::ForwarderConfig;
use cpe_dns::engine::{Action, Forwarder, Input};
use cpe_dns::message::upstream_query;
use cpe_wire::dns::{NameBuf, Rtype};
use libfuzzer_sys::fuzz_target;
use std::time::{Duration, Instant};

fuzz_target!(|data: &[u8]| {
    let Some((&mode, reply)) = data.split_first() else { return };
    let t0 = Instant::now();
    let mut fw = Forwarder::new(ForwarderConfig::default(), [2; 32], t0);
    let up = "192.0.2.53:53".parse().unwrap();
    let mut out = Vec::new();
    fw.handle(Input::UpstreamsChanged(&[up]), t0);
    out.extend(drain(&mut fw));
    let name = NameBuf::from_text("example.com").unwrap();
    let mut query = upstream_query(0x4242, &name, Rtype::A, 1, false, false);
    query.truncate(query.len() - 11);
    query[11] = 0; // no OPT: the client limit is 512
    let local = "192.168.1.1".parse().unwrap();
    let peer = "192.168.1.50:5353".parse().unwrap();
    fw.handle(Input::ClientUdp { peer, local, iface: 3, data: &query }, t0);
    out.extend(drain(&mut fw));
    let sent = out.iter().find_map(|a| match a {
        Action::SendUpstreamUdp { sock, data, .. } => Some((*sock, data.clone())),
        _ => None,
    });
    let Some((sock, upq)) = sent else { return };
    let mut reply = reply.to_vec();
    if mode & 2 == 0 && reply.len() >= 2 {
        reply[..2].copy_from_slice(&upq[..2]);
    }
    let now = t0 + Duration::from_millis(5);
    out.clear();
    fw.handle(Input::UpstreamUdp { sock, from: up, data: &reply }, now);
    out.extend(drain(&mut fw));
    if mode & 1 == 1 {
        let tcp = out.iter().find_map(|a| match a {
            Action::OpenUpstreamTcp { sock, data, .. } => Some((*sock, data.clone())),
            _ => None,
        });
        if let Some((tsock, tq)) = tcp {
            if reply.len() >= 2 {
                reply[..2].copy_from_slice(&tq[..2]);
            }
            fw.handle(Input::UpstreamTcp { sock: tsock, data: &reply }, now);
            out.extend(drain(&mut fw));
        }
    }
    fw.handle(Input::ClientUdp { peer, local, iface: 3, data: &query }, t0 + Duration::from_secs(30));
    out.extend(drain(&mut fw));
    for a in &out {
        if let Action::SendClientUdp { data, .. } = a {
            assert!(data.len() <= 512, "UDP answer of {} bytes to a plain client", data.len());
        }
    }
    fw.handle_timeout(t0 + Duration::from_secs(60));
    out.extend(drain(&mut fw));
});
