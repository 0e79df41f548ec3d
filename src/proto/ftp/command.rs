//! FTP commands on the control connection, and the host-port notations of
//! PORT, PASV (RFC 959) and EPRT, EPSV (RFC 2428).
//!
//! RFC 959 §5.3: a command is a verb of up to four letters, case
//! insensitive, then (for most) one space and an argument, ended by CRLF.
//! Parsing here only splits the line and checks that an argument is present
//! where one is required; what an argument means (a path, a type code, an
//! address) is decided by the server, which knows the right reply code.

use std::net::{Ipv4Addr, SocketAddrV4};

/// One parsed command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    User(String),
    Pass(String),
    Acct(String),
    Cwd(String),
    Cdup,
    Pwd,
    Mkd(String),
    Rmd(String),
    Dele(String),
    Rnfr(String),
    Rnto(String),
    /// LIST with an optional path (and maybe `ls` options such as `-la`).
    List(Option<String>),
    Nlst(Option<String>),
    /// RFC 3659 §7: a machine-readable listing of a directory, on the data
    /// connection.
    Mlsd(Option<String>),
    /// RFC 3659 §7: the facts of one file or directory, on the control
    /// connection.
    Mlst(Option<String>),
    /// RFC 2389 §4: options of a command (`OPTS MLST type;size;`).
    Opts(String),
    Retr(String),
    Stor(String),
    Appe(String),
    Type(String),
    Mode(String),
    Stru(String),
    Port(String),
    Pasv,
    Eprt(String),
    /// EPSV, EPSV ALL, or EPSV with a protocol number.
    Epsv(Option<String>),
    Size(String),
    Mdtm(String),
    Feat,
    Syst,
    Noop,
    Help(Option<String>),
    Rest(String),
    Abor,
    Quit,
    /// RFC 4217 `AUTH TLS`.
    Auth(String),
    /// RFC 4217 `PBSZ 0`.
    Pbsz(String),
    /// RFC 4217 `PROT C|P`.
    Prot(String),
    /// A verb RFC 959 or its extensions define that this server does not
    /// implement (STAT, STOU, SITE, ...): 502.
    NotImplemented(String),
}

/// Why a command line was refused before the server looked at it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandError {
    /// Empty line or unknown verb: 500.
    Unrecognized(String),
    /// A verb that needs an argument came without one: 501.
    MissingArgument(String),
}

/// Verbs that exist in RFC 959, 2228, 2389, 2640, 3659 but are not
/// implemented here; they get 502 rather than 500.
const KNOWN_UNIMPLEMENTED: &[&str] = &[
    "SMNT", "REIN", "STOU", "ALLO", "STAT", "SITE", "CCC", "ADAT", "MIC", "CONF", "ENC", "LANG",
    "XPWD", "XCWD", "XMKD", "XRMD", "XCUP",
];

impl Command {
    /// Parses one line (without CRLF, Telnet codes already removed).
    pub fn parse(line: &str) -> Result<Command, CommandError> {
        let (verb, arg) = match line.split_once(' ') {
            Some((verb, arg)) => (verb, Some(arg)),
            None => (line, None),
        };
        let verb = verb.to_ascii_uppercase();
        // An empty argument counts as none: "LIST " is just LIST.
        let arg = arg.filter(|a| !a.is_empty()).map(str::to_string);
        let need = |make: fn(String) -> Command| match arg.clone() {
            Some(a) => Ok(make(a)),
            None => Err(CommandError::MissingArgument(verb.clone())),
        };
        match verb.as_str() {
            "USER" => need(Command::User),
            // A password may legitimately be empty.
            "PASS" => Ok(Command::Pass(arg.clone().unwrap_or_default())),
            "ACCT" => need(Command::Acct),
            "CWD" => need(Command::Cwd),
            "CDUP" => Ok(Command::Cdup),
            "PWD" => Ok(Command::Pwd),
            "MKD" => need(Command::Mkd),
            "RMD" => need(Command::Rmd),
            "DELE" => need(Command::Dele),
            "RNFR" => need(Command::Rnfr),
            "RNTO" => need(Command::Rnto),
            "LIST" => Ok(Command::List(arg.clone())),
            "NLST" => Ok(Command::Nlst(arg.clone())),
            "MLSD" => Ok(Command::Mlsd(arg.clone())),
            "MLST" => Ok(Command::Mlst(arg.clone())),
            "OPTS" => need(Command::Opts),
            "RETR" => need(Command::Retr),
            "STOR" => need(Command::Stor),
            "APPE" => need(Command::Appe),
            "TYPE" => need(Command::Type),
            "MODE" => need(Command::Mode),
            "STRU" => need(Command::Stru),
            "PORT" => need(Command::Port),
            "PASV" => Ok(Command::Pasv),
            "EPRT" => need(Command::Eprt),
            "EPSV" => Ok(Command::Epsv(arg.clone())),
            "SIZE" => need(Command::Size),
            "MDTM" => need(Command::Mdtm),
            "FEAT" => Ok(Command::Feat),
            "SYST" => Ok(Command::Syst),
            "NOOP" => Ok(Command::Noop),
            "HELP" => Ok(Command::Help(arg.clone())),
            "REST" => need(Command::Rest),
            "ABOR" => Ok(Command::Abor),
            "QUIT" => Ok(Command::Quit),
            "AUTH" => need(Command::Auth),
            "PBSZ" => need(Command::Pbsz),
            "PROT" => need(Command::Prot),
            v if KNOWN_UNIMPLEMENTED.contains(&v) => Ok(Command::NotImplemented(verb.clone())),
            _ => Err(CommandError::Unrecognized(verb.clone())),
        }
    }

