//! From a validated scenario and a seed to a world ready to run.
//!
//! Building is cheap (no I/O, no parsing), so the visualizer rebuilds the
//! world from scratch and replays it whenever it steps backward. It does
//! not check the scenario (`validate` does that, called by
//! [`super::parse`]) and does not run the world.

use super::spec::{
    ActionKind, FaultKind, HostSpec, MailProtocol, RecordSpec, Role, Scenario, ServiceSpec,
    TcpSpec, mail_hostname,
};
use super::spec::{ImapStepSpec, Pattern, When};
use crate::apps::dns::NameServer;
use crate::apps::mail::{Flag, ImapAction};
use crate::apps::mail::{MailAccount, MailServer, MailServerConfig, RetryPolicy, UserAgent};
use crate::apps::tcp::{BulkSender, Discard};
use crate::net::tcp::TcpConfig;
use crate::net::{
    AppCall, AppId, Fault, Firewall, LinkConfig, NodeKind, TopologyError, TriggerAction,
    TriggerMatch, World,
};
use crate::proto::dns::Zone;
use crate::sim::{SimDuration, SimTime};
use crate::trace::NodeId;
use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddrV4};

/// The longest a run goes when the scenario sets no `until`.
pub const DEFAULT_HORIZON: SimTime = SimTime::from_secs(3600);

/// A world built from a scenario, with what is needed to run and check it.
pub struct Run {
    pub world: World,
    /// When the run stops.
    pub horizon: SimTime,
    /// The node of each host, by name.
    pub nodes: BTreeMap<String, NodeId>,
}

impl Run {
    /// Runs to the horizon.
    pub fn run(&mut self) {
        self.world.run(self.horizon);
    }

    /// The first application of type `T` on the host called `host`.
    pub fn app<T: crate::net::Application>(&self, host: &str) -> Option<&T> {
        let &node = self.nodes.get(host)?;
        self.world
            .node(node)
            .apps
            .iter()
            .find_map(|&a| self.world.app_as::<T>(a))
    }
}

/// Why a network could not be built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetError {
    Topology(TopologyError),
    /// A host has an address but no link to put it on.
    Unlinked(String),
    /// The scenario's TLS certificates could not be made.
    Tls(String),
}

/// The TCP configuration a scenario asks for.
pub fn tcp_config(t: &TcpSpec) -> TcpConfig {
    let d = TcpConfig::default();
    TcpConfig {
        mss: t.mss.unwrap_or(d.mss),
        recv_buffer: t.recv_buffer.unwrap_or(d.recv_buffer),
        initial_rto: t.initial_rto.map_or(d.initial_rto, |x| x.0),
        min_rto: t.min_rto.map_or(d.min_rto, |x| x.0),
        msl: t.msl.map_or(d.msl, |x| x.0),
        delayed_ack: match t.delayed_ack {
            None => d.delayed_ack,
            Some(x) if x.0 == SimDuration::ZERO => None,
            Some(x) => Some(x.0),
        },
        syn_retries: t.syn_retries.unwrap_or(d.syn_retries),
        data_retries: t.data_retries.unwrap_or(d.data_retries),
        ..d
    }
}

/// The hosts, routers and links of a scenario, with no applications.
pub fn build_network(s: &Scenario) -> Result<World, NetError> {
    build_network_seeded(s, s.seed)
}

