//! The trace's vocabulary: every event name a run can record, the layer it
//! belongs to and the fields it carries.
//!
//! The engine's own events (links, IP, TCP, UDP, dialogue lines, faults,
//! captions) are listed here, next to the [`Event`](super::Event) type that
//! records them. Applications declare theirs as [`EventKind`] constants in
//! their own modules and record them with `AppCx::emit`, which checks (in
//! debug builds) that every field it is given is declared. A scenario's
//! patterns (`expect`, `never`, `after:`) are checked against the whole
//! list when the file is loaded, so a misspelt name is an error with a
//! did-you-mean instead of a pattern that silently never matches.
//!
//! This module only names things; it records and decides nothing.

use super::Layer;

/// An event's layer, its `event` name and the fields it may carry (besides
/// `time_us`, `layer` and `event`, which every event has).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventKind {
    pub layer: Layer,
    pub name: &'static str,
    pub fields: &'static [&'static str],
    /// True for an application's event: it also carries `host`, the host
    /// the application runs on.
    pub on_host: bool,
}

impl EventKind {
    /// An application's event (it carries `host` besides `fields`).
    pub const fn new(
        layer: Layer,
        name: &'static str,
        fields: &'static [&'static str],
    ) -> EventKind {
        EventKind {
            on_host: true,
            ..EventKind::engine(layer, name, fields)
        }
    }

    /// One of the engine's events: exactly `fields`.
    const fn engine(
        layer: Layer,
        name: &'static str,
        fields: &'static [&'static str],
    ) -> EventKind {
        EventKind {
            layer,
            name,
            fields,
            on_host: false,
        }
    }

    /// True if the event carries `field`.
    pub fn has_field(&self, field: &str) -> bool {
        (self.on_host && field == "host") || self.fields.contains(&field)
    }
}

/// Fields every event has.
pub const COMMON_FIELDS: &[&str] = &["time_us", "layer", "event"];

const PACKET: &[&str] = &[
    "host", "src", "dst", "flags", "seq", "ack", "len", "win", "mss", "packet",
];
const DROPPED: &[&str] = &[
    "host", "link", "reason", "src", "dst", "flags", "seq", "ack", "len", "win", "mss", "packet",
];
const DIALOGUE: &[&str] = &["client", "server", "code", "line", "conn"];

/// Dialogue lines: `command`, `reply` and `data` of one protocol layer.
const fn dialogue(layer: Layer) -> [EventKind; 3] {
    [
        EventKind::engine(layer, "command", DIALOGUE),
        EventKind::engine(layer, "reply", DIALOGUE),
        EventKind::engine(layer, "data", DIALOGUE),
    ]
}

const ENGINE: &[EventKind] = &[
    EventKind::engine(
        Layer::Link,
        "transmit",
        &[
            "link",
            "from",
            "to",
            "packet",
            "bytes",
            "depart_us",
            "arrive_us",
        ],
    ),
    EventKind::engine(Layer::Link, "link_state", &["link", "up"]),
    EventKind::engine(Layer::Ip, "forwarded", &["host", "src", "dst", "packet"]),
    EventKind::engine(Layer::Ip, "packet_dropped", DROPPED),
    EventKind::engine(Layer::Tcp, "segment_sent", PACKET),
    EventKind::engine(Layer::Tcp, "segment_received", PACKET),
    EventKind::engine(Layer::Tcp, "segment_dropped", DROPPED),
    EventKind::engine(Layer::Tcp, "state", &["host", "conn", "from", "to"]),
    EventKind::engine(
        Layer::Tcp,
        "retransmit_timeout",
        &["host", "conn", "rto_us", "backoff"],
    ),
    EventKind::engine(Layer::Tcp, "fast_retransmit", &["host", "conn", "seq"]),
    EventKind::engine(Layer::Tcp, "cwnd", &["host", "conn", "cwnd", "ssthresh"]),
    EventKind::engine(
        Layer::Tcp,
        "rtt",
        &["host", "conn", "sample_us", "srtt_us", "rto_us"],
    ),
    EventKind::engine(Layer::Tcp, "connection_failed", &["host", "conn", "error"]),
    EventKind::engine(Layer::Udp, "datagram_sent", PACKET),
    EventKind::engine(Layer::Udp, "datagram_received", PACKET),
    EventKind::engine(Layer::Udp, "datagram_dropped", DROPPED),
    EventKind::engine(Layer::App, "narration", &["text"]),
    EventKind::engine(Layer::Fault, "loss_changed", &["link", "loss_percent"]),
    EventKind::engine(Layer::Fault, "latency_changed", &["link", "latency_us"]),
    EventKind::engine(Layer::Fault, "host_up", &["host"]),
    EventKind::engine(Layer::Fault, "host_down", &["host"]),
];

