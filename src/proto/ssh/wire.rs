//! The SSH wire encoding (RFC 4251 §5): `byte`, `boolean`, `uint32`,
//! `string`, `mpint` and `name-list`, written and read with the
//! `ssh-encoding` crate.
//!
//! Writing into a `Vec` cannot fail short of a 4 GiB string, and every
//! message here is bounded far below that, so the writers return nothing.
//! Reading returns `None` on any malformed field: callers turn that into
//! a protocol error, never a panic.

use ssh_encoding::{Decode, Encode, Mpint};

/// Builds one message payload.
#[derive(Debug, Default, Clone)]
pub struct Writer(Vec<u8>);

impl Writer {
    /// A payload that starts with message number `kind`.
    pub fn message(kind: u8) -> Writer {
        Writer(vec![kind])
    }

    /// An empty buffer (for hash inputs and key blobs).
    pub fn new() -> Writer {
        Writer(Vec::new())
    }

    fn put<T: Encode + ?Sized>(mut self, value: &T) -> Writer {
        // Only a string longer than u32::MAX fails; none is.
        let _ = value.encode(&mut self.0);
        self
    }

    pub fn byte(self, value: u8) -> Writer {
        self.put(&value)
    }

    pub fn boolean(self, value: bool) -> Writer {
        self.put(&value)
    }

    pub fn u32(self, value: u32) -> Writer {
        self.put(&value)
    }

    /// A `string`: length, then bytes.
    pub fn string(self, value: &[u8]) -> Writer {
        self.put(value)
    }

    pub fn text(self, value: &str) -> Writer {
        self.put(value)
    }

    /// A `name-list`: comma-separated names in one string.
    pub fn names(self, names: &[&str]) -> Writer {
        self.text(&names.join(","))
    }

    /// An `mpint` of a non-negative big-endian number (RFC 8731 §3.1: the
    /// X25519 shared secret is encoded this way).
    pub fn mpint(self, big_endian: &[u8]) -> Writer {
        self.put(&Mpint::from_positive_bytes(big_endian))
    }

    /// Raw bytes, no length.
    pub fn raw(mut self, bytes: &[u8]) -> Writer {
        self.0.extend_from_slice(bytes);
        self
    }

    pub fn into_vec(self) -> Vec<u8> {
        self.0
    }
}

/// Reads fields off the front of a payload.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8]) -> Reader<'a> {
        Reader { rest: bytes }
    }

    pub fn byte(&mut self) -> Option<u8> {
        u8::decode(&mut self.rest).ok()
    }

    pub fn boolean(&mut self) -> Option<bool> {
        // RFC 4251 §5: any non-zero value is true (ssh-encoding is stricter).
        self.byte().map(|b| b != 0)
    }

    pub fn u32(&mut self) -> Option<u32> {
        u32::decode(&mut self.rest).ok()
    }

    /// A `string`, borrowed.
    pub fn string(&mut self) -> Option<&'a [u8]> {
        let len = usize::try_from(self.u32()?).ok()?;
        if self.rest.len() < len {
            return None;
        }
        let (value, rest) = self.rest.split_at(len);
        self.rest = rest;
        Some(value)
    }

    /// A `string` that must be UTF-8 (names, commands, user names).
    pub fn text(&mut self) -> Option<String> {
        String::from_utf8(self.string()?.to_vec()).ok()
    }

    /// A `name-list`.
    pub fn names(&mut self) -> Option<Vec<String>> {
        let text = self.text()?;
        if text.is_empty() {
            return Some(Vec::new());
        }
        Some(text.split(',').map(str::to_string).collect())
    }

    /// Exactly `n` raw bytes.
    pub fn raw(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.rest.len() < n {
            return None;
        }
        let (value, rest) = self.rest.split_at(n);
        self.rest = rest;
        Some(value)
    }

    /// What is left.
    pub fn rest(&self) -> &'a [u8] {
        self.rest
    }

    pub fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_round_trip() {
        let bytes = Writer::message(20)
            .boolean(true)
            .u32(7)
            .text("exec")
            .names(&["a", "b"])
            .names(&[])
            .into_vec();
        assert_eq!(
            bytes,
            b"\x14\x01\x00\x00\x00\x07\x00\x00\x00\x04exec\x00\x00\x00\x03a,b\x00\x00\x00\x00"
        );
        let mut r = Reader::new(&bytes);
        assert_eq!(r.byte(), Some(20));
        assert_eq!(r.boolean(), Some(true));
        assert_eq!(r.u32(), Some(7));
        assert_eq!(r.text().as_deref(), Some("exec"));
        assert_eq!(r.names(), Some(vec!["a".to_string(), "b".to_string()]));
        assert_eq!(r.names(), Some(vec![]));
        assert!(r.is_empty());
        assert_eq!(r.u32(), None);
        // A string claiming more bytes than there are.
        assert_eq!(Reader::new(b"\x00\x00\x00\x09abc").string(), None);
    }

    #[test]
    fn mpints_as_rfc4251_shows_them() {
        // RFC 4251 §5: 0x80 is 00 00 00 02 00 80; zero is the empty string.
        assert_eq!(Writer::new().mpint(&[0x80]).into_vec(), b"\0\0\0\x02\0\x80");
        assert_eq!(
            Writer::new().mpint(&[0, 0x12]).into_vec(),
            b"\0\0\0\x01\x12"
        );
        assert_eq!(Writer::new().mpint(&[0, 0]).into_vec(), b"\0\0\0\0");
    }
}
