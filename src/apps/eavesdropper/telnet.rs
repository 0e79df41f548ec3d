//! TELNET (RFC 854) as a listener reads it: everything crosses in the
//! clear, one keystroke a segment in character mode. The user's lines are
//! put back together from their keystrokes with the editing keys applied
//! (the [`telnet::Decoder`] strips the option negotiation, RFC 855), and
//! each is read by the prompt the server's screen showed when its first
//! key was typed: a login name, a password the server did not echo, or a
//! command and what it printed.

use super::reassembly::Stream;
use super::text::{preview_n, show};
use super::{FindingKind, Findings};
use crate::proto::telnet;
use crate::sim::SimTime;

/// Bytes of a TELNET command's output shown: a screenful of a short file.
const TELNET_PREVIEW_LEN: usize = 200;

/// A line the TELNET user typed, put back together from its keystrokes.
#[derive(Debug, Default)]
struct TypedLine {
    text: Vec<u8>,
    /// When its first key was captured.
    start: Option<SimTime>,
    /// When its Return was captured (`None`: not pressed yet).
    end: Option<SimTime>,
    /// The segments its keys came in.
    segments: std::collections::BTreeSet<(usize, usize)>,
}

/// The client's keystrokes as lines, with the editing keys applied as the
/// server applies them (DEL, BS, Ctrl-U, Ctrl-C, IAC EC/EL/IP).
fn telnet_lines(c2s: &Stream) -> Vec<TypedLine> {
    use telnet::{Item, codec::Key};
    let mut lines = Vec::new();
    for (r, run) in c2s.runs.iter().enumerate() {
        let mut ends = telnet::LineEnds::default();
        let mut line = TypedLine::default();
        for (pos, item) in telnet::Decoder::new().decode(&run.data) {
            let key = match item {
                Item::Data(b) => ends.feed(b),
                Item::Command(telnet::EC) => Some(Key::Byte(0x7f)),
                Item::Command(telnet::EL | telnet::IP) => Some(Key::Byte(0x15)),
                _ => None,
            };
            match key {
                Some(Key::Enter) if !line.text.is_empty() => {
                    line.end = Some(run.time_at(pos));
                    lines.push(std::mem::take(&mut line));
                }
                Some(Key::Byte(0x7f | 0x08)) => {
                    line.text.pop();
                }
                Some(Key::Byte(0x15 | 0x03)) => line.text.clear(),
                Some(Key::Byte(b)) if b >= 0x20 => {
                    line.start.get_or_insert(run.time_at(pos));
                    line.text.push(b);
                    line.segments.insert((r, run.segment_at(pos)));
                }
                _ => {}
            }
        }
        if !line.text.is_empty() {
            lines.push(line);
        }
    }
    lines
}

/// What the user's screen showed, byte by byte with the time each was
/// captured: the server's data, commands removed, ends of line as LF.
fn telnet_screen(s2c: &Stream) -> Vec<(u8, SimTime)> {
    use telnet::{Item, codec::Key};
    let mut screen = Vec::new();
    for run in &s2c.runs {
        let mut ends = telnet::LineEnds::default();
        for (pos, item) in telnet::Decoder::new().decode(&run.data) {
            let Item::Data(b) = item else { continue };
            match ends.feed(b) {
                Some(Key::Byte(b)) => screen.push((b, run.time_at(pos))),
                Some(Key::Enter) => screen.push((b'\n', run.time_at(pos))),
                None => {}
            }
        }
    }
    screen
}

/// The screen's bytes captured in `(after, until]`.
fn screen_between(screen: &[(u8, SimTime)], after: SimTime, until: Option<SimTime>) -> Vec<u8> {
    screen
        .iter()
        .filter(|(_, t)| *t > after && until.is_none_or(|u| *t <= u))
        .map(|(b, _)| *b)
        .collect()
}

