//! Arbitrary bytes into `parse_str`: it must never panic, and whatever it
//! reports must be well-formed (1-based positions inside the text, one line
//! per diagnostic, errors only on failure), and a loaded config survives
//! a render/load round trip.
#![no_main]

use cpe_config::{Severity, parse_str};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Valid UTF-8 as is; anything else through lossy decoding, so invalid
    // bytes still exercise the parser as U+FFFD.
    let text = String::from_utf8_lossy(data);
    let lines = text.split('\n').count();
    match parse_str(&text, "fuzz.toml") {
        Ok(loaded) => {
            for w in &loaded.warnings {
                assert_eq!(w.severity, Severity::Warning);
                check(w, lines);
            }
            // The effective config, rendered and loaded again, is the same
            // config (what `cpectl` shows is what runs).
            let rendered = cpe_config::to_toml(&loaded.config);
            match parse_str(&rendered, "fuzz.toml") {
                Ok(again) => assert_eq!(again.config, loaded.config, "{rendered}"),
                Err(diags) => panic!("rendered config rejected: {diags}\n{rendered}"),
            }
        }
        Err(diags) => {
            assert!(diags.has_errors(), "rejected without an error");
            let mut previous = (0, 0);
            for d in &diags.0 {
                check(d, lines);
                assert!((d.line, d.col) >= previous, "not sorted");
                previous = (d.line, d.col);
            }
        }
    }
});

fn check(d: &cpe_config::Diagnostic, lines: usize) {
    assert!(d.line >= 1 && d.col >= 1, "{d:?}");
    assert!(d.line <= lines, "line {} past the end ({lines})", d.line);
    assert!(!d.to_string().contains('\n'), "multi-line diagnostic");
}
