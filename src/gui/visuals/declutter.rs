//! Labels that would cover each other: the scene's texts in order of
//! priority (names, states, addresses, captions, link labels), each shown
//! only where it covers none shown before it.

use super::*;

/// Shows a packet's label only where it does not overlap another (the
/// earliest packets keep theirs) and not while it waits in the sender's
/// queue, on top of the host's icon.
pub(super) fn declutter_labels(
    on: Res<OnScreen>,
    packets: Query<(&PacketSprite, &Transform, &Children)>,
    mut labels: Query<&mut Visibility, With<PacketLabel>>,
) {
    let mut shown: Vec<Vec2> = Vec::new();
    let mut all: Vec<(usize, Vec2, &Children)> = packets
        .iter()
        .map(|(p, tf, c)| (p.flight, tf.translation.truncate(), c))
        .collect();
    all.sort_by_key(|a| a.0);
    let crowded = on.flights.len() > LABEL_LIMIT;
    let queued: bevy::platform::collections::HashSet<usize> = on
        .flights
        .iter()
        .filter(|&&(_, frac)| frac <= 0.0)
        .map(|&(i, _)| i)
        .collect();
    for (flight, pos, children) in all {
        let free = !crowded
            && !queued.contains(&flight)
            && shown.iter().all(|s| s.distance(pos) >= LABEL_SPACING);
        if free {
            shown.push(pos);
        }
        for c in children.iter() {
            if let Ok(mut v) = labels.get_mut(c) {
                let want = if free {
                    Visibility::Inherited
                } else {
                    Visibility::Hidden
                };
                if *v != want {
                    *v = want;
                }
            }
        }
    }
}

/// Hides labels that would overlap a more important one (see
/// [`Priority`]), and packet labels that would cover any label: from a
/// 1024-pixel projector up, no text of the scene covers another.
pub(super) fn declutter_text(
    mut labels: Query<(
        Entity,
        &TextLayoutInfo,
        &GlobalTransform,
        Option<&Anchor>,
        Option<&Priority>,
        &mut Visibility,
        &InheritedVisibility,
        &Text2d,
    )>,
    packet_labels: Query<(), With<PacketLabel>>,
    hosts: Query<(&crate::gui::topology::HostMarker, &GlobalTransform)>,
    layout: Res<SceneLayout>,
) {
    // Placed in the scene's coordinates (y up), most important first; a
    // label without a priority is a packet's (the lowest).
    let mut all: Vec<(Priority, Entity, Rect)> = Vec::new();
    for (e, info, t, anchor, priority, vis, inherited, text) in &labels {
        let is_packet = packet_labels.contains(e);
        // A packet label its own system hid, or anything whose parent is
        // hidden, takes no room.
        if text.0.trim().is_empty() || (is_packet && *vis == Visibility::Hidden) {
            continue;
        }
        if !is_packet && priority.is_none() {
            continue;
        }
        // A label under a hidden parent (a host's DOWN mark) takes no
        // room either; one this system hid is looked at again.
        if !is_packet && !inherited.get() && *vis != Visibility::Hidden {
            continue;
        }
        let size = info.size * t.scale().truncate().abs();
        let a = anchor.copied().unwrap_or_default().as_vec();
        let c = t.translation().truncate() - a * size;
        all.push((
            priority.copied().unwrap_or(Priority(u8::MAX)),
            e,
            Rect::from_center_size(c, size),
        ));
    }
    all.sort_by_key(|(p, e, _)| (*p, *e));
    // Host icons are in the way too: no label but a name sits on one.
    let r = crate::gui::layout::HOST_RADIUS * layout.scale;
    let mut taken = Taken::default();
    for (_, t) in &hosts {
        taken.add(Rect::from_center_size(
            t.translation().truncate(),
            Vec2::splat(2.0 * r),
        ));
    }
    for (p, e, r) in all {
        let free = p == NAME || !taken.clashes(r);
        if free {
            taken.add(r);
        }
        if let Ok((.., mut vis, _, _)) = labels.get_mut(e) {
            let want = if free {
                Visibility::Inherited
            } else {
                Visibility::Hidden
            };
            if *vis != want {
                *vis = want;
            }
        }
    }
}

/// Rectangles already on the scene, bucketed in a grid so that a new one
/// is compared with its neighbours only (a 200-host network has a
/// thousand labels).
#[derive(Default)]
struct Taken {
    rects: Vec<Rect>,
    cells: bevy::platform::collections::HashMap<(i32, i32), Vec<usize>>,
}

impl Taken {
    const CELL: f32 = 96.0;

    fn cells_of(r: Rect) -> impl Iterator<Item = (i32, i32)> {
        let lo = (r.min / Self::CELL).floor();
        // A label is never wider than a few cells; the bound keeps a
        // broken size from walking the whole plane.
        let hi = (r.max / Self::CELL).floor().min(lo + Vec2::splat(64.0));
        (lo.x as i32..=hi.x as i32)
            .flat_map(move |x| (lo.y as i32..=hi.y as i32).map(move |y| (x, y)))
    }

    fn add(&mut self, r: Rect) {
        let i = self.rects.len();
        self.rects.push(r);
        for c in Self::cells_of(r) {
            self.cells.entry(c).or_default().push(i);
        }
    }

    /// Lines of one block (a name and its address) may touch: only a real
    /// overlap, more than a pixel each way, counts.
    fn clashes(&self, r: Rect) -> bool {
        Self::cells_of(r).any(|c| {
            self.cells.get(&c).is_some_and(|ids| {
                ids.iter().any(|&i| {
                    let o = self.rects[i].intersect(r);
                    o.width() > 1.0 && o.height() > 1.0
                })
            })
        })
    }
}