/// TELNET (RFC 854): everything crosses in the clear. The user's lines
/// are put back together from their keystrokes (one segment each in
/// character mode) and read by the prompt the server had left on the
/// screen when the first key was typed: after `login:` a user name, after
/// `Password:` the password (which the server did not echo, and which the
/// link carried all the same), otherwise a command, followed by what the
/// server printed until the next line began. A line is reported once its
/// Return is seen, a command's output once the next line starts or the
/// connection ends, so each finding is final when it is made.
pub(super) fn read_telnet(c2s: &Stream, s2c: &Stream, closed: bool, out: &mut Findings) {
    let screen = telnet_screen(s2c);
    let lines = telnet_lines(c2s);
    for (i, line) in lines.iter().enumerate() {
        let Some(start) = line.start else { continue };
        if line.end.is_none() && !closed {
            continue;
        }
        // The screen as it was when the first key went: what was printed
        // at that instant or before (the tap sees both directions).
        let shown_before: Vec<u8> = screen
            .iter()
            .filter(|(_, t)| *t <= start)
            .map(|(b, _)| *b)
            .collect();
        let prompt_line = shown_before
            .rsplit(|&b| b == b'\n')
            .next()
            .unwrap_or_default();
        let prompt = String::from_utf8_lossy(prompt_line).to_ascii_lowercase();
        let prompt = prompt.trim_end();
        let text = show(&line.text);
        let unfinished = if line.end.is_some() {
            ""
        } else {
            " (no Return)"
        };
        let time = line.end.unwrap_or(start);
        let segments = line.segments.len();
        if prompt.ends_with("login:") {
            out.add(
                FindingKind::Credential,
                time,
                format!("TELNET login name {text}{unfinished}"),
            );
            continue;
        }
        if prompt.ends_with("password:") {
            let typed = if segments > 1 {
                format!(" (typed in {segments} segments)")
            } else {
                String::new()
            };
            out.add(
                FindingKind::Credential,
                time,
                format!("TELNET password {text}{typed}{unfinished}"),
            );
            continue;
        }
        out.add(
            FindingKind::Command,
            time,
            format!("TELNET command {text}{unfinished}"),
        );
        let Some(end) = line.end else { continue };
        let next = lines.get(i + 1).and_then(|l| l.start);
        if next.is_none() && !closed {
            // The output may not be complete yet.
            continue;
        }
        let mut printed = screen_between(&screen, end, next);
        if printed.first() == Some(&b'\n') {
            // The echo of the Return.
            printed.remove(0);
        }
        // What follows the last line end is the next prompt.
        let keep = printed
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |p| p + 1);
        printed.truncate(keep);
        if !printed.is_empty() {
            out.add(
                FindingKind::Content,
                first_shown_after(&screen, end),
                format!(
                    "TELNET output of {text} ({} bytes): {}",
                    printed.len(),
                    preview_n(&printed, TELNET_PREVIEW_LEN)
                ),
            );
        }
    }
}

/// When the first screen byte after `after` was captured.
fn first_shown_after(screen: &[(u8, SimTime)], after: SimTime) -> SimTime {
    screen
        .iter()
        .map(|&(_, t)| t)
        .find(|&t| t > after)
        .unwrap_or(after)
}

#[cfg(test)]
mod tests {
    use super::super::test_tap::{Tap, texts};
    use super::super::{FindingKind, Protocol, analyze, streams};

