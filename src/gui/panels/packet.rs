//! The packet inspector: the selected packet (click one in the scene), or
//! the packet of the current event. IPv4 and TCP or UDP header fields,
//! the application bytes as text, and a hex dump of the real bytes on the
//! wire ([`crate::net::wire::encode_ipv4`]), as Wireshark would show them.

use super::fmt_time;
use crate::gui::ui::View;
use crate::net::packet::{Packet, Payload};
use crate::net::wire::{encode_ipv4_ttl, node_mac};
use crate::trace::{Protocol, RelativeSeq};
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
    // The TTL on this hop: one less for every router before it.
    let hop = t.flights[..fi]
        .iter()
        .filter(|g| g.packet == f.packet)
        .count();
    let ttl = pkt.ttl.saturating_sub(u8::try_from(hop).unwrap_or(u8::MAX));
    let bytes = encode_ipv4_ttl(pkt, ttl);
    let proto = conn.map_or(Protocol::Tcp, |c| c.proto);
    egui::ScrollArea::vertical()
        .auto_shrink([false, false])
        .id_salt("packet")
        .show(ui, |ui| {
            ethernet(ui, f.from, f.to);
            headers(ui, pkt, &bytes, &t.trace.seqs);
            payload(ui, pkt, proto);
            egui::CollapsingHeader::new(format!("Bytes on the wire ({})", bytes.len()))
                .default_open(true)
                .show(ui, |ui| {
                    // Sixteen bytes a line, never wrapped: scroll sideways
                    // on a narrow panel.
                    egui::ScrollArea::horizontal()
                        .id_salt("hex")
                        .show(ui, |ui| {
                            ui.add(
                                egui::Label::new(
                                    egui::RichText::new(hex_dump(&bytes)).monospace().size(11.5),
                                )
                                .extend(),
                            );
                        });
                });
        });
}

