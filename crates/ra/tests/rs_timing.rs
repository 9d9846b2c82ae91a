//! Property: whatever the timing of Router Solicitations, every valid RS is
//! answered by a multicast RA within MIN_DELAY_BETWEEN_RAS + MAX_RA_DELAY_TIME
//! (RFC 4861 6.2.6), and no two multicast RAs are closer than
//! MIN_DELAY_BETWEEN_RAS.

use std::net::Ipv6Addr;
use std::time::{Duration, Instant};

use cpe_daemon::Engine as _;
use cpe_daemon::engine::drive::drain;
use cpe_ra::config::{MAX_RA_DELAY_TIME, MIN_DELAY_BETWEEN_RAS};
use cpe_ra::{Action, Engine, Input, RaConfig, Received};
use cpe_wire::nd::{NdOption, RouterSolicitation};
use proptest::prelude::*;

fn sends(actions: &[Action]) -> usize {
    actions
        .iter()
        .filter(|a| matches!(a, Action::SendRa { .. }))
        .count()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn every_rs_answered_in_time_and_ras_rate_limited(
        seed in any::<u64>(),
        gaps_ms in prop::collection::vec(0u64..8000, 1..60),
    ) {
        let t0 = Instant::now();
        let mut engine = Engine::new(RaConfig::default(), &[], seed, t0);
        let rs = RouterSolicitation {
            options: vec![NdOption::SourceLinkLayerAddress(vec![2, 0, 0, 0, 0, 7])],
        }
        .to_bytes()
        .unwrap_or_default();
        let source: Ipv6Addr = "fe80::7".parse().unwrap_or(Ipv6Addr::UNSPECIFIED);
        let mut ra_times = Vec::new();
        let mut rs_times = Vec::new();
        let mut now = t0;
        // `None` is time passing (the engine's own deadline).
        let step = |engine: &mut Engine, input: Option<Input<'_>>, at: Instant, ra_times: &mut Vec<Instant>| {
            match input {
                Some(input) => engine.handle(input, at),
                None => engine.handle_timeout(at),
            }
            for _ in 0..sends(&drain(engine)) {
                ra_times.push(at);
            }
        };
        for gap in gaps_ms {
            let next_rs = now + Duration::from_millis(gap);
            // Run every timer due before the next RS.
            while let Some(d) = engine.poll_timeout().filter(|d| *d <= next_rs) {
                step(&mut engine, None, d, &mut ra_times);
            }
            now = next_rs;
            rs_times.push(now);
            let input = Input::Received(Received { source, hop_limit: Some(255), message: &rs });
            step(&mut engine, Some(input), now, &mut ra_times);
        }
        let end = now + Duration::from_secs(10);
        while let Some(d) = engine.poll_timeout().filter(|d| *d <= end) {
            step(&mut engine, None, d, &mut ra_times);
        }
        for w in ra_times.windows(2) {
            prop_assert!(w[1] - w[0] >= MIN_DELAY_BETWEEN_RAS, "RAs {:?} apart", w[1] - w[0]);
        }
        for rs_at in rs_times {
            let answered = ra_times
                .iter()
                .any(|ra| *ra >= rs_at && *ra - rs_at <= MIN_DELAY_BETWEEN_RAS + MAX_RA_DELAY_TIME);
            prop_assert!(answered, "RS at +{:?} unanswered", rs_at - t0);
        }
        prop_assert_eq!(engine.counters().rs_answered, engine.counters().rs_received);
    }
}
