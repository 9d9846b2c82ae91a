//! Walking the spanned TOML tree: typed getters that record a diagnostic at
//! the exact key or value instead of stopping at the first problem.

use std::ops::{Range, RangeInclusive};
use std::path::Path;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::diagnostic::{Diagnostic, Severity};
use crate::position::LineIndex;
use crate::schema::TableSchema;
use crate::suggest;

/// Byte range in the source.
pub(crate) type Span = Range<usize>;
/// A value of the parsed document with its position.
pub(crate) type Node<'i> = Spanned<DeValue<'i>>;

/// A problem found while interpreting one value, before it is placed.
pub(crate) struct Problem {
    pub message: String,
    pub hint: Option<String>,
}

impl Problem {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            hint: None,
        }
    }

    pub(crate) fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

/// Collects findings for one load.
pub(crate) struct Ctx<'s> {
    file: &'s str,
    /// Directory relative paths in the file (password_file) are taken from.
    pub base_dir: &'s Path,
    findings: Vec<(usize, Severity, Problem)>,
}

impl<'s> Ctx<'s> {
    pub(crate) fn new(file: &'s str, base_dir: &'s Path) -> Self {
        Self {
            file,
            base_dir,
            findings: Vec::new(),
        }
    }

    /// Records an error at the start of `span`.
    pub(crate) fn error(&mut self, span: &Span, problem: Problem) {
        self.findings.push((span.start, Severity::Error, problem));
    }

    /// Records a warning at the start of `span`.
    pub(crate) fn warning(&mut self, span: &Span, problem: Problem) {
        self.findings.push((span.start, Severity::Warning, problem));
    }

    pub(crate) fn has_errors(&self) -> bool {
        self.findings.iter().any(|f| f.1 == Severity::Error)
    }

    /// The findings as diagnostics, sorted by position (stable, so findings
    /// at one position keep the order they were found in).
    pub(crate) fn into_diagnostics(self, source: &str) -> Vec<Diagnostic> {
        let lines = LineIndex::new(source);
        let mut findings = self.findings;
        findings.sort_by_key(|f| f.0);
        findings
            .into_iter()
            .map(|(offset, severity, problem)| {
                let (line, col) = lines.line_col(offset);
                Diagnostic {
                    file: self.file.to_owned(),
                    line,
                    col,
                    severity,
                    message: problem.message,
                    hint: problem.hint,
                }
            })
            .collect()
    }
}

/// The outcome of reading one key.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Field<T> {
    /// The key is not in the file: the caller's default applies.
    Absent,
    /// The key is there but unusable; a diagnostic was recorded. Checks that
    /// combine fields skip it so one mistake gives one message.
    Bad,
    /// A valid value and where it is.
    Set(T, Span),
}

impl<T> Field<T> {
    /// The value, or `default` when absent or bad.
    pub(crate) fn or(self, default: T) -> T {
        match self {
            Field::Set(value, _) => value,
            Field::Absent | Field::Bad => default,
        }
    }

    /// The value, or a default computed only when needed.
    pub(crate) fn or_else(self, default: impl FnOnce() -> T) -> T {
        match self {
            Field::Set(value, _) => value,
            Field::Absent | Field::Bad => default(),
        }
    }

    pub(crate) fn is_bad(&self) -> bool {
        matches!(self, Field::Bad)
    }

    /// Where the value is, if it was given.
    pub(crate) fn span(&self) -> Option<&Span> {
        match self {
            Field::Set(_, span) => Some(span),
            Field::Absent | Field::Bad => None,
        }
    }

    pub(crate) fn value(&self) -> Option<&T> {
        match self {
            Field::Set(value, _) => Some(value),
            Field::Absent | Field::Bad => None,
        }
    }

    pub(crate) fn map<U>(self, f: impl FnOnce(T) -> U) -> Field<U> {
        match self {
            Field::Set(value, span) => Field::Set(f(value), span),
            Field::Absent => Field::Absent,
            Field::Bad => Field::Bad,
        }
    }
}

/// Short, escaped rendering of a user-supplied string for messages: quotes,
/// escapes control characters, and cuts hostile lengths.
pub(crate) fn quoted(text: &str) -> String {
    const MAX: usize = 64;
    if text.chars().count() > MAX {
        let cut: String = text.chars().take(MAX).collect();
        format!("{:?}...", cut)
    } else {
        format!("{text:?}")
    }
}

