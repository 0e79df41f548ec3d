//! Sequence number arithmetic modulo 2^32 (RFC 9293 §3.4).
//!
//! Sequence numbers wrap, so `a < b` means "a comes before b in the
//! circular space", i.e. the signed distance from a to b is positive. This
//! holds as long as the two numbers are less than 2^31 apart, which TCP's
//! window rules guarantee.

/// `a < b` in sequence space.
pub fn lt(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

/// `a <= b` in sequence space.
pub fn le(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) <= 0
}

/// `a > b` in sequence space.
pub fn gt(a: u32, b: u32) -> bool {
    lt(b, a)
}

/// `a >= b` in sequence space.
pub fn ge(a: u32, b: u32) -> bool {
    le(b, a)
}

/// The signed distance from `from` to `to`.
pub fn diff(to: u32, from: u32) -> i64 {
    i64::from(to.wrapping_sub(from) as i32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comparisons_wrap() {
        assert!(lt(1, 2));
        assert!(lt(u32::MAX, 0));
        assert!(gt(5, u32::MAX - 5));
        assert!(le(7, 7) && ge(7, 7));
        assert_eq!(diff(3, u32::MAX), 4);
        assert_eq!(diff(u32::MAX, 3), -4);
    }
}
