//! The messages carried inside sealed records.
//!
//! After the key exchange every record holds one message: a type byte,
//! then fields. The numbers and fields are those of SSH's authentication
//! and connection protocols (RFC 4250 §4.1.2, RFC 4252, RFC 4254), much
//! simplified: one channel, opened implicitly, no window accounting.
//! Strings are SSH `string`s: a 4-byte big-endian length, then the bytes
//! (RFC 4251 §5).

/// SSH_MSG_DISCONNECT (RFC 4253 §11.1).
pub const MSG_DISCONNECT: u8 = 1;
/// SSH_MSG_USERAUTH_REQUEST (RFC 4252 §5).
pub const MSG_USERAUTH_REQUEST: u8 = 50;
/// SSH_MSG_USERAUTH_FAILURE (RFC 4252 §5.1).
pub const MSG_USERAUTH_FAILURE: u8 = 51;
/// SSH_MSG_USERAUTH_SUCCESS (RFC 4252 §5.1).
pub const MSG_USERAUTH_SUCCESS: u8 = 52;
/// SSH_MSG_CHANNEL_DATA (RFC 4254 §5.2).
pub const MSG_CHANNEL_DATA: u8 = 94;
/// SSH_MSG_CHANNEL_EOF (RFC 4254 §5.3).
pub const MSG_CHANNEL_EOF: u8 = 96;
/// SSH_MSG_CHANNEL_REQUEST (RFC 4254 §5.4), used for "exec" (§6.5) and
/// "exit-status" (§6.10).
pub const MSG_CHANNEL_REQUEST: u8 = 98;

/// Largest CHANNEL_DATA payload, so a whole message fits in one record.
pub const MAX_DATA: usize = 32 * 1024;

/// One message of the encrypted dialogue.
#[derive(Clone, PartialEq, Eq)]
pub enum Message {
    /// The sender gives up, with a reason.
    Disconnect { reason: String },
    /// The client asks to log in (RFC 4252 §8: method "password").
    UserAuthRequest {
        user: String,
        method: String,
        password: String,
    },
    /// The login failed.
    UserAuthFailure,
    /// The login succeeded.
    UserAuthSuccess,
    /// Run a command on the server, e.g. `scp -t /uploads` (RFC 4254 §6.5).
    Exec { command: String },
    /// Bytes of the command's input or output stream.
    Data(Vec<u8>),
    /// The sender will send no more data (RFC 4254 §5.3).
    Eof,
    /// The command ended with this status (RFC 4254 §6.10).
    ExitStatus(u32),
}

impl std::fmt::Debug for Message {
    /// Like a derived `Debug`, but the password is never printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Message::Disconnect { reason } => write!(f, "Disconnect({reason:?})"),
            Message::UserAuthRequest { user, method, .. } => {
                write!(f, "UserAuthRequest({user:?}, {method:?}, ..)")
            }
            Message::UserAuthFailure => f.write_str("UserAuthFailure"),
            Message::UserAuthSuccess => f.write_str("UserAuthSuccess"),
            Message::Exec { command } => write!(f, "Exec({command:?})"),
            Message::Data(data) => write!(f, "Data({} bytes)", data.len()),
            Message::Eof => f.write_str("Eof"),
            Message::ExitStatus(status) => write!(f, "ExitStatus({status})"),
        }
    }
}

