//! The messages of the authentication protocol (RFC 4252) and the
//! connection protocol (RFC 4254) that wiretale speaks, with their
//! encodings and the names transcripts show them by.

use super::msg;
use super::wire::{Reader, Writer};

/// How a user asks to log in (RFC 4252 §5).
#[derive(Clone, PartialEq, Eq)]
pub enum AuthMethod {
    /// "none": asks which methods the server takes.
    None,
    /// "password" (RFC 4252 §8).
    Password(String),
    /// Anything else (publickey, keyboard-interactive, ...), by name.
    Other(String),
}

/// A channel request (RFC 4254 §6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChannelRequest {
    /// "exec": run a command (§6.5).
    Exec(String),
    /// "exit-status" (§6.10).
    ExitStatus(u32),
    /// Any other request ("env", "pty-req", "shell", "subsystem", ...),
    /// by name; its fields are not read.
    Other(String),
}

/// One message of the layers above the transport.
#[derive(Clone, PartialEq, Eq)]
pub enum Message {
    UserAuthRequest {
        user: String,
        service: String,
        method: AuthMethod,
    },
    UserAuthFailure {
        methods: Vec<String>,
        partial: bool,
    },
    UserAuthSuccess,
    /// Text the server wants shown before login (RFC 4252 §5.4).
    UserAuthBanner(String),
    GlobalRequest {
        name: String,
        want_reply: bool,
    },
    RequestFailure,
    ChannelOpen {
        kind: String,
        sender: u32,
        window: u32,
        max_packet: u32,
    },
    ChannelOpenConfirmation {
        recipient: u32,
        sender: u32,
        window: u32,
        max_packet: u32,
    },
    ChannelOpenFailure {
        recipient: u32,
        reason: u32,
        description: String,
    },
    WindowAdjust {
        recipient: u32,
        bytes: u32,
    },
    Data {
        recipient: u32,
        data: Vec<u8>,
    },
    /// Extended data; code 1 is stderr.
    ExtendedData {
        recipient: u32,
        code: u32,
        data: Vec<u8>,
    },
    Eof {
        recipient: u32,
    },
    Close {
        recipient: u32,
    },
    Request {
        recipient: u32,
        want_reply: bool,
        request: ChannelRequest,
    },
    ChannelSuccess {
        recipient: u32,
    },
    ChannelFailure {
        recipient: u32,
    },
}

/// Why a payload is not a [`Message`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodeError {
    /// A message number this layer does not handle: answer UNIMPLEMENTED.
    Unknown(u8),
    /// A known message with bad fields: a protocol error.
    Malformed(u8),
}

