//! The one domain-name type of every codec here: [`Name`], an RFC 1035 name
//! held in its uncompressed wire form, inline (no allocation, because the
//! DNS forwarder builds one per packet).
//!
//! The limits live here and nowhere else: a label holds 1 to 63 octets, a
//! name at most 255 octets in wire form, root label included (RFC 1035
//! 2.3.4); comparison ignores ASCII case (RFC 4343); the text form escapes
//! what a label may hold but text cannot show plainly (RFC 1035 5.1). How a
//! protocol stores names on the wire is the caller's choice of
//! [`Compression`]: DNS messages may compress (RFC 1035 4.1.4), DHCPv4's
//! search list only backwards (RFC 3397), DHCPv6 (RFC 8415 10) and ND's
//! DNSSL (RFC 8106 5.2) never.
//!
//! What a protocol allows beyond the limits stays with the protocol and is
//! a check on top of this type: [`crate::nd::DomainName`] (host-name
//! characters, not the root) and [`crate::dhcpv4::decode_domain_search`]
//! (printable ASCII). DNS ([`crate::dns::NameBuf`]) and DHCPv6
//! ([`crate::dhcpv6::DomainName`]) take [`Name`] as it is.

use std::fmt;
use std::hash::{Hash, Hasher};

/// Longest label (RFC 1035 2.3.4).
pub const MAX_LABEL_LEN: usize = 63;
/// Longest name in uncompressed wire form, root label included
/// (RFC 1035 2.3.4).
pub const MAX_NAME_LEN: usize = 255;
/// Bound on compression pointer hops where pointers may go forwards, so a
/// pointer loop ends in an error.
const MAX_POINTER_HOPS: usize = 64;

/// A domain name in uncompressed wire form (length-prefixed labels ending
/// with the root label), at most [`MAX_NAME_LEN`] octets, any octets in its
/// labels. Equality and hashing ignore ASCII case (RFC 4343);
/// [`Name::as_wire`] gives the exact octets.
#[derive(Clone)]
pub struct Name {
    len: u8,
    bytes: [u8; MAX_NAME_LEN],
}

/// Why a name was refused, from text or from the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameError {
    /// An empty label (`a..b`, a leading dot).
    EmptyLabel,
    /// A label over 63 octets.
    LabelTooLong,
    /// The name over 255 octets in wire form.
    NameTooLong,
    /// A `\` not followed by a character or by three digits up to 255.
    BadEscape,
    /// The data ends inside the name.
    Truncated,
    /// A length octet with the reserved prefixes 0b01/0b10 (RFC 6891 9).
    BadLabelType,
    /// A compression pointer where the format forbids them.
    Compressed,
    /// A compression pointer that does not point backwards where the format
    /// requires it.
    BadPointer,
    /// More than 64 pointer hops (a loop).
    PointerLoop,
    /// A label octet the format does not allow (checked by the protocol on
    /// top of the limits, e.g. DHCPv4's printable ASCII).
    BadCharacter,
}

impl NameError {
    /// Stable snake_case key, for drop counters.
    pub fn reason(&self) -> &'static str {
        match self {
            NameError::EmptyLabel => "empty_label",
            NameError::LabelTooLong => "label_too_long",
            NameError::NameTooLong => "name_too_long",
            NameError::BadEscape => "bad_escape",
            NameError::Truncated => "truncated",
            NameError::BadLabelType => "bad_label",
            NameError::Compressed => "compressed_name",
            NameError::BadPointer => "bad_pointer",
            NameError::PointerLoop => "pointer_loop",
            NameError::BadCharacter => "bad_character",
        }
    }
}

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NameError::EmptyLabel => "empty label in domain name",
            NameError::LabelTooLong => "domain label longer than 63 octets",
            NameError::NameTooLong => "domain name longer than 255 octets",
            NameError::BadEscape => "bad \\ escape in domain name",
            NameError::Truncated => "domain name truncated",
            NameError::BadLabelType => "reserved label type in domain name",
            NameError::Compressed => "compressed domain name where the format forbids it",
            NameError::BadPointer => "compression pointer that does not point backwards",
            NameError::PointerLoop => "compression pointer loop",
            NameError::BadCharacter => "domain label holds an octet the format does not allow",
        })
    }
}

impl std::error::Error for NameError {}

/// Which compression pointers (RFC 1035 4.1.4) a format allows in a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// None: DHCPv6 (RFC 8415 10), ND DNSSL (RFC 8106 5.2), a DNS question.
    Forbidden,
    /// Only to an earlier offset (RFC 3397's option 119), so no loop can
    /// form.
    Backward,
    /// Anywhere in the message (DNS records), at most 64 hops.
    Any,
}

impl Name {
    /// The root name `.`.
    pub fn root() -> Name {
        Name {
            len: 1,
            bytes: [0; MAX_NAME_LEN],
        }
    }

