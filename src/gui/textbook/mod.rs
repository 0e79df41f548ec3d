//! The textbook view: the run drawn as the textbook's figures draw it,
//! beside the network view.
//!
//! For mail (Fig. 2.16 and 5.8): user agents at the edges, each mail
//! server a box holding its outgoing message queue and one mailbox per
//! user, the DNS server above them, SMTP between the servers and POP3 or
//! IMAP between a server and a user agent. For files (Fig. 2.14): the
//! user's side with its local file system, the server's side with its
//! remote file system, and the connections between them as pipes: FTP's
//! control connection for the whole session and a data connection that
//! appears for each transfer and closes after it; HTTP one pipe, SCP one
//! encrypted pipe. Routers and links fold away; each message or file is
//! drawn where [`Story`](crate::trace::story::Story) says it is, moving
//! along a pipe as its bytes are acknowledged.
//!
//! The layout is derived from the scenario's roles, with no positions to
//! write. [`Figure::new`] is pure (tests check it without a window);
//! [`draw`] paints it with egui. Nothing here changes the run.

use super::model::{Proto, Timeline};
use crate::scenario::spec::Role;
use crate::sim::SimTime;
use crate::trace::story::{Journey, Place, Thing};
use crate::trace::{ConnName, NodeId};
use bevy_egui::egui::{self, Align2, Color32, FontId, Pos2, Rect, Stroke, pos2, vec2};
use std::collections::BTreeMap;

mod inspect;
mod paint;
pub use inspect::{carriers, details, to_json};
pub use paint::draw;

/// The fill of a message's envelope.
pub const ENVELOPE: [u8; 3] = [250, 204, 60];
/// The fill of a returned message (a bounce).
pub const BOUNCE: [u8; 3] = [235, 110, 90];
/// The fill of a file's icon.
pub const FILE: [u8; 3] = [120, 200, 235];

/// What a box of the figure stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BoxKind {
    UserAgent,
    MailServer,
    DnsServer,
    /// The user's side of a file transfer: the user interface, the client
    /// and the local file system.
    FileClient,
    /// A file or web server and its remote file system.
    FileServer,
    Eavesdropper,
}

/// One host of the figure.
#[derive(Debug, Clone)]
pub struct HostBox {
    pub node: NodeId,
    pub kind: BoxKind,
    pub title: String,
    pub rect: Rect,
    /// A mail server's outgoing message queue.
    pub queue: Option<Rect>,
    /// A mail server's mailboxes, by user.
    pub mailboxes: Vec<(String, Rect)>,
    /// A file client's local or a file server's remote file system.
    pub files: Option<Rect>,
}

/// A pipe between two boxes for one protocol, drawn as a lane.
#[derive(Debug, Clone, PartialEq)]
pub struct Lane {
    pub protocol: Proto,
    /// The two hosts, in the order `from`/`to` are given.
    pub ends: [NodeId; 2],
    pub from: Pos2,
    pub to: Pos2,
}

impl HostBox {
    /// A box with no queue, mailboxes or file system.
    fn new(node: NodeId, kind: BoxKind, title: String, rect: Rect) -> HostBox {
        HostBox {
            node,
            kind,
            title,
            rect,
            queue: None,
            mailboxes: Vec::new(),
            files: None,
        }
    }
}

/// The figure: boxes and lanes, for a drawing area.
#[derive(Debug, Clone)]
pub struct Figure {
    pub area: Rect,
    pub boxes: Vec<HostBox>,
    pub lanes: Vec<Lane>,
}

/// True if the scenario has something the textbook view is about: a mail
/// server or a file server.
pub fn suits(t: &Timeline) -> bool {
    t.scenario.hosts.iter().any(|h| {
        matches!(
            h.role,
            Role::MailServer { .. } | Role::FileServer { .. } | Role::WebServer { .. }
        )
    })
}

/// Where an object on a lane is, `fraction` of the way from `sender` to
/// `receiver`.
fn along(lane: &Lane, sender: NodeId, fraction: f32) -> Pos2 {
    let (a, b) = if lane.ends[0] == sender {
        (lane.from, lane.to)
    } else {
        (lane.to, lane.from)
    };
    a + (b - a) * fraction.clamp(0.0, 1.0)
}

