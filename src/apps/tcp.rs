//! Plain TCP programs for the transport lessons: a bulk sender and a
//! discard server (RFC 863).
//!
//! The sender connects, writes a number of bytes and closes; the discard
//! server reads everything and keeps only a count and a SHA-256 digest, so
//! a scenario can check that every byte arrived once and in order.
//!
//! They speak no application protocol: the bytes are a fixed pattern
//! ([`pattern_byte`]), so that any reordering or duplication changes the
//! digest.

use super::events;
use crate::net::{AppCx, AppEvent, Application, ConnId, Inspect};
use crate::trace::{Protocol, Value};
use bytes::Bytes;
use sha2::{Digest, Sha256};
use std::net::SocketAddrV4;

/// The bytes a sender writes: a fixed pattern, so that any reordering or
/// duplication changes the receiver's digest.
pub fn pattern_byte(i: u64) -> u8 {
    (i.wrapping_mul(7) % 251) as u8
}

/// `len` pattern bytes starting at stream offset `start`.
pub fn pattern(start: u64, len: usize) -> Vec<u8> {
    (0..len as u64).map(|i| pattern_byte(start + i)).collect()
}

/// `len` pattern bytes from stream offset `start`, as a slice of one
/// buffer shared by every sender: the pattern repeats every 251 bytes, so
/// a thousand senders hold one copy of it, not a thousand.
pub fn pattern_shared(start: u64, len: usize) -> Bytes {
    static SHARED: std::sync::OnceLock<Bytes> = std::sync::OnceLock::new();
    let period = 251;
    let shared = SHARED.get_or_init(|| Bytes::from(pattern(0, CHUNK as usize + period)));
    // The identity below holds while `start * 7` does not wrap.
    if len > CHUNK as usize || start > u64::MAX / 8 {
        return Bytes::from(pattern(start, len));
    }
    let off = (start % period as u64) as usize;
    shared.slice(off..off + len)
}

/// Hex SHA-256 of the first `len` pattern bytes.
pub fn pattern_sha256(len: u64) -> String {
    let mut h = Sha256::new();
    let mut off = 0;
    while off < len {
        let n = (len - off).min(64 * 1024);
        h.update(pattern(off, n as usize));
        off += n;
    }
    hex(&h.finalize())
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What became of a transfer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendOutcome {
    /// Not started yet, or still running.
    Pending,
    /// All bytes were handed to TCP and both sides closed.
    Done,
    /// The connection failed; how many bytes had been queued.
    Failed(String),
}

/// Connects to a server, sends `total` pattern bytes and closes.
#[derive(Debug)]
pub struct BulkSender {
    transfers: Vec<Transfer>,
    /// Which transfer each connection carries.
    by_conn: std::collections::BTreeMap<ConnId, usize>,
}

#[derive(Debug)]
struct Transfer {
    to: SocketAddrV4,
    total: u64,
    queued: u64,
    conn: Option<ConnId>,
    outcome: SendOutcome,
}

/// Bytes handed to TCP at a time: small enough to keep memory flat for
/// large transfers.
const CHUNK: u64 = 64 * 1024;

impl BulkSender {
    pub fn new() -> BulkSender {
        BulkSender {
            transfers: Vec::new(),
            by_conn: std::collections::BTreeMap::new(),
        }
    }

    /// Starts a transfer of `total` bytes to `to` now.
    pub fn start(&mut self, cx: &mut AppCx<'_>, to: SocketAddrV4, total: u64) {
        let index = self.transfers.len();
        self.transfers.push(Transfer {
            to,
            total,
            queued: 0,
            conn: None,
            outcome: SendOutcome::Pending,
        });
        cx.emit(
            &events::TRANSFER_STARTED,
            vec![("to", to.to_string().into()), ("bytes", total.into())],
        );
        match cx.connect(to, Protocol::Tcp) {
            Ok(conn) => {
                self.transfers[index].conn = Some(conn);
                self.by_conn.insert(conn, index);
            }
            Err(e) => self.transfers[index].outcome = SendOutcome::Failed(e.to_string()),
        }
    }

    /// Each transfer's outcome, in the order they were started.
    pub fn outcomes(&self) -> Vec<SendOutcome> {
        self.transfers.iter().map(|t| t.outcome.clone()).collect()
    }

    fn by_conn(&mut self, conn: ConnId) -> Option<&mut Transfer> {
        let &i = self.by_conn.get(&conn)?;
        self.transfers.get_mut(i)
    }

    fn push_more(cx: &mut AppCx<'_>, t: &mut Transfer) {
        let Some(conn) = t.conn else { return };
        if t.queued >= t.total {
            return;
        }
        let n = (t.total - t.queued).min(CHUNK);
        let chunk = pattern_shared(t.queued, n as usize);
        t.queued += n;
        cx.send(conn, chunk);
        if t.queued >= t.total {
            cx.close(conn);
        }
    }
}

impl Default for BulkSender {
    fn default() -> Self {
        Self::new()
    }
}

impl Application for BulkSender {
    fn kind(&self) -> &'static str {
        "bulk sender"
    }

    fn inspect(&self) -> Option<Inspect> {
        let t = |t: &Transfer| {
            let state = match &t.outcome {
                SendOutcome::Pending => "sending".to_owned(),
                SendOutcome::Done => "done".to_owned(),
                SendOutcome::Failed(why) => format!("failed: {why}"),
            };
            Inspect::leaf(format!(
                "to {}: {} of {} bytes queued, {state}",
                t.to, t.queued, t.total
            ))
        };
        Some(Inspect::node(
            "Transfers",
            self.transfers.iter().map(t).collect(),
        ))
    }

    fn handle_event(&mut self, cx: &mut AppCx<'_>, event: AppEvent) {
        match event {
            AppEvent::Connected { conn } | AppEvent::Writable { conn } => {
                if let Some(t) = self.by_conn(conn) {
                    if t.total == 0 {
                        cx.close(conn);
                    } else {
                        Self::push_more(cx, t);
                    }
                }
            }
            AppEvent::Closed { conn, error } => {
                let Some(t) = self.by_conn(conn) else { return };
                let (event, outcome) = match error {
                    None if t.queued == t.total => (&events::TRANSFER_DONE, SendOutcome::Done),
                    None => (
                        &events::TRANSFER_FAILED,
                        SendOutcome::Failed("closed early".into()),
                    ),
                    Some(e) => (
                        &events::TRANSFER_FAILED,
                        SendOutcome::Failed(e.name().into()),
                    ),
                };
                let mut fields = vec![
                    ("to", Value::from(t.to.to_string())),
                    ("bytes", t.queued.into()),
                ];
                if let SendOutcome::Failed(why) = &outcome {
                    fields.push(("error", why.as_str().into()));
                }
                t.outcome = outcome;
                cx.emit(event, fields);
            }
            AppEvent::Crashed => {
                for t in &mut self.transfers {
                    if t.outcome == SendOutcome::Pending {
                        t.outcome = SendOutcome::Failed("host crashed".into());
                    }
                }
            }
            _ => {}
        }
    }
}