    /// Builds a name from its labels (root excluded), any octets allowed.
    pub fn from_labels<'a>(labels: impl IntoIterator<Item = &'a [u8]>) -> Result<Name, NameError> {
        let mut out = Name::root();
        let mut pos = 0usize;
        for label in labels {
            out.push_label(&mut pos, label)?;
        }
        out.finish(pos)
    }

    /// Builds from dotted text (`example.com` or `example.com.`; `` and `.`
    /// are the root). No escapes: configuration names are plain host names.
    pub fn from_dotted(text: &str) -> Result<Name, NameError> {
        let trimmed = text.strip_suffix('.').unwrap_or(text);
        if trimmed.is_empty() {
            return Ok(Name::root());
        }
        Name::from_labels(trimmed.split('.').map(str::as_bytes))
    }

    /// [`Name::from_dotted`] for callers that only ask whether the text is a
    /// name (the DNS forwarder's configured names).
    pub fn from_text(text: &str) -> Option<Name> {
        Name::from_dotted(text).ok()
    }

    /// Parses the text [`fmt::Display`] writes (RFC 1035 5.1 escapes: `\.`,
    /// `\\`, `\DDD`), so every name, whatever octets its labels hold, reads
    /// back as itself; plain dotted names read as with
    /// [`from_dotted`](Self::from_dotted). For names kept in text files.
    pub fn from_presentation(text: &str) -> Result<Name, NameError> {
        if text == "." {
            return Ok(Name::root());
        }
        let mut out = Name::root();
        let mut pos = 0usize;
        let mut label = [0u8; MAX_LABEL_LEN + 1];
        let mut used = 0usize;
        // Octets past the label bound only need to be counted: the label is
        // refused when it ends.
        let push = |label: &mut [u8], used: &mut usize, b: u8| {
            if let Some(slot) = label.get_mut(*used) {
                *slot = b;
            }
            *used = (*used + 1).min(MAX_LABEL_LEN + 1);
        };
        let mut chars = text.chars();
        let mut buf = [0u8; 4];
        let mut ended_with_dot = false;
        while let Some(c) = chars.next() {
            ended_with_dot = false;
            match c {
                '.' => {
                    out.push_label(&mut pos, label.get(..used).unwrap_or(&[]))?;
                    used = 0;
                    ended_with_dot = true;
                }
                '\\' => match chars.next().ok_or(NameError::BadEscape)? {
                    d if d.is_ascii_digit() => {
                        let mut n = d.to_digit(10).unwrap_or(0);
                        for _ in 0..2 {
                            let d = chars.next().and_then(|c| c.to_digit(10));
                            n = n * 10 + d.ok_or(NameError::BadEscape)?;
                        }
                        push(
                            &mut label,
                            &mut used,
                            u8::try_from(n).map_err(|_| NameError::BadEscape)?,
                        );
                    }
                    other => {
                        for &b in other.encode_utf8(&mut buf).as_bytes() {
                            push(&mut label, &mut used, b);
                        }
                    }
                },
                other => {
                    for &b in other.encode_utf8(&mut buf).as_bytes() {
                        push(&mut label, &mut used, b);
                    }
                }
            }
        }
        // A final unescaped dot is the root (`example.com.`); otherwise the
        // last label ends with the text, and an empty text is an empty label.
        if !ended_with_dot {
            out.push_label(&mut pos, label.get(..used).unwrap_or(&[]))?;
        }
        out.finish(pos)
    }

    /// Reads one name at `off` in `msg`, following compression pointers as
    /// `compression` allows; returns the name and the offset just after it
    /// at its original position (after the first pointer, if any).
    pub fn decode(
        msg: &[u8],
        off: usize,
        compression: Compression,
    ) -> Result<(Name, usize), NameError> {
        let mut out = Name::root();
        let mut pos = off;
        let mut end_after: Option<usize> = None;
        let mut hops = 0usize;
        let mut written = 0usize;
        loop {
            let len = *msg.get(pos).ok_or(NameError::Truncated)?;
            match len & 0xc0 {
                0x00 => {
                    let l = usize::from(len);
                    if written + 1 + l > MAX_NAME_LEN {
                        return Err(NameError::NameTooLong);
                    }
                    let label = msg.get(pos..pos + 1 + l).ok_or(NameError::Truncated)?;
                    out.bytes
                        .get_mut(written..written + 1 + l)
                        .ok_or(NameError::NameTooLong)?
                        .copy_from_slice(label);
                    written += 1 + l;
                    pos += 1 + l;
                    if l == 0 {
                        out.len = written as u8;
                        return Ok((out, end_after.unwrap_or(pos)));
                    }
                }
                0xc0 => {
                    let low = *msg.get(pos + 1).ok_or(NameError::Truncated)?;
                    let target = usize::from(len & 0x3f) << 8 | usize::from(low);
                    match compression {
                        Compression::Forbidden => return Err(NameError::Compressed),
                        Compression::Backward if target >= pos => {
                            return Err(NameError::BadPointer);
                        }
                        Compression::Backward => {}
                        Compression::Any => {
                            hops += 1;
                            if hops > MAX_POINTER_HOPS {
                                return Err(NameError::PointerLoop);
                            }
                        }
                    }
                    end_after.get_or_insert(pos + 2);
                    pos = target;
                }
                _ => return Err(NameError::BadLabelType),
            }
        }
    }

    /// Wire octets (labels with length prefixes, ending with the root label).
    pub fn as_wire(&self) -> &[u8] {
        self.bytes.get(..usize::from(self.len)).unwrap_or(&[])
    }

    /// Octets of the uncompressed wire form, root label included.
    pub fn wire_len(&self) -> usize {
        usize::from(self.len)
    }

    /// Appends the uncompressed wire form.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.as_wire());
    }

    /// Whether this is the root name.
    pub fn is_root(&self) -> bool {
        self.len == 1
    }

    /// Labels from left to right, without length prefixes, root excluded.
    pub fn labels(&self) -> LabelIter<'_> {
        LabelIter {
            wire: self.as_wire(),
        }
    }

    /// Copy with ASCII letters lowered, for case-insensitive keys (RFC 4343).
    pub fn to_lowercase(&self) -> Name {
        let mut out = self.clone();
        out.bytes.make_ascii_lowercase();
        out
    }

    /// Whether this name equals `suffix` or ends with it at a label
    /// boundary, ignoring ASCII case.
    pub fn is_subdomain_of(&self, suffix: &Name) -> bool {
        let mut rest = self.as_wire();
        loop {
            if rest.eq_ignore_ascii_case(suffix.as_wire()) {
                return true;
            }
            match rest.split_first() {
                Some((&l, tail)) if l != 0 => rest = tail.get(usize::from(l)..).unwrap_or(&[]),
                _ => return false,
            }
        }
    }

    /// Appends one label at `*pos` (the root is written by `finish`).
    fn push_label(&mut self, pos: &mut usize, label: &[u8]) -> Result<(), NameError> {
        if label.is_empty() {
            return Err(NameError::EmptyLabel);
        }
        if label.len() > MAX_LABEL_LEN {
            return Err(NameError::LabelTooLong);
        }
        let end = *pos + 1 + label.len();
        // Room for the root label after this one.
        if end + 1 > MAX_NAME_LEN {
            return Err(NameError::NameTooLong);
        }
        *self.bytes.get_mut(*pos).ok_or(NameError::NameTooLong)? = label.len() as u8;
        self.bytes
            .get_mut(*pos + 1..end)
            .ok_or(NameError::NameTooLong)?
            .copy_from_slice(label);
        *pos = end;
        Ok(())
    }

    /// Writes the root label at `pos` and sets the length.
    fn finish(mut self, pos: usize) -> Result<Name, NameError> {
        *self.bytes.get_mut(pos).ok_or(NameError::NameTooLong)? = 0;
        self.len = u8::try_from(pos + 1).map_err(|_| NameError::NameTooLong)?;
        Ok(self)
    }
}

