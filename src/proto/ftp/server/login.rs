//! Logging in (RFC 959 §4.1.1: USER, PASS, ACCT, QUIT) and FTP over TLS
//! (RFC 4217: AUTH TLS, PBSZ, PROT): whether the data connections are
//! protected too.
//!
//! Not here: putting TLS under the connection (the driver does, once
//! `take_starttls` says so).

use super::super::FtpBackend;
use super::super::codes::*;
use super::{Channel, FtpServer, MAX_COMMAND_LINE, State};
use crate::proto::line::LineReader;

impl FtpServer {
    pub(super) fn cmd_user(&mut self, name: String) {
        // A new USER starts a new login, whatever came before.
        self.logged_in = false;
        self.user = Some(name);
        self.state = State::AwaitingPassword;
        self.rename_from = None;
        self.reply(NEED_PASSWORD, "User name okay, need password.");
    }

    pub(super) fn cmd_pass(&mut self, password: &str, backend: &mut dyn FtpBackend) {
        let Some(user) = self.user.clone() else {
            return self.reply(BAD_SEQUENCE, "Login with USER first.");
        };
        if self.logged_in {
            return self.reply(LOGGED_IN, "Already logged in.");
        }
        if backend.authenticate(&user, password) {
            self.logged_in = true;
            // A data connection prepared before a new USER is still there.
            self.state = if self.channel == Channel::None {
                State::LoggedIn
            } else {
                State::DataReady
            };
            self.login_failures = 0;
            self.cwd = "/".to_string();
            return self.reply(LOGGED_IN, "User logged in, proceed.");
        }
        self.user = None;
        self.state = State::AwaitingUser;
        self.login_failures += 1;
        self.reply(NOT_LOGGED_IN, "Login incorrect.");
        if self.login_failures >= self.config.max_login_failures {
            self.reply(
                SERVICE_NOT_AVAILABLE,
                "Too many failed logins; closing control connection.",
            );
            self.closing = true;
            self.state = State::Closed;
        }
    }

    pub(super) fn cmd_acct(&mut self) {
        if self.logged_in {
            self.reply(SUPERFLUOUS, "ACCT not needed at this site.")
        } else {
            self.reply(BAD_SEQUENCE, "Login with USER and PASS first.")
        }
    }

    pub(super) fn cmd_quit(&mut self) {
        self.drop_data();
        self.reply(CLOSING_CONTROL, "Goodbye.");
        self.closing = true;
        self.state = State::Closed;
    }

    pub(super) fn cmd_auth(&mut self, mechanism: &str) {
        if !self.config.tls {
            return self.reply(NOT_IMPLEMENTED, "AUTH not implemented.");
        }
        if self.secure {
            return self.reply(BAD_SEQUENCE, "TLS is already active.");
        }
        // "TLS-C" and "SSL" are older names clients still send.
        if !["TLS", "TLS-C", "SSL"]
            .iter()
            .any(|m| mechanism.eq_ignore_ascii_case(m))
        {
            return self.reply(NOT_IMPLEMENTED_FOR_PARAMETER, "Only AUTH TLS is offered.");
        }
        self.reply(AUTH_OK, "AUTH TLS successful.");
        self.tls_pending = true;
        // Nothing the client sent after AUTH in the clear is read.
        self.queue.clear();
        self.reader = LineReader::new(MAX_COMMAND_LINE);
    }

    pub(super) fn cmd_pbsz(&mut self, size: &str) {
        if !self.secure {
            return self.reply(BAD_SEQUENCE, "PBSZ needs AUTH TLS first.");
        }
        self.pbsz = true;
        // §8: for TLS the buffer size is always 0.
        let _ = size;
        self.reply(OK, "PBSZ=0")
    }

    pub(super) fn cmd_prot(&mut self, level: &str) {
        if !self.secure || !self.pbsz {
            return self.reply(BAD_SEQUENCE, "PROT needs AUTH TLS and PBSZ first.");
        }
        match level.to_ascii_uppercase().as_str() {
            "P" => {
                self.protect_data = true;
                self.reply(OK, "Protection level set to P: data connections use TLS.")
            }
            "C" => {
                self.protect_data = false;
                self.reply(
                    OK,
                    "Protection level set to C: data connections in the clear.",
                )
            }
            "S" | "E" => self.reply(PROTECTION_NOT_SUPPORTED, "Protection level not supported."),
            _ => self.reply(NOT_IMPLEMENTED_FOR_PARAMETER, "Unknown protection level."),
        }
    }

    /// PROT P is in force: the driver puts TLS on each data connection,
    /// with the server as the TLS server (RFC 4217 §7).
    pub fn data_protected(&self) -> bool {
        self.protect_data
    }
}

#[cfg(test)]
mod unit_tests {
    use super::super::FtpServerConfig;
    use super::super::unit_tests::{replies, session};

    #[test]
    fn user_starts_a_new_login() {
        let mut s = session(FtpServerConfig::default());
        s.logged_in = true;
        s.cmd_user("bob".into());
        assert!(!s.logged_in);
        assert_eq!(s.user(), None);
        assert_eq!(replies(&mut s), [331]);
    }

    #[test]
    fn pbsz_and_prot_come_after_auth_tls_in_that_order() {
        // RFC 4217 §8-9: AUTH TLS, then PBSZ 0, then PROT.
        let mut s = session(FtpServerConfig {
            tls: true,
            ..FtpServerConfig::default()
        });
        s.cmd_pbsz("0");
        s.cmd_prot("P");
        s.secure = true;
        s.cmd_prot("P");
        s.cmd_pbsz("0");
        s.cmd_prot("S");
        s.cmd_prot("Q");
        assert!(!s.data_protected());
        s.cmd_prot("P");
        assert!(s.data_protected());
        assert_eq!(replies(&mut s), [503, 503, 503, 200, 536, 504, 200]);
    }
}
