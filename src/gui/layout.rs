//! Where things go on screen: the scenario's 0..100 square mapped onto the
//! free part of the window, and packets placed along links with a lane
//! for each direction (like a two-lane road), FTP data on an outer lane
//! so that it never hides the control connection between the same hosts.
//!
//! Scene coordinates are Bevy's: logical pixels, origin at the centre of
//! the drawing area, y up. Pure functions, no systems.

use super::model::{DropPlace, Flight, HostView, Proto, Timeline};
use bevy::math::Vec2;
use bevy::prelude::Resource;

/// The drawing area and scale.
#[derive(Resource, Debug, Clone, Copy, PartialEq)]
pub struct SceneLayout {
    /// Size of the area the topology is drawn in, in logical pixels.
    pub size: Vec2,
    /// Where the area's centre is, in window coordinates (y down), for the
    /// camera.
    pub center: Vec2,
    /// Size of icons, labels and packets: grows with the drawing area
    /// and in lecture mode.
    pub scale: f32,
    /// The theme's part of `scale` (1, or more in lecture mode).
    pub zoom: f32,
}

impl Default for SceneLayout {
    fn default() -> Self {
        SceneLayout {
            size: Vec2::new(1000.0, 600.0),
            center: Vec2::new(500.0, 300.0),
            scale: 1.0,
            zoom: 1.0,
        }
    }
}

/// Radius of a host icon, before scaling.
pub const HOST_RADIUS: f32 = 26.0;

impl SceneLayout {
    /// The scale for a drawing area of `size` at theme zoom `zoom`: shapes
    /// grow on a large window, in steps so that small resizes keep them.
    pub fn scale_for(size: Vec2, zoom: f32) -> f32 {
        // Not below 0.85, so that icons stay recognisable; on a narrow
        // area the labels that would collide give way (visuals'
        // declutter), and folding the panels gives the drawing its room.
        let fit = (size.x / 900.0).min(size.y / 560.0).clamp(0.85, 1.6);
        (zoom * fit * 10.0).round() / 10.0
    }

    /// Where a host is drawn.
    pub fn host(&self, h: &HostView) -> Vec2 {
        let margin = Vec2::new(80.0, 70.0) * self.scale;
        let inner = (self.size - 2.0 * margin).max(Vec2::splat(10.0));
        let (x, y) = h.pos;
        Vec2::new(
            -self.size.x / 2.0 + margin.x + inner.x * x / 100.0,
            self.size.y / 2.0 - margin.y - inner.y * y / 100.0,
        )
    }

    /// The sideways offset of a lane: each direction on its own side, FTP
    /// data further out, far enough that a diamond and its ring clear a
    /// control packet's ring beside it (9.5 and 11.5 px from their centres).
    pub fn lane(&self, proto: Proto) -> f32 {
        let base = if proto == Proto::FtpData { 28.0 } else { 7.0 };
        base * self.scale
    }

    /// The point `fraction` of the way from node `from` to node `to`, on
    /// the lane of `proto`: links are drawn from icon edge to icon edge.
    pub fn along(&self, t: &Timeline, from: u32, to: u32, fraction: f32, proto: Proto) -> Vec2 {
        let (Some(a), Some(b)) = (t.hosts.get(from as usize), t.hosts.get(to as usize)) else {
            return Vec2::ZERO;
        };
        let (a, b) = (self.host(a), self.host(b));
        let d = b - a;
        let len = d.length();
        if len < 1e-3 {
            return a;
        }
        let dir = d / len;
        let trim = (HOST_RADIUS * self.scale).min(len / 3.0);
        let (a, b) = (a + dir * trim, b - dir * trim);
        // Right-hand side of the direction of travel.
        let normal = Vec2::new(dir.y, -dir.x);
        a + (b - a) * fraction + normal * self.lane(proto)
    }

    /// Where a packet in flight is drawn.
    pub fn packet(&self, t: &Timeline, f: &Flight, fraction: f32) -> Vec2 {
        self.along(t, f.from, f.to, fraction, f.proto)
    }

    /// Where a drop mark is drawn.
    pub fn drop_mark(&self, t: &Timeline, place: DropPlace, proto: Proto) -> Vec2 {
        match place {
            DropPlace::Link {
                from, to, fraction, ..
            } => self.along(t, from, to, fraction, proto),
            DropPlace::Node(n) => match t.hosts.get(n as usize) {
                Some(h) => self.host(h) + Vec2::new(0.0, (HOST_RADIUS + 14.0) * self.scale),
                None => Vec2::ZERO,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An FTP data diamond (ring half-diagonal 11.5) beside a control
    /// packet (ring radius 9.5) on the same link never overlaps it, at any
    /// scale.
    #[test]
    fn ftp_data_lane_clears_the_control_lane() {
        for scale in [0.85, 1.0, 1.6, 2.4] {
            let l = SceneLayout {
                scale,
                ..SceneLayout::default()
            };
            let gap = l.lane(Proto::FtpData) - l.lane(Proto::FtpControl);
            assert!(
                gap + 1e-3 >= (9.5 + 11.5) * scale,
                "gap {gap} at scale {scale}"
            );
        }
    }
}
