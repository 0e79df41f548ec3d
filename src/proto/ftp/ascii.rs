//! TYPE A (ASCII) line-end conversion, RFC 959 §3.1.1.1.
//!
//! On the data connection, an ASCII file's lines end in CRLF (the NVT-ASCII
//! convention), whatever the hosts store. This server stores Unix text (LF),
//! so a download turns LF into CRLF and an upload turns CRLF back into LF.
//! TYPE I (image) sends the bytes untouched; that is why a binary file sent
//! in TYPE A arrives damaged, a classic FTP mistake.

use bytes::Bytes;

/// Store form to wire form: every LF not already preceded by CR becomes
/// CRLF, so text that already has CRLF is not doubled.
pub fn to_wire(stored: &[u8]) -> Bytes {
    let mut out = Vec::with_capacity(stored.len() + stored.len() / 16);
    let mut previous = 0u8;
    for &b in stored {
        if b == b'\n' && previous != b'\r' {
            out.push(b'\r');
        }
        out.push(b);
        previous = b;
    }
    Bytes::from(out)
}

/// Wire form to store form: CRLF becomes LF; a lone CR is kept.
pub fn from_wire(wire: &[u8]) -> Bytes {
    let mut out = Vec::with_capacity(wire.len());
    let mut i = 0;
    while i < wire.len() {
        if wire[i] == b'\r' && wire.get(i + 1) == Some(&b'\n') {
            i += 1;
            continue;
        }
        out.push(wire[i]);
        i += 1;
    }
    Bytes::from(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_both_ways() {
        assert_eq!(&to_wire(b"a\nb\n")[..], b"a\r\nb\r\n");
        assert_eq!(&to_wire(b"a\r\nb")[..], b"a\r\nb");
        assert_eq!(&from_wire(b"a\r\nb\r\n")[..], b"a\nb\n");
        assert_eq!(&from_wire(b"a\rb\r")[..], b"a\rb\r");
        assert_eq!(&from_wire(&to_wire(b"x\n\ny\n"))[..], b"x\n\ny\n");
    }
}
