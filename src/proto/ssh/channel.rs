//! One session channel (RFC 4254 §5): its two numbers, and the windows
//! that keep either end from flooding the other.
//!
//! Each end may send only as many data bytes as the other has granted
//! (the *window*); the receiver grants more with WINDOW_ADJUST as it
//! consumes them. Data waits here until the window allows it, and the
//! messages that must follow the data (EOF, exit-status, CLOSE) wait
//! behind it.

use super::message::Message;
use std::collections::VecDeque;

/// The window each end of wiretale grants (OpenSSH's default, 2 MiB).
pub const WINDOW: u32 = 2 * 1024 * 1024;
/// Largest data message accepted (OpenSSH's default, 32 KiB).
pub const MAX_PACKET: u32 = 32 * 1024;

#[derive(Clone)]
enum Pending {
    Data {
        bytes: Vec<u8>,
        sent: usize,
        stderr: bool,
    },
    Message(Message),
}

/// One session channel.
#[derive(Clone)]
pub struct Channel {
    /// Our number for it.
    pub local: u32,
    /// The peer's number for it: what our messages name as recipient.
    pub remote: u32,
    remote_window: u64,
    remote_max_packet: usize,
    /// Bytes the peer may still send before we grant more.
    local_window: u64,
    pending: VecDeque<Pending>,
    /// We sent CLOSE.
    pub close_sent: bool,
    /// The peer sent EOF.
    pub eof_received: bool,
}

impl Channel {
    pub fn new(local: u32, remote: u32, remote_window: u32, remote_max_packet: u32) -> Channel {
        Channel {
            local,
            remote,
            remote_window: u64::from(remote_window),
            remote_max_packet: (remote_max_packet as usize).clamp(1, MAX_PACKET as usize),
            local_window: u64::from(WINDOW),
            pending: VecDeque::new(),
            close_sent: false,
            eof_received: false,
        }
    }

    /// Queues stream bytes (stdout, or stderr as extended data).
    pub fn send_data(&mut self, bytes: &[u8], stderr: bool) {
        if !bytes.is_empty() {
            self.pending.push_back(Pending::Data {
                bytes: bytes.to_vec(),
                sent: 0,
                stderr,
            });
        }
    }

    /// Queues a message to go once all data before it has gone.
    pub fn send_after_data(&mut self, message: Message) {
        if matches!(message, Message::Close { .. }) {
            self.close_sent = true;
        }
        self.pending.push_back(Pending::Message(message));
    }

    /// The peer granted more window.
    pub fn window_adjust(&mut self, bytes: u32) {
        self.remote_window = self
            .remote_window
            .saturating_add(u64::from(bytes))
            .min(u64::from(u32::MAX));
    }

    /// `len` data bytes arrived. `Err` if the peer overran the window;
    /// otherwise, when half the window is used, the WINDOW_ADJUST to send.
    pub fn received(&mut self, len: usize) -> Result<Option<Message>, String> {
        let len = len as u64;
        if len > self.local_window {
            return Err(format!(
                "channel data overruns the window ({len} > {})",
                self.local_window
            ));
        }
        self.local_window -= len;
        if self.local_window < u64::from(WINDOW / 2) {
            let grant = u64::from(WINDOW) - self.local_window;
            self.local_window = u64::from(WINDOW);
            return Ok(Some(Message::WindowAdjust {
                recipient: self.remote,
                bytes: grant as u32,
            }));
        }
        Ok(None)
    }

    /// True while data waits for window.
    pub fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// The messages that may go now, in order.
    pub fn flush(&mut self) -> Vec<Message> {
        let mut out = Vec::new();
        while let Some(front) = self.pending.front_mut() {
            match front {
                Pending::Message(_) => {
                    if let Some(Pending::Message(message)) = self.pending.pop_front() {
                        out.push(message);
                    }
                }
                Pending::Data {
                    bytes,
                    sent,
                    stderr,
                } => {
                    while *sent < bytes.len() && self.remote_window > 0 {
                        let room = (self.remote_window as usize).min(self.remote_max_packet);
                        let end = (*sent + room).min(bytes.len());
                        let data = bytes[*sent..end].to_vec();
                        self.remote_window -= (end - *sent) as u64;
                        *sent = end;
                        out.push(if *stderr {
                            Message::ExtendedData {
                                recipient: self.remote,
                                code: 1,
                                data,
                            }
                        } else {
                            Message::Data {
                                recipient: self.remote,
                                data,
                            }
                        });
                    }
                    if *sent < bytes.len() {
                        break;
                    }
                    self.pending.pop_front();
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_waits_for_the_window_and_eof_waits_for_the_data() {
        let mut c = Channel::new(0, 7, 10, 4);
        c.send_data(b"0123456789abcdef", false);
        c.send_after_data(Message::Eof { recipient: 7 });
        let first = c.flush();
        let sizes: Vec<usize> = first
            .iter()
            .map(|m| match m {
                Message::Data { data, .. } => data.len(),
                _ => 0,
            })
            .collect();
        assert_eq!(sizes, vec![4, 4, 2]);
        assert!(c.has_pending());
        c.window_adjust(100);
        let rest = c.flush();
        assert_eq!(rest.len(), 3);
        assert_eq!(rest[2], Message::Eof { recipient: 7 });
        assert!(!c.has_pending());
    }

    #[test]
    fn the_receiver_grants_more_and_refuses_an_overrun() {
        let mut c = Channel::new(0, 3, 0, 0);
        assert_eq!(c.received(1000).unwrap(), None);
        let grant = c.received(WINDOW as usize / 2).unwrap();
        assert_eq!(
            grant,
            Some(Message::WindowAdjust {
                recipient: 3,
                bytes: WINDOW / 2 + 1000
            })
        );
        assert!(c.received(WINDOW as usize + 1).is_err());
    }
}
