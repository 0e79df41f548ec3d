//! `PacketsPlugin`: one entity per packet on a link at the view time, and
//! one per recent drop. Each frame it asks the timeline which flights are
//! on the wire, spawns entities for new ones, despawns those that
//! arrived, and moves every sprite to where the view time puts it: the
//! fraction of the way between the packet's departure and its arrival
//! (docs/architecture.md: sim time advances in steps, sprites interpolate).
//!
//! Like the topology, these entities carry no look of their own, so tests
//! can check positions with no renderer.

use super::layout::SceneLayout;
use super::model::Proto;
use super::sim::Sim;
use super::topology::{BuiltFor, SceneItem, SceneSet, TopologySet, z};
use bevy::platform::collections::HashMap;
use bevy::prelude::*;

/// A packet on a link: index into `Timeline::flights`.
#[derive(Component, Debug, Clone, Copy, PartialEq, Eq)]
pub struct PacketSprite {
    pub flight: usize,
}

/// A drop mark: index into `Timeline::drops`, and how faded it is (1 =
/// just happened, 0 = gone).
#[derive(Component, Debug, Clone, Copy, PartialEq)]
pub struct DropSprite {
    pub drop: usize,
    pub fade: f32,
}

/// The packet and drop entities of the current frame.
#[derive(Resource, Debug, Default)]
pub struct OnScreen {
    /// The scene these entities belong to.
    built: Option<BuiltFor>,
    packets: HashMap<usize, Entity>,
    drops: HashMap<usize, Entity>,
    /// Flights on the wire now, with their fraction of the way.
    pub flights: Vec<(usize, f32)>,
}

pub struct PacketsPlugin;

impl Plugin for PacketsPlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<OnScreen>().add_systems(
            Update,
            (sync_packets, sync_drops)
                .chain()
                .in_set(SceneSet)
                .after(TopologySet),
        );
    }
}

/// Spawns, moves and despawns packet entities for the view time.
pub fn sync_packets(
    mut commands: Commands,
    sim: NonSend<Sim>,
    layout: Res<SceneLayout>,
    built: Res<BuiltFor>,
    mut on: ResMut<OnScreen>,
    mut sprites: Query<&mut Transform, With<PacketSprite>>,
) {
    let on = &mut *on;
    if on.built != Some(*built) {
        // The topology despawned every scene item to build a new scene
        // (another run, or another scale).
        on.built = Some(*built);
        on.packets.clear();
        on.drops.clear();
    }
    let t = &sim.player.timeline;
    on.flights.clear();
    on.flights.extend(t.in_flight(sim.player.time));
    // Despawn what is no longer on the wire.
    let live: bevy::platform::collections::HashSet<usize> =
        on.flights.iter().map(|&(i, _)| i).collect();
    on.packets.retain(|i, e| {
        let keep = live.contains(i);
        if !keep {
            commands.entity(*e).despawn();
        }
        keep
    });
    for &(i, frac) in &on.flights {
        let f = &t.flights[i];
        // Packets of the same flight stack slightly in z so that later ones
        // draw on top.
        let zz = z::PACKET + (i % 1000) as f32 * 0.001;
        let pos = layout.packet(t, f, frac).extend(zz);
        match on.packets.get(&i) {
            Some(&e) => {
                if let Ok(mut tf) = sprites.get_mut(e) {
                    tf.translation = pos;
                }
            }
            None => {
                let e = commands
                    .spawn((
                        SceneItem,
                        PacketSprite { flight: i },
                        Transform::from_translation(pos),
                        Visibility::default(),
                    ))
                    .id();
                on.packets.insert(i, e);
            }
        }
    }
}

/// Spawns drop marks, fades them, and despawns them once faded.
pub fn sync_drops(
    mut commands: Commands,
    sim: NonSend<Sim>,
    layout: Res<SceneLayout>,
    mut on: ResMut<OnScreen>,
    mut marks: Query<(&mut DropSprite, &mut Transform)>,
) {
    let t = &sim.player.timeline;
    let recent: Vec<(usize, f32)> = t
        .recent_drops(sim.player.time, t.drop_fade())
        .filter(|&(_, fade)| fade > 0.0)
        .collect();
    let live: bevy::platform::collections::HashSet<usize> =
        recent.iter().map(|&(i, _)| i).collect();
    on.drops.retain(|i, e| {
        let keep = live.contains(i);
        if !keep {
            commands.entity(*e).despawn();
        }
        keep
    });
    for (i, fade) in recent {
        let d = &t.drops[i];
        let proto = t
            .conn_of(d.packet)
            .and_then(|c| t.conns.get(c))
            .map_or(Proto::Tcp, |c| c.proto);
        let pos = layout.drop_mark(t, d.place, proto).extend(z::DROP);
        match on.drops.get(&i) {
            Some(&e) => {
                if let Ok((mut m, mut tf)) = marks.get_mut(e) {
                    m.fade = fade;
                    tf.translation = pos;
                }
            }
            None => {
                let e = commands
                    .spawn((
                        SceneItem,
                        DropSprite { drop: i, fade },
                        Transform::from_translation(pos),
                        Visibility::default(),
                    ))
                    .id();
                on.drops.insert(i, e);
            }
        }
    }
}
