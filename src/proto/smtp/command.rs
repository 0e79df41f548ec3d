//! Parsing SMTP command lines (RFC 5321 §4.1) into [`Command`]s.
//!
//! A command is a four-letter verb, case-insensitive, and its arguments.
//! Parsing is separate from the session so that the grammar can be read on
//! its own; whether a command is allowed *now* is the server's business.
//! A line that cannot be parsed yields the [`Reply`] the server should send.
//!
//! Not here: the quoted-string and address-literal grammar in full detail.
//! Mailboxes are checked for the shape `local-part@domain` and the length
//! limits of RFC 5321 §4.5.3.1, which is what teaching needs.

use super::reply::*;

/// RFC 5321 §4.5.3.1.1: the local part is at most 64 octets.
pub const MAX_LOCAL_PART: usize = 64;
/// RFC 5321 §4.5.3.1.2: a domain is at most 255 octets.
pub const MAX_DOMAIN: usize = 255;

/// A mailbox `local-part@domain` (RFC 5321 §4.1.2).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Mailbox {
    /// The part before the `@`, as written (its case may matter to the
    /// receiving host, RFC 5321 §2.4).
    pub local_part: String,
    /// The part after the `@` (case-insensitive).
    pub domain: String,
}

impl Mailbox {
    /// Parses `local@domain` (no angle brackets).
    pub fn parse(text: &str) -> Option<Mailbox> {
        let (local, domain) = text.rsplit_once('@')?;
        if !valid_local_part(local) || !valid_domain(domain) {
            return None;
        }
        Some(Mailbox {
            local_part: local.to_string(),
            domain: domain.to_string(),
        })
    }
}

impl std::fmt::Display for Mailbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}@{}", self.local_part, self.domain)
    }
}

/// The argument of RCPT TO.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ForwardPath {
    /// RFC 5321 §4.1.1.3: `<Postmaster>` without a domain, which every
    /// server must accept.
    Postmaster,
    /// An ordinary mailbox.
    Mailbox(Mailbox),
}

/// The ESMTP parameters of MAIL FROM this server understands.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MailParams {
    /// RFC 1870 `SIZE=n`: the client's estimate of the message size.
    pub size: Option<u64>,
    /// RFC 6152 `BODY=8BITMIME`.
    pub body_8bit: bool,
}

/// One parsed command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `EHLO domain`: extended hello (RFC 5321 §4.1.1.1).
    Ehlo(String),
    /// `HELO domain`: plain hello.
    Helo(String),
    /// `MAIL FROM:<reverse-path> [params]`; `None` is the null path `<>`
    /// used by bounces.
    Mail {
        reverse_path: Option<Mailbox>,
        params: MailParams,
    },
    /// `RCPT TO:<forward-path>`.
    Rcpt(ForwardPath),
    /// `DATA`.
    Data,
    /// `RSET`: abort the transaction.
    Rset,
    /// `NOOP [string]`.
    Noop,
    /// `QUIT`.
    Quit,
    /// `VRFY string`.
    Vrfy(String),
    /// `HELP [string]`.
    Help,
    /// RFC 4954 `AUTH mechanism [initial-response]`.
    Auth {
        mechanism: String,
        initial_response: Option<String>,
    },
    /// RFC 3207 `STARTTLS`.
    StartTls,
    /// A known command this server does not implement (EXPN, TURN, ...).
    NotImplemented(String),
}

/// Verbs that exist (RFC 5321 and extensions) but are not implemented here.
const NOT_IMPLEMENTED_VERBS: &[&str] = &[
    "EXPN", "TURN", "ETRN", "ATRN", "BDAT", "SEND", "SOML", "SAML",
];

/// Parses one command line (without CRLF).
pub fn parse_command(line: &str) -> Result<Command, Reply> {
    let (verb, args) = match line.split_once(' ') {
        Some((verb, args)) => (verb, args.trim()),
        None => (line.trim(), ""),
    };
    let verb = verb.to_ascii_uppercase();
    match verb.as_str() {
        "EHLO" => parse_hello(args, "EHLO").map(Command::Ehlo),
        "HELO" => parse_hello(args, "HELO").map(Command::Helo),
        "MAIL" => parse_mail(args),
        "RCPT" => parse_rcpt(args),
        "DATA" => no_arguments(args, "DATA", Command::Data),
        "RSET" => no_arguments(args, "RSET", Command::Rset),
        "QUIT" => no_arguments(args, "QUIT", Command::Quit),
        "NOOP" => Ok(Command::Noop),
        "HELP" => Ok(Command::Help),
        "VRFY" if args.is_empty() => Err(syntax("VRFY address")),
        "VRFY" => Ok(Command::Vrfy(args.to_string())),
        "AUTH" => parse_auth(args),
        "STARTTLS" => no_arguments(args, "STARTTLS", Command::StartTls),
        v if NOT_IMPLEMENTED_VERBS.contains(&v) => Ok(Command::NotImplemented(verb)),
        _ => Err(Reply::new(SYNTAX_ERROR, "5.5.2 Command unrecognized")),
    }
}

