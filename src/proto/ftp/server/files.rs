//! Commands on names and the transfer parameters: CWD and CDUP, RNFR and
//! RNTO, SIZE and MDTM (RFC 3659), and TYPE, MODE, STRU and REST (RFC 959
//! §4.1.2, RFC 3659 §5).
//!
//! Not here: the listings and transfers (`transfer`).

use super::super::ascii;
use super::super::codes::*;
use super::super::{FileKind, FtpBackend, TransferType};
use super::{FtpServer, absolute};
use crate::proto::date::ftp_time_val;

impl FtpServer {
    pub(super) fn cmd_cwd(&mut self, user: &str, path: &str, backend: &mut dyn FtpBackend) {
        match backend.change_dir(user, &self.cwd, path) {
            Ok(dir) => {
                self.cwd = dir;
                // RFC 959 §5.4 lists 200 for CDUP in one place and 250 in
                // another; 250 is what servers send for both.
                self.reply(FILE_ACTION_OK, "Directory successfully changed.");
            }
            Err(e) => self.reply(
                ACTION_NOT_TAKEN,
                format!("Failed to change directory: {e}."),
            ),
        }
    }

    pub(super) fn cmd_rnfr(&mut self, user: &str, path: &str, backend: &mut dyn FtpBackend) {
        match backend.stat(user, &self.cwd, path) {
            Ok(_) => {
                // Remember it relative to the root, in case a CWD comes
                // before RNTO.
                self.rename_from = Some(absolute(&self.cwd, path));
                self.reply(PENDING, "Ready for RNTO.");
            }
            Err(e) => self.reply(ACTION_NOT_TAKEN, format!("RNFR command failed: {e}.")),
        }
    }

    pub(super) fn cmd_rnto(
        &mut self,
        user: &str,
        path: &str,
        backend: &mut dyn FtpBackend,
        now: i64,
    ) {
        // RFC 959 §4.1.3: RNTO must come right after RNFR.
        let Some(from) = self.rename_from.take() else {
            return self.reply(BAD_SEQUENCE, "RNFR required first.");
        };
        match backend.rename(user, &self.cwd, &from, path, now) {
            Ok(()) => self.reply(FILE_ACTION_OK, "Rename successful."),
            Err(e) => self.name_error("Rename failed", e),
        }
    }

    pub(super) fn cmd_size(&mut self, user: &str, path: &str, backend: &mut dyn FtpBackend) {
        let info = match backend.stat(user, &self.cwd, path) {
            Ok(info) if info.kind == FileKind::File => info,
            Ok(_) => {
                return self.reply(ACTION_NOT_TAKEN, "Could not get file size: Is a directory.");
            }
            Err(e) => {
                return self.reply(ACTION_NOT_TAKEN, format!("Could not get file size: {e}."));
            }
        };
        // RFC 3659 §4: SIZE is the number of octets the transfer would
        // send in the current TYPE, so in TYPE A the CRs count too.
        let size = match self.transfer_type {
            TransferType::Image => info.size,
            TransferType::Ascii => match backend.read(user, &self.cwd, path) {
                Ok(data) => ascii::to_wire(&data).len() as u64,
                Err(e) => {
                    return self.reply(ACTION_NOT_TAKEN, format!("Could not get file size: {e}."));
                }
            },
        };
        self.reply(FILE_STATUS, size.to_string());
    }

    pub(super) fn cmd_mdtm(&mut self, user: &str, path: &str, backend: &mut dyn FtpBackend) {
        match backend.stat(user, &self.cwd, path) {
            // RFC 3659 §3: time-val, UTC, YYYYMMDDHHMMSS.
            Ok(info) if info.kind == FileKind::File => {
                self.reply(FILE_STATUS, ftp_time_val(info.mtime))
            }
            Ok(_) => self.reply(
                ACTION_NOT_TAKEN,
                "Could not get modification time: Is a directory.",
            ),
            Err(e) => self.reply(
                ACTION_NOT_TAKEN,
                format!("Could not get modification time: {e}."),
            ),
        }
    }

