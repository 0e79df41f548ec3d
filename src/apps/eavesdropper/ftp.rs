//! FTP as a listener reads it: the control connection's `USER` and `PASS`
//! and file commands in plain text (RFC 959 §4.1), and the data
//! connections, which carry the files and listings themselves as raw
//! bytes. Any connection the listener does not recognise is read as data
//! too: its size and the first bytes. A protected data connection (RFC
//! 4217 `PROT P`) is handed to the TLS reader.

use super::reassembly::Stream;
use super::text::{lines, preview, show, split_command};
use super::{FindingKind, Findings};

/// RFC 959 §4.1: USER and PASS travel as plain text on port 21.
pub(super) fn read_control(c2s: &Stream, out: &mut Findings) {
    const FILE_COMMANDS: &[&str] = &[
        "RETR", "STOR", "STOU", "APPE", "DELE", "RNFR", "RNTO", "MKD", "RMD", "CWD", "LIST", "NLST",
    ];
    for run in &c2s.runs {
        for line in lines(&run.data) {
            let (word, arg) = split_command(line.text);
            let time = run.time_at(line.start);
            match word.as_str() {
                "USER" | "PASS" => {
                    out.add(FindingKind::Credential, time, format!("FTP {word} {arg}"))
                }
                w if FILE_COMMANDS.contains(&w) => {
                    out.add(
                        FindingKind::Command,
                        time,
                        format!("FTP {}", show(line.text)),
                    );
                }
                _ => {}
            }
        }
    }
}

/// A connection the listener does not recognise: most likely an FTP data
/// connection, carrying a file or a listing as raw bytes.
pub(super) fn read_data(c2s: &Stream, s2c: &Stream, out: &mut Findings) {
    // A protected FTP data connection (PROT P) starts with a TLS
    // handshake record: content type 22, version 3.x.
    let looks_tls = |s: &Stream| matches!(s.first_run(), [22, 3, 0..=4, ..]);
    if looks_tls(c2s) || looks_tls(s2c) {
        super::tls::read_tls(c2s, s2c, out);
        return;
    }
    for (stream, direction) in [(c2s, "client to server"), (s2c, "server to client")] {
        if stream.is_empty() {
            continue;
        }
        let mut all = Vec::new();
        for run in &stream.runs {
            all.extend_from_slice(&run.data);
        }
        let mut text = format!("{} bytes {direction}", all.len());
        if stream.summary.gaps > 0 {
            text.push_str(&format!(
                " ({} bytes missing in {} gap(s))",
                stream.summary.missing_bytes, stream.summary.gaps
            ));
        }
        text.push_str(&format!(": {}", preview(&all)));
        let time = stream.runs[0].time_at(0);
        out.add(FindingKind::File, time, text);
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_tap::{Tap, texts};
    use super::super::{FindingKind, Protocol, analyze, readable_text};
    use crate::sim::SimTime;

    #[test]
    fn ftp_passwords_and_files_are_in_the_clear() {
        let control = Tap::new(49152, 21)
            .open()
            .server_sends(b"220 ftp.example ready\r\n")
            .client_sends(b"USER alice\r\n")
            .server_sends(b"331 Password required\r\n")
            .client_sends(b"PASS wonderland\r\n")
            .server_sends(b"230 Logged in\r\n")
            .client_sends(b"RETR report.txt\r\n")
            .close();
        let mut data = Tap::new(49153, 20)
            .open()
            .server_sends(b"quarterly numbers: 42\n")
            .close();
        // Later in time than the control connection's opening.
        for (t, _) in &mut data.packets {
            *t = SimTime(t.0 + 100_000_000);
        }
        let mut captured = control.packets;
        captured.extend(data.packets);
        let report = analyze(&captured);
        assert_eq!(
            texts(&report, FindingKind::Credential),
            vec!["FTP USER alice", "FTP PASS wonderland"]
        );
        assert_eq!(
            texts(&report, FindingKind::Command),
            vec!["FTP RETR report.txt"]
        );
        assert_eq!(
            texts(&report, FindingKind::File),
            vec!["22 bytes server to client: \"quarterly numbers: 42\\n\""]
        );
        assert_eq!(report.connections[0].protocol, Protocol::FtpControl);
        assert_eq!(report.connections[1].protocol, Protocol::Data);
        assert_eq!(
            readable_text(&report),
            "Eavesdropper report: 2 connection(s), 4 finding(s)\n\
             \n\
             Findings:\n  \
             5.000 ms  10.0.1.2:49152 -> 10.0.2.2:21  FTP control  credential: FTP USER alice\n  \
             7.000 ms  10.0.1.2:49152 -> 10.0.2.2:21  FTP control  credential: FTP PASS wonderland\n  \
             9.000 ms  10.0.1.2:49152 -> 10.0.2.2:21  FTP control  command: FTP RETR report.txt\n  \
             104.000 ms  10.0.1.2:49153 -> 10.0.2.2:20  data  file: 22 bytes server to client: \"quarterly numbers: 42\\n\"\n\
             \n\
             Connections:\n  \
             10.0.1.2:49152 -> 10.0.2.2:21  FTP control  client->server 46 bytes, server->client 61 bytes\n  \
             10.0.1.2:49153 -> 10.0.2.2:20  data  client->server 0 bytes, server->client 22 bytes\n"
        );
    }
}
