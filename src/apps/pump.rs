//! Driving a protocol machine from an application: what every
//! application does after it fed a machine its input, written once. The
//! machine's bytes go out on its connection (through TLS when the
//! connection has it: [`TlsConns::send_output`](super::tls::TlsConns::send_output)),
//! and its transcript lines go to the trace, or are dropped when the
//! other end is the one that traces the dialogue (the servers trace both
//! directions, so the user agents and clients skip theirs).

use crate::net::{AppCx, ConnId};
use crate::proto::Session;
use crate::trace::Layer;

/// Sends everything `session` has to say on `conn`, in the clear.
pub fn send_output(cx: &mut AppCx<'_>, conn: ConnId, session: &mut dyn Session) {
    while let Some(bytes) = session.poll_output() {
        cx.send(conn, bytes);
    }
}

/// Traces the lines `session` noted, as the dialogue of `conn`.
pub fn trace_dialogue(cx: &mut AppCx<'_>, layer: Layer, conn: ConnId, session: &mut dyn Session) {
    while let Some(line) = session.poll_transcript() {
        cx.trace_dialogue(layer, conn, line);
    }
}

/// Forgets the lines `session` noted: the other end traces the dialogue.
pub fn skip_dialogue(session: &mut dyn Session) {
    while session.poll_transcript().is_some() {}
}