impl Figure {
    /// Lays the scenario's hosts out in `area` by their roles.
    pub fn new(t: &Timeline, area: Rect) -> Figure {
        let node = |name: &str| t.hosts.iter().find(|h| h.name == name).map(|h| h.node);
        let title = |n: NodeId| {
            let h = &t.hosts[n as usize];
            h.label.clone().unwrap_or_else(|| h.name.clone())
        };
        let mut servers = Vec::new();
        let mut file_servers = Vec::new();
        let mut dns = Vec::new();
        let mut spies = Vec::new();
        let mut agents: BTreeMap<NodeId, Vec<NodeId>> = BTreeMap::new();
        for h in &t.scenario.hosts {
            let Some(n) = node(&h.name) else { continue };
            match &h.role {
                Role::MailServer { users, .. } => {
                    servers.push((n, users.iter().map(|u| u.name.clone()).collect::<Vec<_>>()))
                }
                Role::FileServer { .. } | Role::WebServer { .. } => file_servers.push(n),
                Role::DnsServer { .. } => dns.push(n),
                Role::Eavesdropper { .. } => spies.push(n),
                _ => {}
            }
            if let Some(server) = h.accounts.first().and_then(|a| node(&a.server)) {
                agents.entry(server).or_default().push(n);
            }
        }
        // The user's side of the file transfers: hosts with a connection
        // to a file server.
        let mut file_clients: Vec<NodeId> = Vec::new();
        for p in &t.story.pipes {
            if let Some([a, b]) = t.story.hosts_of(&p.conn) {
                for (c, s) in [(a, b), (b, a)] {
                    if file_servers.contains(&s)
                        && !file_servers.contains(&c)
                        && !file_clients.contains(&c)
                    {
                        file_clients.push(c);
                    }
                }
            }
        }
        file_clients.sort_unstable();

        let mut f = Figure {
            area,
            boxes: Vec::new(),
            lanes: Vec::new(),
        };
        let m = area.shrink2(vec2(area.width() * 0.04, area.height() * 0.06));
        let both = !servers.is_empty() && !file_servers.is_empty();
        // Mail in the upper part (or all of it), files in the lower.
        let (mail_area, file_area) = if both {
            let (a, b) = m.split_top_bottom_at_fraction(0.55);
            (a, b)
        } else {
            (m, m)
        };
        if !servers.is_empty() {
            // More than two servers: those with user agents of their own
            // go to the ends, the others between them.
            if servers.len() > 2 {
                let first = servers.remove(0);
                let (with, without): (Vec<_>, Vec<_>) = servers
                    .into_iter()
                    .partition(|(s, _)| agents.contains_key(s));
                servers = std::iter::once(first).chain(without).chain(with).collect();
            }
            f.mail(&servers, &agents, &dns, mail_area, &title);
        }
        if !file_servers.is_empty() {
            f.files(&file_clients, &file_servers, file_area, &title);
        }
        // The eavesdroppers along the bottom, where no box is (with its
        // label under it).
        for &n in &spies {
            let free = |rect: &Rect, boxes: &[HostBox]| {
                boxes
                    .iter()
                    .all(|b| !b.rect.expand2(vec2(6.0, 22.0)).intersects(*rect))
            };
            // Along the bottom, nearest the middle first; then along the
            // top.
            let mut xs: Vec<f32> = (0..=40)
                .map(|k| m.left() + 75.0 + (m.width() - 150.0).max(0.0) * k as f32 / 40.0)
                .collect();
            xs.sort_by(|a, b| {
                (a - m.center().x)
                    .abs()
                    .total_cmp(&(b - m.center().x).abs())
            });
            let bottom = m.bottom() - 24.0;
            let rect = [bottom, m.top() + 24.0]
                .into_iter()
                .flat_map(|y| {
                    xs.iter()
                        .map(move |&x| Rect::from_center_size(pos2(x, y), vec2(150.0, 44.0)))
                })
                .find(|r| free(r, &f.boxes))
                .unwrap_or_else(|| {
                    Rect::from_center_size(pos2(m.center().x, bottom), vec2(150.0, 44.0))
                });
            f.boxes
                .push(HostBox::new(n, BoxKind::Eavesdropper, title(n), rect));
        }
        f.lanes(t);
        f
    }

