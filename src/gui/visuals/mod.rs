//! `VisualsPlugin`: how the scene looks. It gives the model entities of
//! [`super::topology`] and [`super::packets`] their shapes, colours and
//! labels when they appear, fades drop marks, colours links that are down,
//! highlights the selected packet, and keeps the camera centred on the
//! free part of the window.
//!
//! Icons are drawn from simple shapes (a monitor for a computer, a tower
//! with a badge for servers, a disc with crossed arrows for a router, an
//! eye for an eavesdropper), so no artwork is needed.

use super::layout::SceneLayout;
use super::model::{HostKind, Proto, Timeline};
use super::packets::{DropSprite, OnScreen, PacketSprite};
use super::sim::{Selection, Sim};
use super::theme::{Palette, Theme, conn_color, proto_color};
use super::topology::{HostMarker, LinkLabel, LinkMarker, SceneSet};
use crate::net::packet::Payload;
use crate::trace::caption::payload_line;
use bevy::platform::collections::HashMap;
use bevy::prelude::*;
use bevy::sprite::Anchor;
use bevy::text::TextLayoutInfo;
use bevy::window::PrimaryWindow;

mod declutter;
use declutter::{declutter_labels, declutter_text};

/// Above this many packets on screen, packets get no text label.
pub const LABEL_LIMIT: usize = 40;

/// Labels closer than this (pixels) to one already shown are hidden.
const LABEL_SPACING: f32 = 64.0;

/// A packet's text label.
#[derive(Component)]
struct PacketLabel;

/// Shared meshes and a cache of flat-colour materials.
#[derive(Resource)]
struct Shapes {
    unit_rect: Handle<Mesh>,
    packet: Handle<Mesh>,
    packet_ring: Handle<Mesh>,
    diamond: Handle<Mesh>,
    diamond_ring: Handle<Mesh>,
    highlight: Handle<Mesh>,
    materials: HashMap<[u8; 4], Handle<ColorMaterial>>,
}

impl Shapes {
    fn material(&mut self, assets: &mut Assets<ColorMaterial>, c: Color) -> Handle<ColorMaterial> {
        let s = c.to_srgba();
        let key = [s.red, s.green, s.blue, s.alpha].map(|v| (v * 255.0).round() as u8);
        self.materials
            .entry(key)
            .or_insert_with(|| assets.add(ColorMaterial::from_color(c)))
            .clone()
    }
}

/// The ring that marks the selected or current packet.
#[derive(Component)]
struct Highlight;

/// A host's line of state under its address (a mail server's queue and
/// mailboxes).
#[derive(Component)]
struct HostStatus(u32);

/// The grey cover and mark of a host that is down.
#[derive(Component)]
struct DownMark(u32);

/// A drop mark's own material, whose alpha fades.
#[derive(Component)]
struct FadeMaterial(Handle<ColorMaterial>);

pub struct VisualsPlugin;

impl Plugin for VisualsPlugin {
    fn build(&self, app: &mut App) {
        app.add_systems(Startup, setup).add_systems(
            Update,
            (
                dress_hosts,
                dress_links,
                dress_packets,
                dress_drops,
                fade_drops,
                link_colours,
                highlight,
                follow_layout,
                declutter_labels,
                declutter_text.after(declutter_labels),
                host_states,
                dress_taps,
            )
                .after(SceneSet),
        );
    }
}

fn setup(
    mut commands: Commands,
    mut meshes: ResMut<Assets<Mesh>>,
    mut materials: ResMut<Assets<ColorMaterial>>,
    theme: Res<Theme>,
) {
    commands.spawn(Camera2d);
    let mut shapes = Shapes {
        unit_rect: meshes.add(Rectangle::new(1.0, 1.0)),
        packet: meshes.add(Circle::new(7.0)),
        packet_ring: meshes.add(Annulus::new(6.5, 9.5)),
        diamond: meshes.add(Rhombus::new(17.0, 17.0)),
        diamond_ring: meshes.add(Rhombus::new(23.0, 23.0)),
        highlight: meshes.add(Annulus::new(12.0, 16.0)),
        materials: HashMap::default(),
    };
    let hl = shapes.material(&mut materials, theme.palette().highlight);
    commands.spawn((
        Highlight,
        Mesh2d(shapes.highlight.clone()),
        MeshMaterial2d(hl),
        Transform::from_xyz(0.0, 0.0, super::topology::z::PACKET - 0.5),
        Visibility::Hidden,
    ));
    commands.insert_resource(shapes);
}

