//! The story of a run as the textbook figures tell it: the messages and
//! files that travel, and where each one is at any simulated time.
//!
//! Figure 2.16 of the textbook draws a message that sits in Alice's user
//! agent, moves into her mail server's outgoing queue, crosses to Bob's
//! mail server over SMTP, lands in Bob's mailbox and is fetched by his
//! user agent; Figure 2.14 draws a file moving between a remote and a
//! local file system over FTP's data connection. [`Story::new`] reads a
//! trace and follows each such object from event to event ([`Journey`]),
//! and it knows each application connection's lifetime ([`Pipe`]), the
//! queues and the mailbox counts, so a view can draw them. While a
//! message or file is on a connection, its progress is the share of its
//! bytes the receiver has acknowledged, not a fixed animation.
//!
//! This module reads only the trace; it decides nothing and draws
//! nothing. Objects are followed by the events' own identifiers (queue ids,
//! "queued as" replies, subjects, file names); a trace that lacks them
//! (a foreign stack, a live session) simply yields fewer journeys.

use super::{
    ConnName, Dir, Event, Party, Protocol, Record, Trace, Value, int_field, socket_pair, str_field,
};
use crate::sim::SimTime;
use crate::trace::packet::Payload;
use std::collections::BTreeMap;
use std::net::SocketAddrV4;

/// What travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Thing {
    /// An e-mail message.
    Message,
    /// A delivery status notification returned to the sender.
    Bounce,
    /// A file moved by FTP or SCP.
    File,
}

/// Where a message or a file is.
#[derive(Debug, Clone, PartialEq)]
pub enum Place {
    /// With a user agent: being composed, or fetched and read.
    Agent { host: u32 },
    /// In a mail server's outgoing message queue.
    Queue { host: u32, queue_id: String },
    /// Travelling on a connection from `sender` to `receiver`.
    Pipe {
        conn: ConnName,
        sender: u32,
        receiver: u32,
    },
    /// In a user's mailbox on a mail server.
    Mailbox {
        host: u32,
        user: String,
        folder: String,
    },
    /// In a file system: the user's own (`local`) or the server's.
    Files {
        host: u32,
        path: String,
        local: bool,
    },
    /// A transfer failed here, with the reply that said so.
    Stopped { host: u32, reason: String },
}

/// One stretch of a journey: from `start` until the next leg starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Leg {
    pub start: SimTime,
    pub place: Place,
    /// The record that moved the object here.
    pub record: usize,
    /// For a pipe: the sender's sequence numbers of the object's bytes,
    /// `[first, end)`, once known.
    pub bytes: Option<(u32, u32)>,
}

/// A message or a file, followed through a run.
#[derive(Debug, Clone, PartialEq)]
pub struct Journey {
    pub thing: Thing,
    /// The subject of a message, the path of a file.
    pub label: String,
    pub legs: Vec<Leg>,
}

impl Journey {
    /// The leg the object is on at `t`, if it exists yet.
    pub fn leg_at(&self, t: SimTime) -> Option<&Leg> {
        let i = self.legs.partition_point(|l| l.start <= t);
        i.checked_sub(1).map(|i| &self.legs[i])
    }

    /// Where the object is at `t`.
    pub fn place_at(&self, t: SimTime) -> Option<&Place> {
        self.leg_at(t).map(|l| &l.place)
    }

    fn push(&mut self, start: SimTime, record: usize, place: Place) {
        self.legs.push(Leg {
            start,
            place,
            record,
            bytes: None,
        });
    }

    /// The records that moved it, in order.
    pub fn records(&self) -> impl Iterator<Item = usize> + '_ {
        self.legs.iter().map(|l| l.record)
    }
}

/// An application connection as a pipe between two hosts.
#[derive(Debug, Clone, PartialEq)]
pub struct Pipe {
    pub conn: ConnName,
    pub protocol: Protocol,
    /// When its first segment (the SYN) was sent.
    pub opened: SimTime,
    /// When the handshake's SYN-ACK was sent: a connection whose SYNs are
    /// dropped (a firewall) never gets one.
    pub accepted: Option<SimTime>,
    /// When its last segment arrived.
    pub closed: SimTime,
}