fn build_network_seeded(s: &Scenario, seed: u64) -> Result<World, NetError> {
    let mut w = World::new(seed);
    w.set_tcp_config(tcp_config(&s.tcp));
    if let Some(start) = s
        .start
        .as_deref()
        .and_then(crate::proto::date::parse_rfc3339)
    {
        w.set_epoch_unix(start);
    }
    let mut ids = BTreeMap::new();
    for h in &s.hosts {
        let kind = if h.role == Role::Router {
            NodeKind::Router
        } else {
            NodeKind::Host
        };
        let id = w.add_node(&h.name, kind);
        ids.insert(h.name.as_str(), (id, h));
        if let Some(f) = &h.firewall {
            w.set_firewall(
                id,
                Firewall {
                    block_inbound: f.block_inbound,
                    allow_ports: f.allow.clone(),
                },
            );
        }
    }
    // A host's `address` goes on its first link.
    let mut addressed = std::collections::BTreeSet::new();
    for l in &s.links {
        let (Some(&(a, ha)), Some(&(b, hb))) = (ids.get(l.a.as_str()), ids.get(l.b.as_str()))
        else {
            continue;
        };
        let mut first_address = |h: &HostSpec| {
            if addressed.insert(h.name.clone()) {
                h.address
            } else {
                None
            }
        };
        let (addr_a, addr_b) = (first_address(ha), first_address(hb));
        let d = LinkConfig::default();
        let config = LinkConfig {
            latency: l.latency.map_or(d.latency, |x| x.0),
            bandwidth_bps: l.bandwidth.map_or(d.bandwidth_bps, |x| x.0),
            queue_packets: l.queue.unwrap_or(d.queue_packets),
            loss: l.loss,
            duplicate: l.duplicate,
            jitter: l.jitter.map_or(d.jitter, |x| x.0),
        };
        let link = w
            .add_link(a, b, config, addr_a, addr_b)
            .map_err(NetError::Topology)?;
        if !l.up {
            w.schedule_fault(SimTime::ZERO, Fault::LinkUp { link, up: false });
        }
    }
    if let Some(h) = s
        .hosts
        .iter()
        .find(|h| h.address.is_some() && !addressed.contains(&h.name))
    {
        return Err(NetError::Unlinked(h.name.clone()));
    }
    Ok(w)
}

/// The address of the host called `name`.
fn host_addr(w: &World, nodes: &BTreeMap<String, NodeId>, name: &str) -> Option<Ipv4Addr> {
    nodes.get(name).and_then(|&n| w.node(n).address())
}

/// The mail server a MailServer host runs, with its users and the
/// address of its name server; `None` for other roles.
fn mail_server(
    s: &Scenario,
    h: &HostSpec,
    w: &World,
    nodes: &BTreeMap<String, NodeId>,
) -> Option<MailServer> {
    let Role::MailServer {
        domains,
        users,
        dns,
        retry,
        max_retry,
        give_up,
        max_size,
        ..
    } = &h.role
    else {
        return None;
    };
    let domains: Vec<&str> = domains.iter().map(String::as_str).collect();
    let mut config = MailServerConfig::new(&mail_hostname(h), &domains);
    // The name server: the one named, or the scenario's only one.
    let dns_host = match dns {
        Some(d) => Some(d.as_str()),
        None => {
            let mut all = s.hosts.iter().filter(|h| h.role.is_dns_server());
            match (all.next(), all.next()) {
                (Some(only), None) => Some(only.name.as_str()),
                _ => None,
            }
        }
    };
    config.dns_server = dns_host.and_then(|d| host_addr(w, nodes, d));
    let d = RetryPolicy::default();
    config.retry = RetryPolicy {
        first: retry.map_or(d.first, |x| x.0),
        max_interval: max_retry.map_or(d.max_interval, |x| x.0),
        give_up: give_up.map_or(d.give_up, |x| x.0),
    };
    if let Some(size) = max_size {
        config.max_message_size = usize::try_from(size.0).unwrap_or(usize::MAX);
    }
    let mut server = MailServer::new(config);
    for u in users {
        server = server.with_user(&u.name, &u.password);
        for folder in &u.folders {
            // Validation checked the names; parents are created too.
            let _ =
                crate::proto::imap::MailStore::create_folder(server.store_mut(), &u.name, folder);
        }
    }
    Some(server)
}

/// The zone of a DnsServer host. An MX whose exchange names a MailServer
/// host stands for that server's mail host name, and the host's address
/// is added as its A record (unless the records give one).
fn zone(s: &Scenario, records: &[RecordSpec], w: &World, nodes: &BTreeMap<String, NodeId>) -> Zone {
    let mut zone = Zone::new();
    let explicit_a = |name: &str| {
        records.iter().any(|r| {
            matches!(r, RecordSpec::A(n, _)
                if n.trim_end_matches('.').eq_ignore_ascii_case(name.trim_end_matches('.')))
        })
    };
    let mut implied_a: Vec<(String, Ipv4Addr)> = Vec::new();
    for r in records {
        // Validation has checked every name; a failure here adds nothing.
        match r {
            RecordSpec::Mx(domain, preference, target) => {
                let exchange = match s.hosts.iter().find(|h| h.name == *target) {
                    Some(h) => {
                        let name = mail_hostname(h);
                        if let Some(addr) = host_addr(w, nodes, &h.name)
                            && !explicit_a(&name)
                            && !implied_a.iter().any(|(n, _)| *n == name)
                        {
                            implied_a.push((name.clone(), addr));
                        }
                        name
                    }
                    None => target.clone(),
                };
                let _ = zone.add_mx(domain, *preference, &exchange);
            }
            RecordSpec::A(name, addr) => {
                let addr = addr
                    .parse::<Ipv4Addr>()
                    .ok()
                    .or_else(|| host_addr(w, nodes, addr));
                if let Some(addr) = addr {
                    let _ = zone.add_a(name, addr);
                }
            }
        }
    }
    for (name, addr) in implied_a {
        let _ = zone.add_a(&name, addr);
    }
    zone
}