/// A child shape: mesh, colour, offset, rotation.
fn shape(
    parent: &mut ChildSpawnerCommands,
    mesh: Handle<Mesh>,
    mat: Handle<ColorMaterial>,
    at: Vec3,
    rot: f32,
) {
    parent.spawn((
        Mesh2d(mesh),
        MeshMaterial2d(mat),
        Transform::from_translation(at).with_rotation(Quat::from_rotation_z(rot)),
    ));
}

/// How much a label matters when labels would overlap: the lower number
/// stays, the other is hidden until there is room (a narrow window, a
/// large text size).
#[derive(Component, Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Priority(pub u8);

/// Host names and what is inside an icon: always shown.
pub const NAME: Priority = Priority(0);
/// A host's state line (queue, mailbox) and its firewall.
pub const STATE: Priority = Priority(1);
/// Addresses under the name.
pub const ADDRESS: Priority = Priority(2);
/// The scenario's caption over a host ("Alice's computer").
pub const CAPTION: Priority = Priority(3);
/// A link's latency and rate.
pub const LINK: Priority = Priority(4);

fn text(
    parent: &mut ChildSpawnerCommands,
    s: String,
    size: f32,
    color: Color,
    at: Vec3,
    anchor: Anchor,
    priority: Priority,
) {
    parent.spawn((
        Text2d::new(s),
        TextFont::from_font_size(size),
        TextColor(color),
        anchor,
        Transform::from_translation(at),
        priority,
    ));
}