    /// Fig. 2.16: agents of the first server on the left, of the last on
    /// the right, the servers between them, the DNS above. Servers with
    /// agents of their own go to the ends where there are more than two.
    fn mail(
        &mut self,
        servers: &[(NodeId, Vec<String>)],
        agents: &BTreeMap<NodeId, Vec<NodeId>>,
        dns: &[NodeId],
        area: Rect,
        title: &dyn Fn(NodeId) -> String,
    ) {
        let n = servers.len();
        let of = |s: NodeId| agents.get(&s).cloned().unwrap_or_default();
        // Columns: the first server's agents, the servers, the last
        // server's agents; a server's column a little wider than an
        // agent's, for its queue and mailboxes.
        let unit = area.width() / (1.8 + 1.1 * n as f32);
        let (agent_col, server_col) = (0.9 * unit, 1.1 * unit);
        let (left_x, right_x) = (
            area.left() + agent_col * 0.5,
            area.right() - agent_col * 0.5,
        );
        let server_w = (server_col * 0.92).min(200.0);
        let agent_w = (agent_col * 0.9).min(140.0);
        let mid = area.center().x;
        let row = area.center().y + area.height() * 0.08;
        // Room for a title of two lines above the queue and mailboxes.
        let height = |users: &[String]| 82.0 + 34.0 * users.len().max(1) as f32;
        // Where each server stands: (x, y). Servers between the first and
        // the last stand a little lower, so that the lane between the two
        // ends passes above them.
        let places: Vec<(f32, f32)> = (0..n)
            .map(|i| {
                let x = area.left() + agent_col + server_col * (i as f32 + 0.5);
                let y = if i == 0 || i + 1 == n {
                    row
                } else {
                    row + height(&servers[i].1) / 2.0 + 24.0
                };
                (x, y)
            })
            .collect();
        for (i, (s, users)) in servers.iter().enumerate() {
            let (x, y) = places[i];
            let rect = Rect::from_center_size(pos2(x, y), vec2(server_w, height(users)));
            let inner = server_w - 16.0;
            let queue = Rect::from_min_size(rect.min + vec2(8.0, 44.0), vec2(inner, 30.0));
            let mailboxes = users
                .iter()
                .enumerate()
                .map(|(k, u)| {
                    let r = Rect::from_min_size(
                        rect.min + vec2(8.0, 80.0 + 34.0 * k as f32),
                        vec2(inner, 28.0),
                    );
                    (u.clone(), r)
                })
                .collect();
            self.boxes.push(HostBox {
                queue: Some(queue),
                mailboxes,
                ..HostBox::new(*s, BoxKind::MailServer, title(*s), rect)
            });
        }
        let mut place_agents = |list: &[NodeId], x: f32, y0: f32, gap: f32| {
            let k = list.len();
            for (j, &a) in list.iter().enumerate() {
                let y = y0 + (j as f32 - (k as f32 - 1.0) / 2.0) * gap;
                let rect = Rect::from_center_size(pos2(x, y), vec2(agent_w, 60.0));
                self.boxes
                    .push(HostBox::new(a, BoxKind::UserAgent, title(a), rect));
            }
        };
        if n == 1 {
            let all = of(servers[0].0);
            let (l, r) = all.split_at(all.len().min(1));
            place_agents(l, left_x, row, 120.0);
            place_agents(r, right_x, row, 120.0);
        } else {
            place_agents(&of(servers[0].0), left_x, row, 120.0);
            place_agents(&of(servers[n - 1].0), right_x, row, 120.0);
            // A server in the middle with agents of its own: below it.
            for (i, (s, users)) in servers.iter().enumerate().take(n - 1).skip(1) {
                let below = places[i].1 + height(users) / 2.0 + 46.0;
                place_agents(&of(*s), places[i].0, below, 70.0);
            }
        }
        for (i, &d) in dns.iter().enumerate() {
            let c = pos2(mid + i as f32 * 150.0, area.top() + 30.0);
            let rect = Rect::from_center_size(c, vec2(130.0, 44.0));
            self.boxes
                .push(HostBox::new(d, BoxKind::DnsServer, title(d), rect));
        }
    }