/// A message in an outgoing queue over a stretch of time.
#[derive(Debug, Clone, PartialEq)]
pub struct Queued {
    pub host: u32,
    pub queue_id: String,
    pub journey: Option<usize>,
    pub entered: SimTime,
    pub left: Option<SimTime>,
    /// `(time, attempt number)` of each delivery attempt.
    pub attempts: Vec<(SimTime, u32)>,
    /// `(time decided, next attempt)` after each deferral.
    pub retries: Vec<(SimTime, SimTime)>,
}

/// The objects of a run and where they are.
#[derive(Debug, Clone, Default)]
pub struct Story {
    pub journeys: Vec<Journey>,
    pub pipes: Vec<Pipe>,
    pub queued: Vec<Queued>,
    /// `(time, host, user, folder, change)`: +1 a message stored, -n
    /// messages deleted or expunged.
    mailbox_changes: Vec<(SimTime, u32, String, String, i64)>,
    /// Per `(conn, data sender's socket)`: `(time, ack)` of each
    /// acknowledgement the receiver sent.
    acks: BTreeMap<(ConnName, SocketAddrV4), Vec<(SimTime, u32)>>,
    /// Which host owns each address.
    owners: crate::trace::FastMap<std::net::Ipv4Addr, u32>,
    /// `(time, host, subject, flags)`: the IMAP flags a host holds or saw
    /// for a message, each time they changed.
    flag_changes: Vec<(SimTime, u32, String, String)>,
}

/// The id in an SMTP "250 ... queued as B1" reply.
fn queued_as(line: &str) -> Option<&str> {
    let (_, id) = line.rsplit_once("queued as ")?;
    Some(id.trim())
}

/// The last part of a path: what a client saves a download as.
fn base_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// A data segment a host sent: when, and its sequence numbers `[first,
/// end)`.
type Segment = (SimTime, u32, u32);

/// Facts of a dialogue line, in one place.
struct Line<'a> {
    layer: super::Layer,
    client: Option<u32>,
    server: Option<u32>,
    dir: Dir,
    code: Option<u16>,
    line: &'a str,
    conn: Option<ConnName>,
}

/// A file transfer announced on a control or SCP connection, waiting for
/// its data to move.
struct Transfer {
    journey: usize,
    client: u32,
    server: u32,
    download: bool,
}

#[derive(Default)]
struct Builder {
    story: Story,
    /// `(server host, id)` -> journey: ids a server gave a message it
    /// accepted ("queued as") or a bounce it made.
    ids: BTreeMap<(u32, String), usize>,
    /// Messages composed at a user agent and not yet handed on.
    composed: BTreeMap<u32, Vec<usize>>,
    /// Journeys whose message is being sent on an SMTP connection.
    on_conn: BTreeMap<ConnName, usize>,
    /// Queue entries waiting for their SMTP connection, per host.
    connecting: BTreeMap<u32, Vec<usize>>,
    /// The queue entry an SMTP client connection delivers.
    conn_queue: BTreeMap<ConnName, usize>,
    /// The last RETR/FETCH command of a user agent: `(time, record, conn,
    /// server)`.
    fetching: BTreeMap<u32, (SimTime, usize, ConnName, u32)>,
    /// Transfers announced on a connection and not yet done.
    transfers: BTreeMap<ConnName, Transfer>,
    /// `(server, user, folder, uid)` -> subject of each stored message.
    subjects: BTreeMap<(u32, String, String, i64), String>,
}

impl Story {
    /// Follows every message and file of `trace`.
    pub fn new(trace: &Trace) -> Story {
        let mut b = Builder::default();
        let sent = b.pipes_and_acks(trace);
        for (i, r) in trace.records.iter().enumerate() {
            b.record(i, r);
        }
        b.story.measure_pipes(&sent);
        b.story
    }

