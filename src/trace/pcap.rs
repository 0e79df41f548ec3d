//! Captures for Wireshark: the packets of a run as Ethernet frames in pcap
//! files, with the simulated timestamps.
//!
//! A packet is captured when it leaves a node onto a link (the `transmit`
//! event's departure time). One file for the whole run holds each packet
//! once, as its sender put it on the first link; one file per link holds
//! every crossing of that link in both directions, with the TTL the packet
//! had on that hop, like a capture taken on that wire. Frames are built by
//! [`crate::trace::wire`] (etherparse) and written by the pcap-file crate.

use super::{Event, LinkId, Trace};
use crate::trace::wire::{CaptureWriter, encode_ethernet};
use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// One frame to capture.
struct Frame {
    time_us: u64,
    link: LinkId,
    bytes: Vec<u8>,
}

/// Every link crossing of the run, in time order, with each packet's TTL
/// on that hop.
fn crossings(trace: &Trace, first_only: bool) -> Vec<Frame> {
    let mut hops: BTreeMap<u64, u8> = BTreeMap::new();
    let mut frames = Vec::new();
    for r in &trace.records {
        let Event::Transmit {
            link,
            from,
            to,
            packet,
            depart,
            ..
        } = r.event
        else {
            continue;
        };
        let Some(p) = trace.packet(packet) else {
            continue;
        };
        let hop = hops.entry(packet).or_insert(0);
        let seen_before = *hop > 0;
        let ttl = p.ttl.saturating_sub(*hop);
        *hop = hop.saturating_add(1);
        if first_only && seen_before {
            continue;
        }
        frames.push(Frame {
            time_us: depart.as_micros(),
            link,
            bytes: encode_ethernet(p, ttl, from, to),
        });
    }
    // Departures on different links interleave; a capture is in time
    // order (stable, so equal times keep the order they were sent in).
    frames.sort_by_key(|f| f.time_us);
    frames
}

/// Writes each packet once, as it left its sender; returns the number of
/// frames.
pub fn write_pcap<W: Write>(trace: &Trace, out: W) -> io::Result<usize> {
    let frames = crossings(trace, true);
    let mut w = CaptureWriter::new(out)?;
    for f in &frames {
        w.write_frame(f.time_us, &f.bytes)?;
    }
    w.finish()?;
    Ok(frames.len())
}

/// A file name for a link: its name with anything unusual replaced.
fn link_file_name(name: &str) -> String {
    let clean: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{clean}.pcap")
}

/// Writes one capture per link into `dir` (created if needed); returns the
/// files written.
pub fn write_pcap_per_link(trace: &Trace, dir: &Path) -> io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let frames = crossings(trace, false);
    let mut files = Vec::new();
    for (id, link) in trace.links.iter().enumerate() {
        let path = dir.join(link_file_name(&link.name));
        let file = io::BufWriter::new(std::fs::File::create(&path)?);
        let mut w = CaptureWriter::new(file)?;
        for f in frames.iter().filter(|f| f.link as usize == id) {
            w.write_frame(f.time_us, &f.bytes)?;
        }
        w.finish()?;
        files.push(path);
    }
    Ok(files)
}