/// The Ethernet II header of the frame on this hop (as the pcap export
/// writes it).
fn ethernet(ui: &mut egui::Ui, from: u32, to: u32) {
    let mac = |m: [u8; 6]| {
        m.iter()
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(":")
    };
    egui::CollapsingHeader::new("Ethernet II header (IEEE 802.3)")
        .default_open(false)
        .show(ui, |ui| {
            grid(
                ui,
                "eth",
                &[
                    ("destination", mac(node_mac(to))),
                    ("source", mac(node_mac(from))),
                    ("type", "0x0800 (IPv4)".into()),
                ],
            );
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

fn headers(ui: &mut egui::Ui, p: &Packet, bytes: &[u8], rel: &RelativeSeq) {
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
                (
                    "sequence number",
                    format!("{} (relative; raw {})", rel.seq(p), s.seq),
                ),
                (
                    "acknowledgment",
                    if s.flags.ack() {
                        format!("{} (relative; raw {})", rel.ack(p), s.ack)
                    } else {
                        format!("{} (not used: no ACK flag)", s.ack)
                    },
                ),
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

fn payload(ui: &mut egui::Ui, p: &Packet, proto: Protocol) {
    let data = p.app_payload();
    if data.is_empty() {
        return;
    }
    egui::CollapsingHeader::new(format!(
        "{} data ({} bytes)",
        if proto == Protocol::Tcp || proto == Protocol::Udp {
            "Application"
        } else {
            proto.name()
        },
        data.len()
    ))
    .default_open(true)
    .show(ui, |ui| {
        let rows = explain(proto, data);
        if !rows.is_empty() {
            grid(ui, "app", &rows);
            ui.add_space(4.0);
        }
        ui.label(egui::RichText::new(as_text(data)).monospace().size(12.0));
    });
}

/// What the first line of an application payload says: a command's verb
/// and argument, or a reply's code and what its digits mean.
pub fn explain(proto: Protocol, data: &[u8]) -> Vec<(&'static str, String)> {
    let end = data
        .windows(2)
        .position(|w| w == b"\r\n")
        .unwrap_or(data.len());
    let Ok(line) = std::str::from_utf8(&data[..end]) else {
        return Vec::new();
    };
    if line.is_empty() || line.len() > 1000 {
        return Vec::new();
    }
    let (head, rest) = line.split_once(' ').unwrap_or((line, ""));
    let code = |s: &str| {
        let d = s.get(..3)?;
        let sep = s.as_bytes().get(3);
        (d.bytes().all(|b| b.is_ascii_digit()) && matches!(sep, None | Some(b' ' | b'-')))
            .then(|| d.to_owned())
    };
    match proto {
        Protocol::Smtp | Protocol::FtpControl => match code(line) {
            Some(c) => {
                let text = line.get(4..).unwrap_or("").to_owned();
                let mut rows = vec![
                    ("reply code", c.clone()),
                    ("meaning", reply_class(proto, &c)),
                ];
                if line.as_bytes().get(3) == Some(&b'-') {
                    rows.push(("continues", "yes (a multi-line reply: NNN-)".into()));
                }
                rows.push(("text", text));
                rows
            }
            None => vec![
                ("command", head.to_ascii_uppercase()),
                ("argument", rest.to_owned()),
            ],
        },
        Protocol::Pop3 => match head {
            "+OK" => vec![
                ("status", "+OK: success (RFC 1939 §3)".into()),
                ("text", rest.into()),
            ],
            "-ERR" => vec![
                ("status", "-ERR: failure (RFC 1939 §3)".into()),
                ("text", rest.into()),
            ],
            _ => vec![
                ("command", head.to_ascii_uppercase()),
                ("argument", rest.to_owned()),
            ],
        },
        Protocol::Imap => {
            let (word, more) = rest.split_once(' ').unwrap_or((rest, ""));
            let status = match word.to_ascii_uppercase().as_str() {
                "OK" => Some("OK: success"),
                "NO" => Some("NO: refused"),
                "BAD" => Some("BAD: not understood"),
                _ => None,
            };
            match (head, status) {
                ("*", _) => vec![("untagged", rest.to_owned())],
                ("+", _) => vec![("continuation", rest.to_owned())],
                (tag, Some(st)) => vec![
                    ("tag", tag.to_owned()),
                    ("status", format!("{st} (RFC 9051 §7.1)")),
                    ("text", more.to_owned()),
                ],
                (tag, None) => vec![
                    ("tag", tag.to_owned()),
                    ("command", word.to_ascii_uppercase()),
                    ("arguments", more.to_owned()),
                ],
            }
        }
        Protocol::Http => {
            if head.starts_with("HTTP/") {
                let (c, reason) = rest.split_once(' ').unwrap_or((rest, ""));
                let class = match c.as_bytes().first() {
                    Some(b'1') => "1xx informational",
                    Some(b'2') => "2xx successful",
                    Some(b'3') => "3xx redirection",
                    Some(b'4') => "4xx client error",
                    Some(b'5') => "5xx server error",
                    _ => "unknown class",
                };
                vec![
                    ("version", head.to_owned()),
                    ("status", c.to_owned()),
                    ("meaning", format!("{class} (RFC 9110 §15)")),
                    ("reason", reason.to_owned()),
                ]
            } else {
                let (target, version) = rest.rsplit_once(' ').unwrap_or((rest, ""));
                vec![
                    ("method", head.to_owned()),
                    ("target", target.to_owned()),
                    ("version", version.to_owned()),
                ]
            }
        }
        _ => Vec::new(),
    }
}

/// What a three-digit reply code's first two digits say (RFC 5321
/// §4.2.1 for SMTP, RFC 959 §4.2.1 for FTP).
pub fn reply_class(proto: Protocol, code: &str) -> String {
    let b = code.as_bytes();
    let first = match b.first() {
        Some(b'1') => "1yz positive preliminary",
        Some(b'2') => "2yz positive completion",
        Some(b'3') => "3yz positive intermediate",
        Some(b'4') => "4yz transient negative: try again",
        Some(b'5') => "5yz permanent negative",
        _ => "unknown",
    };
    let second = match (b.get(1), proto) {
        (Some(b'0'), _) => "x0z syntax",
        (Some(b'1'), _) => "x1z information",
        (Some(b'2'), _) => "x2z connections",
        (Some(b'3'), Protocol::FtpControl) => "x3z authentication and accounting",
        (Some(b'5'), Protocol::FtpControl) => "x5z file system",
        (Some(b'5'), _) => "x5z mail system",
        _ => "x?z unspecified",
    };
    let rfc = if proto == Protocol::FtpControl {
        "RFC 959 §4.2.1"
    } else {
        "RFC 5321 §4.2.1"
    };
    format!("{first}; {second} ({rfc})")
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
    fn replies_and_commands_are_explained() {
        let r = explain(Protocol::Smtp, b"250 2.0.0 Ok: queued as B1\r\n");
        assert_eq!(r[0], ("reply code", "250".to_owned()));
        assert!(
            r[1].1
                .starts_with("2yz positive completion; x5z mail system")
        );
        let r = explain(Protocol::FtpControl, b"530 Not logged in.\r\n");
        assert!(r[1].1.contains("x3z authentication"), "{r:?}");
        let r = explain(Protocol::FtpControl, b"RETR photo.jpg\r\n");
        assert_eq!(
            r,
            [
                ("command", "RETR".to_owned()),
                ("argument", "photo.jpg".to_owned())
            ]
        );
        let r = explain(Protocol::Imap, b"a3 OK FETCH completed\r\n");
        assert_eq!(r[0], ("tag", "a3".to_owned()));
        let r = explain(Protocol::Http, b"HTTP/1.1 404 Not Found\r\n");
        assert!(r[2].1.starts_with("4xx client error"));
        assert!(explain(Protocol::Dns, b"\x01\x02").is_empty());
    }

    #[test]
    fn text_shows_line_ends() {
        assert_eq!(as_text(b"QUIT\r\n"), "QUIT␍␊\n");
    }
}
