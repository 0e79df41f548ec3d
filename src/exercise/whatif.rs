//! "What if?": one change to a scenario, from a moment of its run on.
//!
//! A run is deterministic, so a fork needs no snapshot: the changed
//! scenario is run from the start, and it is the same run as the original
//! up to the moment the change takes effect. The changes are the ones a
//! student asks about:
//!
//! | written | what it does |
//! |---|---|
//! | `drop:12` | packet 12 (the number the trace shows) is lost on the next link it crosses |
//! | `link-down:A/B@1s+2s` | the link between A and B goes down at 1 s, and back up 2 s later (without `+`, for good) |
//! | `host-down:dns@0s+5s` | the host crashes (and restarts) |
//! | `loss:A/B=10%@0s` | the link loses that share of its packets from then on |
//! | `latency:A/B=200ms@0s` | the link's one-way delay becomes that |
//! | `dns-down@1s` | the DNS stops: every DNS server of the scenario is down from then on |
//! | `seed:7` | the run's random numbers come from another seed |
//!
//! The time after `@` is optional (default 0 s).

use crate::scenario::diag::did_you_mean;
use crate::scenario::spec::{FaultKind, FaultSpec, Scenario};
use crate::scenario::units::{self, Dur};

/// One change. See the module documentation for how it is written.
#[derive(Debug, Clone, PartialEq)]
pub enum WhatIf {
    DropPacket(u64),
    LinkDown {
        a: String,
        b: String,
        at: Dur,
        lasting: Option<Dur>,
    },
    HostDown {
        host: String,
        at: Dur,
        lasting: Option<Dur>,
    },
    Loss {
        a: String,
        b: String,
        loss: f64,
        at: Dur,
    },
    Latency {
        a: String,
        b: String,
        latency: Dur,
        at: Dur,
    },
    /// Every DNS server stops.
    DnsDown {
        at: Dur,
    },
    Seed(u64),
}

const FORMS: &str = "drop:PACKET, link-down:A/B@TIME[+FOR], host-down:HOST@TIME[+FOR], loss:A/B=PERCENT%@TIME, latency:A/B=DELAY@TIME, dns-down[@TIME], seed:N";

fn duration(s: &str) -> Result<Dur, String> {
    units::parse_duration(s).map(Dur)
}

/// `TEXT@TIME+FOR` into its three parts.
fn timed(s: &str) -> Result<(&str, Dur, Option<Dur>), String> {
    let (what, when) = match s.split_once('@') {
        Some((w, t)) => (w, Some(t)),
        None => (s, None),
    };
    let (at, lasting) = match when {
        None => (Dur::default(), None),
        Some(t) => match t.split_once('+') {
            Some((at, d)) => (duration(at)?, Some(duration(d)?)),
            None => (duration(t)?, None),
        },
    };
    Ok((what, at, lasting))
}

fn link(s: &str) -> Result<(String, String), String> {
    let (a, b) = s
        .split_once('/')
        .ok_or_else(|| format!("{s:?}: name a link by its two ends, A/B"))?;
    Ok((a.trim().to_string(), b.trim().to_string()))
}

impl std::str::FromStr for WhatIf {
    type Err = String;

    fn from_str(text: &str) -> Result<WhatIf, String> {
        if let Some(rest) = text.trim().strip_prefix("dns-down") {
            let rest = rest.trim();
            let at = match rest.strip_prefix('@') {
                Some(t) => duration(t.trim()).map_err(|e| format!("{text:?}: {e}"))?,
                None if rest.is_empty() => Dur::default(),
                None => return Err(format!("{text:?}: write dns-down or dns-down@TIME")),
            };
            return Ok(WhatIf::DnsDown { at });
        }
        let (kind, rest) = text
            .split_once(':')
            .ok_or_else(|| format!("{text:?}: write a change as one of {FORMS}"))?;
        let bad = |why: String| format!("{text:?}: {why}");
        match kind.trim() {
            "drop" => rest
                .trim()
                .parse()
                .map(WhatIf::DropPacket)
                .map_err(|_| bad("the packet is its number in the trace, e.g. drop:12".into())),
            "seed" => rest
                .trim()
                .parse()
                .map(WhatIf::Seed)
                .map_err(|_| bad("a seed is a whole number".into())),
            "link-down" => {
                let (what, at, lasting) = timed(rest).map_err(bad)?;
                let (a, b) = link(what).map_err(bad)?;
                Ok(WhatIf::LinkDown { a, b, at, lasting })
            }
            "host-down" => {
                let (host, at, lasting) = timed(rest).map_err(bad)?;
                Ok(WhatIf::HostDown {
                    host: host.trim().to_string(),
                    at,
                    lasting,
                })
            }
            "loss" | "latency" => {
                let (what, at, lasting) = timed(rest).map_err(bad)?;
                if lasting.is_some() {
                    return Err(bad("a link change lasts to the end of the run".into()));
                }
                let (ends, value) = what
                    .split_once('=')
                    .ok_or_else(|| bad(format!("write {kind}:A/B=VALUE")))?;
                let (a, b) = link(ends).map_err(bad)?;
                if kind.trim() == "loss" {
                    let percent: f64 = value
                        .trim()
                        .trim_end_matches('%')
                        .parse()
                        .map_err(|_| bad("loss is a percentage, e.g. 10%".into()))?;
                    if !(0.0..=100.0).contains(&percent) {
                        return Err(bad("loss is between 0% and 100%".into()));
                    }
                    Ok(WhatIf::Loss {
                        a,
                        b,
                        loss: percent / 100.0,
                        at,
                    })
                } else {
                    let latency = duration(value.trim()).map_err(bad)?;
                    Ok(WhatIf::Latency { a, b, latency, at })
                }
            }
            other => Err(bad(format!("no change called {other:?}; changes: {FORMS}"))),
        }
    }
}

