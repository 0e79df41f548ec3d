//! Option negotiation (RFC 855), kept loop-free with the state machine of
//! RFC 1143 ("the Q method").
//!
//! Every option has two independent states: whether *we* use it (changed
//! by our WILL/WONT, answered by the peer's DO/DONT) and whether *the
//! peer* uses it (its WILL/WONT, our DO/DONT). Each is NO, WANTYES or YES.
//! RFC 855's rules follow from them: a party never announces a state it is
//! already in, never acknowledges a request for the state it is in, and
//! answers every other request exactly once, so two parties can never
//! bounce WILL and DO at each other forever, whatever one of them sends.
//!
//! RFC 1143's WANTNO state and its queue bit are for a party that turns
//! its options off, or changes its mind, on its own; wiretale's machines
//! never do, so a request is only ever NO to WANTYES.
//!
//! Which options a party agrees to is its policy: the server offers ECHO
//! and SUPPRESS-GO-AHEAD and refuses everything else.

use super::Verb;
use crate::proto::Transition;

/// The states of one side of one option, for the visualizer.
pub const STATES: &[&str] = &["NO", "WANTYES", "YES"];

/// The diagram of one side of one option (RFC 1143 §7), written for our
/// own option: we send WILL and WONT, the peer answers DO and DONT. The
/// peer's options are the same with the verbs swapped.
pub const TRANSITIONS: &[Transition] = &[
    ("NO", "WANTYES", "we want it / WILL"),
    ("NO", "YES", "DO, we agree / WILL"),
    ("NO", "NO", "DO, we refuse / WONT; DONT / ignored"),
    ("WANTYES", "YES", "DO"),
    ("WANTYES", "NO", "DONT: refused"),
    ("YES", "NO", "DONT / WONT"),
    ("YES", "YES", "DO / ignored"),
];

/// RFC 1143's states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Q {
    #[default]
    No,
    WantYes,
    Yes,
}

impl Q {
    fn name(self) -> &'static str {
        match self {
            Q::No => "NO",
            Q::WantYes => "WANTYES",
            Q::Yes => "YES",
        }
    }
}

/// Whose option: ours or the peer's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// We use the option (we said WILL).
    Local,
    /// The peer uses it (it said WILL).
    Remote,
}

/// What a negotiation came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptionResult {
    Enabled,
    Disabled,
    /// One side asked and the other said no.
    Refused,
}

impl OptionResult {
    pub fn name(self) -> &'static str {
        match self {
            OptionResult::Enabled => "enabled",
            OptionResult::Disabled => "disabled",
            OptionResult::Refused => "refused",
        }
    }
}

/// What receiving a negotiation did: the answer to send, if any, and the
/// change it made, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Outcome {
    pub reply: Option<Verb>,
    pub change: Option<(Side, OptionResult)>,
}

/// Both sides of every option of one connection, and the policy.
#[derive(Debug, Clone)]
pub struct Negotiator {
    us: [Q; 256],
    him: [Q; 256],
    /// Options we agree to use when the peer asks (DO).
    accept_local: &'static [u8],
    /// Options we let the peer use when it offers (WILL).
    accept_remote: &'static [u8],
}

impl Negotiator {
    /// Every option off; `accept_local` we will use when asked,
    /// `accept_remote` we let the peer use.
    pub fn new(accept_local: &'static [u8], accept_remote: &'static [u8]) -> Negotiator {
        Negotiator {
            us: [Q::No; 256],
            him: [Q::No; 256],
            accept_local,
            accept_remote,
        }
    }

    /// True if we use `option` now.
    pub fn local(&self, option: u8) -> bool {
        self.us[usize::from(option)] == Q::Yes
    }

    /// True if the peer uses `option` now.
    pub fn remote(&self, option: u8) -> bool {
        self.him[usize::from(option)] == Q::Yes
    }

    /// True if we asked to use `option` and have no answer yet.
    pub fn local_pending(&self, option: u8) -> bool {
        self.us[usize::from(option)] == Q::WantYes
    }

    /// The state of our side of `option`, one of [`STATES`].
    pub fn local_state(&self, option: u8) -> &'static str {
        self.us[usize::from(option)].name()
    }

    /// We want to use `option`: `WILL`, unless we use it or asked already.
    pub fn offer(&mut self, option: u8) -> Option<Verb> {
        let q = &mut self.us[usize::from(option)];
        (*q == Q::No).then(|| {
            *q = Q::WantYes;
            Verb::Will
        })
    }

    /// We want the peer to use `option`: `DO`, unless it does or we asked.
    pub fn ask(&mut self, option: u8) -> Option<Verb> {
        let q = &mut self.him[usize::from(option)];
        (*q == Q::No).then(|| {
            *q = Q::WantYes;
            Verb::Do
        })
    }

    /// The peer sent `IAC verb option`.
    pub fn handle(&mut self, verb: Verb, option: u8) -> Outcome {
        match verb {
            Verb::Will => {
                let ok = self.accept_remote.contains(&option);
                on_yes(&mut self.him[usize::from(option)], ok, Verb::Do, Verb::Dont)
                    .side(Side::Remote)
            }
            Verb::Wont => on_no(&mut self.him[usize::from(option)], Verb::Dont).side(Side::Remote),
            Verb::Do => {
                let ok = self.accept_local.contains(&option);
                on_yes(
                    &mut self.us[usize::from(option)],
                    ok,
                    Verb::Will,
                    Verb::Wont,
                )
                .side(Side::Local)
            }
            Verb::Dont => on_no(&mut self.us[usize::from(option)], Verb::Wont).side(Side::Local),
        }
    }
}