    /// The verb, upper case.
    pub fn verb(&self) -> &str {
        match self {
            Command::User(_) => "USER",
            Command::Pass(_) => "PASS",
            Command::Acct(_) => "ACCT",
            Command::Cwd(_) => "CWD",
            Command::Cdup => "CDUP",
            Command::Pwd => "PWD",
            Command::Mkd(_) => "MKD",
            Command::Rmd(_) => "RMD",
            Command::Dele(_) => "DELE",
            Command::Rnfr(_) => "RNFR",
            Command::Rnto(_) => "RNTO",
            Command::List(_) => "LIST",
            Command::Nlst(_) => "NLST",
            Command::Mlsd(_) => "MLSD",
            Command::Mlst(_) => "MLST",
            Command::Opts(_) => "OPTS",
            Command::Retr(_) => "RETR",
            Command::Stor(_) => "STOR",
            Command::Appe(_) => "APPE",
            Command::Type(_) => "TYPE",
            Command::Mode(_) => "MODE",
            Command::Stru(_) => "STRU",
            Command::Port(_) => "PORT",
            Command::Pasv => "PASV",
            Command::Eprt(_) => "EPRT",
            Command::Epsv(_) => "EPSV",
            Command::Size(_) => "SIZE",
            Command::Mdtm(_) => "MDTM",
            Command::Feat => "FEAT",
            Command::Syst => "SYST",
            Command::Noop => "NOOP",
            Command::Help(_) => "HELP",
            Command::Rest(_) => "REST",
            Command::Abor => "ABOR",
            Command::Quit => "QUIT",
            Command::Auth(_) => "AUTH",
            Command::Pbsz(_) => "PBSZ",
            Command::Prot(_) => "PROT",
            Command::NotImplemented(v) => v,
        }
    }
}

/// The verbs the server implements, for HELP.
pub const IMPLEMENTED_VERBS: &[&str] = &[
    "ABOR", "ACCT", "APPE", "AUTH", "CDUP", "CWD", "DELE", "EPRT", "EPSV", "FEAT", "HELP", "LIST",
    "MDTM", "MKD", "MLSD", "MLST", "MODE", "NLST", "NOOP", "OPTS", "PASS", "PASV", "PBSZ", "PORT",
    "PROT", "PWD", "QUIT", "REST", "RETR", "RMD", "RNFR", "RNTO", "SIZE", "STOR", "STRU", "SYST",
    "TYPE", "USER",
];

/// Removes Telnet commands from a control line. RFC 959 §4.1.3: a client
/// aborting a transfer sends Telnet IP (`IAC 0xF4`) and Synch (`IAC 0xF2`)
/// before `ABOR` (Python's ftplib does); `IAC IAC` stands for a literal
/// 0xFF byte. Option negotiation (`IAC WILL/WONT/DO/DONT x`) is dropped.
pub fn strip_telnet(line: &[u8]) -> Vec<u8> {
    const IAC: u8 = 0xFF;
    let mut out = Vec::with_capacity(line.len());
    let mut i = 0;
    while i < line.len() {
        if line[i] != IAC {
            out.push(line[i]);
            i += 1;
            continue;
        }
        match line.get(i + 1) {
            Some(&IAC) => {
                out.push(IAC);
                i += 2;
            }
            // WILL, WONT, DO, DONT carry one option byte.
            Some(0xFB..=0xFE) => i += 3,
            _ => i += 2,
        }
    }
    out
}

/// Parses the PORT argument `h1,h2,h3,h4,p1,p2` (RFC 959 §4.1.2): four
/// address bytes and the port as two bytes, high first.
pub fn parse_host_port(arg: &str) -> Option<SocketAddrV4> {
    let numbers: Vec<u8> = arg
        .trim()
        .split(',')
        .map(|n| n.trim().parse::<u8>().ok())
        .collect::<Option<Vec<u8>>>()?;
    let [h1, h2, h3, h4, p1, p2] = numbers.as_slice() else {
        return None;
    };
    let port = u16::from(*p1) << 8 | u16::from(*p2);
    Some(SocketAddrV4::new(Ipv4Addr::new(*h1, *h2, *h3, *h4), port))
}

/// Formats an address as PORT and the 227 reply write it.
pub fn format_host_port(addr: SocketAddrV4) -> String {
    let [h1, h2, h3, h4] = addr.ip().octets();
    let port = addr.port();
    format!("{h1},{h2},{h3},{h4},{},{}", port >> 8, port & 0xFF)
}