/// What a user agent does in an IMAP session. Without steps: select the
/// INBOX, search for unseen mail and read it.
pub fn imap_actions(steps: &[ImapStepSpec]) -> Vec<ImapAction> {
    if steps.is_empty() {
        return vec![
            ImapAction::Select(crate::apps::mail::store::INBOX.to_string()),
            ImapAction::SearchUnseen,
            ImapAction::ReadFound,
        ];
    }
    // Validation checked the flags; one that does not parse is left out.
    let flag = |subject: &String, flag: &str, set: bool| {
        Flag::parse(flag).map(|flag| ImapAction::Flag {
            subject: subject.clone(),
            flag,
            set,
        })
    };
    steps
        .iter()
        .filter_map(|step| {
            Some(match step {
                ImapStepSpec::Login => ImapAction::Login,
                ImapStepSpec::List => ImapAction::List,
                ImapStepSpec::Create(f) => ImapAction::Create(f.clone()),
                ImapStepSpec::Select(f) => ImapAction::Select(f.clone()),
                ImapStepSpec::SearchAll => ImapAction::SearchAll,
                ImapStepSpec::SearchUnseen => ImapAction::SearchUnseen,
                ImapStepSpec::ReadFound => ImapAction::ReadFound,
                ImapStepSpec::ReadAll => ImapAction::ReadAll,
                ImapStepSpec::PeekAll => ImapAction::PeekAll,
                ImapStepSpec::Read { subject } => ImapAction::Read {
                    subject: subject.clone(),
                },
                ImapStepSpec::Flag { subject, flag: f } => flag(subject, f, true)?,
                ImapStepSpec::Unflag { subject, flag: f } => flag(subject, f, false)?,
                ImapStepSpec::Copy { subject, to } => ImapAction::Copy {
                    subject: subject.clone(),
                    to: to.clone(),
                },
                ImapStepSpec::Move { subject, to } => ImapAction::Move {
                    subject: subject.clone(),
                    to: to.clone(),
                },
                ImapStepSpec::Delete { subject } => ImapAction::Delete {
                    subject: subject.clone(),
                },
                ImapStepSpec::Expunge => ImapAction::Expunge,
                ImapStepSpec::Noop => ImapAction::Noop,
                ImapStepSpec::Idle(d) => ImapAction::Idle(d.0),
                ImapStepSpec::Logout => ImapAction::Logout,
            })
        })
        .collect()
}

/// The link between two named nodes.
fn find_link(w: &World, a: NodeId, b: NodeId) -> Option<u32> {
    w.links()
        .iter()
        .find(|l| l.ends == [a, b] || l.ends == [b, a])
        .map(|l| l.id)
}

/// Installs the scenario's pinned routes. Between `at` and `via` the
/// route takes the first link of the scenario (the lowest link id) that
/// starts up, or the first one if they all start down.
fn pin_routes(w: &mut World, s: &Scenario, nodes: &BTreeMap<String, NodeId>) {
    for r in &s.routes {
        let (Some(&at), Some(&to), Some(&via)) =
            (nodes.get(&r.at), nodes.get(&r.to), nodes.get(&r.via))
        else {
            continue;
        };
        // The links between the two, in the scenario's order, which is
        // the world's: both ends are known, so none of them was skipped.
        let ids = w
            .links()
            .iter()
            .filter(|l| l.ends == [at, via] || l.ends == [via, at])
            .map(|l| l.id);
        let specs = s
            .links
            .iter()
            .filter(|l| (l.a == r.at && l.b == r.via) || (l.a == r.via && l.b == r.at));
        let between: Vec<(u32, bool)> = ids.zip(specs.map(|l| l.up)).collect();
        let link = between
            .iter()
            .find(|&&(_, up)| up)
            .or(between.first())
            .map(|&(id, _)| id);
        if let Some(link) = link {
            w.pin_route(at, to, link);
        }
    }
}

