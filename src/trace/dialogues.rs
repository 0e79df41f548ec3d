//! The dialogues of a run, as the Transcripts tab lists them: each
//! application connection's "C:" and "S:" lines in order, and under an
//! FTP control connection the data connections it opened, each with the
//! content it moved and its byte count (RFC 959 §2.3: the control
//! connection and a new data connection per transfer).

use super::{
    ConnName, Event, Layer, Party, Protocol, Trace, int_field, parse_conn_name, str_field,
};
use std::net::SocketAddrV4;

/// One dialogue: the lines of one connection (or of two parties talking
/// without one, as DNS does).
#[derive(Debug, Clone, PartialEq)]
pub struct Dialogue {
    pub layer: Layer,
    /// What the connection carries.
    pub protocol: Protocol,
    pub client: Party,
    pub server: Party,
    /// (client, server) socket addresses, when it has a connection.
    pub conn: Option<ConnName>,
    /// Indices of its dialogue records, in order.
    pub lines: Vec<usize>,
    /// The data connections of an FTP control connection, in order.
    pub data: Vec<Dialogue>,
    /// The bytes a data connection moved (both ways), once it closed.
    pub bytes: Option<u64>,
}

impl Dialogue {
    /// Where a nested data connection goes among its control
    /// connection's lines: before the first line recorded after its own
    /// first line.
    pub fn data_position(&self, data: &Dialogue) -> usize {
        let first = data.lines.first().copied().unwrap_or(usize::MAX);
        self.lines.partition_point(|&i| i < first)
    }
}

/// The dialogues of the first `upto` records, in order of their first
/// line; FTP data connections sit under the control connection that
/// opened them.
pub fn dialogues(trace: &Trace, upto: usize) -> Vec<Dialogue> {
    let upto = upto.min(trace.records.len());
    let mut all: Vec<Dialogue> = Vec::new();
    // A data connection (its client end and server port) and the control
    // connection that asked for it, from the server's `data_opened`.
    let mut parent: Vec<(SocketAddrV4, u16, ConnName)> = Vec::new();
    let mut moved: Vec<(SocketAddrV4, u16, u64)> = Vec::new();
    for (i, r) in trace.records.iter().enumerate().take(upto) {
        match &r.event {
            Event::Dialogue {
                layer,
                client,
                server,
                conn,
                ..
            } => {
                let conn = &conn.as_deref().copied();
                let found = all.iter_mut().find(|d| match (conn, &d.conn) {
                    (Some(c), Some(dc)) => d.layer == *layer && c == dc,
                    (None, None) => d.layer == *layer && d.client == *client && d.server == *server,
                    _ => false,
                });
                match found {
                    Some(d) => d.lines.push(i),
                    None => {
                        let protocol = conn
                            .and_then(|(a, b)| trace.protocol(a, b, r.time))
                            .or_else(|| Protocol::from_layer(*layer))
                            .unwrap_or(Protocol::Tcp);
                        all.push(Dialogue {
                            layer: *layer,
                            protocol,
                            client: client.clone(),
                            server: server.clone(),
                            conn: *conn,
                            lines: vec![i],
                            data: Vec::new(),
                            bytes: None,
                        });
                    }
                }
            }
            Event::App {
                layer: Layer::Ftp,
                event,
                fields,
                ..
            } => {
                let client = str_field(fields, "client").and_then(|c| c.parse().ok());
                let port = int_field(fields, "server_port").and_then(|p| u16::try_from(p).ok());
                let (Some(client), Some(port)) = (client, port) else {
                    continue;
                };
                match *event {
                    "data_opened" => {
                        if let Some(c) = str_field(fields, "control").and_then(parse_conn_name) {
                            parent.push((client, port, c));
                        }
                    }
                    "data_closed" => {
                        let n = int_field(fields, "bytes_sent").unwrap_or(0)
                            + int_field(fields, "bytes_received").unwrap_or(0);
                        moved.push((client, port, u64::try_from(n).unwrap_or(0)));
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    }
    // Data connections move under their control connection.
    let mut out: Vec<Dialogue> = Vec::new();
    for mut d in all {
        let key = d.conn.map(|(c, s)| (c, s.port()));
        if let Some((c, port)) = key
            && let Some(&(_, _, n)) = moved.iter().rev().find(|m| (m.0, m.1) == (c, port))
        {
            d.bytes = Some(n);
        }
        let owner = key.and_then(|(c, port)| {
            parent
                .iter()
                .rev()
                .find(|p| (p.0, p.1) == (c, port))
                .map(|p| p.2)
        });
        match owner.and_then(|o| out.iter_mut().find(|g| g.conn == Some(o))) {
            Some(control) => control.data.push(d),
            None => out.push(d),
        }
    }
    out
}