fn dress_hosts(
    mut commands: Commands,
    added: Query<(Entity, &HostMarker), Added<HostMarker>>,
    sim: NonSend<Sim>,
    theme: Res<Theme>,
    layout: Res<SceneLayout>,
    mut shapes: ResMut<Shapes>,
    mut meshes: ResMut<Assets<Mesh>>,
    mut materials: ResMut<Assets<ColorMaterial>>,
) {
    let pal = theme.palette();
    let s = layout.scale;
    for (e, h) in &added {
        let Some(v) = sim.player.timeline.hosts.get(h.node as usize) else {
            continue;
        };
        let kind = v.kind;
        let name = v.name.clone();
        // A router with many interfaces: the first address and a count.
        let addr = match v.addresses.as_slice() {
            [a, b] => format!("{a}  {b}"),
            [a] => a.to_string(),
            [a, rest @ ..] => format!("{a} +{} more", rest.len()),
            [] => String::new(),
        };
        // What the host is, in words, beside its address (a router's
        // icon says it already). The scene's font has no middle dot.
        let addr = match (kind, addr.is_empty()) {
            (HostKind::Router, _) => addr,
            (_, true) => kind.name().to_owned(),
            (_, false) => format!("{}, {addr}", kind.name()),
        };
        let label = v.label.clone();
        let firewall = v.firewall;
        // The wall stands on the side the host's link comes from.
        let t = &sim.player.timeline;
        let toward = t
            .links
            .iter()
            .find_map(|l| match l.ends {
                [a, b] if a == h.node => Some(b),
                [a, b] if b == h.node => Some(a),
                _ => None,
            })
            .and_then(|n| t.hosts.get(n as usize))
            .map_or(-1.0, |n| if n.pos.0 >= v.pos.0 { 1.0 } else { -1.0 });
        let mut m = |c: Color| shapes.material(&mut materials, c);
        let bg = m(Color::WHITE);
        let rim = m(pal.link.with_alpha(0.6));
        let body = m(pal.icon_body);
        let screen = m(pal.icon_screen);
        let line = m(pal.icon_line);
        let router = m(pal.router);
        let green = m(Color::srgb(0.20, 0.75, 0.35));
        let red = m(Color::srgb(0.62, 0.08, 0.12));
        let black = m(Color::BLACK);
        let grey = m(Color::srgba(0.55, 0.55, 0.55, 0.75));
        let brick = m(Color::srgb(0.70, 0.25, 0.15));
        let (badge, badge_fg) = match kind {
            HostKind::MailServer => (Some(m(Color::srgb_u8(0, 114, 178))), m(Color::WHITE)),
            HostKind::FileServer => (
                Some(m(Color::srgb_u8(0, 158, 115))),
                m(Color::srgb_u8(255, 214, 102)),
            ),
            HostKind::DnsServer => (Some(m(Color::srgb_u8(230, 159, 0))), m(Color::WHITE)),
            HostKind::WebServer => (Some(m(Color::srgb_u8(213, 94, 0))), m(Color::WHITE)),
            _ => (None, m(Color::WHITE)),
        };
        let mut mesh = |shape: Mesh| meshes.add(shape);
        let disc = mesh(Circle::new(30.0 * s).into());
        let disc_cover = mesh(Circle::new(31.0 * s).into());
        let disc_rim = mesh(Circle::new(32.0 * s).into());
        let r = |w: f32, h: f32| Rectangle::new(w * s, h * s);
        let meshes_for = (
            mesh(r(40.0, 28.0).into()),
            mesh(r(34.0, 21.0).into()),
            mesh(r(6.0, 6.0).into()),
            mesh(r(22.0, 3.0).into()),
            mesh(r(28.0, 44.0).into()),
            mesh(r(20.0, 3.0).into()),
            mesh(Circle::new(2.2 * s).into()),
            mesh(Circle::new(10.0 * s).into()),
            mesh(r(12.0, 8.0).into()),
            mesh(
                Triangle2d::new(
                    Vec2::new(-6.0 * s, 4.0 * s),
                    Vec2::new(6.0 * s, 4.0 * s),
                    Vec2::new(0.0, -s),
                )
                .into(),
            ),
            mesh(r(5.0, 2.5).into()),
            mesh(Circle::new(22.0 * s).into()),
            mesh(r(30.0, 3.5).into()),
            mesh(Ellipse::new(23.0 * s, 13.0 * s).into()),
            mesh(Ellipse::new(20.0 * s, 10.5 * s).into()),
            mesh(Circle::new(8.0 * s).into()),
            mesh(Circle::new(3.5 * s).into()),
            mesh(Annulus::new(4.0 * s, 5.5 * s).into()),
        );
        let (
            monitor,
            monitor_screen,
            stand,
            base,
            tower,
            bay,
            led,
            badge_disc,
            envelope,
            flap,
            tab,
            router_disc,
            arrow,
            eye_outer,
            eye_white,
            iris,
            pupil,
            globe,
        ) = meshes_for;
        let k = |x: f32, y: f32, z: f32| Vec3::new(x * s, y * s, z);
        commands.entity(e).with_children(|p| {
            shape(p, disc_rim, rim, k(0.0, 0.0, -0.2), 0.0);
            shape(p, disc, bg.clone(), k(0.0, 0.0, -0.1), 0.0);
            match kind {
                HostKind::Pc => {
                    shape(p, monitor, body.clone(), k(0.0, 5.0, 0.0), 0.0);
                    shape(p, monitor_screen, screen, k(0.0, 5.5, 0.1), 0.0);
                    shape(p, stand, body.clone(), k(0.0, -11.5, 0.0), 0.0);
                    shape(p, base, body, k(0.0, -15.0, 0.0), 0.0);
                }
                HostKind::Router => {
                    shape(p, router_disc, router, k(0.0, 0.0, 0.0), 0.0);
                    shape(
                        p,
                        arrow.clone(),
                        line.clone(),
                        k(0.0, 0.0, 0.1),
                        std::f32::consts::FRAC_PI_4,
                    );
                    shape(
                        p,
                        arrow,
                        line,
                        k(0.0, 0.0, 0.1),
                        -std::f32::consts::FRAC_PI_4,
                    );
                }
                HostKind::Eavesdropper => {
                    shape(p, eye_outer, red.clone(), k(0.0, 0.0, 0.0), 0.0);
                    shape(p, eye_white, bg, k(0.0, 0.0, 0.05), 0.0);
                    shape(p, iris, red, k(0.0, 0.0, 0.1), 0.0);
                    shape(p, pupil, black, k(0.0, 0.0, 0.2), 0.0);
                }
                _ => {
                    shape(p, tower, body, k(-4.0, 0.0, 0.0), 0.0);
                    for y in [13.0, 6.0, -1.0] {
                        shape(p, bay.clone(), line.clone(), k(-4.0, y, 0.1), 0.0);
                    }
                    shape(p, led, green, k(3.0, -15.0, 0.1), 0.0);
                    if let Some(badge) = badge {
                        shape(p, badge_disc, badge.clone(), k(13.0, -11.0, 0.2), 0.0);
                        match kind {
                            HostKind::MailServer => {
                                shape(p, envelope, badge_fg.clone(), k(13.0, -11.0, 0.3), 0.0);
                                // The flap, in the badge's colour, reads as the fold.
                                shape(p, flap, badge, k(13.0, -11.0, 0.4), 0.0);
                            }
                            HostKind::FileServer => {
                                shape(p, envelope, badge_fg.clone(), k(13.0, -12.0, 0.3), 0.0);
                                shape(p, tab, badge_fg, k(10.5, -7.0, 0.3), 0.0);
                            }
                            HostKind::WebServer => {
                                shape(p, globe, badge_fg, k(13.0, -11.0, 0.3), 0.0);
                            }
                            _ => {
                                text(
                                    p,
                                    "DNS".into(),
                                    7.5 * s,
                                    Color::WHITE,
                                    k(13.0, -11.0, 0.3),
                                    Anchor::CENTER,
                                    NAME,
                                );
                            }
                        }
                    }
                }
            }
            text(
                p,
                name,
                15.0 * s,
                pal.text,
                k(0.0, -35.0, 0.5),
                Anchor::TOP_CENTER,
                // Routers' names give way to the hosts' when crowded.
                if kind == HostKind::Router {
                    STATE
                } else {
                    NAME
                },
            );
            if !addr.is_empty() {
                text(
                    p,
                    addr,
                    11.5 * s,
                    pal.text_weak,
                    k(0.0, -53.0, 0.5),
                    Anchor::TOP_CENTER,
                    ADDRESS,
                );
            }
            if let Some(label) = label {
                text(
                    p,
                    label,
                    13.0 * s,
                    pal.text_weak,
                    k(0.0, 35.0, 0.5),
                    Anchor::BOTTOM_CENTER,
                    CAPTION,
                );
            }
            if firewall {
                // A wall in front of the host, with its name.
                let wall = Rectangle::new(7.0 * s, 40.0 * s);
                shape(p, meshes.add(wall), brick, k(40.0 * toward, 0.0, 0.3), 0.0);
                text(
                    p,
                    "firewall".into(),
                    10.0 * s,
                    Color::srgb(0.70, 0.25, 0.15),
                    k(40.0 * toward, 24.0, 0.5),
                    Anchor::BOTTOM_CENTER,
                    STATE,
                );
            }
            p.spawn((
                HostStatus(h.node),
                Text2d::new(""),
                TextFont::from_font_size(11.5 * s),
                TextColor(pal.text),
                Anchor::TOP_CENTER,
                Transform::from_translation(k(0.0, -69.0, 0.5)),
                STATE,
            ));
            p.spawn((
                DownMark(h.node),
                Mesh2d(disc_cover),
                MeshMaterial2d(grey),
                Transform::from_translation(k(0.0, 0.0, 0.45)),
                Visibility::Hidden,
            ))
            .with_children(|c| {
                text(
                    c,
                    "DOWN".into(),
                    12.0 * s,
                    Color::srgb(0.70, 0.05, 0.05),
                    k(0.0, 0.0, 0.1),
                    Anchor::CENTER,
                    NAME,
                );
            });
        });
    }
}