/// Builds a world for a scenario with the given seed. A scenario that
/// [`super::parse`] accepted always builds: validation builds its network
/// once to catch what only addressing reveals.
pub fn build(s: &Scenario, seed: u64) -> Result<Run, NetError> {
    let mut w = build_network_seeded(s, seed)?;
    w.compute_routes();
    let nodes: BTreeMap<String, NodeId> = s
        .hosts
        .iter()
        .filter_map(|h| w.node_by_name(&h.name).map(|n| (h.name.clone(), n)))
        .collect();
    pin_routes(&mut w, s, &nodes);
    // TLS: a CA for the scenario once any server asks for TLS; then every
    // mail server's SMTP client can check the certificates it is shown.
    let wants_tls = s.hosts.iter().any(|h| {
        matches!(
            h.role,
            Role::MailServer { tls: Some(_), .. } | Role::FileServer { tls: Some(_), .. }
        )
    }) || s.actions.iter().any(|a| {
        matches!(
            a.what,
            ActionKind::Ftp { tls: true, .. } | ActionKind::HttpGet { tls: true, .. }
        )
    });
    let pki = if wants_tls {
        Some(crate::proto::tls::pki::ScenarioPki::new(seed, &s.title).map_err(NetError::Tls)?)
    } else {
        None
    };
    let clock = Some(u64::try_from(w.epoch_unix()).unwrap_or(0));
    for h in &s.hosts {
        let Some(&node) = nodes.get(&h.name) else {
            continue;
        };
        for svc in &h.services {
            match svc {
                ServiceSpec::Discard { port } => {
                    w.add_app(node, Box::new(Discard::new(*port)));
                }
            }
        }
        match &h.role {
            Role::MailServer { tls, .. } => {
                if let Some(mut server) = mail_server(s, h, &w, &nodes) {
                    if let Some(pki) = &pki {
                        let hostname = mail_hostname(h);
                        let offered = match tls {
                            Some(_) => {
                                let cert = pki
                                    .host_cert_for(&[&hostname, &h.name])
                                    .map_err(NetError::Tls)?;
                                Some(
                                    crate::proto::tls::server_config(cert, clock)
                                        .map_err(NetError::Tls)?,
                                )
                            }
                            None => None,
                        };
                        server.set_tls(crate::apps::mail::MailTls {
                            server: offered,
                            client: crate::proto::tls::client_config(pki, clock)
                                .map_err(NetError::Tls)?,
                            require: matches!(tls, Some(crate::scenario::spec::TlsMode::Require)),
                        });
                    }
                    w.add_app(node, Box::new(server));
                }
            }
            Role::DnsServer { records } => {
                let zone = zone(s, records, &w, &nodes);
                w.add_app(node, Box::new(NameServer::new(zone)));
            }
            Role::Client | Role::Router | Role::Server => {}
            // Started by `add_file_roles` below.
            Role::FileServer { .. } | Role::WebServer { .. } | Role::Eavesdropper { .. } => {}
        }
    }
    // A user agent on every host with mail accounts.
    let mut agents: BTreeMap<NodeId, AppId> = BTreeMap::new();
    for h in s.hosts.iter().filter(|h| !h.accounts.is_empty()) {
        let Some(&node) = nodes.get(&h.name) else {
            continue;
        };
        let accounts = h
            .accounts
            .iter()
            .map(|a| {
                let mut account = MailAccount::new(&a.address, &a.password, &a.server);
                account.login = a.login_name().to_string();
                account
            })
            .collect();
        let mut agent = UserAgent::new(accounts);
        // With a CA in the scenario, user agents use STARTTLS and STLS
        // wherever their servers offer it, as mail programs do.
        if let Some(pki) = &pki {
            agent.set_tls_client(
                crate::proto::tls::client_config(pki, clock).map_err(NetError::Tls)?,
            );
        }
        let app = w.add_app(node, Box::new(agent));
        agents.insert(node, app);
    }
    add_file_roles(&mut w, s, &nodes, pki.as_ref(), clock)?;
    // Programs the actions need, one per host and kind.
    let mut senders: BTreeMap<NodeId, AppId> = BTreeMap::new();
    for a in &s.actions {
        let Some(&node) = nodes.get(&a.host) else {
            continue;
        };
        let Some(at) = a.when() else { continue };
        match &a.what {
            ActionKind::TcpSend { to, port, bytes } => {
                let app = *senders
                    .entry(node)
                    .or_insert_with(|| w.add_app(node, Box::new(BulkSender::new())));
                let Some(addr) = nodes.get(to).and_then(|&n| w.node(n).address()) else {
                    continue;
                };
                let dst = SocketAddrV4::new(addr, *port);
                let total = bytes.0;
                schedule_call(
                    &mut w,
                    &at,
                    app,
                    Box::new(move |app, cx| {
                        if let Some(s) = app.as_any_mut().downcast_mut::<BulkSender>() {
                            s.start(cx, dst, total);
                        }
                    }),
                );
            }
            ActionKind::SendMail {
                from,
                to,
                cc,
                subject,
                body,
            } => {
                let Some(&app) = agents.get(&node) else {
                    continue;
                };
                let (from, to, cc) = (from.clone(), to.clone(), cc.clone());
                let (subject, body) = (subject.clone(), body.clone());
                schedule_call(
                    &mut w,
                    &at,
                    app,
                    Box::new(move |app, cx| {
                        if let Some(ua) = app.as_any_mut().downcast_mut::<UserAgent>() {
                            // A failure is traced by the user agent.
                            let _ = ua.send(cx, &from, &to, &cc, &subject, &body);
                        }
                    }),
                );
            }
            ActionKind::FetchMail {
                account,
                protocol,
                delete,
                steps,
            } => {
                let Some(&app) = agents.get(&node) else {
                    continue;
                };
                let (account, delete) = (account.clone(), *delete);
                match protocol {
                    MailProtocol::Pop3 => schedule_call(
                        &mut w,
                        &at,
                        app,
                        Box::new(move |app, cx| {
                            if let Some(ua) = app.as_any_mut().downcast_mut::<UserAgent>() {
                                let _ = ua.fetch_pop3(cx, &account, delete);
                            }
                        }),
                    ),
                    MailProtocol::Imap => {
                        let actions = imap_actions(steps);
                        schedule_call(
                            &mut w,
                            &at,
                            app,
                            Box::new(move |app, cx| {
                                if let Some(ua) = app.as_any_mut().downcast_mut::<UserAgent>() {
                                    // A failure is traced by the user agent.
                                    let _ = ua.fetch_imap(cx, &account, actions.clone());
                                }
                            }),
                        );
                    }
                }
            }
            ActionKind::Ftp { .. }
            | ActionKind::HttpGet { .. }
            | ActionKind::ScpUpload { .. }
            | ActionKind::ScpDownload { .. }
            | ActionKind::Telnet { .. } => {
                let tls = match &pki {
                    Some(pki) => {
                        Some(crate::proto::tls::client_config(pki, clock).map_err(NetError::Tls)?)
                    }
                    None => None,
                };
                add_file_action(&mut w, &nodes, node, &at, &a.what, tls)
            }
        }
    }
    for f in &s.faults {
        let Some(at) = f.when() else { continue };
        let node = |h: &str| nodes.get(h).copied();
        let link = |a: &str, b: &str| find_link(&w, node(a)?, node(b)?);
        let fault = match &f.what {
            FaultKind::LinkDown(a, b) => link(a, b).map(|link| Fault::LinkUp { link, up: false }),
            FaultKind::LinkUp(a, b) => link(a, b).map(|link| Fault::LinkUp { link, up: true }),
            FaultKind::SetLoss(a, b, loss) => {
                link(a, b).map(|link| Fault::SetLoss { link, loss: *loss })
            }
            FaultKind::HostDown(h) => node(h).map(|node| Fault::HostDown { node }),
            FaultKind::HostUp(h) => node(h).map(|node| Fault::HostUp { node }),
            FaultKind::SetLatency(a, b, d) => {
                link(a, b).map(|link| Fault::SetLatency { link, latency: d.0 })
            }
            FaultKind::DropPacket(packet) => Some(Fault::DropPacket { packet: *packet }),
        };
        if let Some(fault) = fault {
            match at {
                When::At(t) => w.schedule_fault(SimTime::ZERO + t.0, fault),
                When::After { pattern, wait } => w.add_trigger_on(
                    pattern_event(&pattern),
                    pattern_host(&pattern),
                    matcher(pattern.clone()),
                    wait.0,
                    TriggerAction::Fault(fault),
                ),
            }
        }
    }
    for n in &s.narration {
        match n.when() {
            Some(When::At(t)) => w.schedule_narration(SimTime::ZERO + t.0, n.text.clone()),
            Some(When::After { pattern, wait }) => w.add_trigger_on(
                pattern_event(&pattern),
                pattern_host(&pattern),
                matcher(pattern.clone()),
                wait.0,
                TriggerAction::Narrate(n.text.clone()),
            ),
            None => {}
        }
    }
    let horizon = s.until.map_or(DEFAULT_HORIZON, |u| SimTime::ZERO + u.0);
    Ok(Run {
        world: w,
        horizon,
        nodes,
    })
}

