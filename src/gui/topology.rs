//! `TopologyPlugin`: one entity per host and per link of the loaded run,
//! placed by [`SceneLayout`]. Loading another scenario (or a reload)
//! despawns the whole scene and builds it again; a resized window or the
//! lecture mode moves the entities. How they look is
//! [`super::visuals`]' business: these entities carry only what they are
//! and where, so the model runs without a renderer.

use super::layout::SceneLayout;
use super::sim::{Sim, SimSet};
use crate::trace::{LinkId, NodeId};
use bevy::prelude::*;

/// A host or router.
#[derive(Component, Debug, Clone, Copy)]
pub struct HostMarker {
    pub node: NodeId,
}

/// A link; its transform stretches a unit-length shape between the ends.
#[derive(Component, Debug, Clone, Copy)]
pub struct LinkMarker {
    pub link: LinkId,
}

/// The line from an eavesdropper to the middle of the link it taps.
#[derive(Component, Debug, Clone, Copy)]
pub struct TapMarker {
    pub spy: NodeId,
    pub link: LinkId,
}

/// The label beside a link (latency, loss).
#[derive(Component, Debug, Clone, Copy)]
pub struct LinkLabel {
    pub link: LinkId,
}

/// Everything that belongs to the current run's scene; despawned on load.
#[derive(Component, Debug, Clone, Copy, Default)]
pub struct SceneItem;

/// Draw order (z) of scene layers.
pub mod z {
    pub const LINK: f32 = 0.0;
    pub const LINK_LABEL: f32 = 1.0;
    pub const HOST: f32 = 10.0;
    pub const PACKET: f32 = 20.0;
    pub const DROP: f32 = 30.0;
}

/// The run and layout the scene was built for.
#[derive(Resource, Debug, Default, Clone, Copy, PartialEq)]
pub struct BuiltFor {
    pub generation: Option<u64>,
    pub scale: f32,
}

pub struct TopologyPlugin;

impl Plugin for TopologyPlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<SceneLayout>()
            .init_resource::<BuiltFor>()
            .configure_sets(Update, SceneSet.after(SimSet))
            .add_systems(
                Update,
                (rebuild, relayout)
                    .chain()
                    .in_set(SceneSet)
                    .in_set(TopologySet),
            );
    }
}

/// Scene systems: after the player moved, before drawing.
#[derive(SystemSet, Debug, Clone, PartialEq, Eq, Hash)]
pub struct SceneSet;

/// The hosts and links; packets are placed after them.
#[derive(SystemSet, Debug, Clone, PartialEq, Eq, Hash)]
pub struct TopologySet;

/// Spawns the hosts and links of a newly loaded run.
fn rebuild(
    mut commands: Commands,
    sim: NonSend<Sim>,
    layout: Res<SceneLayout>,
    mut built: ResMut<BuiltFor>,
    items: Query<Entity, With<SceneItem>>,
) {
    let want = BuiltFor {
        generation: Some(sim.player.generation),
        scale: layout.scale,
    };
    if *built == want {
        return;
    }
    *built = want;
    for e in &items {
        commands.entity(e).despawn();
    }
    let t = &sim.player.timeline;
    for h in &t.hosts {
        let p = layout.host(h);
        commands.spawn((
            SceneItem,
            HostMarker { node: h.node },
            Transform::from_xyz(p.x, p.y, z::HOST),
            Visibility::default(),
        ));
    }
    for h in &t.hosts {
        if let Some(link) = h.taps {
            commands.spawn((
                SceneItem,
                TapMarker { spy: h.node, link },
                tap_transform(&sim, &layout, h.node, link),
                Visibility::default(),
            ));
        }
    }
    for l in &t.links {
        let (tf, label) = link_transforms(&sim, &layout, l.id);
        commands.spawn((
            SceneItem,
            LinkMarker { link: l.id },
            tf,
            Visibility::default(),
        ));
        commands.spawn((
            SceneItem,
            LinkLabel { link: l.id },
            label,
            Visibility::default(),
        ));
    }
}

