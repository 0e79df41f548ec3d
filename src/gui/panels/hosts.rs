//! Host inspectors: for each host, its addresses, listening ports, TCP
//! connections, and what each application shows of itself
//! ([`crate::net::Application::inspect`]: a mail queue with retry timers,
//! a mailbox, IMAP flags, a file server's files). Read from the live world
//! at the current event; the selected host comes first and open.

use crate::gui::ui::View;
use crate::net::Inspect;
use bevy_egui::egui;

pub fn hosts(ui: &mut egui::Ui, v: &mut View) {
    let p = &v.sim.player;
    let t = &p.timeline;
    let world = p.world();
    let mut order: Vec<u32> = t.hosts.iter().map(|h| h.node).collect();
    if let Some(sel) = v.selection.host {
        order.retain(|&n| n != sel);
        order.insert(0, sel);
    }
    ui.label(
        egui::RichText::new("Click a host in the network view to bring it to the top.")
            .small()
            .weak(),
    );
    egui::ScrollArea::vertical()
        .auto_shrink([false, false])
        .id_salt("hosts")
        .show(ui, |ui| {
            for n in order {
                let Some(h) = t.hosts.get(n as usize) else {
                    continue;
                };
                let node = world.node(n);
                let mut title = format!("{}  ({})", h.name, h.kind.name());
                if let Some(l) = &h.label {
                    title = format!("{title}  \"{l}\"");
                }
                if !node.up {
                    title.push_str("  DOWN");
                }
                let open = v.selection.host == Some(n) || t.hosts.len() <= 4;
                egui::CollapsingHeader::new(egui::RichText::new(title).strong())
                    .id_salt(("host", n))
                    .default_open(open)
                    .show(ui, |ui| host_body(ui, v, n));
            }
        });
}

fn host_body(ui: &mut egui::Ui, v: &View, n: u32) {
    let p = &v.sim.player;
    let world = p.world();
    let node = world.node(n);
    let addrs: Vec<String> = node.interfaces.iter().map(|i| i.addr.to_string()).collect();
    ui.label(format!("addresses: {}", addrs.join(", ")));
    let ports: Vec<String> = node.listening_ports().map(|p| p.to_string()).collect();
    if !ports.is_empty() {
        ui.label(format!("listening on TCP ports: {}", ports.join(", ")));
    }
    let conns: Vec<String> = world
        .connections()
        .filter(|(_, h, _)| *h == n)
        .map(|(id, _, c)| {
            format!(
                "#{id} {} -> {}  {}  cwnd {}  rto {}",
                c.local(),
                c.remote(),
                c.state(),
                c.cwnd(),
                c.rto()
            )
        })
        .collect();
    if !conns.is_empty() {
        egui::CollapsingHeader::new(format!("TCP connections ({})", conns.len()))
            .id_salt(("conns", n))
            .default_open(true)
            .show(ui, |ui| {
                for c in conns {
                    ui.label(egui::RichText::new(c).monospace().size(11.5));
                }
            });
    }
    for &app in &node.apps {
        let Some(a) = world.app(app) else { continue };
        let tree = a.inspect();
        match tree {
            Some(tree) => {
                egui::CollapsingHeader::new(
                    egui::RichText::new(a.kind()).color(egui::Color32::from_rgb(0, 80, 140)),
                )
                .id_salt(("app", n, app))
                .default_open(true)
                .show(ui, |ui| inspect_tree(ui, &tree, (n, app, 0)));
            }
            None => {
                ui.label(a.kind());
            }
        }
    }
}

/// Draws an inspect tree: leaves as lines, nodes as collapsible sections.
fn inspect_tree(ui: &mut egui::Ui, tree: &Inspect, id: (u32, u32, usize)) {
    if tree.children.is_empty() {
        ui.label(&tree.label);
        return;
    }
    egui::CollapsingHeader::new(&tree.label)
        .id_salt(("inspect", id.0, id.1, id.2, &tree.label))
        .default_open(true)
        .show(ui, |ui| {
            for (i, c) in tree.children.iter().enumerate() {
                inspect_tree(ui, c, (id.0, id.1, id.2 * 31 + i + 1));
            }
        });
}
