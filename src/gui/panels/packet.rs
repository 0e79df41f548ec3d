//! The packet inspector: the selected packet (click one in the scene), or
//! the packet of the current event. IPv4 and TCP or UDP header fields,
//! the application bytes as text, and a hex dump of the real bytes on the
//! wire ([`crate::net::wire::encode_ipv4`]), as Wireshark would show them.

use super::fmt_time;
use crate::gui::ui::View;
use crate::net::packet::{Packet, Payload};
use crate::net::wire::encode_ipv4;
use bevy_egui::egui;

pub fn inspector(ui: &mut egui::Ui, v: &mut View) {
    let p = &v.sim.player;
    let t = &p.timeline;
    // The current event's packet; for a dialogue line, the segment that
    // carried it.
    let from_current = p.current().and_then(|i| t.carrier_flight(i));
    let Some(fi) = v.selection.flight.or(from_current) else {
        ui.add_space(8.0);
        ui.label("Click a packet in the network view, or step to a packet event, to see its headers and bytes.");
        return;
    };
    let f = &t.flights[fi];
    let Some(pkt) = t.trace.packet(f.packet) else {
        return;
    };
    ui.horizontal(|ui| {
        ui.heading(format!("Packet #{}", pkt.id));
        if v.selection.flight.is_some() && ui.small_button("follow current event").clicked() {
            v.selection.flight = None;
        }
    });
    let conn = t.conns.get(f.conn);
    ui.label(format!(
        "{} -> {} on the link {} - {}",
        t.trace.addr_name(pkt.src),
        t.trace.addr_name(pkt.dst),
        t.hosts[f.from as usize].name,
        t.hosts[f.to as usize].name
    ));
    ui.label(format!(
        "queued {}, leaves {}, arrives {}{}",
        fmt_time(f.queued),
        fmt_time(f.depart),
        fmt_time(f.arrive),
        if f.lost.is_some() {
            "  (LOST on the way)"
        } else {
            ""
        }
    ));
    if let Some(c) = conn {
        ui.label(format!("protocol: {}", c.proto.name()));
    }
    let bytes = encode_ipv4(pkt);
    egui::ScrollArea::vertical()
        .auto_shrink([false, false])
        .id_salt("packet")
        .show(ui, |ui| {
            headers(ui, pkt, &bytes);
            payload(ui, pkt);
            egui::CollapsingHeader::new(format!("Bytes on the wire ({})", bytes.len()))
                .default_open(true)
                .show(ui, |ui| {
                    ui.label(egui::RichText::new(hex_dump(&bytes)).monospace().size(11.5));
                });
        });
}

fn grid(ui: &mut egui::Ui, id: &str, rows: &[(&str, String)]) {
    egui::Grid::new(id)
        .num_columns(2)
        .striped(true)
        .spacing([16.0, 3.0])
        .show(ui, |ui| {
            for (k, val) in rows {
                ui.label(egui::RichText::new(*k).color(egui::Color32::from_gray(90)));
                ui.label(egui::RichText::new(val).monospace());
                ui.end_row();
            }
        });
}