const DIALOGUES: [[EventKind; 3]; 8] = [
    dialogue(Layer::Smtp),
    dialogue(Layer::Pop3),
    dialogue(Layer::Imap),
    dialogue(Layer::Ftp),
    dialogue(Layer::Http),
    dialogue(Layer::Scp),
    dialogue(Layer::Telnet),
    dialogue(Layer::Dns),
];

/// The events the engine itself records: links, IP, TCP, UDP, the
/// dialogue lines of each protocol, faults and captions.
pub fn engine_events() -> impl Iterator<Item = &'static EventKind> + Clone {
    ENGINE.iter().chain(DIALOGUES.as_flattened())
}

/// What is wrong with a pattern's names, checked against a vocabulary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PatternProblem {
    /// No event of the vocabulary has this name (in the pattern's layer,
    /// if it names one); `known` are the names there are, for a
    /// did-you-mean.
    UnknownEvent {
        name: String,
        known: Vec<&'static str>,
    },
    /// No event the pattern can match carries this field; `known` are the
    /// fields they do carry.
    UnknownField {
        field: String,
        known: Vec<&'static str>,
    },
}

/// Checks a pattern's `event` and field names against `vocabulary`: an
/// event name must exist (in `layer`, when given), and each field must be
/// carried by at least one event the pattern can match. `fields` are the
/// pattern's keys other than `layer`, `event`, `after` and `before`, with
/// any `~` already removed.
pub fn check_pattern<'v>(
    vocabulary: impl Iterator<Item = &'v EventKind> + Clone,
    layer: Option<Layer>,
    event: Option<&str>,
    fields: &[&str],
) -> Vec<PatternProblem> {
    let in_layer = vocabulary.filter(move |k| layer.is_none_or(|l| k.layer == l));
    let mut out = Vec::new();
    if let Some(name) = event
        && !in_layer.clone().any(|k| k.name == name)
    {
        let mut known: Vec<&'static str> = in_layer.map(|k| k.name).collect();
        known.sort_unstable();
        known.dedup();
        out.push(PatternProblem::UnknownEvent {
            name: name.to_owned(),
            known,
        });
        // Field names cannot be judged against an event that is not there.
        return out;
    }
    let candidates = in_layer.filter(|k| event.is_none_or(|e| k.name == e));
    for &field in fields {
        if COMMON_FIELDS.contains(&field) || candidates.clone().any(|k| k.has_field(field)) {
            continue;
        }
        let mut known: Vec<&'static str> = candidates
            .clone()
            .flat_map(|k| k.fields.iter().copied().chain(k.on_host.then_some("host")))
            .collect();
        known.sort_unstable();
        known.dedup();
        out.push(PatternProblem::UnknownField {
            field: field.to_owned(),
            known,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const STORED: EventKind = EventKind::new(Layer::Smtp, "stored", &["user", "mailbox"]);

    fn check(layer: Option<Layer>, event: Option<&str>, fields: &[&str]) -> Vec<PatternProblem> {
        check_pattern(engine_events().chain([&STORED]), layer, event, fields)
    }

    #[test]
    fn known_events_and_fields_pass() {
        assert!(check(Some(Layer::Smtp), Some("stored"), &["user"]).is_empty());
        assert!(check(Some(Layer::Tcp), Some("state"), &["to", "host"]).is_empty());
        assert!(check(None, Some("reply"), &["code", "time_us"]).is_empty());
        assert!(check(Some(Layer::Ftp), None, &["line"]).is_empty());
    }

    #[test]
    fn an_unknown_event_is_reported_with_the_names_of_its_layer() {
        let problems = check(Some(Layer::Smtp), Some("stord"), &["user"]);
        let [PatternProblem::UnknownEvent { name, known }] = &problems[..] else {
            panic!("{problems:?}");
        };
        assert_eq!(name, "stord");
        assert!(known.contains(&"stored") && known.contains(&"command"));
        assert!(!known.contains(&"segment_sent"));
        // `stored` is an SMTP event: in the TCP layer it is unknown.
        assert_eq!(check(Some(Layer::Tcp), Some("stored"), &[]).len(), 1);
    }

    #[test]
    fn a_field_no_matching_event_carries_is_reported() {
        let problems = check(Some(Layer::Smtp), Some("stored"), &["mailbx"]);
        assert_eq!(
            problems,
            vec![PatternProblem::UnknownField {
                field: "mailbx".into(),
                known: vec!["host", "mailbox", "user"],
            }]
        );
        // `cwnd` is a field of TCP's cwnd event, not of its state changes.
        assert_eq!(check(Some(Layer::Tcp), Some("state"), &["cwnd"]).len(), 1);
    }
}
