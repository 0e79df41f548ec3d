//! SASL PLAIN (RFC 4616) and the base64 (RFC 4648 §4) it travels in.
//!
//! AUTH PLAIN sends `authzid NUL authcid NUL passwd`, base64-encoded, in the
//! clear: anyone who sees the dialogue can decode the password, which is
//! exactly why real servers offer it only over TLS. This module is only the
//! encoding; the SMTP exchange around it lives in the server and client.

/// The credentials carried by one AUTH PLAIN message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlainCredentials {
    /// Authorization identity: who to act as; usually empty (= authcid).
    pub authzid: String,
    /// Authentication identity: the user name.
    pub authcid: String,
    /// The password.
    pub passwd: String,
}

/// Why an AUTH PLAIN response could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PlainError {
    /// Not valid base64.
    #[error("not valid base64")]
    Base64,
    /// Decoded, but not `authzid NUL authcid NUL passwd` in UTF-8.
    #[error("not authzid NUL authcid NUL passwd")]
    Format,
}

/// Encodes `NUL user NUL password` (empty authzid) for AUTH PLAIN.
pub fn encode_plain(user: &str, password: &str) -> String {
    let mut raw = Vec::with_capacity(user.len() + password.len() + 2);
    raw.push(0);
    raw.extend_from_slice(user.as_bytes());
    raw.push(0);
    raw.extend_from_slice(password.as_bytes());
    base64_encode(&raw)
}

/// Decodes an AUTH PLAIN response. RFC 4954 §4: a lone `=` stands for an
/// empty response, which is not valid PLAIN either.
pub fn decode_plain(response: &str) -> Result<PlainCredentials, PlainError> {
    let raw = base64_decode(response.trim()).ok_or(PlainError::Base64)?;
    let text = String::from_utf8(raw).map_err(|_| PlainError::Format)?;
    let mut parts = text.split('\0');
    let (Some(authzid), Some(authcid), Some(passwd), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(PlainError::Format);
    };
    // RFC 4616 §2: authcid and passwd are not empty.
    if authcid.is_empty() || passwd.is_empty() {
        return Err(PlainError::Format);
    }
    Ok(PlainCredentials {
        authzid: authzid.to_string(),
        authcid: authcid.to_string(),
        passwd: passwd.to_string(),
    })
}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// RFC 4648 §4 base64 with `=` padding.
pub fn base64_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        // Three octets make 24 bits, read as four 6-bit letters.
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Decodes padded base64; `None` on any invalid letter or length. `=`
/// alone decodes to nothing (RFC 4954 §4).
pub fn base64_decode(text: &str) -> Option<Vec<u8>> {
    if text == "=" {
        return Some(Vec::new());
    }
    let bytes = text.as_bytes();
    if !bytes.len().is_multiple_of(4) {
        return None;
    }
    let mut out = Vec::with_capacity(bytes.len() / 4 * 3);
    let groups = bytes.len() / 4;
    for (g, quad) in bytes.chunks(4).enumerate() {
        let padding = quad.iter().rev().take_while(|&&c| c == b'=').count();
        // Padding only at the very end, and at most two letters of it.
        if padding > 2 || (padding > 0 && g + 1 != groups) {
            return None;
        }
        let mut n: u32 = 0;
        for &c in &quad[..4 - padding] {
            n = (n << 6) | u32::from(letter_value(c)?);
        }
        n <<= 6 * padding as u32;
        let decoded = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&decoded[..3 - padding]);
    }
    Some(out)
}

/// Decodes base64 as a listener on the wire reads it: the `=` padding
/// may be missing or overlong (RFC 4648 §3.2 lets a specification drop
/// it), otherwise as [`base64_decode`]. A server refuses such a response;
/// the credentials in it crossed the link all the same.
pub fn base64_decode_lenient(text: &str) -> Option<Vec<u8>> {
    let text = text.trim_end_matches('=');
    let mut padded = text.to_string();
    padded.extend(std::iter::repeat_n('=', (4 - text.len() % 4) % 4));
    base64_decode(&padded)
}

fn letter_value(c: u8) -> Option<u8> {
    match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc4648_test_vectors() {
        let vectors = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (plain, encoded) in vectors {
            assert_eq!(base64_encode(plain.as_bytes()), encoded);
            assert_eq!(base64_decode(encoded), Some(plain.as_bytes().to_vec()));
        }
        assert_eq!(base64_decode("Zm9v!"), None);
        assert_eq!(base64_decode("Zg==Zg=="), None);
        assert_eq!(base64_decode("Z==="), None);
    }

    #[test]
    fn lenient_padding() {
        assert_eq!(base64_decode("YQ"), None);
        assert_eq!(base64_decode_lenient("YQ"), Some(b"a".to_vec()));
        assert_eq!(base64_decode_lenient("YQ==="), Some(b"a".to_vec()));
        assert_eq!(
            base64_decode_lenient("YWxpY2U6c2VjcmV0"),
            Some(b"alice:secret".to_vec())
        );
        assert_eq!(base64_decode_lenient("="), Some(Vec::new()));
        // One letter left over cannot make a byte; a letter must be one.
        assert_eq!(base64_decode_lenient("Y"), None);
        assert_eq!(base64_decode_lenient("a b"), None);
        assert_eq!(base64_decode_lenient("YQ==YQ"), None);
    }

    #[test]
    fn plain_round_trip() {
        // RFC 4954 §4 example: "\0test\0test" is AHRlc3QAdGVzdA==.
        assert_eq!(encode_plain("test", "test"), "AHRlc3QAdGVzdA==");
        let c = decode_plain("AHRlc3QAdGVzdA==").unwrap();
        assert_eq!((c.authzid.as_str(), c.authcid.as_str()), ("", "test"));
        assert_eq!(decode_plain("dGVzdA=="), Err(PlainError::Format));
        assert_eq!(decode_plain("***"), Err(PlainError::Base64));
    }
}