    /// How far along its pipe an object on `leg` is at `t`: the share of
    /// its bytes the receiver has acknowledged by then (0 when nothing is
    /// known).
    pub fn progress(&self, leg: &Leg, t: SimTime) -> f32 {
        let (Place::Pipe { conn, sender, .. }, Some((first, end))) = (&leg.place, leg.bytes) else {
            return 0.0;
        };
        let span = end.wrapping_sub(first);
        if span == 0 {
            return 1.0;
        }
        let sock = if self.owners.get(conn.0.ip()) == Some(sender) {
            conn.0
        } else {
            conn.1
        };
        let Some(acks) = self.acks.get(&(*conn, sock)) else {
            return 0.0;
        };
        let from = acks.partition_point(|&(at, _)| at < leg.start);
        let upto = acks.partition_point(|&(at, _)| at <= t).max(from);
        let mut best = 0u32;
        for &(_, ack) in &acks[from..upto] {
            // An ACK one past the end also acknowledges a FIN; one that
            // is "below" `first` (wrapped) is from before the object.
            let done = ack.wrapping_sub(first);
            if done <= span.saturating_add(1) {
                best = best.max(done.min(span));
            }
        }
        best as f32 / span as f32
    }

    /// What the connection `conn` carried.
    pub fn pipe_protocol(&self, conn: &ConnName) -> Option<Protocol> {
        self.pipes
            .iter()
            .find(|p| p.conn == *conn)
            .map(|p| p.protocol)
    }

    /// The pipes open at `t`.
    pub fn pipes_at(&self, t: SimTime) -> impl Iterator<Item = &Pipe> {
        self.pipes
            .iter()
            .filter(move |p| p.opened <= t && t <= p.closed)
    }

    /// The messages in `host`'s outgoing queue at `t`.
    pub fn queue_at(&self, host: u32, t: SimTime) -> impl Iterator<Item = &Queued> {
        self.queued
            .iter()
            .filter(move |q| q.host == host && q.entered <= t && q.left.is_none_or(|left| t < left))
    }

    /// The IMAP flags of each message `host` holds (a server) or last saw
    /// (a user agent) at `t`: `(subject, flags)`, in subject order.
    pub fn flags_at(&self, host: u32, t: SimTime) -> Vec<(&str, &str)> {
        let mut last: BTreeMap<&str, &str> = BTreeMap::new();
        for (at, h, subject, flags) in &self.flag_changes {
            if *at <= t && *h == host {
                last.insert(subject, flags);
            }
        }
        last.into_iter().collect()
    }

    /// How many messages `user`'s `folder` on `host` holds at `t`, counting
    /// only what the run stored (not the scenario's initial mail).
    pub fn mailbox_count(&self, host: u32, user: &str, folder: &str, t: SimTime) -> i64 {
        self.mailbox_changes
            .iter()
            .filter(|(at, h, u, f, _)| *at <= t && *h == host && u == user && f == folder)
            .map(|c| c.4)
            .sum::<i64>()
            .max(0)
    }

    /// The two hosts a connection joins, when both are simulated.
    pub fn hosts_of(&self, conn: &ConnName) -> Option<[u32; 2]> {
        Some([
            *self.owners.get(conn.0.ip())?,
            *self.owners.get(conn.1.ip())?,
        ])
    }

    /// Finds each pipe leg's bytes: the sender's data segments on the
    /// connection between the leg's start and the next leg's.
    fn measure_pipes(&mut self, sent: &BTreeMap<(ConnName, u32), Vec<Segment>>) {
        for j in &mut self.journeys {
            for i in 0..j.legs.len() {
                let Place::Pipe { conn, sender, .. } = &j.legs[i].place else {
                    continue;
                };
                let from = j.legs[i].start;
                let until = j.legs.get(i + 1).map(|l| l.start);
                let Some(segments) = sent.get(&(*conn, *sender)) else {
                    continue;
                };
                let mut range: Option<(u32, u32)> = None;
                for &(at, first, end) in segments {
                    if at < from || until.is_some_and(|u| at > u) {
                        continue;
                    }
                    range = Some(match range {
                        None => (first, end),
                        Some((a, b)) => (
                            a,
                            if end.wrapping_sub(b) < 1 << 31 {
                                end
                            } else {
                                b
                            },
                        ),
                    });
                }
                j.legs[i].bytes = range;
            }
        }
    }
}