fn syntax(usage: &str) -> Reply {
    Reply::new(SYNTAX_ERROR_IN_PARAMETERS, format!("5.5.4 Syntax: {usage}"))
}

fn no_arguments(args: &str, verb: &str, command: Command) -> Result<Command, Reply> {
    if args.is_empty() {
        Ok(command)
    } else {
        Err(syntax(verb))
    }
}

fn parse_hello(args: &str, verb: &str) -> Result<String, Reply> {
    // RFC 5321 §4.1.1.1: the argument is the client's domain or address
    // literal. Only the first word is kept; anything after it is ignored.
    match args.split_whitespace().next() {
        Some(name) => Ok(name.to_string()),
        None => Err(syntax(&format!("{verb} hostname"))),
    }
}

fn parse_mail(args: &str) -> Result<Command, Reply> {
    let usage = || syntax("MAIL FROM:<address>");
    let rest = strip_prefix_ignore_case(args, "FROM:").ok_or_else(usage)?;
    let (inner, params) = split_path(rest.trim_start()).ok_or_else(usage)?;
    let reverse_path = if inner.is_empty() {
        None
    } else {
        let mailbox = Mailbox::parse(inner).ok_or_else(|| {
            Reply::new(
                SYNTAX_ERROR_IN_PARAMETERS,
                "5.1.7 Bad sender address syntax",
            )
        })?;
        Some(mailbox)
    };
    let params = parse_mail_params(params)?;
    Ok(Command::Mail {
        reverse_path,
        params,
    })
}

fn parse_rcpt(args: &str) -> Result<Command, Reply> {
    let usage = || syntax("RCPT TO:<address>");
    let rest = strip_prefix_ignore_case(args, "TO:").ok_or_else(usage)?;
    let (inner, params) = split_path(rest.trim_start()).ok_or_else(usage)?;
    if !params.trim().is_empty() {
        return Err(unsupported_parameter());
    }
    if inner.eq_ignore_ascii_case("postmaster") {
        return Ok(Command::Rcpt(ForwardPath::Postmaster));
    }
    match Mailbox::parse(inner) {
        Some(mailbox) => Ok(Command::Rcpt(ForwardPath::Mailbox(mailbox))),
        None => Err(Reply::new(
            SYNTAX_ERROR_IN_PARAMETERS,
            "5.1.3 Bad recipient address syntax",
        )),
    }
}

fn parse_auth(args: &str) -> Result<Command, Reply> {
    let mut words = args.split_whitespace();
    let mechanism = words
        .next()
        .ok_or_else(|| syntax("AUTH mechanism [initial-response]"))?
        .to_ascii_uppercase();
    let initial_response = words.next().map(str::to_string);
    if words.next().is_some() {
        return Err(syntax("AUTH mechanism [initial-response]"));
    }
    Ok(Command::Auth {
        mechanism,
        initial_response,
    })
}

fn unsupported_parameter() -> Reply {
    Reply::new(PARAMETERS_NOT_RECOGNIZED, "5.5.4 Unsupported parameter")
}

fn parse_mail_params(params: &str) -> Result<MailParams, Reply> {
    let mut out = MailParams::default();
    for param in params.split_whitespace() {
        let (keyword, value) = match param.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => (param, None),
        };
        match (keyword.to_ascii_uppercase().as_str(), value) {
            // RFC 1870 §3: size-value is 1*20DIGIT. A number too big for
            // u64 is certainly over any limit.
            ("SIZE", Some(v)) if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) => {
                out.size = Some(v.parse().unwrap_or(u64::MAX));
            }
            ("SIZE", _) => return Err(syntax("MAIL FROM:<address> SIZE=number")),
            ("BODY", Some(v)) if v.eq_ignore_ascii_case("7BIT") => out.body_8bit = false,
            ("BODY", Some(v)) if v.eq_ignore_ascii_case("8BITMIME") => out.body_8bit = true,
            ("BODY", _) => return Err(syntax("MAIL FROM:<address> BODY=7BIT|8BITMIME")),
            // RFC 4954 §5: AUTH=<mailbox> may be ignored by a server that
            // does not trust the client.
            ("AUTH", Some(_)) => {}
            _ => return Err(unsupported_parameter()),
        }
    }
    Ok(out)
}

fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    if head.eq_ignore_ascii_case(prefix) {
        text.get(prefix.len()..)
    } else {
        None
    }
}

/// Splits `<path> rest` into the path's inside and the rest. A source route
/// (`<@a,@b:user@c>`) is dropped: RFC 5321 §4.1.1.3 says servers must accept
/// and may ignore it.
fn split_path(text: &str) -> Option<(&str, &str)> {
    let inside_and_rest = text.strip_prefix('<')?;
    let close = inside_and_rest.find('>')?;
    let inside = &inside_and_rest[..close];
    let rest = &inside_and_rest[close + 1..];
    if !rest.is_empty() && !rest.starts_with(' ') {
        return None;
    }
    let inside = match inside.strip_prefix('@') {
        Some(route) => route.split_once(':')?.1,
        None => inside,
    };
    Some((inside, rest))
}

fn valid_local_part(local: &str) -> bool {
    if local.is_empty() || local.len() > MAX_LOCAL_PART {
        return false;
    }
    let quoted = local.len() >= 2 && local.starts_with('"') && local.ends_with('"');
    if quoted {
        // RFC 5321 §4.1.2 Quoted-string: printable ASCII, spaces allowed.
        local.bytes().all(|b| (b' '..=b'~').contains(&b))
    } else {
        // Dot-string: printable ASCII without specials (simplified).
        local
            .bytes()
            .all(|b| b.is_ascii_graphic() && !b"<>()[]\\,;:@\"".contains(&b))
    }
}

fn valid_domain(domain: &str) -> bool {
    if domain.is_empty() || domain.len() > MAX_DOMAIN {
        return false;
    }
    if let Some(literal) = domain.strip_prefix('[') {
        // Address literal such as [10.0.0.1].
        return literal.ends_with(']') && domain.bytes().all(|b| b.is_ascii_graphic());
    }
    domain.split('.').all(|label| {
        !label.is_empty()
            && label.len() <= 63
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mailbox(s: &str) -> Mailbox {
        Mailbox::parse(s).unwrap()
    }

    #[test]
    fn mail_and_rcpt() {
        assert_eq!(
            parse_command("mail from:<alice@crepes.fr> SIZE=1200 BODY=8BITMIME"),
            Ok(Command::Mail {
                reverse_path: Some(mailbox("alice@crepes.fr")),
                params: MailParams {
                    size: Some(1200),
                    body_8bit: true
                }
            })
        );
        assert_eq!(
            parse_command("MAIL FROM:<>"),
            Ok(Command::Mail {
                reverse_path: None,
                params: MailParams::default()
            })
        );
        assert_eq!(
            parse_command("RCPT TO:<@relay.example:bob@hamburger.edu>"),
            Ok(Command::Rcpt(ForwardPath::Mailbox(mailbox(
                "bob@hamburger.edu"
            ))))
        );
        assert_eq!(
            parse_command("RCPT TO:<Postmaster>"),
            Ok(Command::Rcpt(ForwardPath::Postmaster))
        );
    }

    #[test]
    fn syntax_errors_carry_their_reply() {
        let code = |line: &str| parse_command(line).unwrap_err().code;
        assert_eq!(code("MAIL alice@crepes.fr"), SYNTAX_ERROR_IN_PARAMETERS);
        assert_eq!(code("MAIL FROM:<alice>"), SYNTAX_ERROR_IN_PARAMETERS);
        assert_eq!(code("MAIL FROM:<a@b> FOO=1"), PARAMETERS_NOT_RECOGNIZED);
        assert_eq!(code("MAIL FROM:<a@b> SIZE=x"), SYNTAX_ERROR_IN_PARAMETERS);
        assert_eq!(
            code("RCPT TO:<a@b> NOTIFY=NEVER"),
            PARAMETERS_NOT_RECOGNIZED
        );
        assert_eq!(code("EHLO"), SYNTAX_ERROR_IN_PARAMETERS);
        assert_eq!(code("DATA now"), SYNTAX_ERROR_IN_PARAMETERS);
        assert_eq!(code("FROB"), SYNTAX_ERROR);
        assert_eq!(code(""), SYNTAX_ERROR);
        assert_eq!(
            parse_command("expn staff"),
            Ok(Command::NotImplemented("EXPN".into()))
        );
    }

    #[test]
    fn huge_size_saturates() {
        let Ok(Command::Mail { params, .. }) =
            parse_command("MAIL FROM:<a@b> SIZE=99999999999999999999999")
        else {
            panic!()
        };
        assert_eq!(params.size, Some(u64::MAX));
    }
}