/// A trigger's test: the first event matching the pattern.
/// The event a pattern names exactly, if it names one: its trigger is
/// asked about events of that name alone.
fn pattern_event(pattern: &Pattern) -> Option<&str> {
    pattern.get("event").and_then(|v| v.as_str())
}

/// The host a pattern names exactly, if it names one.
fn pattern_host(pattern: &Pattern) -> Option<&str> {
    pattern.get("host").and_then(|v| v.as_str())
}

fn matcher(pattern: Pattern) -> TriggerMatch {
    let m = super::check::Matcher::new(&pattern);
    Box::new(move |trace, record| m.matches(trace, record))
}

/// Calls into an application at a time, or after an event.
fn schedule_call(w: &mut World, when: &When, app: AppId, call: AppCall) {
    match when {
        When::At(t) => w.schedule_call(SimTime::ZERO + t.0, app, call),
        When::After { pattern, wait } => w.add_trigger_on(
            pattern_event(pattern),
            pattern_host(pattern),
            matcher(pattern.clone()),
            wait.0,
            TriggerAction::Call { app, call },
        ),
    }
}

// ----- file transfer: file servers, eavesdroppers and their clients -----

/// The content a scenario declares for a file: its text, or generated
/// bytes of its size.
fn file_content(path: &str, text: Option<&str>, size: Option<u64>) -> bytes::Bytes {
    match (text, size) {
        (Some(t), _) => bytes::Bytes::copy_from_slice(t.as_bytes()),
        (None, Some(n)) => crate::apps::files::generated_content(path, n as usize),
        (None, None) => bytes::Bytes::new(),
    }
}