impl Builder {
    /// Each application connection's lifetime and every ACK sent, in one
    /// pass over the segments; returns the data segments each host sent on
    /// each connection, for [`Story::measure_pipes`].
    fn pipes_and_acks(&mut self, trace: &Trace) -> BTreeMap<(ConnName, u32), Vec<Segment>> {
        self.story.owners = trace.addresses.clone();
        let mut spans: BTreeMap<ConnName, (SimTime, SimTime)> = BTreeMap::new();
        let mut accepted: BTreeMap<ConnName, SimTime> = BTreeMap::new();
        let mut sent: BTreeMap<(ConnName, u32), Vec<Segment>> = BTreeMap::new();
        for r in &trace.records {
            let (Event::SegmentSent { packet, host } | Event::SegmentReceived { packet, host }) =
                r.event
            else {
                continue;
            };
            let Some(p) = trace.packet(packet) else {
                continue;
            };
            let Payload::Tcp(s) = &p.payload else {
                continue;
            };
            let key = socket_pair(p.src_addr(), p.dst_addr());
            let span = spans.entry(key).or_insert((r.time, r.time));
            span.1 = span.1.max(r.time);
            if s.flags.syn() && s.flags.ack() {
                accepted.entry(key).or_insert(r.time);
            }
            if matches!(r.event, Event::SegmentSent { .. }) {
                // The receiver acknowledges what it has: an ACK it sends.
                if s.flags.ack() {
                    self.story
                        .acks
                        .entry((key, p.dst_addr()))
                        .or_default()
                        .push((r.time, s.ack));
                }
                if !s.payload.is_empty() {
                    let end = s.seq.wrapping_add(s.payload.len() as u32);
                    sent.entry((key, host))
                        .or_default()
                        .push((r.time, s.seq, end));
                }
            }
        }
        for (conn, (opened, closed)) in spans {
            let protocol = trace
                .protocol(conn.0, conn.1, opened)
                .unwrap_or(Protocol::Tcp);
            self.story.pipes.push(Pipe {
                conn,
                protocol,
                opened,
                accepted: accepted.get(&conn).copied(),
                closed,
            });
        }
        self.story.pipes.sort_by_key(|p| (p.opened, p.conn));
        sent
    }

    fn new_journey(&mut self, thing: Thing, label: &str) -> usize {
        self.story.journeys.push(Journey {
            thing,
            label: label.to_owned(),
            legs: Vec::new(),
        });
        self.story.journeys.len() - 1
    }

    fn record(&mut self, i: usize, r: &Record) {
        match &r.event {
            Event::Dialogue {
                layer,
                client,
                server,
                dir,
                code,
                line,
                conn,
            } => {
                let node = |p: &Party| match p {
                    Party::Node(n) => Some(*n),
                    Party::External(_) => None,
                };
                let l = Line {
                    layer: *layer,
                    client: node(client),
                    server: node(server),
                    dir: *dir,
                    code: *code,
                    line,
                    conn: conn.as_deref().map(|&(a, b)| socket_pair(a, b)),
                };
                self.dialogue(i, r.time, &l);
            }
            Event::App {
                event,
                host,
                fields,
                ..
            } => self.app(i, r.time, *host, event, fields),
            _ => {}
        }
    }

