//! Quantities as instructors write them: `"1.5s"`, `"200ms"`, `"10Mbps"`,
//! `"64KB"`.
//!
//! Each is a newtype that deserializes from a string, so a scenario reads
//! like prose and a typo is an error at the exact place it was made.

use crate::sim::SimDuration;
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use std::fmt;

/// A duration: a number followed by `ns`, `us`, `ms`, `s`, `min` or `h`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Dur(pub SimDuration);

impl std::fmt::Display for Dur {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// A bit rate: a number followed by `bps`, `kbps`, `Mbps` or `Gbps`, or
/// `"unlimited"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate(pub u64);

/// A size in bytes: a number, or one followed by `B`, `KB`, `MB`, `GB`
/// (powers of 1000) or `KiB`, `MiB`, `GiB` (powers of 1024).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Size(pub u64);

/// Splits `"1.5ms"` into `(1.5, "ms")`.
fn split_number(s: &str) -> Option<(f64, &str)> {
    let s = s.trim();
    let end = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '_'))
        .unwrap_or(s.len());
    let digits: String = s[..end].chars().filter(|&c| c != '_').collect();
    let value: f64 = digits.parse().ok()?;
    (value.is_finite() && value >= 0.0).then_some((value, s[end..].trim()))
}

/// Parses a duration such as `"250ms"`.
pub fn parse_duration(s: &str) -> Result<SimDuration, String> {
    let bad =
        || format!("{s:?} is not a duration; write a number and a unit, like \"10ms\" or \"1.5s\"");
    let (v, unit) = split_number(s).ok_or_else(bad)?;
    let ns_per = match unit {
        "ns" => 1.0,
        "us" | "µs" => 1e3,
        "ms" => 1e6,
        "s" => 1e9,
        "min" => 60e9,
        "h" => 3600e9,
        _ => return Err(bad()),
    };
    let ns = v * ns_per;
    if ns > 1e18 {
        return Err(format!("{s:?} is too long a duration"));
    }
    Ok(SimDuration::from_nanos(ns.round() as u64))
}

/// Parses a bit rate such as `"10Mbps"`; `"unlimited"` is 0 (no
/// serialization delay).
pub fn parse_rate(s: &str) -> Result<u64, String> {
    if s.trim() == "unlimited" {
        return Ok(0);
    }
    let bad = || {
        format!(
            "{s:?} is not a bit rate; write a number and a unit, like \"10Mbps\", \"56kbps\" or \"unlimited\""
        )
    };
    let (v, unit) = split_number(s).ok_or_else(bad)?;
    let per = match unit {
        "bps" => 1.0,
        "kbps" | "Kbps" => 1e3,
        "Mbps" => 1e6,
        "Gbps" => 1e9,
        _ => return Err(bad()),
    };
    let bps = (v * per).round();
    if !(1.0..=1e13).contains(&bps) {
        return Err(format!("{s:?} is out of range (1 bps to 10 Tbps)"));
    }
    Ok(bps as u64)
}

/// Parses a size such as `"64KB"` or `"1MiB"`.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let bad = || {
        format!(
            "{s:?} is not a size; write a number of bytes, or one with a unit like \"64KB\" or \"1MiB\""
        )
    };
    let (v, unit) = split_number(s).ok_or_else(bad)?;
    let per = match unit {
        "" | "B" => 1.0,
        "KB" | "kB" => 1e3,
        "MB" => 1e6,
        "GB" => 1e9,
        "KiB" => 1024.0,
        "MiB" => 1024.0 * 1024.0,
        "GiB" => 1024.0 * 1024.0 * 1024.0,
        _ => return Err(bad()),
    };
    let bytes = (v * per).round();
    if bytes > 1e12 {
        return Err(format!("{s:?} is too large"));
    }
    Ok(bytes as u64)
}

struct StrOrNum<F>(&'static str, F);

impl<'de, T, F: Fn(&str) -> Result<T, String>> Visitor<'de> for StrOrNum<F> {
    type Value = T;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.0)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        (self.1)(v).map_err(E::custom)
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<T, E> {
        (self.1)(&v.to_string()).map_err(E::custom)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<T, E> {
        if v < 0 {
            return Err(E::custom(format!("{v} is negative")));
        }
        (self.1)(&v.to_string()).map_err(E::custom)
    }
}

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(StrOrNum("a duration such as \"10ms\"", |s: &str| {
            parse_duration(s).map(Dur)
        }))
    }
}

impl<'de> Deserialize<'de> for Rate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(StrOrNum("a bit rate such as \"10Mbps\"", |s: &str| {
            parse_rate(s).map(Rate)
        }))
    }
}

impl<'de> Deserialize<'de> for Size {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StrOrNum("a size such as 1024 or \"64KB\"", |s: &str| {
            parse_size(s).map(Size)
        }))
    }
}

impl Serialize for Dur {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let us = self.0.as_micros();
        s.serialize_str(&format!("{us}us"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_parse() {
        assert_eq!(parse_duration("1.5s"), Ok(SimDuration::from_millis(1500)));
        assert_eq!(parse_duration("250us"), Ok(SimDuration::from_micros(250)));
        assert_eq!(parse_duration("2min"), Ok(SimDuration::from_secs(120)));
        assert!(parse_duration("10").is_err());
        assert!(parse_duration("-1s").is_err());
        assert!(parse_duration("fast").is_err());
        assert_eq!(parse_rate("10Mbps"), Ok(10_000_000));
        assert_eq!(parse_rate("unlimited"), Ok(0));
        assert!(parse_rate("10MB").is_err());
        assert_eq!(parse_size("64KB"), Ok(64_000));
        assert_eq!(parse_size("1MiB"), Ok(1 << 20));
        assert_eq!(parse_size("1_000"), Ok(1000));
    }
}