    /// Fig. 2.14: the user's side on the left, the servers on the right.
    fn files(
        &mut self,
        clients: &[NodeId],
        servers: &[NodeId],
        area: Rect,
        title: &dyn Fn(NodeId) -> String,
    ) {
        let w = (area.width() * 0.34).min(210.0);
        let column = |list: &[NodeId], x: f32, kind: BoxKind, boxes: &mut Vec<HostBox>| {
            let k = list.len();
            let gap = (area.height() / k.max(1) as f32).min(200.0);
            // Several users stacked: each box as tall as the room allows.
            let h = (gap - 14.0).clamp(76.0, 150.0);
            for (j, &n) in list.iter().enumerate() {
                let y = area.center().y + (j as f32 - (k as f32 - 1.0) / 2.0) * gap;
                let rect = Rect::from_center_size(pos2(x, y), vec2(w, h));
                let files =
                    Rect::from_min_size(rect.min + vec2(8.0, 48.0), vec2(w - 16.0, h - 58.0));
                boxes.push(HostBox {
                    files: Some(files),
                    ..HostBox::new(n, kind, title(n), rect)
                });
            }
        };
        let (lx, rx) = (area.left() + w / 2.0, area.right() - w / 2.0);
        column(clients, lx, BoxKind::FileClient, &mut self.boxes);
        column(servers, rx, BoxKind::FileServer, &mut self.boxes);
    }

    /// One lane per protocol between each pair of boxes that ever had a
    /// connection, side by side.
    fn lanes(&mut self, t: &Timeline) {
        let mut pairs: BTreeMap<(NodeId, NodeId), Vec<Proto>> = BTreeMap::new();
        for p in &t.story.pipes {
            let Some([a, b]) = t.story.hosts_of(&p.conn) else {
                continue;
            };
            if self.host_box(a).is_none() || self.host_box(b).is_none() || a == b {
                continue;
            }
            let key = (a.min(b), a.max(b));
            let v = pairs.entry(key).or_default();
            if !v.contains(&p.protocol) {
                v.push(p.protocol);
            }
        }
        for ((a, b), mut protos) in pairs {
            protos.sort_unstable();
            let (ra, rb) = (
                self.host_box(a).unwrap().rect,
                self.host_box(b).unwrap().rect,
            );
            // From the facing edges of the two boxes.
            let (pa, pb, across) = if (ra.center().x - rb.center().x).abs() > 60.0 {
                let (l, r) = if ra.center().x < rb.center().x {
                    (ra.right(), rb.left())
                } else {
                    (ra.left(), rb.right())
                };
                (
                    pos2(l, ra.center().y),
                    pos2(r, rb.center().y),
                    vec2(0.0, 1.0),
                )
            } else {
                let (ta, tb) = if ra.center().y < rb.center().y {
                    (ra.bottom(), rb.top())
                } else {
                    (ra.top(), rb.bottom())
                };
                (
                    pos2(ra.center().x, ta),
                    pos2(rb.center().x, tb),
                    vec2(1.0, 0.0),
                )
            };
            let k = protos.len() as f32;
            for (i, p) in protos.into_iter().enumerate() {
                let off = across * ((i as f32 - (k - 1.0) / 2.0) * 26.0);
                self.lanes.push(Lane {
                    protocol: p,
                    ends: [a, b],
                    from: pa + off,
                    to: pb + off,
                });
            }
        }
    }

    /// The box of a host.
    pub fn host_box(&self, node: NodeId) -> Option<&HostBox> {
        self.boxes.iter().find(|b| b.node == node)
    }

    /// The lane of `protocol` between `a` and `b`.
    pub fn lane(&self, a: NodeId, b: NodeId, protocol: Proto) -> Option<&Lane> {
        self.lanes
            .iter()
            .find(|l| l.protocol == protocol && (l.ends == [a, b] || l.ends == [b, a]))
    }

    /// Where eavesdropper `spy`'s tap meets the figure: the middle of the
    /// pipes of a host at an end of the tapped link, or of all pipes when
    /// both ends are routers (folded away here).
    pub fn tap_point(&self, t: &Timeline, spy: NodeId) -> Option<Pos2> {
        let link = t.hosts.get(spy as usize)?.taps?;
        let ends = t.links.get(link as usize)?.ends;
        let at_end: Vec<&Lane> = self
            .lanes
            .iter()
            .filter(|l| l.ends.iter().any(|e| ends.contains(e)))
            .collect();
        let lanes: Vec<&Lane> = if at_end.is_empty() {
            self.lanes.iter().collect()
        } else {
            at_end
        };
        if lanes.is_empty() {
            return None;
        }
        let n = lanes.len() as f32;
        let sum = lanes.iter().fold(vec2(0.0, 0.0), |s, l| {
            s + (l.from.to_vec2() + l.to.to_vec2()) / 2.0
        });
        Some((sum / n).to_pos2())
    }

