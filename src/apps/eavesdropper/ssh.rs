//! SSH (RFC 4253), which carries SCP, as a listener reads it: the
//! version lines and, up to NEWKEYS, the key exchange packets are in the
//! clear (RFC 4253 §7: the algorithm lists of KEXINIT, decoded by
//! [`KexInit::decode`]); everything after is ciphertext, whose packet
//! lengths are encrypted too, so only its size, the segment sizes, the
//! entropy of its bytes and its longest printable run show. Plain text on
//! port 22 is called out: it is readable.

use super::reassembly::Stream;
use super::text::{byte_entropy, first_line, longest_printable_run, show};
use super::{FindingKind, Findings};
use crate::proto::ssh::kex::KexInit;
use crate::proto::ssh::msg;

/// A printable run longer than this in an "encrypted" stream would be
/// readable text: a sign the stream is not encrypted after all. Random
/// bytes are printable with probability 95/256, so a run of 16 has odds of
/// about 1 in 8 million per position.
pub const MAX_PRINTABLE_RUN_IN_CIPHERTEXT: usize = 16;

/// Wiretale's SCP channel (or SSH): the version lines are clear, the rest
/// is ciphertext. The listener can still count records and their sizes.
pub(super) fn read_encrypted(c2s: &Stream, s2c: &Stream, out: &mut Findings) {
    for (stream, direction) in [(c2s, "client to server"), (s2c, "server to client")] {
        let Some(run) = stream.runs.first() else {
            continue;
        };
        let data = &run.data;
        let banner = first_line(data);
        let mut ciphertext_start = 0;
        if banner.starts_with(b"SSH-") {
            out.add(
                FindingKind::Banner,
                run.time_at(0),
                format!("{direction} version: {}", show(banner)),
            );
            let line_end = data
                .iter()
                .position(|&b| b == b'\n')
                .map_or(data.len(), |p| p + 1);
            // Until NEWKEYS, SSH packets travel in the clear: the listener
            // reads the algorithm lists and the public keys, which tell
            // her nothing that helps.
            let (clear_end, offered) = clear_ssh_packets(&data[line_end..]);
            if let Some(offered) = offered {
                out.add(
                    FindingKind::Banner,
                    run.time_at(line_end),
                    format!("{direction} {offered}"),
                );
            }
            ciphertext_start = (line_end + clear_end).min(data.len());
        }
        let mut ciphertext: Vec<u8> = data[ciphertext_start..].to_vec();
        for later in stream.runs.iter().skip(1) {
            ciphertext.extend_from_slice(&later.data);
        }
        if ciphertext.is_empty() {
            continue;
        }
        let time = run.time_at(ciphertext_start.min(data.len().saturating_sub(1)));
        let longest = longest_printable_run(&ciphertext);
        let mut text = format!(
            "{direction}: {} bytes, entropy {:.2} bits/byte",
            ciphertext.len(),
            byte_entropy(&ciphertext),
        );
        // A short sample cannot show all 256 byte values: its entropy is
        // at most log2(length), however random it is.
        if ciphertext.len() < 256 {
            let ceiling = (ciphertext.len() as f64).log2();
            text.push_str(&format!(" (at most {ceiling:.2} for so few bytes)"));
        }
        text.push_str(&format!(", longest printable run {} bytes", longest.len()));
        if banner.starts_with(b"SSH-") {
            let sizes = segment_sizes(stream, ciphertext_start);
            let shown: Vec<String> = sizes.iter().take(12).map(|n| n.to_string()).collect();
            text.push_str(&format!(
                "; packet lengths are encrypted too, only segment sizes show: {}{}",
                shown.join(", "),
                if sizes.len() > 12 { ", ..." } else { "" }
            ));
        }
        if longest.len() > MAX_PRINTABLE_RUN_IN_CIPHERTEXT {
            text.push_str(&format!("; readable text: {:?}", show(longest)));
            out.add(FindingKind::Content, time, text);
        } else {
            text.push_str(": no readable text");
            out.add(FindingKind::Ciphertext, time, text);
        }
    }
}

/// Walks the clear SSH packets at the start of a stream (after the
/// version line) up to and including NEWKEYS. Returns where the
/// encrypted part begins and what the KEXINIT offered.
fn clear_ssh_packets(mut data: &[u8]) -> (usize, Option<String>) {
    let start = data.len();
    let mut offered = None;
    while let Some((length, rest)) = data.split_first_chunk::<4>() {
        let n = u32::from_be_bytes(*length) as usize;
        if n < 5 || n > rest.len() {
            break;
        }
        let packet = &rest[..n];
        let padding = usize::from(packet[0]);
        let payload = &packet[1..n.saturating_sub(padding).max(1)];
        data = &rest[n..];
        match payload.first() {
            Some(&msg::KEXINIT) => {
                if let Some(init) = KexInit::decode(payload) {
                    offered = Some(format!(
                        "key exchange in the clear: KEXINIT offers {}; host keys {}; ciphers {}",
                        init.kex.join(", "),
                        init.host_key.join(", "),
                        init.ciphers_c2s.join(", ")
                    ));
                }
            }
            Some(&msg::NEWKEYS) => break,
            _ => {}
        }
    }
    (start - data.len(), offered)
}

