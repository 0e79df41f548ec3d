//! The receive side's reassembly queue: segments that arrive ahead of a
//! hole are kept by stream offset (sequence numbers wrap, offsets do not),
//! trimmed so that no byte is stored twice, and handed to the application
//! in order once the hole is filled (RFC 9293 §3.10.7.4, "process the
//! segment text"). Bytes already received and bytes beyond the window are
//! cut off.
//!
//! Not here: the FIN and the state changes it causes, and when the ACK is
//! sent (`conn`).

use super::conn::{TcpConnection, TcpEvent};
use super::seq;
use bytes::Bytes;

impl TcpConnection {
    /// The stream offset of sequence number `s`, if it is not before the
    /// start of the stream.
    pub(super) fn offset_of(&self, s: u32) -> Option<u64> {
        let d = seq::diff(s, self.rcv_nxt);
        let off = self.rcv_off as i64 + d;
        (off >= 0).then_some(off as u64)
    }

    /// Stores payload bytes; returns true if they extended the in-order
    /// stream without leaving a hole behind.
    pub(super) fn receive_data(&mut self, data_seq: u32, payload: &Bytes) -> bool {
        let wnd_end = self.rcv_off + u64::from(self.rcv_window());
        let Some(mut start) = self.offset_of(data_seq) else {
            // Starts before offset 0: trim what precedes it.
            let skip = (-seq::diff(data_seq, self.rcv_nxt) - self.rcv_off as i64) as usize;
            if skip >= payload.len() {
                return false;
            }
            return self.receive_data(data_seq.wrapping_add(skip as u32), &payload.slice(skip..));
        };
        let mut data = payload.clone();
        // Trim what was already received and what lies beyond the window.
        if start < self.rcv_off {
            let skip = (self.rcv_off - start) as usize;
            if skip >= data.len() {
                self.ack_now = true;
                return false;
            }
            data = data.slice(skip..);
            start = self.rcv_off;
        }
        let end = (start + data.len() as u64).min(wnd_end);
        if end <= start {
            return false;
        }
        data = data.slice(..(end - start) as usize);
        let had_holes = !self.ooo.is_empty();
        if start > self.rcv_off {
            // Out of order: keep it, acknowledge at once so the sender gets
            // a duplicate ACK (RFC 5681 §4.2).
            self.insert_ooo(start, data);
            self.ack_now = true;
            return false;
        }
        self.deliver(data);
        self.drain_ooo();
        if had_holes {
            // Filling a hole: acknowledge at once (RFC 5681 §4.2).
            self.ack_now = true;
        }
        true
    }

    /// Keeps an out-of-order piece, without storing any byte twice.
    pub(super) fn insert_ooo(&mut self, mut start: u64, mut data: Bytes) {
        // Trim against the piece that starts at or before us.
        if let Some((&s, d)) = self.ooo.range(..=start).next_back() {
            let e = s + d.len() as u64;
            if e >= start + data.len() as u64 {
                return;
            }
            if e > start {
                data = data.slice((e - start) as usize..);
                start = e;
            }
        }
        // Remove pieces we cover entirely; trim ourselves before a piece
        // that starts inside us and extends beyond.
        let end = start + data.len() as u64;
        let later: Vec<u64> = self.ooo.range(start..end).map(|(&s, _)| s).collect();
        for s in later {
            let e = s + self.ooo[&s].len() as u64;
            if e <= end {
                self.ooo.remove(&s);
            } else {
                data = data.slice(..(s - start) as usize);
                break;
            }
        }
        if !data.is_empty() {
            self.ooo.insert(start, data);
        }
    }

    /// Appends in-order data to the receive buffer.
    pub(super) fn deliver(&mut self, data: Bytes) {
        let n = data.len();
        self.rcv_off += n as u64;
        self.rcv_nxt = self.rcv_nxt.wrapping_add(n as u32);
        self.recv_len += n;
        self.recv_buf.push_back(data);
        self.events.push_back(TcpEvent::Readable);
    }