    /// The part of the figure the current step is about: where the object
    /// that moved last (at or before `at`) is now, if it is in a box.
    pub fn focus(&self, t: &Timeline, at: SimTime) -> Option<Rect> {
        let leg = t
            .story
            .journeys
            .iter()
            .filter_map(|j| j.leg_at(at))
            .max_by_key(|l| (l.start, l.record))?;
        let of = |host: &NodeId| self.host_box(*host);
        match &leg.place {
            Place::Agent { host } | Place::Stopped { host, .. } => of(host).map(|b| b.rect),
            Place::Queue { host, .. } => of(host).and_then(|b| b.queue),
            Place::Mailbox { host, user, .. } => {
                of(host).and_then(|b| b.mailboxes.iter().find(|(u, _)| u == user).map(|(_, r)| *r))
            }
            Place::Files { host, .. } => of(host).and_then(|b| b.files),
            Place::Pipe { .. } => None,
        }
    }

    /// Where each object is at `t`: `(journey, centre)`. Objects at the
    /// same place are set side by side.
    pub fn objects(&self, t: &Timeline, at: SimTime) -> Vec<(usize, Pos2)> {
        let mut out = Vec::new();
        let mut seen: BTreeMap<(u8, NodeId, &str, Option<ConnName>), usize> = BTreeMap::new();
        for (i, j) in t.story.journeys.iter().enumerate() {
            let Some(leg) = j.leg_at(at) else { continue };
            let key = place_key(&leg.place);
            let nth = {
                let n = seen.entry(key).or_default();
                *n += 1;
                *n - 1
            };
            let step = vec2(26.0 * nth as f32, 0.0);
            let pos = match &leg.place {
                Place::Agent { host } => self
                    .host_box(*host)
                    .map(|b| b.rect.center() + vec2(-20.0, 10.0) + step),
                Place::Queue { host, .. } => self
                    .host_box(*host)
                    .and_then(|b| b.queue)
                    .map(|q| slot(q, nth)),
                Place::Mailbox { host, user, .. } => self.host_box(*host).and_then(|b| {
                    b.mailboxes
                        .iter()
                        .find(|(u, _)| u == user)
                        .map(|(_, r)| slot(*r, nth))
                }),
                Place::Files { host, .. } => self
                    .host_box(*host)
                    .and_then(|b| b.files)
                    .map(|r| r.left_top() + vec2(16.0, 16.0 + 24.0 * nth as f32)),
                Place::Pipe {
                    conn,
                    sender,
                    receiver,
                } => {
                    let protocol = t.story.pipe_protocol(conn).unwrap_or(Proto::Tcp);
                    self.lane(*sender, *receiver, protocol)
                        .map(|l| along(l, *sender, t.story.progress(leg, at)))
                }
                Place::Stopped { host, .. } => self
                    .host_box(*host)
                    .map(|b| b.rect.center_bottom() + vec2(-40.0 + 26.0 * nth as f32, -14.0)),
            };
            if let Some(p) = pos {
                out.push((i, p));
            }
        }
        out
    }
}

/// Where the `nth` object in a queue or mailbox row goes: from the right
/// end leftwards, clear of the label and its count on the left, and never
/// outside the row (a narrow figure squeezes them).
fn slot(row: Rect, nth: usize) -> Pos2 {
    let x = row.right() - 15.0 - 26.0 * nth as f32;
    pos2(x.max(row.left() + 13.0), row.center().y)
}

/// Places that hold several objects side by side.
fn place_key(p: &Place) -> (u8, NodeId, &str, Option<ConnName>) {
    match p {
        Place::Agent { host } => (0, *host, "", None),
        Place::Queue { host, .. } => (1, *host, "", None),
        Place::Mailbox { host, user, .. } => (2, *host, user, None),
        Place::Files { host, .. } => (3, *host, "", None),
        Place::Stopped { host, .. } => (4, *host, "", None),
        Place::Pipe { conn, .. } => (5, 0, "", Some(*conn)),
    }
}

/// The state of a pipe at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum PipeState {
    /// SYNs sent, no answer yet (or never: a firewall drops them).
    Trying,
    Open,
}

