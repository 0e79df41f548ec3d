//! Setting up the data connection: PORT and EPRT (active: the server
//! connects, RFC 959 §3.2, RFC 2428 §2) and PASV and EPSV (passive: the
//! server listens, RFC 2428 §3), each asked of the driver as a
//! [`DataRequest`](super::super::DataRequest) or through
//! [`DataPorts`](super::super::DataPorts).
//!
//! Not here: what is sent over the connection (`transfer`).

use std::net::SocketAddrV4;

use super::super::codes::*;
use super::super::command::{EprtError, format_host_port, parse_eprt, parse_host_port};
use super::super::{DataPorts, DataRequest};
use super::{Channel, FtpServer, State, Transfer};

impl FtpServer {
    pub(super) fn cmd_port(&mut self, arg: &str) {
        if self.epsv_all {
            return self.reply(BAD_SEQUENCE, "EPSV ALL in effect; use EPSV.");
        }
        match parse_host_port(arg) {
            Some(addr) => self.set_active(addr, "PORT command successful."),
            None => self.reply(BAD_ARGUMENTS, "Illegal PORT command."),
        }
    }

    pub(super) fn cmd_eprt(&mut self, arg: &str) {
        if self.epsv_all {
            return self.reply(BAD_SEQUENCE, "EPSV ALL in effect; use EPSV.");
        }
        match parse_eprt(arg) {
            Ok(addr) => self.set_active(addr, "EPRT command successful."),
            Err(EprtError::UnsupportedProtocol) => self.reply(
                PROTOCOL_NOT_SUPPORTED,
                "Network protocol not supported, use (1)",
            ),
            Err(EprtError::Malformed) => self.reply(BAD_ARGUMENTS, "Illegal EPRT command."),
        }
    }

    fn set_active(&mut self, addr: SocketAddrV4, ok_text: &str) {
        if let Some(client) = self.config.client_ip
            && (*addr.ip() != client || addr.port() < 1024)
        {
            // RFC 2577 §3: refuse to connect to third parties or to
            // privileged ports.
            return self.reply(
                NOT_IMPLEMENTED_FOR_PARAMETER,
                "Data connection must go to the client.",
            );
        }
        self.drop_data();
        self.channel = Channel::Active(addr);
        self.state = State::DataReady;
        self.reply(OK, ok_text);
    }

    pub(super) fn cmd_pasv(&mut self, ports: &mut dyn DataPorts) {
        if self.epsv_all {
            return self.reply(BAD_SEQUENCE, "EPSV ALL in effect; use EPSV.");
        }
        if let Some(addr) = self.listen(ports) {
            let text = format!("Entering Passive Mode ({}).", format_host_port(addr));
            self.reply(ENTERING_PASSIVE, text);
        }
    }

    pub(super) fn cmd_epsv(&mut self, arg: Option<&str>, ports: &mut dyn DataPorts) {
        match arg.map(|a| a.trim().to_ascii_uppercase()).as_deref() {
            None | Some("1") => {
                if let Some(addr) = self.listen(ports) {
                    // RFC 2428 §3: only the port; the client uses the
                    // control connection's address.
                    let text = format!("Entering Extended Passive Mode (|||{}|)", addr.port());
                    self.reply(ENTERING_EXTENDED_PASSIVE, text);
                }
            }
            Some("ALL") => {
                self.epsv_all = true;
                self.reply(OK, "EPSV ALL ok.");
            }
            Some("2") => self.reply(
                PROTOCOL_NOT_SUPPORTED,
                "Network protocol not supported, use (1)",
            ),
            Some(_) => self.reply(BAD_ARGUMENTS, "Illegal EPSV command."),
        }
    }

    /// Opens a passive listener, or answers 425.
    fn listen(&mut self, ports: &mut dyn DataPorts) -> Option<SocketAddrV4> {
        // The new listener replaces any old listener or idle connection
        // (the DataPorts contract), so no Abort is requested here: it would
        // reach the driver after the new listener exists.
        self.channel = Channel::None;
        match ports.open_listener() {
            Some(addr) => {
                self.channel = Channel::Listening(addr);
                self.state = State::DataReady;
                Some(addr)
            }
            None => {
                self.state = State::LoggedIn;
                self.reply(CANT_OPEN_DATA, "Can't open passive connection.");
                None
            }
        }
    }

    /// Drops whatever data connection or listener exists.
    pub(super) fn drop_data(&mut self) {
        if self.channel != Channel::None || self.busy() {
            self.data_requests.push_back(DataRequest::Abort);
        }
        self.channel = Channel::None;
        self.transfer = Transfer::None;
        self.state = self.state.without_data();
    }
}

#[cfg(test)]
mod unit_tests {
    use super::super::FtpServerConfig;
    use super::super::unit_tests::{replies, session};
    use super::*;
    use std::net::Ipv4Addr;

    #[test]
    fn port_names_where_the_client_listens() {
        // RFC 959 §4.1.2: h1,h2,h3,h4,p1,p2 with the port p1*256+p2.
        let mut s = session(FtpServerConfig::default());
        s.cmd_port("10,0,0,1,4,1");
        assert_eq!(replies(&mut s), [200]);
        let to = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 1), 1025);
        assert!(matches!(s.channel, Channel::Active(a) if a == to));
        s.cmd_port("10,0,0,1,4");
        assert_eq!(replies(&mut s), [501]);
    }

    #[test]
    fn the_data_connection_must_go_back_to_the_client() {
        // RFC 2577 §3: no bounce to a third party, no privileged port.
        let mut s = session(FtpServerConfig {
            client_ip: Some(Ipv4Addr::new(10, 0, 0, 1)),
            ..FtpServerConfig::default()
        });
        s.cmd_port("10,0,0,2,4,1");
        s.cmd_port("10,0,0,1,0,25");
        s.cmd_eprt("|1|10.0.0.1|2000|");
        assert_eq!(replies(&mut s), [504, 504, 200]);
    }

    #[test]
    fn eprt_speaks_ipv4_only() {
        // RFC 2428 §2: 522 names the protocols the server supports.
        let mut s = session(FtpServerConfig::default());
        s.cmd_eprt("|2|::1|2000|");
        s.cmd_eprt("|1|10.0.0.1|");
        assert_eq!(replies(&mut s), [522, 501]);
        assert!(matches!(s.channel, Channel::None));
    }
}