    fn dialogue(&mut self, i: usize, t: SimTime, l: &Line<'_>) {
        use super::Layer;
        let (Some(client), Some(server), Some(conn)) = (l.client, l.server, l.conn) else {
            return;
        };
        match (l.layer, l.dir) {
            (Layer::Smtp, Dir::Reply) => self.smtp_reply(i, t, client, server, conn, l),
            (Layer::Pop3 | Layer::Imap, Dir::Command) => {
                let word = l.line.to_ascii_uppercase();
                if word.starts_with("RETR ") || word.contains(" FETCH ") && word.contains("BODY") {
                    self.fetching.insert(client, (t, i, conn, server));
                }
            }
            (Layer::Ftp, Dir::Command) => {
                let (verb, arg) = l.line.split_once(' ').unwrap_or((l.line, ""));
                match verb.to_ascii_uppercase().as_str() {
                    "RETR" => self.announce(i, client, server, conn, arg, true),
                    "STOR" => self.announce(i, client, server, conn, arg, false),
                    _ => {}
                }
            }
            (Layer::Ftp, Dir::Reply) => {
                if l.code.is_some_and(|c| c >= 400)
                    && let Some(tr) = self.transfers.remove(&conn)
                {
                    // It stops where it was: still on the server for a
                    // refused download, at the user's side for an upload.
                    let host = if tr.download { tr.server } else { tr.client };
                    let reason = l.line.to_owned();
                    self.story.journeys[tr.journey].push(t, i, Place::Stopped { host, reason });
                }
            }
            (Layer::Scp, Dir::Command) => {
                // `exec "scp -f payroll.txt"`: the SSH channel request.
                let scp = l
                    .line
                    .strip_prefix("exec \"")
                    .and_then(|rest| rest.strip_suffix('"'))
                    .and_then(|command| crate::proto::scp::ScpCommand::parse(command).ok());
                if let Some(command) = scp {
                    let download = command.direction == crate::proto::scp::Direction::From;
                    self.announce(i, client, server, conn, &command.path, download);
                } else if l.line.starts_with('C') {
                    self.start_moving(i, t, &conn, false);
                }
            }
            (Layer::Scp, Dir::Reply) if l.line.starts_with('C') => {
                self.start_moving(i, t, &conn, true);
            }
            _ => {}
        }
    }

    /// A transfer of `path` is asked for on `conn`: the file starts in the
    /// server's file system (a download) or the user's (an upload).
    fn announce(
        &mut self,
        i: usize,
        client: u32,
        server: u32,
        conn: ConnName,
        path: &str,
        download: bool,
    ) {
        let path = path.trim();
        if path.is_empty() {
            return;
        }
        let j = self.new_journey(Thing::File, path);
        let place = if download {
            Place::Files {
                host: server,
                path: path.to_owned(),
                local: false,
            }
        } else {
            Place::Files {
                host: client,
                path: base_name(path).to_owned(),
                local: true,
            }
        };
        // It was there before anyone asked for it.
        self.story.journeys[j].push(SimTime::ZERO, i, place);
        self.transfers.insert(
            conn,
            Transfer {
                journey: j,
                client,
                server,
                download,
            },
        );
    }

    /// The file of the transfer on `control` starts moving on `data`.
    fn move_on(&mut self, i: usize, t: SimTime, control: &ConnName, data: ConnName) {
        let Some(tr) = self.transfers.get(control) else {
            return;
        };
        let (sender, receiver) = if tr.download {
            (tr.server, tr.client)
        } else {
            (tr.client, tr.server)
        };
        let j = tr.journey;
        let journey = &mut self.story.journeys[j];
        if !matches!(journey.place_at(t), Some(Place::Pipe { .. })) {
            journey.push(
                t,
                i,
                Place::Pipe {
                    conn: data,
                    sender,
                    receiver,
                },
            );
        }
    }

    /// SCP carries the file on its own connection.
    fn start_moving(&mut self, i: usize, t: SimTime, conn: &ConnName, download: bool) {
        if self
            .transfers
            .get(conn)
            .is_some_and(|tr| tr.download == download)
        {
            self.move_on(i, t, conn, *conn);
        }
    }

    fn smtp_reply(
        &mut self,
        i: usize,
        t: SimTime,
        client: u32,
        server: u32,
        conn: ConnName,
        l: &Line<'_>,
    ) {
        match l.code {
            Some(220) if !self.conn_queue.contains_key(&conn) => {
                // A queue's SMTP client connected for the oldest message
                // waiting for its connection.
                if let Some(waiting) = self.connecting.get_mut(&client)
                    && !waiting.is_empty()
                {
                    let q = waiting.remove(0);
                    self.conn_queue.insert(conn, q);
                }
            }
            Some(354) => {
                // DATA: the message now travels on this connection.
                let j = match self.conn_queue.get(&conn) {
                    Some(&q) => self.story.queued[q].journey,
                    None => self
                        .composed
                        .get_mut(&client)
                        .and_then(|v| (!v.is_empty()).then(|| v.remove(0))),
                };
                if let Some(j) = j {
                    self.on_conn.insert(conn, j);
                    self.story.journeys[j].push(
                        t,
                        i,
                        Place::Pipe {
                            conn,
                            sender: client,
                            receiver: server,
                        },
                    );
                }
            }
            Some(250) => {
                if let (Some(id), Some(&j)) = (queued_as(l.line), self.on_conn.get(&conn)) {
                    self.ids.insert((server, id.to_owned()), j);
                    self.on_conn.remove(&conn);
                }
            }
            _ => {}
        }
    }