/// An outcome before we know whose option it was about.
struct Partial {
    reply: Option<Verb>,
    result: Option<OptionResult>,
}

impl Partial {
    fn side(self, side: Side) -> Outcome {
        Outcome {
            reply: self.reply,
            change: self.result.map(|r| (side, r)),
        }
    }
}

/// RFC 1143 §7: the peer says it wants the option on (WILL for its own,
/// DO for ours).
fn on_yes(q: &mut Q, acceptable: bool, agree: Verb, refuse: Verb) -> Partial {
    let (next, reply, result) = match *q {
        Q::No if acceptable => (Q::Yes, Some(agree), Some(OptionResult::Enabled)),
        Q::No => (Q::No, Some(refuse), Some(OptionResult::Refused)),
        // Already on: not acknowledged, or the two would loop.
        Q::Yes => (Q::Yes, None, None),
        Q::WantYes => (Q::Yes, None, Some(OptionResult::Enabled)),
    };
    *q = next;
    Partial { reply, result }
}

/// RFC 1143 §7: the peer says the option is (to be) off.
fn on_no(q: &mut Q, confirm: Verb) -> Partial {
    let (reply, result) = match *q {
        Q::No => (None, None),
        Q::Yes => (Some(confirm), Some(OptionResult::Disabled)),
        Q::WantYes => (None, Some(OptionResult::Refused)),
    };
    *q = Q::No;
    Partial { reply, result }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::telnet::{OPT_ECHO, OPT_SUPPRESS_GO_AHEAD};

    const BOTH: &[u8] = &[OPT_ECHO, OPT_SUPPRESS_GO_AHEAD];

    #[test]
    fn an_offer_accepted_is_not_acknowledged_again() {
        let mut n = Negotiator::new(BOTH, &[]);
        assert_eq!(n.offer(OPT_ECHO), Some(Verb::Will));
        assert_eq!(n.offer(OPT_ECHO), None, "asked already");
        assert!(n.local_pending(OPT_ECHO));
        let o = n.handle(Verb::Do, OPT_ECHO);
        assert_eq!(o.reply, None);
        assert_eq!(o.change, Some((Side::Local, OptionResult::Enabled)));
        assert!(n.local(OPT_ECHO));
        // A second DO is not answered: that is what stops loops.
        assert_eq!(n.handle(Verb::Do, OPT_ECHO), Outcome::default());
        // DONT turns it off, confirmed once.
        let o = n.handle(Verb::Dont, OPT_ECHO);
        assert_eq!(o.reply, Some(Verb::Wont));
        assert_eq!(n.handle(Verb::Dont, OPT_ECHO), Outcome::default());
    }

    #[test]
    fn unknown_options_are_refused_once() {
        let mut n = Negotiator::new(BOTH, &[OPT_SUPPRESS_GO_AHEAD]);
        let o = n.handle(Verb::Will, 24);
        assert_eq!(o.reply, Some(Verb::Dont));
        assert_eq!(o.change, Some((Side::Remote, OptionResult::Refused)));
        assert_eq!(n.handle(Verb::Wont, 24), Outcome::default());
        assert_eq!(n.handle(Verb::Do, 31).reply, Some(Verb::Wont));
        assert_eq!(n.handle(Verb::Dont, 31), Outcome::default());
        // The peer's SUPPRESS-GO-AHEAD is welcome.
        assert_eq!(n.handle(Verb::Will, 3).reply, Some(Verb::Do));
        assert!(n.remote(3));
        // Our request refused.
        n.offer(OPT_SUPPRESS_GO_AHEAD);
        let o = n.handle(Verb::Dont, OPT_SUPPRESS_GO_AHEAD);
        assert_eq!(o.reply, None);
        assert_eq!(o.change, Some((Side::Local, OptionResult::Refused)));
        assert_eq!(n.local_state(OPT_SUPPRESS_GO_AHEAD), "NO");
    }

    /// Two negotiators wired back to back settle after a bounded exchange
    /// whatever each wants.
    #[test]
    fn two_parties_never_loop() {
        let sets: [&'static [u8]; 3] = [&[], &[1], &[1, 3]];
        for a_local in sets {
            for b_remote in sets {
                let mut a = Negotiator::new(a_local, &[]);
                let mut b = Negotiator::new(&[], b_remote);
                let mut to_b: Vec<(Verb, u8)> = vec![];
                for o in [1, 3, 24] {
                    to_b.extend(a.offer(o).map(|v| (v, o)));
                }
                let mut rounds = 0;
                while !to_b.is_empty() {
                    rounds += 1;
                    assert!(rounds < 10, "loop");
                    let mut to_a = vec![];
                    for (v, o) in to_b.drain(..) {
                        to_a.extend(b.handle(v, o).reply.map(|r| (r, o)));
                    }
                    for (v, o) in to_a {
                        to_b.extend(a.handle(v, o).reply.map(|r| (r, o)));
                    }
                }
                for o in [1u8, 3, 24] {
                    assert_eq!(a.local(o), b.remote(o), "{o}");
                    assert_eq!(a.local(o), b_remote.contains(&o), "{o}");
                }
            }
        }
    }
}