fn headers(ui: &mut egui::Ui, p: &Packet, bytes: &[u8]) {
    let checksum = bytes
        .get(10..12)
        .map_or(0, |b| u16::from_be_bytes([b[0], b[1]]));
    let proto = match p.payload {
        Payload::Tcp(_) => "6 (TCP)",
        Payload::Udp(_) => "17 (UDP)",
    };
    egui::CollapsingHeader::new("IPv4 header (RFC 791)")
        .default_open(true)
        .show(ui, |ui| {
            grid(
                ui,
                "ip",
                &[
                    ("version", "4".into()),
                    ("header length", "20 bytes".into()),
                    ("total length", format!("{} bytes", p.wire_len())),
                    ("time to live", p.ttl.to_string()),
                    ("protocol", proto.into()),
                    ("header checksum", format!("0x{checksum:04x}")),
                    ("source", p.src.to_string()),
                    ("destination", p.dst.to_string()),
                ],
            );
        });
    match &p.payload {
        Payload::Tcp(s) => {
            let tcp = &bytes[20.min(bytes.len())..];
            let sum = tcp
                .get(16..18)
                .map_or(0, |b| u16::from_be_bytes([b[0], b[1]]));
            let mut rows = vec![
                ("source port", s.src_port.to_string()),
                ("destination port", s.dst_port.to_string()),
                ("sequence number", s.seq.to_string()),
                ("acknowledgment", s.ack.to_string()),
                ("flags", format!("{}", s.flags)),
                ("window", s.window.to_string()),
                ("checksum", format!("0x{sum:04x}")),
            ];
            if let Some(mss) = s.mss {
                rows.push(("option MSS", mss.to_string()));
            }
            rows.push(("data", format!("{} bytes", s.payload.len())));
            egui::CollapsingHeader::new("TCP header (RFC 9293)")
                .default_open(true)
                .show(ui, |ui| grid(ui, "tcp", &rows));
        }
        Payload::Udp(d) => {
            egui::CollapsingHeader::new("UDP header (RFC 768)")
                .default_open(true)
                .show(ui, |ui| {
                    grid(
                        ui,
                        "udp",
                        &[
                            ("source port", d.src_port.to_string()),
                            ("destination port", d.dst_port.to_string()),
                            ("length", format!("{} bytes", 8 + d.payload.len())),
                        ],
                    )
                });
        }
    }
}

fn payload(ui: &mut egui::Ui, p: &Packet) {
    let data = p.app_payload();
    if data.is_empty() {
        return;
    }
    egui::CollapsingHeader::new(format!("Application data ({} bytes)", data.len()))
        .default_open(true)
        .show(ui, |ui| {
            ui.label(egui::RichText::new(as_text(data)).monospace().size(12.0));
        });
}

/// Bytes as text: printable ASCII as is, CR and LF shown as ␍␊ (and LF
/// breaks the line), anything else as a dot; at most 4 KB.
pub fn as_text(data: &[u8]) -> String {
    let mut s = String::new();
    for &b in data.iter().take(4096) {
        match b {
            b'\r' => s.push('␍'),
            b'\n' => s.push_str("␊\n"),
            0x20..=0x7e => s.push(b as char),
            _ => s.push('·'),
        }
    }
    if data.len() > 4096 {
        s.push_str(&format!("\n... {} more bytes", data.len() - 4096));
    }
    s
}

/// `0000  45 00 00 2c ...  E..,` lines of 16 bytes, at most 4 KB.
pub fn hex_dump(bytes: &[u8]) -> String {
    let mut out = String::new();
    for (i, chunk) in bytes.chunks(16).take(256).enumerate() {
        out.push_str(&format!("{:04x}  ", i * 16));
        for j in 0..16 {
            match chunk.get(j) {
                Some(b) => out.push_str(&format!("{b:02x} ")),
                None => out.push_str("   "),
            }
            if j == 7 {
                out.push(' ');
            }
        }
        out.push(' ');
        for &b in chunk {
            out.push(if (0x20..0x7f).contains(&b) {
                b as char
            } else {
                '.'
            });
        }
        out.push('\n');
    }
    if bytes.len() > 4096 {
        out.push_str(&format!("... {} more bytes\n", bytes.len() - 4096));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_dump_has_offsets_hex_and_ascii() {
        let d = hex_dump(b"EHLO crepes.fr\r\nQUIT");
        let first = d.lines().next().unwrap_or_default();
        assert!(first.starts_with("0000  45 48 4c 4f"));
        assert!(first.ends_with("EHLO crepes.fr.."));
        assert!(
            d.lines()
                .nth(1)
                .unwrap_or_default()
                .starts_with("0010  51 55 49 54")
        );
    }

    #[test]
    fn text_shows_line_ends() {
        assert_eq!(as_text(b"QUIT\r\n"), "QUIT␍␊\n");
    }
}