    /// Moves out-of-order pieces that became in-order.
    pub(super) fn drain_ooo(&mut self) {
        while let Some((&s, _)) = self.ooo.first_key_value() {
            if s > self.rcv_off {
                break;
            }
            let Some((s, d)) = self.ooo.pop_first() else {
                break;
            };
            let e = s + d.len() as u64;
            if e > self.rcv_off {
                let skip = (self.rcv_off - s) as usize;
                self.deliver(d.slice(skip..));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::conn::TcpConfig;
    use super::super::testing::established;
    use super::*;
    use crate::sim::SimDuration;

    /// The server's end, established, and the sequence number of the first
    /// byte it will receive.
    fn receiver(config: TcpConfig) -> (TcpConnection, u32) {
        let (_, s) = established(config, SimDuration::from_millis(10));
        let base = s.rcv_nxt;
        (s, base)
    }

    /// The out-of-order pieces, by stream offset.
    fn held(c: &TcpConnection) -> Vec<(u64, &[u8])> {
        c.ooo.iter().map(|(&s, d)| (s, &d[..])).collect()
    }

    fn put(c: &mut TcpConnection, seq: u32, data: &'static [u8]) -> bool {
        c.receive_data(seq, &Bytes::from_static(data))
    }

    #[test]
    fn in_order_data_goes_straight_to_the_reader() {
        let (mut c, base) = receiver(TcpConfig::default());
        assert!(put(&mut c, base, b"abc"));
        assert_eq!(c.rcv_nxt, base.wrapping_add(3));
        assert_eq!(c.recv_all(), b"abc");
    }

    #[test]
    fn segments_after_a_hole_wait_for_it_and_are_acknowledged_at_once() {
        // RFC 5681 §4.2: an out-of-order segment is acknowledged at once
        // (the sender's duplicate ACK), and so is the one filling the hole.
        let (mut c, base) = receiver(TcpConfig::default());
        assert!(!put(&mut c, base.wrapping_add(6), b"ghi"));
        assert!(!put(&mut c, base.wrapping_add(3), b"def"));
        assert!(c.ack_now);
        assert_eq!(c.recv_available(), 0);
        assert_eq!(held(&c), [(3, &b"def"[..]), (6, &b"ghi"[..])]);
        c.ack_now = false;
        assert!(put(&mut c, base, b"abc"));
        assert!(c.ack_now);
        assert!(c.ooo.is_empty());
        assert_eq!(c.recv_all(), b"abcdefghi");
        assert_eq!(c.rcv_nxt, base.wrapping_add(9));
    }

    #[test]
    fn overlapping_pieces_store_each_byte_once() {
        let (mut c, base) = receiver(TcpConfig::default());
        put(&mut c, base.wrapping_add(4), b"efgh");
        // Ends inside the piece after it: cut before it.
        put(&mut c, base.wrapping_add(2), b"cdef");
        assert_eq!(held(&c), [(2, &b"cd"[..]), (4, &b"efgh"[..])]);
        // Starts inside the piece before it and covers the one after.
        put(&mut c, base.wrapping_add(3), b"defghij");
        assert_eq!(held(&c), [(2, &b"cd"[..]), (4, &b"efghij"[..])]);
        // Inside what is held already: nothing new.
        put(&mut c, base.wrapping_add(5), b"fg");
        assert_eq!(held(&c), [(2, &b"cd"[..]), (4, &b"efghij"[..])]);
        // The hole filled, overlapping the first piece.
        assert!(put(&mut c, base, b"abc"));
        assert_eq!(c.recv_all(), b"abcdefghij");
    }

    #[test]
    fn bytes_already_received_are_trimmed() {
        let (mut c, base) = receiver(TcpConfig::default());
        put(&mut c, base, b"abc");
        assert!(put(&mut c, base, b"abcde"));
        assert_eq!(c.recv_all(), b"abcde");
        // A pure duplicate: nothing to keep, but ACK it at once.
        c.ack_now = false;
        assert!(!put(&mut c, base.wrapping_add(1), b"bc"));
        assert!(c.ack_now);
        assert_eq!(c.recv_available(), 0);
    }

    #[test]
    fn bytes_beyond_the_window_are_cut_off() {
        let (mut c, base) = receiver(TcpConfig {
            recv_buffer: 8,
            ..TcpConfig::default()
        });
        assert!(put(&mut c, base, b"0123456789"));
        assert_eq!(c.recv_available(), 8);
        // The window is full: nothing more is kept, in order or not.
        assert!(!put(&mut c, base.wrapping_add(8), b"89"));
        assert!(!put(&mut c, base.wrapping_add(9), b"9"));
        assert!(c.ooo.is_empty());
        assert_eq!(c.recv_all(), b"01234567");
    }

    #[test]
    fn offsets_do_not_wrap_where_sequence_numbers_do() {
        let (mut c, _) = receiver(TcpConfig::default());
        let base = u32::MAX - 1;
        c.rcv_nxt = base;
        assert!(!put(&mut c, base.wrapping_add(3), b"def"));
        assert_eq!(held(&c), [(3, &b"def"[..])]);
        assert!(put(&mut c, base, b"abc"));
        assert_eq!(c.rcv_nxt, base.wrapping_add(6));
        assert_eq!(c.rcv_off, 6);
        assert_eq!(c.recv_all(), b"abcdef");
        // A sequence number before the start of the stream has no offset.
        assert_eq!(c.offset_of(base.wrapping_sub(1)), None);
    }
}
