//! "Did you mean" hints for misspelt keys and values.

use crate::schema::{self, TableSchema};

/// Edit distance with adjacent transpositions (optimal string alignment:
/// insert, delete, substitute, swap two neighbours; case-insensitive), on
/// characters, so "dsn" is one edit from "dns".
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().flat_map(char::to_lowercase).collect();
    let b: Vec<char> = b.chars().flat_map(char::to_lowercase).collect();
    // Three rolling rows: two back (for transpositions), previous, current.
    let mut before: Vec<usize> = vec![0; b.len() + 1];
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current: Vec<usize> = vec![0; b.len() + 1];
    for i in 1..=a.len() {
        current[0] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (previous[j - 1] + cost)
                .min(previous[j] + 1)
                .min(current[j - 1] + 1);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(before[j - 2] + 1);
            }
            current[j] = best;
        }
        std::mem::swap(&mut before, &mut previous);
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

/// The candidate closest to `word`, if it is close enough to be a plausible
/// typo: within a third of the candidate's length in edits (at least 1), or
/// an abbreviation or extension of it ("sec" -> "second", "warning" ->
/// "warn"). Ties go to the first candidate.
pub(crate) fn closest<'c>(word: &str, candidates: &[&'c str]) -> Option<&'c str> {
    // Anything much longer than every key is not a typo of one; skip the
    // quadratic work for hostile input.
    if word.chars().count() > 64 {
        return None;
    }
    let lowered = word.to_lowercase();
    let by_edits = candidates
        .iter()
        .map(|c| (edit_distance(&lowered, c), *c))
        .filter(|(d, c)| *d <= (c.chars().count() / 3).max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c);
    by_edits.or_else(|| {
        candidates.iter().copied().find(|c| {
            let shorter = lowered.len().min(c.len());
            shorter >= 3 && (c.starts_with(lowered.as_str()) || lowered.starts_with(c))
        })
    })
}

/// The hint for an unknown key in `table`: a near miss among its own keys,
/// else the table where a key of exactly that name lives (a key written
/// under the wrong header), else the list of valid keys.
pub(crate) fn unknown_key_hint(key: &str, table: &TableSchema) -> String {
    if let Some(best) = closest(key, table.keys) {
        return format!("did you mean \"{best}\"?");
    }
    let elsewhere: Vec<&str> = schema::tables_with_key(key)
        .filter(|t| t.path != table.path)
        .map(|t| t.header)
        .collect();
    if !elsewhere.is_empty() {
        return format!(
            "did you mean to put it in {}? valid keys here: {}",
            elsewhere.join(" or "),
            table.keys.join(", ")
        );
    }
    format!("valid keys here: {}", table.keys.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        assert_eq!(edit_distance("", ""), 0);
        assert_eq!(edit_distance("mtu", "mtu"), 0);
        assert_eq!(edit_distance("mtx", "mtu"), 1);
        assert_eq!(edit_distance("min_intreval", "min_interval"), 1);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("abc", ""), 3);
        assert_eq!(edit_distance("MTU", "mtu"), 0);
        assert_eq!(edit_distance("dsn", "dns"), 1);
        assert_eq!(edit_distance("ab", "ba"), 1);
    }

    #[test]
    fn closest_picks_plausible_typos_only() {
        let keys = ["min_interval", "max_interval", "mtu"];
        assert_eq!(closest("min_intreval", &keys), Some("min_interval"));
        assert_eq!(closest("mtx", &keys), Some("mtu"));
        assert_eq!(closest("zzzzzz", &keys), None);
        assert_eq!(closest("warning", &["error", "warn", "info"]), Some("warn"));
        assert_eq!(closest("sec", &["second", "minute"]), Some("second"));
        assert_eq!(closest("m", &["mtu"]), None);
    }

    #[test]
    fn hint_points_at_other_table() {
        let hint = unknown_key_hint("prefix_hint", &schema::LAN);
        assert!(hint.contains("[wan.dhcpv6]"), "{hint}");
    }
}