    pub(super) fn cmd_type(&mut self, arg: &str) {
        let words: Vec<String> = arg
            .split_whitespace()
            .map(str::to_ascii_uppercase)
            .collect();
        let words: Vec<&str> = words.iter().map(String::as_str).collect();
        match words.as_slice() {
            ["A"] | ["A", "N"] => {
                self.transfer_type = TransferType::Ascii;
                self.reply(OK, "Switching to ASCII mode.");
            }
            ["I"] | ["L", "8"] => {
                self.transfer_type = TransferType::Image;
                self.reply(OK, "Switching to Binary mode.");
            }
            ["A", "T" | "C"] | ["E"] | ["E", _] | ["L", _] => self.reply(
                NOT_IMPLEMENTED_FOR_PARAMETER,
                "Only TYPE A, A N, I and L 8 are supported.",
            ),
            _ => self.reply(BAD_ARGUMENTS, "Unrecognised TYPE command."),
        }
    }

    pub(super) fn cmd_mode(&mut self, arg: &str) {
        match arg.trim().to_ascii_uppercase().as_str() {
            "S" => self.reply(OK, "Mode set to S."),
            "B" | "C" => self.reply(
                NOT_IMPLEMENTED_FOR_PARAMETER,
                "Only stream mode (S) is supported.",
            ),
            _ => self.reply(BAD_ARGUMENTS, "Unrecognised MODE."),
        }
    }

    pub(super) fn cmd_stru(&mut self, arg: &str) {
        match arg.trim().to_ascii_uppercase().as_str() {
            "F" => self.reply(OK, "Structure set to F."),
            "R" | "P" => self.reply(
                NOT_IMPLEMENTED_FOR_PARAMETER,
                "Only file structure (F) is supported.",
            ),
            _ => self.reply(BAD_ARGUMENTS, "Unrecognised STRU."),
        }
    }

    pub(super) fn cmd_rest(&mut self, arg: &str) {
        match arg.trim().parse::<u64>() {
            Ok(offset) => {
                self.rest_offset = offset;
                self.reply(
                    PENDING,
                    format!("Restarting at {offset}. Send STOR or RETR."),
                );
            }
            Err(_) => self.reply(BAD_ARGUMENTS, "REST needs a byte count."),
        }
    }
}

#[cfg(test)]
mod unit_tests {
    use super::super::FtpServerConfig;
    use super::super::unit_tests::{replies, session};
    use super::*;

    #[test]
    fn type_knows_ascii_and_image_and_refuses_the_rest() {
        // RFC 959 §3.1.1 and §4.1.2: A (N), I and L 8 are the same as
        // every server's; EBCDIC and other byte sizes are not offered.
        let mut s = session(FtpServerConfig::default());
        s.cmd_type("i");
        assert_eq!(s.transfer_type(), TransferType::Image);
        s.cmd_type("A N");
        assert_eq!(s.transfer_type(), TransferType::Ascii);
        s.cmd_type("L 8");
        assert_eq!(s.transfer_type(), TransferType::Image);
        s.cmd_type("E");
        s.cmd_type("L 7");
        s.cmd_type("Z");
        assert_eq!(replies(&mut s), [200, 200, 200, 504, 504, 501]);
        assert_eq!(s.transfer_type(), TransferType::Image);
    }

    #[test]
    fn only_stream_mode_and_file_structure() {
        let mut s = session(FtpServerConfig::default());
        s.cmd_mode("s");
        s.cmd_mode("B");
        s.cmd_mode("?");
        s.cmd_stru("F");
        s.cmd_stru("R");
        assert_eq!(replies(&mut s), [200, 504, 501, 200, 504]);
    }

    #[test]
    fn rest_remembers_where_the_next_transfer_starts() {
        // RFC 3659 §5: 350, then the offset applies to RETR or STOR.
        let mut s = session(FtpServerConfig::default());
        s.cmd_rest("1024");
        assert_eq!(s.rest_offset, 1024);
        s.cmd_rest("somewhere");
        assert_eq!(replies(&mut s), [350, 501]);
    }
}