impl std::fmt::Debug for Message {
    /// The transcript text; passwords are never printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

impl Message {
    /// The message as a transcript shows it: its name in SSH's own words,
    /// then what matters.
    pub fn describe(&self) -> String {
        match self {
            Message::UserAuthRequest { user, method, .. } => match method {
                AuthMethod::None => format!("userauth_request {user} none"),
                AuthMethod::Password(_) => {
                    format!("userauth_request {user} password (password hidden)")
                }
                AuthMethod::Other(name) => format!("userauth_request {user} {name}"),
            },
            Message::UserAuthFailure { methods, .. } => {
                format!("userauth_failure (try: {})", methods.join(","))
            }
            Message::UserAuthSuccess => "userauth_success".into(),
            Message::UserAuthBanner(text) => format!("userauth_banner {:?}", text.trim_end()),
            Message::GlobalRequest { name, .. } => format!("global_request {name}"),
            Message::RequestFailure => "request_failure".into(),
            Message::ChannelOpen {
                kind,
                window,
                max_packet,
                ..
            } => {
                format!("channel_open {kind} (window {window}, packets up to {max_packet})")
            }
            Message::ChannelOpenConfirmation { window, .. } => {
                format!("channel_open_confirmation (window {window})")
            }
            Message::ChannelOpenFailure { description, .. } => {
                format!("channel_open_failure: {description}")
            }
            Message::WindowAdjust { bytes, .. } => format!("window_adjust +{bytes}"),
            Message::Data { data, .. } => format!("channel_data ({} bytes)", data.len()),
            Message::ExtendedData { data, .. } => {
                format!("channel_extended_data stderr ({} bytes)", data.len())
            }
            Message::Eof { .. } => "channel_eof".into(),
            Message::Close { .. } => "channel_close".into(),
            Message::Request { request, .. } => match request {
                ChannelRequest::Exec(command) => format!("exec \"{command}\""),
                ChannelRequest::ExitStatus(status) => format!("exit-status {status}"),
                ChannelRequest::Other(name) => format!("channel_request {name}"),
            },
            Message::ChannelSuccess { .. } => "channel_success".into(),
            Message::ChannelFailure { .. } => "channel_failure".into(),
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        match self {
            Message::UserAuthRequest {
                user,
                service,
                method,
            } => {
                let w = Writer::message(msg::USERAUTH_REQUEST)
                    .text(user)
                    .text(service);
                match method {
                    AuthMethod::None => w.text("none"),
                    AuthMethod::Password(password) => {
                        w.text("password").boolean(false).text(password)
                    }
                    AuthMethod::Other(name) => w.text(name),
                }
            }
            Message::UserAuthFailure { methods, partial } => Writer::message(msg::USERAUTH_FAILURE)
                .text(&methods.join(","))
                .boolean(*partial),
            Message::UserAuthSuccess => Writer::message(msg::USERAUTH_SUCCESS),
            Message::UserAuthBanner(text) => {
                Writer::message(msg::USERAUTH_BANNER).text(text).text("")
            }
            Message::GlobalRequest { name, want_reply } => Writer::message(msg::GLOBAL_REQUEST)
                .text(name)
                .boolean(*want_reply),
            Message::RequestFailure => Writer::message(msg::REQUEST_FAILURE),
            Message::ChannelOpen {
                kind,
                sender,
                window,
                max_packet,
            } => Writer::message(msg::CHANNEL_OPEN)
                .text(kind)
                .u32(*sender)
                .u32(*window)
                .u32(*max_packet),
            Message::ChannelOpenConfirmation {
                recipient,
                sender,
                window,
                max_packet,
            } => Writer::message(msg::CHANNEL_OPEN_CONFIRMATION)
                .u32(*recipient)
                .u32(*sender)
                .u32(*window)
                .u32(*max_packet),
            Message::ChannelOpenFailure {
                recipient,
                reason,
                description,
            } => Writer::message(msg::CHANNEL_OPEN_FAILURE)
                .u32(*recipient)
                .u32(*reason)
                .text(description)
                .text(""),
            Message::WindowAdjust { recipient, bytes } => {
                Writer::message(msg::CHANNEL_WINDOW_ADJUST)
                    .u32(*recipient)
                    .u32(*bytes)
            }
            Message::Data { recipient, data } => Writer::message(msg::CHANNEL_DATA)
                .u32(*recipient)
                .string(data),
            Message::ExtendedData {
                recipient,
                code,
                data,
            } => Writer::message(msg::CHANNEL_EXTENDED_DATA)
                .u32(*recipient)
                .u32(*code)
                .string(data),
            Message::Eof { recipient } => Writer::message(msg::CHANNEL_EOF).u32(*recipient),
            Message::Close { recipient } => Writer::message(msg::CHANNEL_CLOSE).u32(*recipient),
            Message::Request {
                recipient,
                want_reply,
                request,
            } => {
                let w = Writer::message(msg::CHANNEL_REQUEST).u32(*recipient);
                match request {
                    ChannelRequest::Exec(command) => {
                        w.text("exec").boolean(*want_reply).text(command)
                    }
                    ChannelRequest::ExitStatus(status) => {
                        w.text("exit-status").boolean(false).u32(*status)
                    }
                    ChannelRequest::Other(name) => w.text(name).boolean(*want_reply),
                }
            }
            Message::ChannelSuccess { recipient } => {
                Writer::message(msg::CHANNEL_SUCCESS).u32(*recipient)
            }
            Message::ChannelFailure { recipient } => {
                Writer::message(msg::CHANNEL_FAILURE).u32(*recipient)
            }
        }
        .into_vec()
    }

    pub fn decode(payload: &[u8]) -> Result<Message, DecodeError> {
        let Some((&kind, rest)) = payload.split_first() else {
            return Err(DecodeError::Malformed(0));
        };
        let mut r = Reader::new(rest);
        let message = match kind {
            msg::USERAUTH_REQUEST => (|| {
                let user = r.text()?;
                let service = r.text()?;
                let method = match r.text()?.as_str() {
                    "none" => AuthMethod::None,
                    "password" => {
                        // TRUE asks to change the password: not offered.
                        if r.boolean()? {
                            return Some(Message::UserAuthRequest {
                                user,
                                service,
                                method: AuthMethod::Other("password change".into()),
                            });
                        }
                        AuthMethod::Password(r.text()?)
                    }
                    other => {
                        // The method's own fields are not read.
                        let name = other.to_string();
                        r = Reader::new(&[]);
                        AuthMethod::Other(name)
                    }
                };
                Some(Message::UserAuthRequest {
                    user,
                    service,
                    method,
                })
            })(),
            msg::USERAUTH_FAILURE => (|| {
                Some(Message::UserAuthFailure {
                    methods: r.names()?,
                    partial: r.boolean()?,
                })
            })(),
            msg::USERAUTH_SUCCESS => Some(Message::UserAuthSuccess),
            msg::USERAUTH_BANNER => (|| {
                let text = r.text()?;
                r.text()?;
                Some(Message::UserAuthBanner(text))
            })(),
            msg::GLOBAL_REQUEST => (|| {
                let name = r.text()?;
                let want_reply = r.boolean()?;
                r = Reader::new(&[]);
                Some(Message::GlobalRequest { name, want_reply })
            })(),
            msg::REQUEST_FAILURE => Some(Message::RequestFailure),
            msg::CHANNEL_OPEN => (|| {
                let message = Message::ChannelOpen {
                    kind: r.text()?,
                    sender: r.u32()?,
                    window: r.u32()?,
                    max_packet: r.u32()?,
                };
                // Types such as direct-tcpip carry more fields.
                r = Reader::new(&[]);
                Some(message)
            })(),
            msg::CHANNEL_OPEN_CONFIRMATION => (|| {
                let message = Message::ChannelOpenConfirmation {
                    recipient: r.u32()?,
                    sender: r.u32()?,
                    window: r.u32()?,
                    max_packet: r.u32()?,
                };
                r = Reader::new(&[]);
                Some(message)
            })(),
            msg::CHANNEL_OPEN_FAILURE => (|| {
                Some(Message::ChannelOpenFailure {
                    recipient: r.u32()?,
                    reason: r.u32()?,
                    description: {
                        let d = r.text()?;
                        r.text()?;
                        d
                    },
                })
            })(),
            msg::CHANNEL_WINDOW_ADJUST => (|| {
                Some(Message::WindowAdjust {
                    recipient: r.u32()?,
                    bytes: r.u32()?,
                })
            })(),
            msg::CHANNEL_DATA => (|| {
                Some(Message::Data {
                    recipient: r.u32()?,
                    data: r.string()?.to_vec(),
                })
            })(),
            msg::CHANNEL_EXTENDED_DATA => (|| {
                Some(Message::ExtendedData {
                    recipient: r.u32()?,
                    code: r.u32()?,
                    data: r.string()?.to_vec(),
                })
            })(),
            msg::CHANNEL_EOF => r.u32().map(|recipient| Message::Eof { recipient }),
            msg::CHANNEL_CLOSE => r.u32().map(|recipient| Message::Close { recipient }),
            msg::CHANNEL_REQUEST => (|| {
                let recipient = r.u32()?;
                let name = r.text()?;
                let want_reply = r.boolean()?;
                let request = match name.as_str() {
                    "exec" => ChannelRequest::Exec(r.text()?),
                    "exit-status" => ChannelRequest::ExitStatus(r.u32()?),
                    _ => {
                        r = Reader::new(&[]);
                        ChannelRequest::Other(name)
                    }
                };
                Some(Message::Request {
                    recipient,
                    want_reply,
                    request,
                })
            })(),
            msg::CHANNEL_SUCCESS => r
                .u32()
                .map(|recipient| Message::ChannelSuccess { recipient }),
            msg::CHANNEL_FAILURE => r
                .u32()
                .map(|recipient| Message::ChannelFailure { recipient }),
            _ => return Err(DecodeError::Unknown(kind)),
        };
        match message {
            Some(message) if r.is_empty() => Ok(message),
            _ => Err(DecodeError::Malformed(kind)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip_and_a_banner_is_its_own_message() {
        let messages = [
            Message::UserAuthBanner("Authorized users only\r\n".into()),
            Message::UserAuthFailure {
                methods: vec!["password".into()],
                partial: false,
            },
            Message::Request {
                recipient: 3,
                want_reply: true,
                request: ChannelRequest::Exec("scp -f a.txt".into()),
            },
            Message::Data {
                recipient: 0,
                data: b"C0644 3 a\n".to_vec(),
            },
        ];
        for m in messages {
            assert_eq!(Message::decode(&m.encode()), Ok(m.clone()), "{m:?}");
        }
        assert_eq!(
            Message::UserAuthBanner("hi\n".into()).describe(),
            "userauth_banner \"hi\""
        );
        assert_eq!(Message::decode(&[200]), Err(DecodeError::Unknown(200)));
        assert_eq!(
            Message::decode(&[msg::USERAUTH_BANNER, 0, 0]),
            Err(DecodeError::Malformed(msg::USERAUTH_BANNER))
        );
    }
}