/// The sizes of the segments that carry a stream, from byte `from` of
/// its first run on.
fn segment_sizes(stream: &Stream, from: usize) -> Vec<usize> {
    let mut sizes = Vec::new();
    for (i, run) in stream.runs.iter().enumerate() {
        let starts: Vec<usize> = run.times.iter().map(|&(offset, _)| offset).collect();
        for (k, &start) in starts.iter().enumerate() {
            let end = starts.get(k + 1).copied().unwrap_or(run.data.len());
            let start = if i == 0 { start.max(from) } else { start };
            if end > start {
                sizes.push(end - start);
            }
        }
    }
    sizes
}

#[cfg(test)]
mod tests {
    use super::super::test_tap::{Tap, texts};
    use super::super::{FindingKind, Protocol, analyze, readable_text};
    use bytes::Bytes;

    /// A real SCP upload, captured.
    #[test]
    fn scp_shows_only_ciphertext() {
        use crate::proto::Session;
        use crate::proto::scp::*;

        struct Fs;
        impl ScpBackend for Fs {
            fn check_password(&self, user: &str, password: &str) -> bool {
                user == "alice" && password == "wonderland"
            }
            fn lookup(&self, path: &str) -> Option<ScpNode> {
                (path == "/uploads").then(|| ScpNode::Dir {
                    mode: 0o755,
                    mtime: None,
                    entries: vec![],
                })
            }
            fn write_file(
                &mut self,
                _: &str,
                _: Bytes,
                _: u32,
                _: Option<i64>,
            ) -> Result<(), WriteError> {
                Ok(())
            }
            fn make_dir(&mut self, _: &str, _: u32) -> Result<(), WriteError> {
                Ok(())
            }
        }

        let secret_report = b"Quarterly report: revenue up, do not share.\n".repeat(30);
        let mut server = ScpServer::new([1; 32], [2; 32]);
        let mut client = ScpClient::new(ScpClientConfig {
            user: "alice".into(),
            password: "wonderland".into(),
            seed: [3; 32],
            ciphers: crate::proto::ssh::CipherName::ALL.to_vec(),
            known_host_key: Some(server.host_public_key()),
            operation: ScpOperation::Upload {
                target: "/uploads".into(),
                entries: vec![ScpEntry::file("report.txt", secret_report.clone())],
                preserve_times: false,
            },
        });
        let mut tap = Tap::new(40004, 22).open();
        loop {
            let mut moved = false;
            while let Some(bytes) = client.poll_output() {
                // Large writes go out as several segments, like TCP would.
                for piece in bytes.chunks(536) {
                    tap = tap.client_sends(piece);
                }
                server.handle_input(&bytes, &mut Fs);
                moved = true;
            }
            while let Some(bytes) = server.poll_output() {
                for piece in bytes.chunks(536) {
                    tap = tap.server_sends(piece);
                }
                client.handle_input(&bytes);
                moved = true;
            }
            if !moved {
                break;
            }
        }
        assert!(client.succeeded());
        let report = analyze(&tap.close().packets);
        assert_eq!(report.connections[0].protocol, Protocol::Scp);
        let text = readable_text(&report);
        for secret in ["wonderland", "alice", "Quarterly", "report.txt", "C0644"] {
            assert!(!text.contains(secret), "{secret} leaked: {text}");
        }
        assert_eq!(
            texts(&report, FindingKind::Banner),
            vec![
                "client to server version: SSH-2.0-wiretale",
                "client to server key exchange in the clear: KEXINIT offers curve25519-sha256, curve25519-sha256@libssh.org, kex-strict-c-v00@openssh.com; host keys ssh-ed25519; ciphers chacha20-poly1305@openssh.com, aes128-ctr",
                "server to client version: SSH-2.0-wiretale",
                "server to client key exchange in the clear: KEXINIT offers curve25519-sha256, curve25519-sha256@libssh.org, kex-strict-s-v00@openssh.com; host keys ssh-ed25519; ciphers chacha20-poly1305@openssh.com, aes128-ctr",
            ]
        );
        let ciphertext = texts(&report, FindingKind::Ciphertext);
        assert_eq!(ciphertext.len(), 2, "{text}");
        assert!(
            ciphertext.iter().all(|t| t.ends_with(": no readable text")),
            "{text}"
        );
        assert!(
            ciphertext[0].contains("packet lengths are encrypted too, only segment sizes show: "),
            "{text}"
        );
        assert!(texts(&report, FindingKind::Credential).is_empty());
    }

    #[test]
    fn plain_text_on_port_22_is_called_out() {
        let tap = Tap::new(40005, 22)
            .open()
            .client_sends(b"this is not encrypted at all, anyone can read it\r\n");
        let report = analyze(&tap.packets);
        let content = texts(&report, FindingKind::Content);
        assert_eq!(content.len(), 1);
        assert!(
            content[0].contains("readable text: \"this is not encrypted"),
            "{content:?}"
        );
    }
}