/// Keeps each host's state line and down mark true to the current event.
fn host_states(
    sim: NonSend<Sim>,
    mut texts: Query<(&HostStatus, &mut Text2d)>,
    mut marks: Query<(&DownMark, &mut Visibility)>,
    mut seen: Local<Option<(u64, usize, usize)>>,
) {
    let p = &sim.player;
    let key = (p.generation, p.cursor, texts.iter().len());
    if *seen == Some(key) {
        return;
    }
    *seen = Some(key);
    let t = &p.timeline;
    for (h, mut text) in &mut texts {
        let want = t.host_status(h.0, p.time);
        if text.0 != want {
            text.0 = want;
        }
    }
    for (m, mut vis) in &mut marks {
        let want = if t.host_down(m.0, p.cursor) {
            Visibility::Inherited
        } else {
            Visibility::Hidden
        };
        if *vis != want {
            *vis = want;
        }
    }
}

fn dress_links(
    mut commands: Commands,
    links: Query<(Entity, &LinkMarker), Added<LinkMarker>>,
    labels: Query<(Entity, &LinkLabel), Added<LinkLabel>>,
    sim: NonSend<Sim>,
    theme: Res<Theme>,
    layout: Res<SceneLayout>,
    shapes: Res<Shapes>,
    mut materials: ResMut<Assets<ColorMaterial>>,
) {
    let pal = theme.palette();
    for (e, _) in &links {
        // Each link has its own material: it turns red while down.
        let mat = materials.add(ColorMaterial::from_color(pal.link));
        // The line is 1 unit long (x scaled to the length) and this thick.
        let thickness = LinkThickness(if theme.lecture { 5.0 } else { 3.5 });
        commands.entity(e).insert((
            Mesh2d(shapes.unit_rect.clone()),
            MeshMaterial2d(mat),
            thickness,
        ));
    }
    // When every link is alike, the status line says so once instead.
    let uniform = uniform_links(&sim.player.timeline).is_some();
    for (e, l) in &labels {
        let Some(v) = sim.player.timeline.links.get(l.link as usize) else {
            continue;
        };
        let text = if uniform { String::new() } else { link_text(v) };
        commands.entity(e).insert((
            Text2d::new(text),
            TextFont::from_font_size(11.5 * layout.scale),
            TextColor(pal.text_weak),
            Anchor::CENTER,
            LINK,
        ));
    }
}

