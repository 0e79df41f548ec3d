//! Scripted tests: the server alone with exact replies (`server_alone`),
//! then a client and a server joined by in-memory pipes, control and data
//! connections (`pair`), then proptests that throw arbitrary input at the
//! server (`proptests`) and walk the client through its diagram with
//! replies in any order (`client_walk`). This file has what they share:
//! the file system,
//! the data ports, and [`Raw`], the server driven by hand.

use std::net::{Ipv4Addr, SocketAddrV4};

use bytes::Bytes;
use proptest::prelude::*;
use sha2::{Digest, Sha256};

use super::*;
use crate::apps::vfs::{Account, VPath, Vfs, generate_bytes};
use crate::proto::{Session, Transcript};

mod client_walk;
mod pair;
mod proptests;
mod server_alone;

const SERVER_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const CLIENT_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
/// 2026-03-02 14:05:09 UTC.
const NOW: i64 = 1_772_460_309;

fn p(s: &str) -> VPath {
    VPath::parse(s).unwrap()
}

/// alice (writable, 1 MB quota), bob (has a secret), guest (read-only).
fn world() -> Vfs {
    let mut vfs = Vfs::new();
    let mut alice = Account::new("wonderland", p("/home/alice"));
    alice.quota = Some(1_000_000);
    vfs.add_user("alice", alice, NOW).unwrap();
    vfs.add_user("bob", Account::new("builder", p("/home/bob")), NOW)
        .unwrap();
    let mut guest = Account::new("guest", p("/home/alice/pub"));
    guest.read_only = true;
    vfs.add_user("guest", guest, NOW).unwrap();
    vfs.create_text_file(&p("/home/alice/notes.txt"), "hello\nworld\n", NOW)
        .unwrap();
    vfs.create_text_file(&p("/home/alice/pub/README.txt"), "Read me.\n", NOW)
        .unwrap();
    vfs.create_binary_file(&p("/home/alice/pub/blob.bin"), 5000, 9, NOW)
        .unwrap();
    vfs.create_text_file(&p("/home/bob/secret.txt"), "bob's secret\n", NOW)
        .unwrap();
    vfs.create_text_file(&p("/etc/passwd"), "root:x:0:0\n", NOW)
        .unwrap();
    vfs
}

/// Hands out listening addresses on one host, like an OS's ephemeral ports.
struct Ports {
    ip: Ipv4Addr,
    next_port: u16,
    listener: Option<SocketAddrV4>,
    refuse: bool,
}

impl Ports {
    fn new(ip: Ipv4Addr, first_port: u16) -> Ports {
        Ports {
            ip,
            next_port: first_port,
            listener: None,
            refuse: false,
        }
    }
}

impl DataPorts for Ports {
    fn open_listener(&mut self) -> Option<SocketAddrV4> {
        if self.refuse {
            return None;
        }
        let addr = SocketAddrV4::new(self.ip, self.next_port);
        self.next_port = self.next_port.wrapping_add(1).max(1024);
        self.listener = Some(addr);
        Some(addr)
    }
}

/// A server session driven by hand: feed bytes, read exact replies, play
/// the data connection's part.
struct Raw {
    server: FtpServer,
    vfs: Vfs,
    ports: Ports,
}

impl Raw {
    fn new() -> Raw {
        let mut raw = Raw {
            server: FtpServer::new(FtpServerConfig::default()),
            vfs: world(),
            ports: Ports::new(SERVER_IP, 50_000),
        };
        assert_eq!(raw.output(), "220 wiretale FTP server ready.\r\n");
        raw
    }

    fn logged_in() -> Raw {
        let mut raw = Raw::new();
        raw.send("USER alice\r\nPASS wonderland\r\n");
        raw
    }

    fn output(&mut self) -> String {
        let mut out = Vec::new();
        while let Some(bytes) = self.server.poll_output() {
            out.extend(bytes);
        }
        String::from_utf8(out).unwrap()
    }

    /// Feeds bytes and returns everything the server answered.
    fn send(&mut self, data: &str) -> String {
        self.send_bytes(data.as_bytes())
    }

    fn send_bytes(&mut self, data: &[u8]) -> String {
        self.server
            .handle_input(data, &mut self.vfs, &mut self.ports, NOW);
        self.output()
    }

    fn requests(&mut self) -> Vec<DataRequest> {
        std::iter::from_fn(|| self.server.poll_data_request()).collect()
    }

    fn connected(&mut self) -> String {
        self.server
            .handle_data_connected(&mut self.vfs, &mut self.ports, NOW);
        self.output()
    }

    fn failed(&mut self) -> String {
        self.server
            .handle_data_failed(&mut self.vfs, &mut self.ports, NOW);
        self.output()
    }

    fn closed(&mut self) -> String {
        self.server
            .handle_data_closed(&mut self.vfs, &mut self.ports, NOW);
        self.output()
    }

    fn sent(&mut self) -> String {
        self.server
            .handle_data_sent(&mut self.vfs, &mut self.ports, NOW);
        self.output()
    }

    fn transcript(&mut self) -> Vec<Transcript> {
        std::iter::from_fn(|| self.server.poll_transcript()).collect()
    }

    /// The bytes of the Send requests, and whether a Close followed.
    fn sent_data(&mut self) -> (Vec<u8>, bool) {
        let mut data = Vec::new();
        let mut closed = false;
        for r in self.requests() {
            match r {
                DataRequest::Send(b) => data.extend_from_slice(&b),
                DataRequest::Close => closed = true,
                other => panic!("unexpected {other:?}"),
            }
        }
        (data, closed)
    }
}