/// A file tree with the given accounts and files (validated already).
fn build_vfs(
    users: &[super::spec::FileUserSpec],
    files: &[super::spec::FileSpec],
    mtime: i64,
) -> crate::apps::vfs::Vfs {
    use crate::apps::vfs::{Account, VPath, Vfs};
    let mut vfs = Vfs::new();
    for u in users {
        let home = u.home.clone().unwrap_or_else(|| format!("/{}", u.name));
        let Ok(home) = VPath::parse(&home) else {
            continue;
        };
        let account = Account {
            password: u.password.clone(),
            home,
            read_only: u.read_only,
            quota: u.quota.map(|q| q.0),
        };
        let _ = vfs.add_user(&u.name, account, mtime);
    }
    for f in files {
        if let Ok(path) = VPath::parse(&f.path) {
            let data = file_content(&f.path, f.text.as_deref(), f.size.map(|s| s.0));
            let _ = vfs.put_file(&path, data, mtime);
        }
    }
    vfs
}

/// Starts the file servers and eavesdroppers the hosts' roles call for.
fn add_file_roles(
    w: &mut World,
    s: &Scenario,
    nodes: &BTreeMap<String, NodeId>,
    pki: Option<&crate::proto::tls::pki::ScenarioPki>,
    clock: Option<u64>,
) -> Result<(), NetError> {
    use super::spec::FileService;
    use crate::apps::files::{FileServer, FileServerConfig};
    use crate::apps::vfs::VPath;
    let mtime = w.epoch_unix();
    for h in &s.hosts {
        let Some(&node) = nodes.get(&h.name) else {
            continue;
        };
        match &h.role {
            Role::FileServer {
                users,
                files,
                serves,
                web_root,
                data_timeout,
                tls,
            } => {
                let d = FileServerConfig::default();
                let config = FileServerConfig {
                    ftp: serves.contains(&FileService::Ftp),
                    http: serves.contains(&FileService::Http),
                    scp: serves.contains(&FileService::Scp),
                    telnet: serves.contains(&FileService::Telnet),
                    web_root: web_root
                        .as_deref()
                        .and_then(|r| VPath::parse(r).ok())
                        .unwrap_or(d.web_root),
                    data_timeout: data_timeout.map_or(d.data_timeout, |t| t.0),
                    passive_ports: d.passive_ports,
                };
                let vfs = build_vfs(users, files, mtime);
                let mut server = FileServer::new(vfs, config);
                if let (Some(mode), Some(pki)) = (tls, pki) {
                    let cert = pki.host_cert_for(&[&h.name]).map_err(NetError::Tls)?;
                    server.set_tls(crate::apps::files::FileTls {
                        server: crate::proto::tls::server_config(cert, clock)
                            .map_err(NetError::Tls)?,
                        require: *mode == crate::scenario::spec::TlsMode::Require,
                    });
                }
                w.add_app(node, Box::new(server));
            }
            Role::WebServer { files } => {
                let config = FileServerConfig {
                    ftp: false,
                    http: true,
                    ..FileServerConfig::default()
                };
                let vfs = build_vfs(&[], files, mtime);
                w.add_app(node, Box::new(FileServer::new(vfs, config)));
            }
            Role::Eavesdropper { link: (a, b) } => {
                let app = w.add_app(node, Box::new(crate::apps::tap::Eavesdropper::new()));
                let link = match (nodes.get(a), nodes.get(b)) {
                    (Some(&a), Some(&b)) => find_link(w, a, b),
                    _ => None,
                };
                if let Some(link) = link {
                    w.add_tap(link, app);
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// The first application of type `T` on `node`, or a new one.
fn app_of<T: crate::net::Application + Default>(w: &mut World, node: NodeId) -> AppId {
    let existing = w
        .node(node)
        .apps
        .iter()
        .copied()
        .find(|&a| w.app_as::<T>(a).is_some());
    existing.unwrap_or_else(|| w.add_app(node, Box::<T>::default()))
}

/// Converts a scenario step into the FTP client's.
fn ftp_step(step: &super::spec::FtpStep) -> crate::proto::ftp::Step {
    use super::spec::{FtpStep as S, FtpType};
    use crate::proto::ftp::{Step, TransferType};
    match step {
        S::List => Step::List(None),
        S::ListPath(p) => Step::List(Some(p.clone())),
        S::Nlst => Step::Nlst(None),
        S::Retr(p) => Step::Retr(p.clone()),
        S::Stor { name, text, size } => Step::Stor(
            name.clone(),
            file_content(name, text.as_deref(), size.map(|s| s.0)),
        ),
        S::Appe { name, text, size } => Step::Appe(
            name.clone(),
            file_content(name, text.as_deref(), size.map(|s| s.0)),
        ),
        S::Cwd(p) => Step::Cwd(p.clone()),
        S::Cdup => Step::Cdup,
        S::Pwd => Step::Pwd,
        S::Mkd(p) => Step::Mkd(p.clone()),
        S::Rmd(p) => Step::Rmd(p.clone()),
        S::Dele(p) => Step::Dele(p.clone()),
        S::Rename(a, b) => Step::Rename(a.clone(), b.clone()),
        S::Type(FtpType::Ascii) => Step::Type(TransferType::Ascii),
        S::Type(FtpType::Binary) => Step::Type(TransferType::Image),
        S::Size(p) => Step::Size(p.clone()),
        S::Noop => Step::Noop,
        S::Raw(line) => Step::Raw(line.clone()),
        S::Quit => Step::Quit,
    }
}

/// Schedules a file transfer action on the client program of `node`.
fn add_file_action(
    w: &mut World,
    nodes: &BTreeMap<String, NodeId>,
    node: NodeId,
    at: &When,
    what: &ActionKind,
    tls: Option<std::sync::Arc<rustls::ClientConfig>>,
) {
    use super::spec::FtpMode;
    use crate::apps::files::{FtpUser, WebClient};
    use crate::proto::ftp::{DataMode, FtpClientConfig};
    use crate::proto::scp::{ScpEntry, ScpOperation};
    let address = |w: &World, server: &str, port: u16| {
        let addr = nodes.get(server).and_then(|&n| w.node(n).address())?;
        Some(SocketAddrV4::new(addr, port))
    };
    match what {
        ActionKind::Ftp {
            server,
            user,
            password,
            mode,
            extended,
            tls: secure,
            steps,
        } => {
            let Some(to) = address(w, server, crate::proto::ftp::CONTROL_PORT) else {
                return;
            };
            let secure = secure
                .then(|| tls.map(|config| (config, server.clone())))
                .flatten();
            let mut config = FtpClientConfig::new(user, password, *to.ip());
            config.mode = match mode {
                FtpMode::Active => DataMode::Active,
                FtpMode::Passive => DataMode::Passive,
            };
            config.extended = *extended;
            config.tls = secure.is_some();
            config.steps = steps.iter().map(ftp_step).collect();
            let app = app_of::<FtpUser>(w, node);
            schedule_call(
                w,
                at,
                app,
                Box::new(move |app, cx| {
                    if let Some(u) = app.as_any_mut().downcast_mut::<FtpUser>() {
                        u.start_secure(cx, to, config, secure);
                    }
                }),
            );
        }
        ActionKind::HttpGet {
            server,
            paths,
            tls: secure,
        } => {
            let port = if *secure {
                crate::proto::http::TLS_PORT
            } else {
                crate::proto::http::PORT
            };
            let Some(to) = address(w, server, port) else {
                return;
            };
            let (host, paths) = (server.clone(), paths.clone());
            let secure = secure.then_some(tls).flatten();
            let app = app_of::<WebClient>(w, node);
            schedule_call(
                w,
                at,
                app,
                Box::new(move |app, cx| {
                    if let Some(c) = app.as_any_mut().downcast_mut::<WebClient>() {
                        c.start_secure(cx, to, &host, &paths, secure);
                    }
                }),
            );
        }
        ActionKind::ScpUpload {
            server,
            user,
            password,
            local,
            remote,
        } => {
            let Some(to) = address(w, server, crate::proto::scp::PORT) else {
                return;
            };
            let name = local.path.rsplit('/').next().unwrap_or_default();
            let data = file_content(&local.path, local.text.as_deref(), local.size.map(|s| s.0));
            let operation = ScpOperation::Upload {
                target: remote.clone(),
                entries: vec![ScpEntry::file(name, data)],
                preserve_times: false,
            };
            schedule_scp(w, node, at, to, user, password, operation);
        }
        ActionKind::ScpDownload {
            server,
            user,
            password,
            remote,
        } => {
            let Some(to) = address(w, server, crate::proto::scp::PORT) else {
                return;
            };
            let operation = ScpOperation::Download {
                path: remote.clone(),
                recursive: false,
                preserve_times: false,
            };
            schedule_scp(w, node, at, to, user, password, operation);
        }
        ActionKind::Telnet {
            server,
            user,
            password,
            commands,
        } => {
            use crate::apps::files::TelnetUser;
            use crate::proto::telnet::TelnetClientConfig;
            let Some(to) = address(w, server, crate::proto::telnet::PORT) else {
                return;
            };
            let config = TelnetClientConfig {
                user: user.clone(),
                password: password.clone(),
                commands: commands.clone(),
            };
            let app = app_of::<TelnetUser>(w, node);
            schedule_call(
                w,
                at,
                app,
                Box::new(move |app, cx| {
                    if let Some(u) = app.as_any_mut().downcast_mut::<TelnetUser>() {
                        u.start(cx, to, config);
                    }
                }),
            );
        }
        _ => {}
    }
}

fn schedule_scp(
    w: &mut World,
    node: NodeId,
    at: &When,
    to: SocketAddrV4,
    user: &str,
    password: &str,
    operation: crate::proto::scp::ScpOperation,
) {
    use crate::apps::files::ScpUser;
    let (user, password) = (user.to_string(), password.to_string());
    let app = app_of::<ScpUser>(w, node);
    schedule_call(
        w,
        at,
        app,
        Box::new(move |app, cx| {
            if let Some(c) = app.as_any_mut().downcast_mut::<ScpUser>() {
                c.start(cx, to, &user, &password, operation);
            }
        }),
    );
}