/// An eavesdropper's tap: a thin red line to the link it listens on.
fn dress_taps(
    mut commands: Commands,
    mut taps: Query<(Entity, &mut Transform), Added<super::topology::TapMarker>>,
    shapes: Res<Shapes>,
    mut materials: ResMut<Assets<ColorMaterial>>,
) {
    for (e, mut tf) in &mut taps {
        let mat = materials.add(ColorMaterial::from_color(Color::srgba(
            0.62, 0.08, 0.12, 0.7,
        )));
        tf.scale.y = 2.0;
        commands
            .entity(e)
            .insert((Mesh2d(shapes.unit_rect.clone()), MeshMaterial2d(mat)));
    }
}

/// The thickness a link line is drawn with.
#[derive(Component)]
struct LinkThickness(f32);

/// The one description of all links, when there are more than two and
/// they are all alike.
pub fn uniform_links(t: &Timeline) -> Option<String> {
    let first = link_text(t.links.first()?);
    (t.links.len() > 2 && t.links.iter().all(|l| link_text(l) == first)).then_some(first)
}

/// "10 ms, 10 Mbit/s, 5% loss".
pub fn link_text(l: &super::model::LinkView) -> String {
    let mut parts = vec![short_duration(l.latency)];
    if l.bandwidth_bps > 0 {
        parts.push(rate(l.bandwidth_bps));
    }
    if l.loss > 0.0 {
        parts.push(format!("{}% loss", (l.loss * 1000.0).round() / 10.0));
    }
    parts.join(", ")
}