/// Every pipe that exists at `at`, by `(host, host, protocol)` both ways,
/// with whether the handshake has been answered.
fn open_lanes(t: &Timeline, at: SimTime) -> BTreeMap<(NodeId, NodeId, Proto), PipeState> {
    let mut open = BTreeMap::new();
    for p in t.story.pipes_at(at) {
        if let Some([a, b]) = t.story.hosts_of(&p.conn) {
            let state = if p.accepted.is_some_and(|s| s <= at) {
                PipeState::Open
            } else {
                PipeState::Trying
            };
            for key in [(a, b, p.protocol), (b, a, p.protocol)] {
                let e = open.entry(key).or_insert(state);
                *e = (*e).max(state);
            }
        }
    }
    open
}

fn rgb(c: [u8; 3]) -> Color32 {
    Color32::from_rgb(c[0], c[1], c[2])
}

/// The fill of an object's icon.
pub fn object_colour(j: &Journey) -> [u8; 3] {
    match j.thing {
        Thing::Message => ENVELOPE,
        Thing::Bounce => BOUNCE,
        Thing::File => FILE,
    }
}

/// The name of a pipe for its label.
fn lane_name(p: Proto) -> &'static str {
    match p {
        Proto::FtpControl => "control connection (port 21)",
        Proto::FtpData => "data connection",
        Proto::Scp => "SCP (encrypted)",
        other => other.name(),
    }
}