/// Why an EPRT argument was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EprtError {
    /// Not `<d>proto<d>addr<d>port<d>`: 501.
    Malformed,
    /// A protocol other than 1 (IPv4): 522.
    UnsupportedProtocol,
}

/// Parses the EPRT argument `|1|132.235.1.2|6275|` (RFC 2428 §2). The
/// delimiter is whatever character comes first.
pub fn parse_eprt(arg: &str) -> Result<SocketAddrV4, EprtError> {
    let delim = arg.chars().next().ok_or(EprtError::Malformed)?;
    if !(33..=126).contains(&(delim as u32)) {
        return Err(EprtError::Malformed);
    }
    let fields: Vec<&str> = arg.split(delim).collect();
    let ["", proto, addr, port, ""] = fields.as_slice() else {
        return Err(EprtError::Malformed);
    };
    if *proto != "1" {
        return match *proto {
            "2" => Err(EprtError::UnsupportedProtocol),
            _ => Err(EprtError::Malformed),
        };
    }
    let ip: Ipv4Addr = addr.parse().map_err(|_| EprtError::Malformed)?;
    let port: u16 = port.parse().map_err(|_| EprtError::Malformed)?;
    Ok(SocketAddrV4::new(ip, port))
}

/// Formats an address as EPRT's argument.
pub fn format_eprt(addr: SocketAddrV4) -> String {
    format!("|1|{}|{}|", addr.ip(), addr.port())
}

/// Finds the address in a 227 reply's text, e.g.
/// `Entering Passive Mode (192,168,1,2,195,80).` RFC 959 fixes no exact
/// wording, so, like Python's ftplib, look for six numbers separated by
/// commas.
pub fn parse_pasv_reply(text: &str) -> Option<SocketAddrV4> {
    let start = text.find(|c: char| c.is_ascii_digit())?;
    let candidate: String = text[start..]
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == ',' || *c == ' ')
        .collect();
    parse_host_port(candidate.trim_end_matches([',', ' ']))
}

/// Finds the port in a 229 reply's text, `... (|||6446|)` (RFC 2428 §3).
pub fn parse_epsv_reply(text: &str) -> Option<u16> {
    let open = text.find('(')?;
    let inner = &text[open + 1..];
    let close = inner.find(')')?;
    let inner = &inner[..close];
    let delim = inner.chars().next()?;
    let fields: Vec<&str> = inner.split(delim).collect();
    let ["", "", "", port, ""] = fields.as_slice() else {
        return None;
    };
    port.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_verbs_case_insensitively() {
        assert_eq!(
            Command::parse("retr a b.txt"),
            Ok(Command::Retr("a b.txt".into()))
        );
        assert_eq!(Command::parse("PASV"), Ok(Command::Pasv));
        assert_eq!(Command::parse("LIST "), Ok(Command::List(None)));
        assert_eq!(
            Command::parse("RETR"),
            Err(CommandError::MissingArgument("RETR".into()))
        );
        assert_eq!(
            Command::parse("XYZZY"),
            Err(CommandError::Unrecognized("XYZZY".into()))
        );
        assert_eq!(
            Command::parse("stat"),
            Ok(Command::NotImplemented("STAT".into()))
        );
    }

    #[test]
    fn host_port_notations_round_trip() {
        let addr = SocketAddrV4::new(Ipv4Addr::new(192, 168, 1, 2), 50_000);
        assert_eq!(format_host_port(addr), "192,168,1,2,195,80");
        assert_eq!(parse_host_port("192,168,1,2,195,80"), Some(addr));
        assert_eq!(parse_host_port("192,168,1,2,195"), None);
        assert_eq!(parse_host_port("192,168,1,2,195,800"), None);
        assert_eq!(format_eprt(addr), "|1|192.168.1.2|50000|");
        assert_eq!(parse_eprt("|1|192.168.1.2|50000|"), Ok(addr));
        assert_eq!(parse_eprt("!1!192.168.1.2!50000!"), Ok(addr));
        assert_eq!(
            parse_eprt("|2|::1|50000|"),
            Err(EprtError::UnsupportedProtocol)
        );
        assert_eq!(parse_eprt("|1|nope|1|"), Err(EprtError::Malformed));
        assert_eq!(
            parse_pasv_reply("Entering Passive Mode (192,168,1,2,195,80)."),
            Some(addr)
        );
        assert_eq!(
            parse_epsv_reply("Entering Extended Passive Mode (|||50000|)"),
            Some(50_000)
        );
    }

    #[test]
    fn telnet_codes_are_removed() {
        assert_eq!(strip_telnet(b"\xff\xf4\xff\xf2ABOR"), b"ABOR");
        assert_eq!(strip_telnet(b"a\xff\xffb\xff\xfb\x01c"), b"a\xffbc");
        assert_eq!(strip_telnet(b"x\xff"), b"x");
    }
}
