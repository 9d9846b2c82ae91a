//! Byte offsets (what the TOML parser gives) to 1-based line:column (what
//! people read). Columns count characters so that a UTF-8 comment earlier on
//! the line does not shift the caret.

/// Start offsets of every line of a source text.
pub(crate) struct LineIndex<'s> {
    source: &'s str,
    line_starts: Vec<usize>,
}

impl<'s> LineIndex<'s> {
    /// Indexes `source` once; lookups are then a binary search.
    pub(crate) fn new(source: &'s str) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(
            source
                .bytes()
                .enumerate()
                .filter(|(_, b)| *b == b'\n')
                .map(|(i, _)| i + 1),
        );
        Self {
            source,
            line_starts,
        }
    }

    /// 1-based (line, column) of a byte offset. Offsets past the end clamp to
    /// the end; offsets inside a multi-byte character count that character.
    pub(crate) fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.source.len());
        let line = match self.line_starts.binary_search(&offset) {
            Ok(exact) => exact,
            Err(next) => next.saturating_sub(1),
        };
        let start = self.line_starts.get(line).copied().unwrap_or(0);
        let text = self.source.as_bytes().get(start..offset).unwrap_or(&[]);
        // Count characters as the number of non-continuation bytes.
        let col = text.iter().filter(|b| (**b & 0xC0) != 0x80).count();
        (line + 1, col + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_char_is_one_one() {
        assert_eq!(LineIndex::new("abc").line_col(0), (1, 1));
    }

    #[test]
    fn counts_lines_and_chars() {
        let idx = LineIndex::new("a\n# é ü\nkey = 1\n");
        assert_eq!(idx.line_col(2), (2, 1));
        // "# é ü\n" is 8 bytes; "key" starts at byte 10.
        assert_eq!(idx.line_col(10), (3, 1));
        assert_eq!(idx.line_col(16), (3, 7));
        // after the two-byte é: column 4 ("# é" is 3 characters)
        assert_eq!(idx.line_col(6), (2, 4));
    }

    #[test]
    fn clamps_past_end() {
        let idx = LineIndex::new("ab\n");
        assert_eq!(idx.line_col(999), (2, 1));
    }

    #[test]
    fn empty_source() {
        assert_eq!(LineIndex::new("").line_col(0), (1, 1));
    }
}