/// A duration with no needless digits: "10 ms", "1.5 ms", "250 us".
pub fn short_duration(d: crate::sim::SimDuration) -> String {
    let ns = d.as_nanos() as f64;
    let (v, unit) = if ns >= 1e9 {
        (ns / 1e9, "s")
    } else if ns >= 1e6 {
        (ns / 1e6, "ms")
    } else if ns >= 1e3 {
        (ns / 1e3, "us")
    } else {
        (ns, "ns")
    };
    let s = format!("{v:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    format!("{s} {unit}")
}

fn rate(bps: u64) -> String {
    let b = bps as f64;
    if b >= 1e9 {
        format!("{} Gbit/s", b / 1e9)
    } else if b >= 1e6 {
        format!("{} Mbit/s", b / 1e6)
    } else if b >= 1e3 {
        format!("{} kbit/s", b / 1e3)
    } else {
        format!("{bps} bit/s")
    }
}

/// A short label for a packet: its flags or its first line of text.
pub fn packet_label(t: &Timeline, flight: usize) -> String {
    let Some(f) = t.flights.get(flight) else {
        return String::new();
    };
    let Some(p) = t.trace.packet(f.packet) else {
        return String::new();
    };
    match &p.payload {
        Payload::Tcp(s) => {
            if let Some(line) = payload_line(&s.payload) {
                let mut l = line;
                if l.len() > 26 {
                    l.truncate(23);
                    l.push_str("...");
                }
                return l;
            }
            if s.payload.is_empty() {
                let flags = s.flags.to_string();
                if flags == "ACK" {
                    return format!("ACK {}", t.trace.seqs.ack(p));
                }
                return flags;
            }
            format!("{} B", s.payload.len())
        }
        Payload::Udp(d) => match f.proto {
            Proto::Dns => "DNS".into(),
            _ => format!("UDP {} B", d.payload.len()),
        },
    }
}

fn dress_packets(
    mut commands: Commands,
    added: Query<(Entity, &PacketSprite), Added<PacketSprite>>,
    sim: NonSend<Sim>,
    on: Res<OnScreen>,
    theme: Res<Theme>,
    layout: Res<SceneLayout>,
    mut shapes: ResMut<Shapes>,
    mut materials: ResMut<Assets<ColorMaterial>>,
) {
    let pal: Palette = theme.palette();
    let t = &sim.player.timeline;
    let labels = on.flights.len() <= LABEL_LIMIT;
    let s = layout.scale;
    for (e, p) in &added {
        let Some(f) = t.flights.get(p.flight) else {
            continue;
        };
        let fill = shapes.material(&mut materials, proto_color(f.proto));
        let ring = shapes.material(&mut materials, conn_color(f.conn));
        let (body, outline) = if f.proto == Proto::FtpData {
            (shapes.diamond.clone(), shapes.diamond_ring.clone())
        } else {
            (shapes.packet.clone(), shapes.packet_ring.clone())
        };
        let label = labels.then(|| packet_label(t, p.flight));
        // The label goes on the outer side of the packet's lane, away from
        // the link line and its label.
        let (offset, anchor) = label_side(&layout, t, f.from, f.to);
        commands
            .entity(e)
            .insert((Mesh2d(body), MeshMaterial2d(fill), Visibility::default()))
            .with_children(|c| {
                c.spawn((
                    Mesh2d(outline),
                    MeshMaterial2d(ring),
                    Transform::from_xyz(0.0, 0.0, -0.05),
                ));
                if let Some(label) = label {
                    c.spawn((
                        PacketLabel,
                        Text2d::new(label),
                        TextFont::from_font_size(11.0 * s),
                        TextColor(pal.text),
                        anchor,
                        // The packet is scaled by `s`; the text is laid out
                        // at its final size and scaled back, to stay sharp.
                        Transform::from_translation(offset.extend(0.3))
                            .with_scale(Vec3::splat(1.0 / s)),
                    ));
                }
            });
        if s != 1.0 {
            commands.entity(e).insert(Scaled(s));
        }
    }
}

/// Where a packet's label goes: beyond its lane, on the side away from
/// the link line. Offsets are before the packet's own scaling.
fn label_side(layout: &SceneLayout, t: &Timeline, from: u32, to: u32) -> (Vec2, Anchor) {
    let (Some(a), Some(b)) = (t.hosts.get(from as usize), t.hosts.get(to as usize)) else {
        return (Vec2::new(0.0, 11.0), Anchor::BOTTOM_CENTER);
    };
    let dir = (layout.host(b) - layout.host(a)).normalize_or_zero();
    let normal = Vec2::new(dir.y, -dir.x);
    let offset = normal * 11.0;
    let anchor = if normal.y < -0.4 {
        Anchor::TOP_CENTER
    } else if normal.y > 0.4 {
        Anchor::BOTTOM_CENTER
    } else if normal.x > 0.0 {
        Anchor::CENTER_LEFT
    } else {
        Anchor::CENTER_RIGHT
    };
    (offset, anchor)
}

/// Packet shapes are made for scale 1; lecture mode scales them up.
#[derive(Component)]
struct Scaled(f32);

fn dress_drops(
    mut commands: Commands,
    added: Query<(Entity, &DropSprite), Added<DropSprite>>,
    theme: Res<Theme>,
    layout: Res<SceneLayout>,
    shapes: Res<Shapes>,
    mut materials: ResMut<Assets<ColorMaterial>>,
) {
    let s = layout.scale;
    for (e, d) in &added {
        let mat = materials.add(ColorMaterial::from_color(
            theme.palette().drop.with_alpha(d.fade),
        ));
        commands
            .entity(e)
            .insert((FadeMaterial(mat.clone()), Visibility::default()))
            .with_children(|c| {
                for rot in [std::f32::consts::FRAC_PI_4, -std::f32::consts::FRAC_PI_4] {
                    c.spawn((
                        Mesh2d(shapes.unit_rect.clone()),
                        MeshMaterial2d(mat.clone()),
                        Transform::from_rotation(Quat::from_rotation_z(rot)).with_scale(Vec3::new(
                            24.0 * s,
                            5.0 * s,
                            1.0,
                        )),
                    ));
                }
            });
    }
}

fn fade_drops(
    marks: Query<(&DropSprite, &FadeMaterial), Changed<DropSprite>>,
    theme: Res<Theme>,
    mut materials: ResMut<Assets<ColorMaterial>>,
) {
    for (d, m) in &marks {
        if let Some(mut mat) = materials.get_mut(&m.0) {
            mat.color = theme.palette().drop.with_alpha(d.fade.clamp(0.0, 1.0));
        }
    }
}

/// Link lines: thickness, and red while the link is down.
fn link_colours(
    sim: NonSend<Sim>,
    theme: Res<Theme>,
    mut links: Query<(
        &LinkMarker,
        &MeshMaterial2d<ColorMaterial>,
        &LinkThickness,
        &mut Transform,
    )>,
    mut materials: ResMut<Assets<ColorMaterial>>,
    mut seen: Local<Option<(u64, usize, bool, usize)>>,
) {
    // Only when the cursor, the run or the theme changed (or new links).
    let key = (
        sim.player.generation,
        sim.player.cursor,
        theme.lecture,
        links.iter().len(),
    );
    if *seen == Some(key) {
        return;
    }
    *seen = Some(key);
    let pal = theme.palette();
    for (l, mat, th, mut tf) in &mut links {
        if tf.scale.y != th.0 {
            tf.scale.y = th.0;
        }
        let up = sim.player.timeline.link_up(l.link, sim.player.cursor);
        let want = if up { pal.link } else { pal.link_down };
        if let Some(m) = materials.get(&mat.0)
            && m.color != want
            && let Some(mut m) = materials.get_mut(&mat.0)
        {
            m.color = want;
        }
    }
}

/// The ring around the selected packet, or the current event's packet.
fn highlight(
    sim: NonSend<Sim>,
    selection: Res<Selection>,
    on: Res<OnScreen>,
    sprites: Query<(&PacketSprite, &Transform), Without<Highlight>>,
    mut ring: Query<(&mut Transform, &mut Visibility), With<Highlight>>,
) {
    let t = &sim.player.timeline;
    let current_packet = sim
        .player
        .current()
        .and_then(|i| t.trace.records.get(i))
        .and_then(|r| r.event.packet());
    let target = selection.flight.or_else(|| {
        let p = current_packet?;
        on.flights
            .iter()
            .find(|&&(i, _)| t.flights[i].packet == p)
            .map(|&(i, _)| i)
    });
    let Ok((mut tf, mut vis)) = ring.single_mut() else {
        return;
    };
    let found = target.and_then(|f| sprites.iter().find(|(p, _)| p.flight == f));
    match found {
        Some((_, at)) => {
            tf.translation = at.translation.truncate().extend(tf.translation.z);
            *vis = Visibility::Visible;
        }
        None => *vis = Visibility::Hidden,
    }
}

/// Keeps the camera on the drawing area's centre and applies the lecture
/// scale to packets.
fn follow_layout(
    layout: Res<SceneLayout>,
    window: Query<&Window, With<PrimaryWindow>>,
    mut camera: Query<&mut Transform, With<Camera2d>>,
    mut packets: Query<(&mut Transform, &Scaled), Without<Camera2d>>,
) {
    if let Ok(w) = window.single()
        && let Ok(mut cam) = camera.single_mut()
    {
        let (ww, wh) = (w.width(), w.height());
        let want = Vec3::new(
            ww / 2.0 - layout.center.x,
            layout.center.y - wh / 2.0,
            cam.translation.z,
        );
        if cam.translation != want {
            cam.translation = want;
        }
    }
    for (mut tf, s) in &mut packets {
        if tf.scale.x != s.0 {
            tf.scale = Vec3::new(s.0, s.0, 1.0);
        }
    }
}