/// The figure's paper colour.
pub const BACKGROUND: Color32 = Color32::from_rgb(250, 250, 246);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gui::model::load;

    fn area() -> Rect {
        Rect::from_min_size(pos2(400.0, 100.0), vec2(700.0, 600.0))
    }

    #[test]
    fn mail_is_laid_out_as_figure_2_16() {
        let t = load("alice_to_bob", None).unwrap();
        let f = Figure::new(&t, area());
        let x = |name: &str| {
            let n = t.hosts.iter().find(|h| h.name == name).unwrap().node;
            f.host_box(n)
                .unwrap_or_else(|| panic!("{name}"))
                .rect
                .center()
                .x
        };
        assert!(x("alice-pc") < x("alice-mail"));
        assert!(x("alice-mail") < x("bob-mail"));
        assert!(x("bob-mail") < x("bob-pc"));
        // Routers fold away.
        assert!(
            t.hosts
                .iter()
                .filter(|h| h.name.ends_with("-gw"))
                .all(|h| f.host_box(h.node).is_none())
        );
        // Boxes stay in the area and do not overlap.
        for (i, a) in f.boxes.iter().enumerate() {
            assert!(area().contains_rect(a.rect), "{} outside", a.title);
            for b in &f.boxes[i + 1..] {
                assert!(
                    !a.rect.intersects(b.rect),
                    "{} overlaps {}",
                    a.title,
                    b.title
                );
            }
        }
        assert!(f.lanes.iter().any(|l| l.protocol == Proto::Smtp));
        assert!(f.lanes.iter().any(|l| l.protocol == Proto::Pop3));
    }

    #[test]
    fn on_a_projector_the_rows_leave_room_for_the_title_and_the_count() {
        let t = load("alice_to_bob", None).unwrap();
        // The middle of a 1280x720 window with both side panels open.
        let narrow = Rect::from_min_size(pos2(330.0, 245.0), vec2(505.0, 475.0));
        let f = Figure::new(&t, narrow);
        let bob = t.hosts.iter().find(|h| h.name == "bob-mail").unwrap().node;
        let b = f.host_box(bob).unwrap();
        let queue = b.queue.unwrap();
        // Two lines of title above the queue, the mailboxes below it, all
        // inside the box.
        assert!(
            queue.top() - b.rect.top() >= 40.0,
            "{queue:?} in {:?}",
            b.rect
        );
        assert!(
            b.mailboxes
                .iter()
                .all(|(_, r)| b.rect.contains_rect(*r) && r.top() > queue.bottom())
        );
        // After step 5 Alice's message sits in Bob's mailbox, to the
        // right of the "bob: 1" label.
        let after_step_5 = SimTime::from_millis(1420);
        let message = t
            .story
            .journeys
            .iter()
            .position(|j| j.thing == Thing::Message)
            .unwrap();
        let (_, at) = *f
            .objects(&t, after_step_5)
            .iter()
            .find(|(j, _)| *j == message)
            .unwrap();
        let (_, row) = b.mailboxes.iter().find(|(u, _)| u == "bob").unwrap();
        assert!(row.contains(at), "{at:?} outside {row:?}");
        assert!(
            at.x - 13.0 - row.left() >= 60.0,
            "{at:?} on the label of {row:?}"
        );
    }

    #[test]
    fn three_mail_servers_keep_the_lane_between_the_ends_clear() {
        let t = load("smtp_starttls", None).unwrap();
        let f = Figure::new(&t, area());
        let b = |name: &str| {
            let n = t.hosts.iter().find(|h| h.name == name).unwrap().node;
            f.host_box(n).unwrap_or_else(|| panic!("{name}")).rect
        };
        // The server without user agents stands between the others, lower,
        // so the SMTP lane from Alice's server to Bob's passes above it.
        assert!(b("alice-mail").center().x < b("carol-mail").center().x);
        assert!(b("carol-mail").center().x < b("bob-mail").center().x);
        assert!(b("carol-mail").top() > b("alice-mail").center().y);
        assert!(b("bob-mail").center().x < b("bob-pc").center().x);
        for (i, a) in f.boxes.iter().enumerate() {
            assert!(area().contains_rect(a.rect), "{} outside", a.title);
            for other in &f.boxes[i + 1..] {
                assert!(
                    !a.rect.intersects(other.rect),
                    "{} overlaps {}",
                    a.title,
                    other.title
                );
            }
        }
    }

    #[test]
    fn clicking_the_envelope_selects_the_connection_that_carried_it() {
        let t = load("alice_to_bob", None).unwrap();
        let j = t
            .story
            .journeys
            .iter()
            .position(|j| j.thing == Thing::Message)
            .unwrap();
        let (conn, flight) = carriers(&t, j);
        let c = &t.conns[conn.expect("a connection")];
        // The first connection it travelled on: submission to port 587.
        assert!(c.key.0.port() == 587 || c.key.1.port() == 587, "{c:?}");
        let f = &t.flights[flight.expect("a packet")];
        assert_eq!(f.conn, conn.unwrap());
        assert_eq!(t.hosts[f.from as usize].name, "alice-pc");
    }

    #[test]
    fn the_step_in_focus_is_the_queue_then_the_mailbox() {
        let t = load("alice_to_bob", None).unwrap();
        let f = Figure::new(&t, area());
        let node = |n: &str| t.hosts.iter().find(|h| h.name == n).unwrap().node;
        let time_of = |event: &str| {
            t.trace
                .records
                .iter()
                .find(|r| t.trace.event_name(r) == event)
                .unwrap()
                .time
        };
        let alice = f.host_box(node("alice-mail")).unwrap();
        assert_eq!(f.focus(&t, time_of("queued")), alice.queue);
        let bob = f.host_box(node("bob-mail")).unwrap();
        assert_eq!(f.focus(&t, time_of("stored")), Some(bob.mailboxes[0].1));
    }

    #[test]
    fn trudy_is_joined_to_the_link_she_taps_and_the_firewall_to_its_host() {
        let t = load("scp_vs_ftp", None).unwrap();
        let trudy = t
            .hosts
            .iter()
            .find(|h| h.kind == crate::gui::model::HostKind::Eavesdropper)
            .unwrap();
        let link = trudy.taps.expect("Trudy taps a link");
        assert!(
            t.links[link as usize]
                .ends
                .iter()
                .any(|&e| t.hosts[e as usize].name == "files")
        );
        let f = Figure::new(&t, area());
        let p = f.tap_point(&t, trudy.node).expect("a tap point");
        assert!(area().contains(p));
        let t = load("ftp_passive", None).unwrap();
        let walled: Vec<&str> = t
            .hosts
            .iter()
            .filter(|h| h.firewall)
            .map(|h| h.name.as_str())
            .collect();
        assert_eq!(walled, ["alice-pc"]);
        // The active-mode data connection the firewall refuses is only
        // ever tried: it never gets a SYN-ACK.
        let tried = t
            .story
            .pipes
            .iter()
            .filter(|p| p.protocol == Proto::FtpData && p.accepted.is_none())
            .count();
        assert!(tried >= 1);
    }

    #[test]
    fn ftp_has_two_lanes_between_client_and_server() {
        let t = load("ftp_session", None).unwrap();
        let f = Figure::new(&t, area());
        let control = f
            .lanes
            .iter()
            .find(|l| l.protocol == Proto::FtpControl)
            .unwrap();
        let data = f
            .lanes
            .iter()
            .find(|l| l.protocol == Proto::FtpData)
            .unwrap();
        assert_eq!(control.ends, data.ends);
        assert!((control.from.y - data.from.y).abs() >= 20.0);
        assert!(f.boxes.iter().all(|b| b.files.is_some()));
    }
}