    fn app(
        &mut self,
        i: usize,
        t: SimTime,
        host: u32,
        event: &str,
        fields: &[(&'static str, Value)],
    ) {
        let s = |k: &str| str_field(fields, k).unwrap_or_default().to_owned();
        match event {
            "compose" => {
                let j = self.new_journey(Thing::Message, &s("subject"));
                self.story.journeys[j].push(t, i, Place::Agent { host });
                self.composed.entry(host).or_default().push(j);
            }
            "queued" => {
                let queue_id = s("queue_id");
                let journey = self.ids.get(&(host, queue_id.clone())).copied();
                if let Some(j) = journey {
                    let place = Place::Queue {
                        host,
                        queue_id: queue_id.clone(),
                    };
                    self.story.journeys[j].push(t, i, place);
                }
                self.story.queued.push(Queued {
                    host,
                    queue_id,
                    journey,
                    entered: t,
                    left: None,
                    attempts: Vec::new(),
                    retries: Vec::new(),
                });
            }
            "delivery_attempt" | "connecting" | "connect_failed" | "deferred" | "delivered"
            | "bounced" | "discarded" => self.queue_event(i, t, host, event, fields),
            "stored" => {
                let (user, folder) = (s("user"), s("mailbox"));
                if let Some(uid) = int_field(fields, "uid") {
                    let key = (host, user.clone(), folder.clone(), uid);
                    self.subjects.insert(key, s("subject"));
                }
                self.story
                    .mailbox_changes
                    .push((t, host, user.clone(), folder.clone(), 1));
                if let Some(&j) = self.ids.get(&(host, s("queue_id"))) {
                    let place = Place::Mailbox { host, user, folder };
                    self.story.journeys[j].push(t, i, place);
                }
            }
            "deleted" | "expunged" => {
                let n = s("uids").split(',').filter(|u| !u.is_empty()).count() as i64;
                let (user, folder) = (s("user"), s("mailbox"));
                if !user.is_empty() {
                    self.story.mailbox_changes.push((t, host, user, folder, -n));
                }
            }
            "fetched" => self.fetched(i, t, host, &s("subject")),
            // IMAP flags: a server's (by mailbox and uid), or what a user
            // agent set or was told (by subject).
            "flags" | "update" if event == "flags" || s("kind") == "flags" => {
                let subject = match str_field(fields, "subject") {
                    Some(subject) => Some(subject.to_owned()),
                    None => int_field(fields, "uid").and_then(|uid| {
                        let key = (host, s("user"), s("mailbox"), uid);
                        self.subjects.get(&key).cloned()
                    }),
                };
                if let Some(subject) = subject {
                    self.story.flag_changes.push((t, host, subject, s("flags")));
                }
            }
            "data_opened" => {
                let (Some(client), Some(port)) = (
                    str_field(fields, "client").and_then(|c| c.parse::<SocketAddrV4>().ok()),
                    int_field(fields, "server_port"),
                ) else {
                    return;
                };
                // The control connection between the same two hosts.
                let control = self.transfers.iter().find_map(|(c, tr)| {
                    (tr.server == host && (c.0.ip() == client.ip() || c.1.ip() == client.ip()))
                        .then_some(*c)
                });
                if let Some(control) = control {
                    let server_ip = if control.0.ip() == client.ip() {
                        *control.1.ip()
                    } else {
                        *control.0.ip()
                    };
                    let data = socket_pair(client, SocketAddrV4::new(server_ip, port as u16));
                    self.move_on(i, t, &control, data);
                }
            }
            "downloaded" => {
                let name = s("name");
                self.arrived(i, t, |tr, label| {
                    tr.download && tr.client == host && base_name(label) == name
                });
            }
            "file_stored" => {
                let path = s("path");
                self.arrived(i, t, |tr, label| {
                    !tr.download && tr.server == host && path.ends_with(base_name(label))
                });
            }
            _ => {}
        }
    }

    /// A transfer completed: the file is in its new file system.
    fn arrived(&mut self, i: usize, t: SimTime, is_it: impl Fn(&Transfer, &str) -> bool) {
        let found = self
            .transfers
            .iter()
            .find_map(|(c, tr)| is_it(tr, &self.story.journeys[tr.journey].label).then_some(*c));
        let Some(tr) = found.and_then(|c| self.transfers.remove(&c)) else {
            return;
        };
        let label = self.story.journeys[tr.journey].label.clone();
        let place = if tr.download {
            Place::Files {
                host: tr.client,
                path: base_name(&label).to_owned(),
                local: true,
            }
        } else {
            Place::Files {
                host: tr.server,
                path: label,
                local: false,
            }
        };
        self.story.journeys[tr.journey].push(t, i, place);
    }

    fn queue_event(
        &mut self,
        i: usize,
        t: SimTime,
        host: u32,
        event: &str,
        fields: &[(&'static str, Value)],
    ) {
        let id = str_field(fields, "queue_id").unwrap_or_default();
        let Some(q) = self
            .story
            .queued
            .iter()
            .rposition(|q| q.host == host && q.queue_id == id)
        else {
            return;
        };
        match event {
            "delivery_attempt" => {
                let n = int_field(fields, "attempt").unwrap_or(0) as u32;
                self.story.queued[q].attempts.push((t, n));
            }
            "connecting" => self.connecting.entry(host).or_default().push(q),
            "connect_failed" => {
                if let Some(v) = self.connecting.get_mut(&host) {
                    v.retain(|&x| x != q);
                }
            }
            "deferred" => {
                if let Some(next) = int_field(fields, "next_attempt_us") {
                    let next = SimTime::from_micros(next as u64);
                    self.story.queued[q].retries.push((t, next));
                }
                // Back in the queue if it was on its way.
                if let Some(j) = self.story.queued[q].journey {
                    let place = Place::Queue {
                        host,
                        queue_id: id.to_owned(),
                    };
                    if self.story.journeys[j].place_at(t) != Some(&place) {
                        self.story.journeys[j].push(t, i, place);
                    }
                }
            }
            "delivered" | "discarded" => self.story.queued[q].left = Some(t),
            "bounced" => {
                self.story.queued[q].left = Some(t);
                let original = self.story.queued[q].journey;
                let label = original.map_or(String::new(), |j| {
                    format!("Returned: {}", self.story.journeys[j].label)
                });
                if let Some(j) = original {
                    let reason = str_field(fields, "reason").unwrap_or_default().to_owned();
                    self.story.journeys[j].push(t, i, Place::Stopped { host, reason });
                }
                // The notification starts in the same server and goes to
                // the sender's mailbox.
                if let Some(b) = str_field(fields, "bounce_id") {
                    let j = self.new_journey(Thing::Bounce, &label);
                    let place = Place::Queue {
                        host,
                        queue_id: b.to_owned(),
                    };
                    self.story.journeys[j].push(t, i, place);
                    self.ids.insert((host, b.to_owned()), j);
                }
            }
            _ => {}
        }
    }

    /// A user agent fetched a message: it travelled from the mailbox over
    /// the fetch command's connection.
    fn fetched(&mut self, i: usize, t: SimTime, host: u32, subject: &str) {
        let Some(&(at, record, conn, server)) = self.fetching.get(&host) else {
            return;
        };
        let found = self.story.journeys.iter().position(|j| {
            j.label == subject
                && matches!(j.place_at(t), Some(Place::Mailbox { host: h, .. }) if *h == server)
        });
        if let Some(j) = found {
            let journey = &mut self.story.journeys[j];
            let start = at.max(journey.legs.last().map_or(at, |l| l.start));
            journey.push(
                start,
                record,
                Place::Pipe {
                    conn,
                    sender: server,
                    receiver: host,
                },
            );
            journey.push(t, i, Place::Agent { host });
        }
    }
}
