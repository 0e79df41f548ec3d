//! Script-style tests of the IMAP server and client: real command bytes
//! in, exact replies out. `commands` has one server session command by
//! command; `shared_mailbox` two sessions on one mailbox; `scripted_client`
//! the client against the server; `robustness` proptests. This file has
//! what they share: the messages, the store, the session helpers.

use super::*;
use crate::proto::Session;
use proptest::prelude::*;

mod commands;
mod robustness;
mod scripted_client;
mod shared_mailbox;

/// 02-Mar-2026 14:05:09 +0000
const NOW: i64 = 1_772_460_309;

const MSG1: &[u8] = b"From: Alice <alice@crepes.fr>\r\n\
To: bob@example.org\r\n\
Subject: Hello\r\n\
Date: Mon, 02 Mar 2026 14:05:09 +0000\r\n\
Message-ID: <1@crepes.fr>\r\n\
\r\n\
Hi Bob,\r\n\
lunch?\r\n";

const MSG2: &[u8] = b"From: carol@example.org\r\n\
To: bob@example.org\r\n\
Subject: Report\r\n\
Date: Sun, 01 Mar 2026 09:00:00 +0000\r\n\
\r\n\
Quarterly numbers attached.\r\n";

/// A store with bob's INBOX holding MSG1 (UID 1) and MSG2 (UID 2).
fn store() -> MemoryMailStore {
    let mut s = MemoryMailStore::new();
    s.add_user("bob", "hunter2");
    s.deliver("bob", MSG1, NOW - 3600).unwrap();
    s.deliver("bob", MSG2, NOW - 7200).unwrap();
    s
}

fn drain(s: &mut ImapServer) -> String {
    let mut v = Vec::new();
    while let Some(b) = s.poll_output() {
        v.extend(b);
    }
    String::from_utf8_lossy(&v).into_owned()
}

/// A server past the greeting.
fn server() -> ImapServer {
    let mut s = ImapServer::new(ImapConfig::default());
    drain(&mut s);
    s
}

/// Sends one chunk and returns everything the server answered.
fn send(s: &mut ImapServer, st: &mut MemoryMailStore, data: &str) -> String {
    s.handle_input(data.as_bytes(), st, NOW);
    drain(s)
}

/// A server logged in as bob with INBOX selected.
fn selected(st: &mut MemoryMailStore) -> ImapServer {
    let mut s = server();
    send(&mut s, st, "a LOGIN bob hunter2\r\n");
    send(&mut s, st, "b SELECT INBOX\r\n");
    s
}

const CAPS: &str = "IMAP4REV1 LITERAL+ IDLE MOVE UNSELECT CHILDREN UIDPLUS NAMESPACE ID ENABLE \
SPECIAL-USE AUTH=PLAIN SASL-IR";

fn login() -> ImapStep {
    ImapStep::Login {
        user: "bob".into(),
        password: "hunter2".into(),
    }
}

/// The Subject of a test message.
fn subject_of(message: &[u8]) -> String {
    let text = String::from_utf8_lossy(message);
    text.lines()
        .find_map(|l| l.strip_prefix("Subject: "))
        .unwrap_or_default()
        .to_string()
}
