//! Reading a daemon's status object back from JSON, for the console.
//!
//! Daemons write their status with serde's `Serialize`; the console reads
//! it back with [`FromJson`] instead of serde's `Deserialize`. The reason is
//! flash: derived `Deserialize` impls for the ~45 status structs cost about
//! 140 KB of the aarch64 binary (a field-name visitor, a sequence and a map
//! visitor, and duplicate/missing-field errors per struct, all monomorphized
//! for `&Value`), while one small function per struct that looks its fields
//! up by name costs a fraction of that (docs/dependencies.md has the
//! figures).
//!
//! The rules are those the console needs to show whatever it gets:
//! - a field that is missing, `null` or of another type takes its default
//!   (a status from an older or newer build still shows, a missing value as
//!   `-`);
//! - an element of a list that does not read is left out;
//! - only a value of another shape altogether (not an object where a struct
//!   is expected) reads as `None`.
//!
//! [`from_json!`](crate::from_json) writes the impl for a struct from its
//! field names; it builds the struct with a literal, so a field added to the
//! struct and not to the list is a compile error, never a silent default.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::Ipv6Net;
use serde_json::{Map, Value};

/// A type the console can read from a status object.
pub trait FromJson: Sized {
    /// `v` as this type, `None` when it is of another shape.
    fn from_json(v: &Value) -> Option<Self>;
}

/// Field `key` of object `o`, or its default when missing or unreadable.
pub fn field<T: FromJson + Default>(o: &Map<String, Value>, key: &str) -> T {
    o.get(key).and_then(T::from_json).unwrap_or_default()
}

/// Reads a status object: `T` from `v`.
pub fn read<T: FromJson>(v: &Value) -> Option<T> {
    T::from_json(v)
}

/// Implements [`FromJson`] for structs whose fields all have defaults:
/// `from_json! { Name { field_a, field_b } Other { x } }`. Field names are
/// the JSON keys (no renames).
#[macro_export]
macro_rules! from_json {
    ($($t:ident { $($f:ident),* $(,)? })*) => {$(
        impl $crate::status::json::FromJson for $t {
            fn from_json(v: &serde_json::Value) -> Option<Self> {
                let o = v.as_object()?;
                Some($t { $($f: $crate::status::json::field(o, stringify!($f)),)* })
            }
        }
    )*};
}

/// Implements [`FromJson`] for an enum of unit variants written as strings:
/// `from_json_enum! { Kind { Full = "full", Sets = "sets" } }`.
#[macro_export]
macro_rules! from_json_enum {
    ($t:ident { $($v:ident = $s:literal),* $(,)? }) => {
        impl $crate::status::json::FromJson for $t {
            fn from_json(v: &serde_json::Value) -> Option<Self> {
                match v.as_str()? {
                    $($s => Some($t::$v),)*
                    _ => None,
                }
            }
        }
    };
}

impl FromJson for String {
    fn from_json(v: &Value) -> Option<Self> {
        v.as_str().map(str::to_owned)
    }
}

impl FromJson for bool {
    fn from_json(v: &Value) -> Option<Self> {
        v.as_bool()
    }
}

impl FromJson for u64 {
    fn from_json(v: &Value) -> Option<Self> {
        v.as_u64()
    }
}

impl FromJson for f64 {
    fn from_json(v: &Value) -> Option<Self> {
        v.as_f64()
    }
}

/// Narrower unsigned integers: out of range reads as unreadable.
macro_rules! narrow {
    ($($t:ty),*) => {$(
        impl FromJson for $t {
            fn from_json(v: &Value) -> Option<Self> {
                v.as_u64().and_then(|n| <$t>::try_from(n).ok())
            }
        }
    )*};
}
narrow!(u32, u16, u8);

/// Types written as their `Display` text (addresses, prefixes).
macro_rules! parsed {
    ($($t:ty),*) => {$(
        impl FromJson for $t {
            fn from_json(v: &Value) -> Option<Self> {
                v.as_str()?.parse().ok()
            }
        }
    )*};
}
parsed!(IpAddr, Ipv4Addr, Ipv6Addr, Ipv6Net);

impl<T: FromJson> FromJson for Option<T> {
    fn from_json(v: &Value) -> Option<Self> {
        if v.is_null() {
            Some(None)
        } else {
            T::from_json(v).map(Some)
        }
    }
}

impl<T: FromJson> FromJson for Vec<T> {
    fn from_json(v: &Value) -> Option<Self> {
        Some(v.as_array()?.iter().filter_map(T::from_json).collect())
    }
}

impl<T: FromJson> FromJson for BTreeMap<String, T> {
    fn from_json(v: &Value) -> Option<Self> {
        let o = v.as_object()?;
        Some(
            o.iter()
                .filter_map(|(k, v)| Some((k.clone(), T::from_json(v)?)))
                .collect(),
        )
    }
}

impl<T: FromJson> FromJson for BTreeMap<Cow<'static, str>, T> {
    fn from_json(v: &Value) -> Option<Self> {
        let o = v.as_object()?;
        Some(
            o.iter()
                .filter_map(|(k, v)| Some((Cow::Owned(k.clone()), T::from_json(v)?)))
                .collect(),
        )
    }
}

impl FromJson for Value {
    fn from_json(v: &Value) -> Option<Self> {
        Some(v.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Debug, Default, PartialEq)]
    struct Inner {
        n: u32,
        name: String,
    }

    #[derive(Debug, Default, PartialEq)]
    struct Outer {
        inner: Inner,
        list: Vec<Inner>,
        maybe: Option<Ipv6Addr>,
        counts: BTreeMap<String, u64>,
        on: bool,
    }

    crate::from_json! {
        Inner { n, name }
        Outer { inner, list, maybe, counts, on }
    }

    #[test]
    fn fields_read_by_name() {
        let v = json!({
            "inner": {"n": 7, "name": "a"},
            "list": [{"n": 1}, {"n": 2, "name": "b"}],
            "maybe": "2001:db8::1",
            "counts": {"x": 3},
            "on": true,
        });
        let o: Outer = read(&v).unwrap();
        assert_eq!(
            o.inner,
            Inner {
                n: 7,
                name: "a".into()
            }
        );
        assert_eq!(o.list.len(), 2);
        assert_eq!(o.list[1].name, "b");
        assert_eq!(o.maybe, Some("2001:db8::1".parse().unwrap()));
        assert_eq!(o.counts["x"], 3);
        assert!(o.on);
    }

    #[test]
    fn missing_null_and_mistyped_fields_take_their_default() {
        let v = json!({"inner": "not an object", "maybe": null, "on": 1, "list": [3, {"n": 4}]});
        let o: Outer = read(&v).unwrap();
        assert_eq!(o.inner, Inner::default());
        assert_eq!(o.maybe, None);
        assert!(!o.on);
        assert_eq!(
            o.list,
            vec![Inner {
                n: 4,
                name: String::new()
            }]
        );
        assert!(o.counts.is_empty());
    }

    #[test]
    fn another_shape_altogether_is_none() {
        assert_eq!(read::<Outer>(&json!("text")), None);
        assert_eq!(read::<Outer>(&json!([1, 2])), None);
        assert_eq!(u8::from_json(&json!(256)), None);
        assert_eq!(u8::from_json(&json!(255)), Some(255));
        assert_eq!(
            Ipv6Net::from_json(&json!("2001:db8::/56")),
            Some("2001:db8::/56".parse().unwrap())
        );
    }
}