impl std::fmt::Display for WhatIf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let at = |t: &Dur| {
            if t.0.as_nanos() == 0 {
                "the start".to_string()
            } else {
                t.to_string()
            }
        };
        let until = |lasting: &Option<Dur>| match lasting {
            Some(d) => format!(" for {d}"),
            None => String::new(),
        };
        match self {
            WhatIf::DropPacket(p) => write!(f, "packet {p} is lost"),
            WhatIf::LinkDown {
                a,
                b,
                at: t,
                lasting,
            } => write!(
                f,
                "the link {a}-{b} goes down at {}{}",
                at(t),
                until(lasting)
            ),
            WhatIf::HostDown {
                host,
                at: t,
                lasting,
            } => write!(f, "{host} is down from {}{}", at(t), until(lasting)),
            WhatIf::Loss { a, b, loss, at: t } => write!(
                f,
                "the link {a}-{b} loses {}% of its packets from {}",
                (loss * 100.0).round(),
                at(t)
            ),
            WhatIf::Latency {
                a,
                b,
                latency,
                at: t,
            } => write!(f, "the link {a}-{b} takes {latency} one way from {}", at(t)),
            WhatIf::DnsDown { at: t } => write!(f, "the DNS stops at {}", at(t)),
            WhatIf::Seed(s) => write!(f, "the run uses seed {s}"),
        }
    }
}

/// Adds a scripted fault at a time.
fn push(s: &mut Scenario, at: Dur, what: FaultKind) {
    s.faults.push(FaultSpec {
        at: Some(at),
        after: None,
        wait: None,
        what,
    });
}