impl Message {
    /// The message's bytes: type byte, then fields.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        match self {
            Message::Disconnect { reason } => {
                out.push(MSG_DISCONNECT);
                put_string(&mut out, reason.as_bytes());
            }
            Message::UserAuthRequest {
                user,
                method,
                password,
            } => {
                out.push(MSG_USERAUTH_REQUEST);
                put_string(&mut out, user.as_bytes());
                put_string(&mut out, method.as_bytes());
                put_string(&mut out, password.as_bytes());
            }
            Message::UserAuthFailure => out.push(MSG_USERAUTH_FAILURE),
            Message::UserAuthSuccess => out.push(MSG_USERAUTH_SUCCESS),
            Message::Exec { command } => {
                out.push(MSG_CHANNEL_REQUEST);
                put_string(&mut out, b"exec");
                put_string(&mut out, command.as_bytes());
            }
            Message::Data(data) => {
                out.push(MSG_CHANNEL_DATA);
                put_string(&mut out, data);
            }
            Message::Eof => out.push(MSG_CHANNEL_EOF),
            Message::ExitStatus(status) => {
                out.push(MSG_CHANNEL_REQUEST);
                put_string(&mut out, b"exit-status");
                out.extend_from_slice(&status.to_be_bytes());
            }
        }
        out
    }

    /// Parses a record's plaintext; `None` if it is not a message this
    /// protocol knows, or has bytes left over.
    pub fn decode(bytes: &[u8]) -> Option<Message> {
        let (&kind, rest) = bytes.split_first()?;
        let mut reader = Reader { rest };
        let message = match kind {
            MSG_DISCONNECT => Message::Disconnect {
                reason: reader.text()?,
            },
            MSG_USERAUTH_REQUEST => Message::UserAuthRequest {
                user: reader.text()?,
                method: reader.text()?,
                password: reader.text()?,
            },
            MSG_USERAUTH_FAILURE => Message::UserAuthFailure,
            MSG_USERAUTH_SUCCESS => Message::UserAuthSuccess,
            MSG_CHANNEL_DATA => Message::Data(reader.string()?.to_vec()),
            MSG_CHANNEL_EOF => Message::Eof,
            MSG_CHANNEL_REQUEST => match reader.string()? {
                b"exec" => Message::Exec {
                    command: reader.text()?,
                },
                b"exit-status" => Message::ExitStatus(reader.u32()?),
                _ => return None,
            },
            _ => return None,
        };
        reader.rest.is_empty().then_some(message)
    }
}

/// Appends an SSH `string`: length, then bytes.
fn put_string(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
    out.extend_from_slice(bytes);
}

/// Reads fields off the front of a message.
struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn u32(&mut self) -> Option<u32> {
        let (head, rest) = self.rest.split_first_chunk::<4>()?;
        self.rest = rest;
        Some(u32::from_be_bytes(*head))
    }

    fn string(&mut self) -> Option<&'a [u8]> {
        let len = self.u32()? as usize;
        if self.rest.len() < len {
            return None;
        }
        let (value, rest) = self.rest.split_at(len);
        self.rest = rest;
        Some(value)
    }

    /// A string that must be UTF-8 (user names, commands).
    fn text(&mut self) -> Option<String> {
        String::from_utf8(self.string()?.to_vec()).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let messages = vec![
            Message::Disconnect {
                reason: "bye".into(),
            },
            Message::UserAuthRequest {
                user: "alice".into(),
                method: "password".into(),
                password: "secret".into(),
            },
            Message::UserAuthFailure,
            Message::UserAuthSuccess,
            Message::Exec {
                command: "scp -t /uploads".into(),
            },
            Message::Data(b"C0644 5 a.txt\n".to_vec()),
            Message::Eof,
            Message::ExitStatus(1),
        ];
        for m in messages {
            assert_eq!(Message::decode(&m.encode()), Some(m.clone()), "{m:?}");
        }
        assert_eq!(
            Message::Exec {
                command: "ls".into()
            }
            .encode(),
            b"\x62\x00\x00\x00\x04exec\x00\x00\x00\x02ls"
        );
    }

    #[test]
    fn junk_is_refused_and_passwords_are_not_printed() {
        assert_eq!(Message::decode(b""), None);
        assert_eq!(Message::decode(b"\x07"), None);
        assert_eq!(Message::decode(b"\x5e\x00\x00\x00\x09abc"), None);
        assert_eq!(Message::decode(b"\x60extra"), None);
        assert_eq!(Message::decode(b"\x62\x00\x00\x00\x03foo"), None);
        let m = Message::UserAuthRequest {
            user: "alice".into(),
            method: "password".into(),
            password: "hunter2".into(),
        };
        assert!(!format!("{m:?}").contains("hunter2"));
    }
}