/// One connection a discard server received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    pub from: SocketAddrV4,
    pub bytes: u64,
    /// Hex SHA-256 of everything received, once the peer closed.
    pub sha256: Option<String>,
    /// True while every byte so far matched the sender's pattern.
    pub in_order: bool,
}

/// The discard service (RFC 863): reads and throws away, keeping a count
/// and a digest per connection.
#[derive(Debug)]
pub struct Discard {
    port: u16,
    /// Open connections, by id.
    conns: std::collections::BTreeMap<ConnId, (Sha256, Received)>,
    done: Vec<Received>,
}

impl Discard {
    pub fn new(port: u16) -> Discard {
        Discard {
            port,
            conns: std::collections::BTreeMap::new(),
            done: Vec::new(),
        }
    }

    /// Connections that ended, in the order they ended.
    pub fn received(&self) -> &[Received] {
        &self.done
    }

    /// Bytes received on all connections, finished or not.
    pub fn total_bytes(&self) -> u64 {
        self.done
            .iter()
            .chain(self.conns.values().map(|c| &c.1))
            .map(|r| r.bytes)
            .sum()
    }
}

impl Application for Discard {
    fn kind(&self) -> &'static str {
        "discard server"
    }

    fn inspect(&self) -> Option<Inspect> {
        let conn = |r: &Received| {
            Inspect::leaf(format!(
                "{}: {} bytes{}",
                r.from,
                r.bytes,
                if r.in_order { "" } else { " (NOT in order)" }
            ))
        };
        let mut children: Vec<Inspect> = self.conns.values().map(|c| conn(&c.1)).collect();
        children.extend(self.done.iter().map(conn));
        Some(Inspect::node(
            format!("Discard on port {}", self.port),
            children,
        ))
    }

    fn handle_event(&mut self, cx: &mut AppCx<'_>, event: AppEvent) {
        match event {
            AppEvent::Start => {
                if let Err(e) = cx.listen(self.port, Protocol::Tcp) {
                    cx.emit(
                        &events::LISTEN_FAILED,
                        vec![("error", e.to_string().into())],
                    );
                }
            }
            AppEvent::Accepted { conn, .. } => {
                let from = cx.connection(conn).map(|c| c.remote());
                if let Some(from) = from {
                    let r = Received {
                        from,
                        bytes: 0,
                        sha256: None,
                        in_order: true,
                    };
                    self.conns.insert(conn, (Sha256::new(), r));
                }
            }
            AppEvent::Data { conn, data } => {
                if let Some((h, r)) = self.conns.get_mut(&conn) {
                    if r.in_order {
                        r.in_order = data
                            .iter()
                            .enumerate()
                            .all(|(i, &b)| b == pattern_byte(r.bytes + i as u64));
                    }
                    r.bytes += data.len() as u64;
                    h.update(&data);
                }
            }
            AppEvent::PeerClosed { conn } => {
                // The peer's FIN: everything it sent is here. The digest is
                // taken now, so a close that fails afterwards (our own FIN
                // never acknowledged) does not hide a complete stream.
                if let Some((h, r)) = self.conns.get_mut(&conn) {
                    r.sha256 = Some(hex(&h.clone().finalize()));
                }
                cx.close(conn);
            }
            AppEvent::Closed { conn, error } => {
                let Some((_, r)) = self.conns.remove(&conn) else {
                    return;
                };
                let mut fields = vec![
                    ("from", Value::from(r.from.to_string())),
                    ("bytes", r.bytes.into()),
                ];
                if let Some(digest) = &r.sha256 {
                    fields.push(("sha256", digest.as_str().into()));
                    fields.push(("in_order", r.in_order.into()));
                }
                if let Some(e) = error {
                    fields.push(("error", e.name().into()));
                }
                self.done.push(r);
                cx.emit(&events::RECEIVED, fields);
            }
            AppEvent::Crashed => self.conns.clear(),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shared_pattern_is_the_pattern() {
        for start in [0, 1, 250, 251, 252, 99_999, 1 << 40] {
            for len in [0, 1, 300, CHUNK as usize, CHUNK as usize + 1] {
                assert_eq!(
                    pattern_shared(start, len),
                    Bytes::from(pattern(start, len)),
                    "{start} {len}"
                );
            }
        }
    }
}