/// TOML type names as users know them.
pub(crate) fn type_name(value: &DeValue<'_>) -> &'static str {
    match value {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a date-time",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

/// Records "expected X, found Y" at the value.
pub(crate) fn wrong_type(ctx: &mut Ctx<'_>, node: &Node<'_>, what: &str, expected: &str) {
    ctx.error(
        &node.span(),
        Problem::new(format!(
            "{what}: expected {expected}, found {}",
            type_name(node.get_ref())
        )),
    );
}

/// The integer value of a TOML integer, if it fits an i128.
pub(crate) fn integer_value(node: &Node<'_>) -> Option<i128> {
    match node.get_ref() {
        DeValue::Integer(int) => i128::from_str_radix(int.as_str(), int.radix()).ok(),
        _ => None,
    }
}

/// One TOML table checked against its schema.
pub(crate) struct Table<'a, 'i> {
    entries: &'a DeTable<'i>,
    /// The header (or the inline table, or the dotted key that created it).
    pub span: Span,
    pub schema: &'static TableSchema,
}

impl<'a, 'i> Table<'a, 'i> {
    /// Checks that `node` is a table and that every key in it is known
    /// (unknown keys are reported with a hint). `None` if it is not a table.
    pub(crate) fn open(
        ctx: &mut Ctx<'_>,
        node: &'a Node<'i>,
        schema: &'static TableSchema,
    ) -> Option<Self> {
        let DeValue::Table(entries) = node.get_ref() else {
            let problem = match entry_form(schema) {
                Some(form) => Problem::new(format!(
                    "each {} entry must be a table, found {}",
                    schema.path,
                    type_name(node.get_ref())
                ))
                .hint(format!("write each entry as {form}")),
                None => Problem::new(format!(
                    "{} must be a table, found {}",
                    display_path(schema),
                    type_name(node.get_ref())
                ))
                .hint(format!("write {} as a table header", schema.header)),
            };
            ctx.error(&node.span(), problem);
            return None;
        };
        let table = Self::from_entries(entries, node.span(), schema);
        table.report_unknown_keys(ctx);
        Some(table)
    }

    /// Wraps the document root.
    pub(crate) fn from_entries(
        entries: &'a DeTable<'i>,
        span: Span,
        schema: &'static TableSchema,
    ) -> Self {
        Self {
            entries,
            span,
            schema,
        }
    }

    pub(crate) fn report_unknown_keys(&self, ctx: &mut Ctx<'_>) {
        for key in self.entries.keys() {
            let name: &str = key.get_ref();
            if !self.schema.keys.contains(&name) {
                let place = if self.schema.path.is_empty() {
                    "at the top level".to_owned()
                } else {
                    format!("in {}", self.schema.header)
                };
                ctx.error(
                    &key.span(),
                    Problem::new(format!("unknown key {} {place}", quoted(name)))
                        .hint(suggest::unknown_key_hint(name, self.schema)),
                );
            }
        }
    }

    /// Whether an unknown key of this table would be suggested as `key`.
    pub(crate) fn has_misspelling_of(&self, key: &str) -> bool {
        self.entries.keys().any(|k| {
            let name: &str = k.get_ref();
            !self.schema.keys.contains(&name)
                && suggest::closest(name, self.schema.keys) == Some(key)
        })
    }

    /// The raw value of a key.
    pub(crate) fn get(&self, key: &str) -> Option<&'a Node<'i>> {
        self.entries.get(key)
    }

    /// The position of a key's name (falls back to the value's).
    pub(crate) fn key_span(&self, key: &str) -> Option<Span> {
        self.entries.get_key_value(key).map(|(k, _)| k.span())
    }

    /// `table.key` for messages.
    pub(crate) fn name(&self, key: &str) -> String {
        if self.schema.path.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.schema.path)
        }
    }

    pub(crate) fn bool(&self, ctx: &mut Ctx<'_>, key: &str) -> Field<bool> {
        let Some(node) = self.get(key) else {
            return Field::Absent;
        };
        match node.get_ref() {
            DeValue::Boolean(b) => Field::Set(*b, node.span()),
            _ => {
                wrong_type(ctx, node, &self.name(key), "true or false");
                Field::Bad
            }
        }
    }

    /// An integer within `range`; `unit` is named in the range message.
    pub(crate) fn int(
        &self,
        ctx: &mut Ctx<'_>,
        key: &str,
        range: RangeInclusive<i128>,
        unit: &str,
    ) -> Field<i128> {
        let Some(node) = self.get(key) else {
            return Field::Absent;
        };
        if !matches!(node.get_ref(), DeValue::Integer(_)) {
            wrong_type(ctx, node, &self.name(key), "an integer");
            return Field::Bad;
        }
        match integer_value(node) {
            Some(value) if range.contains(&value) => Field::Set(value, node.span()),
            _ => {
                let shown = match integer_value(node) {
                    Some(v) => v.to_string(),
                    None => "the value".to_owned(),
                };
                ctx.error(
                    &node.span(),
                    Problem::new(format!(
                        "{} = {shown} is out of range: must be {}..={}{unit}",
                        self.name(key),
                        range.start(),
                        range.end()
                    )),
                );
                Field::Bad
            }
        }
    }

    /// `int` narrowed to u32 (the range must lie within u32).
    pub(crate) fn u32(
        &self,
        ctx: &mut Ctx<'_>,
        key: &str,
        range: RangeInclusive<u32>,
        unit: &str,
    ) -> Field<u32> {
        let wide = i128::from(*range.start())..=i128::from(*range.end());
        match self.int(ctx, key, wide, unit) {
            Field::Set(v, span) => match u32::try_from(v) {
                Ok(v) => Field::Set(v, span),
                Err(_) => Field::Bad,
            },
            Field::Absent => Field::Absent,
            Field::Bad => Field::Bad,
        }
    }

    pub(crate) fn string(&self, ctx: &mut Ctx<'_>, key: &str) -> Field<&'a str> {
        let Some(node) = self.get(key) else {
            return Field::Absent;
        };
        match node.get_ref() {
            DeValue::String(s) => Field::Set(s.as_ref(), node.span()),
            _ => {
                wrong_type(ctx, node, &self.name(key), "a string");
                Field::Bad
            }
        }
    }

    /// A string interpreted by `parse`; its problem is placed at the value.
    pub(crate) fn parsed<T>(
        &self,
        ctx: &mut Ctx<'_>,
        key: &str,
        parse: impl FnOnce(&str) -> Result<T, Problem>,
    ) -> Field<T> {
        match self.string(ctx, key) {
            Field::Set(text, span) => match parse(text) {
                Ok(value) => Field::Set(value, span),
                Err(problem) => {
                    ctx.error(&span, prefixed(&self.name(key), problem));
                    Field::Bad
                }
            },
            Field::Absent => Field::Absent,
            Field::Bad => Field::Bad,
        }
    }

    /// One of a fixed set of words; a near miss gets a hint.
    pub(crate) fn choice<T: Copy>(
        &self,
        ctx: &mut Ctx<'_>,
        key: &str,
        options: &[(&'static str, T)],
    ) -> Field<T> {
        self.parsed(ctx, key, |text| choose(text, options))
    }

    /// An array of strings, each interpreted by `parse`; every bad element is
    /// reported at its own position. Items come with their spans.
    pub(crate) fn list<T>(
        &self,
        ctx: &mut Ctx<'_>,
        key: &str,
        mut parse: impl FnMut(&str) -> Result<T, Problem>,
    ) -> Field<Vec<(T, Span)>> {
        let Some(node) = self.get(key) else {
            return Field::Absent;
        };
        let DeValue::Array(items) = node.get_ref() else {
            wrong_type(ctx, node, &self.name(key), "an array of strings");
            return Field::Bad;
        };
        let mut out = Vec::with_capacity(items.len());
        let mut bad = false;
        for item in items.iter() {
            match item.get_ref() {
                DeValue::String(text) => match parse(text) {
                    Ok(value) => out.push((value, item.span())),
                    Err(problem) => {
                        ctx.error(&item.span(), prefixed(&self.name(key), problem));
                        bad = true;
                    }
                },
                _ => {
                    wrong_type(ctx, item, &format!("{} entry", self.name(key)), "a string");
                    bad = true;
                }
            }
        }
        if bad {
            Field::Bad
        } else {
            Field::Set(out, node.span())
        }
    }
}

/// `key: message`, so every message names the key it is about.
fn prefixed(name: &str, problem: Problem) -> Problem {
    Problem {
        message: format!("{name}: {}", problem.message),
        hint: problem.hint,
    }
}

/// Matches `text` against fixed words.
pub(crate) fn choose<T: Copy>(text: &str, options: &[(&'static str, T)]) -> Result<T, Problem> {
    if let Some((_, value)) = options.iter().find(|(word, _)| *word == text) {
        return Ok(*value);
    }
    let words: Vec<&str> = options.iter().map(|(w, _)| *w).collect();
    let expected = words
        .iter()
        .map(|w| format!("\"{w}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let problem = Problem::new(format!("{} is not one of {expected}", quoted(text)));
    Err(match suggest::closest(text, &words) {
        Some(best) => problem.hint(format!("did you mean \"{best}\"?")),
        None => problem,
    })
}

/// How one entry of an array of tables is written, for hints.
fn entry_form(schema: &TableSchema) -> Option<&'static str> {
    match schema.path {
        "lan" => Some("[[lan]]"),
        "firewall.pinhole" => Some("[[firewall.pinhole]]"),
        "dns.hosts" => Some("{ name = \"nas\", addresses = [\"192.168.1.10\"] }"),
        _ => None,
    }
}

fn display_path(schema: &TableSchema) -> &'static str {
    if schema.path.is_empty() {
        "the document"
    } else {
        schema.path
    }
}