/// A line from `a` to `b`: a unit rectangle's centre, angle and length.
fn segment(a: Vec2, b: Vec2, z: f32) -> Transform {
    let d = b - a;
    Transform {
        translation: ((a + b) / 2.0).extend(z),
        rotation: Quat::from_rotation_z(d.y.atan2(d.x)),
        scale: Vec3::new(d.length().max(1.0), 1.0, 1.0),
    }
}

/// The tap line of eavesdropper `spy`: from its icon to the middle of the
/// link it listens on.
fn tap_transform(sim: &Sim, layout: &SceneLayout, spy: NodeId, link: LinkId) -> Transform {
    let t = &sim.player.timeline;
    let ends = t.links.get(link as usize).map(|l| l.ends);
    let (Some(s), Some([a, b])) = (t.hosts.get(spy as usize), ends) else {
        return Transform::default();
    };
    let (Some(a), Some(b)) = (t.hosts.get(a as usize), t.hosts.get(b as usize)) else {
        return Transform::default();
    };
    let mid = (layout.host(a) + layout.host(b)) / 2.0;
    segment(layout.host(s), mid, z::LINK - 0.1)
}

/// A link's transform (centre, angle, length as x scale) and its label's.
fn link_transforms(sim: &Sim, layout: &SceneLayout, link: LinkId) -> (Transform, Transform) {
    let t = &sim.player.timeline;
    let Some(l) = t.links.get(link as usize) else {
        return (Transform::default(), Transform::default());
    };
    let (Some(a), Some(b)) = (
        t.hosts.get(l.ends[0] as usize),
        t.hosts.get(l.ends[1] as usize),
    ) else {
        return (Transform::default(), Transform::default());
    };
    let (a, b) = (layout.host(a), layout.host(b));
    let d = b - a;
    let mid = (a + b) / 2.0;
    let line = segment(a, b, z::LINK);
    // The label sits beside the middle, beyond the packets' lanes: below a
    // horizontal link (hosts' friendly labels are above their icons),
    // right of a vertical one.
    let mut normal = Vec2::new(-d.y, d.x).normalize_or_zero();
    if normal.y > 0.0 || (normal.y == 0.0 && normal.x < 0.0) {
        normal = -normal;
    }
    let label =
        Transform::from_translation((mid + normal * 36.0 * layout.scale).extend(z::LINK_LABEL));
    (line, label)
}

/// Moves hosts and links when the drawing area changes size.
fn relayout(
    sim: NonSend<Sim>,
    layout: Res<SceneLayout>,
    mut hosts: Query<(&HostMarker, &mut Transform), (Without<LinkMarker>, Without<LinkLabel>)>,
    mut links: Query<(&LinkMarker, &mut Transform), (Without<HostMarker>, Without<LinkLabel>)>,
    mut labels: Query<(&LinkLabel, &mut Transform), (Without<HostMarker>, Without<LinkMarker>)>,
    mut taps: Query<
        (&TapMarker, &mut Transform),
        (Without<HostMarker>, Without<LinkMarker>, Without<LinkLabel>),
    >,
) {
    if !layout.is_changed() {
        return;
    }
    let t = &sim.player.timeline;
    for (h, mut tf) in &mut hosts {
        if let Some(v) = t.hosts.get(h.node as usize) {
            let p = layout.host(v);
            tf.translation = p.extend(z::HOST);
        }
    }
    for (l, mut tf) in &mut links {
        *tf = link_transforms(&sim, &layout, l.link).0;
    }
    for (l, mut tf) in &mut labels {
        *tf = link_transforms(&sim, &layout, l.link).1;
    }
    for (tap, mut tf) in &mut taps {
        let want = tap_transform(&sim, &layout, tap.spy, tap.link);
        tf.translation = want.translation;
        tf.rotation = want.rotation;
        tf.scale.x = want.scale.x;
    }
}