    /// A TELNET session driven key by key through a tap: the server's
    /// machine and the scripted client, each keystroke its own segment.
    fn telnet_tap(password: &str) -> Tap {
        use crate::apps::vfs::{Account, VPath, Vfs};
        use crate::proto::Session;
        use crate::proto::telnet::*;
        let mut vfs = Vfs::new();
        let home = VPath::parse("/alice").unwrap();
        vfs.add_user("alice", Account::new("croissant", home), 0)
            .unwrap();
        vfs.create_text_file(
            &VPath::parse("/alice/report.txt").unwrap(),
            "Quarterly report: secret merger.\n",
            0,
        )
        .unwrap();
        let mut server = TelnetServer::new(TelnetConfig::new("files"));
        let mut client = TelnetClient::new(TelnetClientConfig {
            user: "alice".into(),
            password: password.into(),
            commands: vec!["cat report.txt".into()],
        });
        let mut tap = Tap::new(40005, 23).open();
        loop {
            let mut moved = false;
            while let Some(bytes) = server.poll_output() {
                tap = tap.server_sends(&bytes);
                client.handle_input(&bytes);
                moved = true;
            }
            while let Some(bytes) = client.poll_output() {
                tap = tap.client_sends(&bytes);
                server.handle_input(&bytes, &mut vfs);
                moved = true;
            }
            if let Some(key) = client.poll_keystroke() {
                tap = tap.client_sends(&key);
                server.handle_input(&key, &mut vfs);
                moved = true;
            }
            if !moved || server.wants_close() || client.wants_close() {
                while let Some(bytes) = server.poll_output() {
                    tap = tap.server_sends(&bytes);
                }
                break;
            }
        }
        tap
    }

    #[test]
    fn telnet_keystrokes_are_put_back_together() {
        let tap = telnet_tap("croissant").close();
        let report = analyze(&tap.packets);
        assert_eq!(report.connections[0].protocol, Protocol::Telnet);
        assert_eq!(
            texts(&report, FindingKind::Credential),
            vec![
                "TELNET login name alice",
                "TELNET password croissant (typed in 9 segments)"
            ]
        );
        assert_eq!(
            texts(&report, FindingKind::Command),
            vec!["TELNET command cat report.txt", "TELNET command exit"]
        );
        let content = texts(&report, FindingKind::Content);
        assert_eq!(
            content[0],
            "TELNET output of cat report.txt (33 bytes): \"Quarterly report: secret merger.\\n\""
        );
        // Trudy saw the password although the server never echoed it.
        let (screen, _) =
            crate::proto::telnet::codec::screen_text(&streams(&tap.packets)[0].server_to_client);
        assert!(!String::from_utf8_lossy(&screen).contains("croissant"));
    }

    #[test]
    fn telnet_findings_wait_for_their_line_and_output() {
        let tap = telnet_tap("croissant");
        // The capture up to the middle of the password: the login name is
        // there, the password is not finished, nothing else is.
        let keys_of_password = tap
            .packets
            .iter()
            .position(|(_, p)| &p.app_payload()[..] == b"s")
            .unwrap();
        let partial = analyze(&tap.packets[..keys_of_password]);
        assert_eq!(
            texts(&partial, FindingKind::Credential),
            vec!["TELNET login name alice"]
        );
        // Up to the Return of `cat report.txt` and its output, before the
        // next key: the command is known, its output not yet final.
        let before_exit = tap
            .packets
            .iter()
            .rposition(|(_, p)| p.src_addr().port() == 40005 && &p.app_payload()[..] == b"e")
            .unwrap();
        let partial = analyze(&tap.packets[..before_exit]);
        assert!(
            texts(&partial, FindingKind::Command)
                .contains(&"TELNET command cat report.txt".to_string())
        );
        assert!(texts(&partial, FindingKind::Content).is_empty());
        // A wrong password is read just the same.
        let report = analyze(&telnet_tap("baguette").close().packets);
        assert!(
            texts(&report, FindingKind::Credential)
                .contains(&"TELNET password baguette (typed in 8 segments)".to_string())
        );
        assert!(texts(&report, FindingKind::Command).is_empty());
        // Without the server's negotiation, port 23 still says TELNET.
        let bare = Tap::new(40006, 23)
            .open()
            .server_sends(b"login: ")
            .client_sends(b"bob\r\n")
            .close();
        let report = analyze(&bare.packets);
        assert_eq!(report.connections[0].protocol, Protocol::Telnet);
        assert_eq!(
            texts(&report, FindingKind::Credential),
            vec!["TELNET login name bob"]
        );
    }
}