impl WhatIf {
    /// Makes the change to a scenario; an error names a host or link the
    /// scenario does not have, with a guess.
    pub fn apply(&self, s: &mut Scenario) -> Result<(), String> {
        let host = |s: &Scenario, h: &str| -> Result<(), String> {
            if s.hosts.iter().any(|x| x.name == h) {
                return Ok(());
            }
            let hint = did_you_mean(h, s.hosts.iter().map(|x| x.name.as_str()))
                .map(|m| format!(" ({m})"))
                .unwrap_or_default();
            Err(format!("the scenario has no host `{h}`{hint}"))
        };
        let link = |s: &Scenario, a: &str, b: &str| -> Result<(), String> {
            host(s, a)?;
            host(s, b)?;
            if s.links
                .iter()
                .any(|l| (l.a == a && l.b == b) || (l.a == b && l.b == a))
            {
                Ok(())
            } else {
                Err(format!("there is no link between `{a}` and `{b}`"))
            }
        };
        match self {
            WhatIf::DropPacket(p) => push(s, Dur::default(), FaultKind::DropPacket(*p)),
            WhatIf::Seed(seed) => s.seed = *seed,
            WhatIf::DnsDown { at } => {
                let servers: Vec<String> = s
                    .hosts
                    .iter()
                    .filter(|h| matches!(h.role, crate::scenario::spec::Role::DnsServer { .. }))
                    .map(|h| h.name.clone())
                    .collect();
                if servers.is_empty() {
                    return Err("the scenario has no DNS server to stop".into());
                }
                for h in servers {
                    push(s, *at, FaultKind::HostDown(h));
                }
            }
            WhatIf::LinkDown { a, b, at, lasting } => {
                link(s, a, b)?;
                push(s, *at, FaultKind::LinkDown(a.clone(), b.clone()));
                if let Some(d) = lasting {
                    push(s, Dur(at.0 + d.0), FaultKind::LinkUp(a.clone(), b.clone()));
                }
            }
            WhatIf::HostDown {
                host: h,
                at,
                lasting,
            } => {
                host(s, h)?;
                push(s, *at, FaultKind::HostDown(h.clone()));
                if let Some(d) = lasting {
                    push(s, Dur(at.0 + d.0), FaultKind::HostUp(h.clone()));
                }
            }
            WhatIf::Loss { a, b, loss, at } => {
                link(s, a, b)?;
                push(s, *at, FaultKind::SetLoss(a.clone(), b.clone(), *loss));
            }
            WhatIf::Latency { a, b, latency, at } => {
                link(s, a, b)?;
                push(
                    s,
                    *at,
                    FaultKind::SetLatency(a.clone(), b.clone(), *latency),
                );
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_are_read_as_written() {
        assert_eq!("drop:12".parse::<WhatIf>(), Ok(WhatIf::DropPacket(12)));
        assert_eq!("seed:7".parse::<WhatIf>(), Ok(WhatIf::Seed(7)));
        let w: WhatIf = "link-down:alice-pc/crepes-gw@1s+2s".parse().unwrap();
        assert_eq!(
            w.to_string(),
            "the link alice-pc-crepes-gw goes down at 1.000 s for 2.000 s"
        );
        let w: WhatIf = "loss:a/b=10%".parse().unwrap();
        assert!(matches!(w, WhatIf::Loss { loss, .. } if (loss - 0.1).abs() < 1e-9));
        let w: WhatIf = "host-down:dns@0s".parse().unwrap();
        assert_eq!(w.to_string(), "dns is down from the start");
        assert!("latency:a/b=200ms@1s".parse::<WhatIf>().is_ok());
        let w: WhatIf = "dns-down@2s".parse().unwrap();
        assert_eq!(w.to_string(), "the DNS stops at 2.000 s");
        assert_eq!(
            "dns-down".parse::<WhatIf>(),
            Ok(WhatIf::DnsDown { at: Dur::default() })
        );
    }

    #[test]
    fn mistakes_get_a_clear_error() {
        let e = "explode:now".parse::<WhatIf>().unwrap_err();
        assert!(e.contains("no change called \"explode\""), "{e}");
        let e = "drop:the-syn".parse::<WhatIf>().unwrap_err();
        assert!(e.contains("its number in the trace"), "{e}");
        let e = "loss:a/b=150%".parse::<WhatIf>().unwrap_err();
        assert!(e.contains("between 0% and 100%"), "{e}");
        let e = "link-down:ab@1s".parse::<WhatIf>().unwrap_err();
        assert!(e.contains("A/B"), "{e}");
        let e = "link-down:a/b@soon".parse::<WhatIf>().unwrap_err();
        assert!(e.contains("soon"), "{e}");
    }

    #[test]
    fn an_unknown_host_gets_a_guess() {
        let mut s = crate::scenario::load("alice_to_bob").unwrap().scenario;
        let e = WhatIf::HostDown {
            host: "dsn".into(),
            at: Dur::default(),
            lasting: None,
        }
        .apply(&mut s)
        .unwrap_err();
        assert!(
            e.contains("no host `dsn`") && e.contains("did you mean `dns`"),
            "{e}"
        );
        let e = "link-down:alice-pc/bob-mail"
            .parse::<WhatIf>()
            .unwrap()
            .apply(&mut s)
            .unwrap_err();
        assert!(e.contains("no link between"), "{e}");
        let e = "dns-down"
            .parse::<WhatIf>()
            .unwrap()
            .apply(&mut crate::scenario::load("tcp_handshake").unwrap().scenario)
            .unwrap_err();
        assert!(e.contains("no DNS server"), "{e}");
    }

    #[test]
    fn stopping_the_dns_takes_every_dns_server_down() {
        let mut s = crate::scenario::load("alice_to_bob").unwrap().scenario;
        let before = s.faults.len();
        "dns-down@1s"
            .parse::<WhatIf>()
            .unwrap()
            .apply(&mut s)
            .unwrap();
        assert_eq!(s.faults.len(), before + 1);
        assert!(matches!(&s.faults[before].what, FaultKind::HostDown(h) if h == "dns"));
    }
}