impl PartialEq for Name {
    /// RFC 4343: names that differ only in ASCII case are the same name.
    fn eq(&self, other: &Name) -> bool {
        self.as_wire().eq_ignore_ascii_case(other.as_wire())
    }
}

impl Eq for Name {}

impl Hash for Name {
    fn hash<H: Hasher>(&self, state: &mut H) {
        for b in self.as_wire() {
            state.write_u8(b.to_ascii_lowercase());
        }
    }
}

impl fmt::Display for Name {
    /// Presentation form (RFC 1035 5.1) without the final dot, `.` for the
    /// root: `\.` and `\\` for a dot or backslash inside a label, `\DDD` for
    /// octets that are not printable ASCII, so a hostile name cannot inject
    /// control characters into a log line, and every name reads back with
    /// [`Name::from_presentation`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut any = false;
        for label in self.labels() {
            if any {
                f.write_str(".")?;
            }
            any = true;
            for &b in label {
                match b {
                    b'.' | b'\\' => write!(f, "\\{}", b as char)?,
                    0x21..=0x7e => write!(f, "{}", b as char)?,
                    _ => write!(f, "\\{b:03}")?,
                }
            }
        }
        if !any {
            f.write_str(".")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Name({self})")
    }
}

/// Iterator over the labels of a wire name.
pub struct LabelIter<'a> {
    wire: &'a [u8],
}

impl<'a> Iterator for LabelIter<'a> {
    type Item = &'a [u8];
    fn next(&mut self) -> Option<&'a [u8]> {
        let (&l, rest) = self.wire.split_first()?;
        if l == 0 {
            return None;
        }
        let label = rest.get(..usize::from(l))?;
        self.wire = rest.get(usize::from(l)..)?;
        Some(label)
    }
}

#[cfg(test)]
mod tests;
