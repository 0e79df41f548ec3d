//! World-level tests of the file transfer applications: a client, a router
//! and a file server, with a tap on the client's link.

use super::*;
use crate::apps::tap::Eavesdropper;
use crate::apps::vfs::{Account, VPath, Vfs};
use crate::net::{AppId, Application, Firewall, LinkConfig, NodeKind, World};
use crate::proto::ftp::{DataMode, FtpClientConfig, Step, TransferType};
use crate::proto::scp::{ScpEntry, ScpOperation};
use crate::sim::SimTime;
use crate::trace::Trace;
use std::net::SocketAddrV4;

const REPORT: &str = "Quarterly report\nAll is well.\n";

struct Net {
    world: World,
    server: AppId,
    client_node: u32,
    server_node: u32,
    tap: AppId,
}

fn vfs() -> Vfs {
    let mut v = Vfs::new();
    v.add_user(
        "alice",
        Account::new("wonderland", VPath::parse("/alice").unwrap()),
        0,
    )
    .unwrap();
    let mut limited = Account::new("bobpw", VPath::parse("/bob").unwrap());
    limited.quota = Some(100);
    v.add_user("bob", limited, 0).unwrap();
    v.create_text_file(&VPath::parse("/alice/report.txt").unwrap(), REPORT, 0)
        .unwrap();
    v.put_file(
        &VPath::parse("/alice/photo.jpg").unwrap(),
        generated_content("/alice/photo.jpg", 50_000),
        0,
    )
    .unwrap();
    v.create_text_file(&VPath::parse("/bob/secret.txt").unwrap(), "bob's\n", 0)
        .unwrap();
    v
}

fn net(firewall: bool) -> Net {
    net_with(firewall, vfs(), 7)
}

fn net_with(firewall: bool, files: Vfs, seed: u64) -> Net {
    let mut w = World::new(seed);
    let c = w.add_node("alice-pc", NodeKind::Host);
    let r = w.add_node("router", NodeKind::Router);
    let s = w.add_node("files", NodeKind::Host);
    let t = w.add_node("trudy", NodeKind::Host);
    let link = w.add_link(c, r, LinkConfig::default(), None, None).unwrap();
    w.add_link(r, s, LinkConfig::default(), None, None).unwrap();
    if firewall {
        w.set_firewall(
            c,
            Firewall {
                block_inbound: true,
                allow_ports: Vec::new(),
            },
        );
    }
    let config = FileServerConfig {
        http: true,
        scp: true,
        ..FileServerConfig::default()
    };
    let server = w.add_app(s, Box::new(FileServer::new(files, config)));
    let tap = w.add_app(t, Box::new(Eavesdropper::new()));
    w.add_tap(link, tap);
    Net {
        world: w,
        server,
        client_node: c,
        server_node: s,
        tap,
    }
}

impl Net {
    fn server_addr(&self, port: u16) -> SocketAddrV4 {
        SocketAddrV4::new(self.world.node(self.server_node).address().unwrap(), port)
    }

    fn ftp(&mut self, at_ms: u64, mode: DataMode, user: &str, pw: &str, steps: Vec<Step>) -> AppId {
        let app = self
            .world
            .add_app(self.client_node, Box::new(FtpUser::new()));
        let to = self.server_addr(21);
        let mut config = FtpClientConfig::new(user, pw, *to.ip());
        config.mode = mode;
        config.steps = steps;
        self.world.schedule_call(
            SimTime::from_millis(at_ms),
            app,
            Box::new(move |app, cx| {
                if let Some(u) = app.as_any_mut().downcast_mut::<FtpUser>() {
                    u.start(cx, to, config);
                }
            }),
        );
        app
    }

    fn run(&mut self) {
        self.world.run(SimTime::from_secs(120));
    }

    fn user(&self, app: AppId) -> &FtpUser {
        self.world.app_as::<FtpUser>(app).unwrap()
    }

    fn server(&self) -> &FileServer {
        self.world.app_as::<FileServer>(self.server).unwrap()
    }
}

/// `(event, fields)` of the application events of a layer.
fn app_events(
    trace: &Trace,
    layer: &str,
    event: &str,
) -> Vec<serde_json::Map<String, serde_json::Value>> {
    trace
        .records
        .iter()
        .map(|r| trace.fields(r))
        .filter(|f| f["layer"] == layer && f["event"] == event)
        .collect()
}

fn codes(trace: &Trace) -> Vec<u64> {
    app_events(trace, "ftp", "reply")
        .iter()
        .filter_map(|f| f.get("code").and_then(|c| c.as_u64()))
        .collect()
}

#[test]
fn active_session_lists_retrieves_and_stores() {
    let mut n = net(false);
    let app = n.ftp(
        10,
        DataMode::Active,
        "alice",
        "wonderland",
        vec![
            Step::List(None),
            Step::Retr("report.txt".into()),
            Step::Type(TransferType::Image),
            Step::Retr("photo.jpg".into()),
            Step::Stor("notes.txt".into(), Bytes::from_static(b"note\n")),
        ],
    );
    n.run();
    let result = &n.user(app).sessions()[0];
    assert!(result.done && result.error.is_none(), "{result:?}");
    assert!(
        result.outcomes.iter().all(|o| o.ok()),
        "{:?}",
        result.outcomes
    );
    assert_eq!(
        &n.user(app).download("report.txt").unwrap().data[..],
        REPORT.as_bytes()
    );
    let photo = n.user(app).download("photo.jpg").unwrap();
    assert_eq!(photo.data, generated_content("/alice/photo.jpg", 50_000));
    assert!(result.listings[0].contains("report.txt"));
    let stored = n
        .server()
        .vfs()
        .get_file(&VPath::parse("/alice/notes.txt").unwrap());
    assert_eq!(&stored.unwrap()[..], b"note\n");

    let trace = n.world.trace();
    let opened = app_events(trace, "ftp", "data_opened");
    assert_eq!(opened.len(), 4, "one data connection per LIST/RETR/STOR");
    for o in &opened {
        assert_eq!(o["opened_by"], "server");
        assert_eq!(o["server_port"], 20);
    }
    assert_eq!(app_events(trace, "ftp", "control_opened").len(), 1);
    assert_eq!(app_events(trace, "ftp", "data_closed").len(), 4);
    let c = codes(trace);
    for code in [220, 331, 230, 200, 150, 226, 221] {
        assert!(c.contains(&code), "{code} missing from {c:?}");
    }
    assert!(n.server().ftp_sessions().is_empty());
    assert_eq!(n.server().data_connections_finished(), 4);
}

#[test]
fn passive_session_connects_to_the_server() {
    let mut n = net(false);
    let app = n.ftp(
        10,
        DataMode::Passive,
        "alice",
        "wonderland",
        vec![Step::List(None), Step::Retr("report.txt".into())],
    );
    n.run();
    let result = &n.user(app).sessions()[0];
    assert!(
        result.outcomes.iter().all(|o| o.ok()),
        "{:?}",
        result.outcomes
    );
    let trace = n.world.trace();
    let opened = app_events(trace, "ftp", "data_opened");
    assert_eq!(opened.len(), 2);
    for o in &opened {
        assert_eq!(o["opened_by"], "client");
        let port = o["server_port"].as_u64().unwrap();
        assert!((40000..=40999).contains(&port));
    }
    assert!(codes(trace).contains(&125) || codes(trace).contains(&150));
}

#[test]
fn firewall_blocks_active_mode_with_425_but_not_passive() {
    let mut n = net(true);
    let active = n.ftp(
        10,
        DataMode::Active,
        "alice",
        "wonderland",
        vec![Step::List(None), Step::Pwd],
    );
    let passive = n.ftp(
        30_000,
        DataMode::Passive,
        "alice",
        "wonderland",
        vec![Step::List(None)],
    );
    n.run();
    let a = &n.user(active).sessions()[0];
    assert_eq!(a.outcomes[0].code, Some(425), "{:?}", a.outcomes);
    assert!(a.outcomes[1].ok(), "the session goes on after 425");
    assert!(a.done);
    let p = &n.user(passive).sessions()[0];
    assert!(p.outcomes[0].ok(), "{:?}", p.outcomes);
    let failed = app_events(n.world.trace(), "ftp", "data_failed");
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["reason"], "timeout");
}

#[test]
fn errors_quota_login_and_missing_files() {
    let mut n = net(false);
    let bob = n.ftp(
        10,
        DataMode::Passive,
        "bob",
        "bobpw",
        vec![
            Step::Stor("big.bin".into(), Bytes::from(vec![b'x'; 500])),
            Step::Retr("nothing.txt".into()),
            Step::Retr("../alice/report.txt".into()),
            Step::Cwd("../../..".into()),
            Step::Pwd,
        ],
    );
    let wrong = n.ftp(
        10,
        DataMode::Passive,
        "alice",
        "guess",
        vec![Step::List(None)],
    );
    n.run();
    let b = &n.user(bob).sessions()[0];
    let got: Vec<Option<u16>> = b.outcomes.iter().map(|o| o.code).collect();
    assert_eq!(
        got,
        vec![Some(452), Some(550), Some(550), Some(250), Some(257)]
    );
    assert!(b.outcomes[4].text.contains("\"/\""));
    assert!(
        n.server()
            .vfs()
            .get_file(&VPath::parse("/bob/big.bin").unwrap())
            .is_err()
    );
    let w = &n.user(wrong).sessions()[0];
    assert_eq!(w.login_code, Some(530));
    assert!(!w.logged_in && w.outcomes.is_empty());
}

#[test]
fn http_fetches_on_one_connection() {
    let mut n = net(false);
    let app = n.world.add_app(n.client_node, Box::new(WebClient::new()));
    let to = n.server_addr(80);
    let paths = vec!["/alice/report.txt".to_string(), "/nope".to_string()];
    n.world.schedule_call(
        SimTime::from_millis(10),
        app,
        Box::new(move |app, cx| {
            if let Some(c) = app.as_any_mut().downcast_mut::<WebClient>() {
                c.start(cx, to, "files", &paths);
            }
        }),
    );
    n.run();
    let r = &n.world.app_as::<WebClient>(app).unwrap().results()[0];
    assert_eq!(
        r.statuses,
        vec![
            ("/alice/report.txt".to_string(), 200),
            ("/nope".to_string(), 404)
        ]
    );
    assert_eq!(&r.downloads[0].data[..], REPORT.as_bytes());
    assert!(r.done && r.error.is_none(), "{r:?}");
}

#[test]
fn scp_copies_both_ways_and_trudy_reads_nothing() {
    let mut n = net(false);
    let app = n.world.add_app(n.client_node, Box::new(ScpUser::new()));
    let to = n.server_addr(22);
    n.world.schedule_call(
        SimTime::from_millis(10),
        app,
        Box::new(move |app, cx| {
            if let Some(c) = app.as_any_mut().downcast_mut::<ScpUser>() {
                let op = ScpOperation::Download {
                    path: "report.txt".into(),
                    recursive: false,
                    preserve_times: false,
                };
                c.start(cx, to, "alice", "wonderland", op);
                let op = ScpOperation::Upload {
                    target: "up.txt".into(),
                    entries: vec![ScpEntry::file(
                        "up.txt",
                        Bytes::from_static(b"uploaded secretly\n"),
                    )],
                    preserve_times: false,
                };
                c.start(cx, to, "alice", "wonderland", op);
            }
        }),
    );
    n.run();
    let results = n.world.app_as::<ScpUser>(app).unwrap().results();
    assert!(results.iter().all(|r| r.succeeded), "{results:?}");
    assert_eq!(&results[0].downloads[0].data[..], REPORT.as_bytes());
    let up = n
        .server()
        .vfs()
        .get_file(&VPath::parse("/alice/up.txt").unwrap());
    assert_eq!(&up.unwrap()[..], b"uploaded secretly\n");
    let trudy = n.world.app_as::<Eavesdropper>(n.tap).unwrap();
    assert!(!trudy.captured().is_empty());
    assert!(!trudy.can_read("wonderland"));
    assert!(!trudy.can_read("uploaded secretly"));
    assert!(!trudy.can_read("Quarterly"));
    assert!(
        trudy
            .reported()
            .iter()
            .any(|f| f.kind == crate::apps::eavesdropper::FindingKind::Ciphertext)
    );
}

#[test]
fn trudy_reads_ftp() {
    let mut n = net(false);
    n.ftp(
        10,
        DataMode::Passive,
        "alice",
        "wonderland",
        vec![Step::Retr("report.txt".into())],
    );
    n.run();
    let trudy = n.world.app_as::<Eavesdropper>(n.tap).unwrap();
    assert!(trudy.can_read("PASS wonderland"));
    assert!(trudy.can_read("All is well."));
    let events = app_events(n.world.trace(), "app", "eavesdropped");
    assert!(
        events
            .iter()
            .any(|e| e["kind"] == "credential" && e["text"] == "FTP PASS wonderland"),
        "{events:?}"
    );
    assert!(events.iter().any(|e| e["kind"] == "file"), "{events:?}");
}

#[test]
fn a_third_party_cannot_steal_the_passive_port() {
    use crate::apps::tcp::BulkSender;
    let mut n = net(false);
    let r = n.world.node_by_name("router").unwrap();
    let m = n.world.add_node("mallory", NodeKind::Host);
    n.world
        .add_link(m, r, LinkConfig::default(), None, None)
        .unwrap();
    let thief = n.world.add_app(m, Box::new(BulkSender::new()));
    let port = n.server_addr(40000);
    // Knock on the first passive port every millisecond.
    for ms in 10..120 {
        n.world.schedule_call(
            SimTime::from_millis(ms),
            thief,
            Box::new(move |app, cx| {
                if let Some(s) = app.as_any_mut().downcast_mut::<BulkSender>() {
                    s.start(cx, port, 10);
                }
            }),
        );
    }
    let app = n.ftp(
        10,
        DataMode::Passive,
        "alice",
        "wonderland",
        vec![Step::List(None)],
    );
    n.run();
    let refused = app_events(n.world.trace(), "ftp", "data_refused");
    assert!(
        !refused.is_empty(),
        "mallory got through while the port listened"
    );
    let result = &n.user(app).sessions()[0];
    assert!(result.outcomes[0].ok(), "{:?}", result.outcomes);
    assert!(result.listings[0].contains("report.txt"));
}

#[test]
fn inspect_and_sessions_show_the_transfer_in_progress() {
    let mut files = vfs();
    let big = VPath::parse("/alice/big.bin").unwrap();
    files
        .put_file(&big, generated_content("big", 3_000_000), 0)
        .unwrap();
    let mut n = net_with(false, files, 7);
    let app = n.ftp(
        10,
        DataMode::Active,
        "alice",
        "wonderland",
        vec![
            Step::Type(TransferType::Image),
            Step::Retr("big.bin".into()),
        ],
    );
    n.world.run(SimTime::from_millis(200));
    let server = n.server();
    let sessions = server.sessions();
    assert!(
        sessions
            .iter()
            .any(|s| s.layer == "ftp" && s.state == "TRANSFERRING")
    );
    assert!(
        sessions
            .iter()
            .any(|s| s.states == DATA_STATES && s.state == "CLOSING")
    );
    let view = &server.ftp_sessions()[0];
    assert_eq!(view.user.as_deref(), Some("alice"));
    assert_eq!(view.transfer_type, TransferType::Image);
    let inspect = format!("{:?}", server.inspect().unwrap());
    assert!(inspect.contains("alice: home /alice"), "{inspect}");
    assert!(inspect.contains("/big.bin  3000000 bytes"), "{inspect}");
    assert!(inspect.contains("FTP sessions (1 open"), "{inspect}");
    let client = n.user(app).sessions();
    assert!(!client[0].done);
    assert!(n.user(app).sessions().len() == 1);
    let client_states = n.world.app(app).unwrap().sessions();
    assert!(
        client_states
            .iter()
            .any(|s| s.role == "client" && s.state == "TRANSFERRING")
    );
    n.run();
    assert_eq!(
        n.user(app).download("big.bin").unwrap().data.len(),
        3_000_000
    );
    let inspect = format!("{:?}", n.user(app).inspect().unwrap());
    assert!(
        inspect.contains("downloaded big.bin: 3000000 bytes"),
        "{inspect}"
    );
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            Just(Step::List(None)),
            Just(Step::Nlst(None)),
            Just(Step::Retr("report.txt".into())),
            Just(Step::Retr("missing".into())),
            Just(Step::Retr("photo.jpg".into())),
            Just(Step::Type(TransferType::Image)),
            Just(Step::Type(TransferType::Ascii)),
            Just(Step::Cwd("..".into())),
            Just(Step::Pwd),
            (0usize..3000).prop_map(|n| Step::Stor("up.bin".into(), Bytes::from(vec![7u8; n]))),
            Just(Step::Dele("up.bin".into())),
            Just(Step::Raw("ABOR".into())),
            Just(Step::Raw("PASV".into())),
            Just(Step::Noop),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        /// Whatever the script, mode, firewall and loss, every session
        /// ends, every step gets an outcome, and the server is left with
        /// no session, data connection or listener.
        #[test]
        fn sessions_always_end_cleanly(
            steps in proptest::collection::vec(step(), 0..8),
            active in any::<bool>(),
            firewall in any::<bool>(),
            lossy in any::<bool>(),
            seed in 0u64..1000,
        ) {
            let mut n = net_with(firewall, vfs(), seed);
            if lossy {
                let link = n.world.links()[0].id;
                n.world.schedule_fault(SimTime::ZERO, crate::net::Fault::SetLoss { link, loss: 0.05 });
            }
            let mode = if active { DataMode::Active } else { DataMode::Passive };
            let count = steps.len();
            let app = n.ftp(10, mode, "bob", "bobpw", steps);
            n.world.run(SimTime::from_secs(600));
            let result = &n.user(app).sessions()[0];
            prop_assert!(result.done, "{result:?}");
            if result.error.is_none() {
                prop_assert_eq!(result.outcomes.len(), count);
            }
            prop_assert!(n.server().ftp_sessions().is_empty());
        }
    }
}

#[test]
fn extended_commands_epsv_and_eprt() {
    for mode in [DataMode::Passive, DataMode::Active] {
        let mut n = net(false);
        let app = n.world.add_app(n.client_node, Box::new(FtpUser::new()));
        let to = n.server_addr(21);
        let mut config = FtpClientConfig::new("alice", "wonderland", *to.ip());
        config.mode = mode;
        config.extended = true;
        config.steps = vec![Step::Retr("report.txt".into())];
        n.world.schedule_call(
            SimTime::from_millis(10),
            app,
            Box::new(move |app, cx| {
                if let Some(u) = app.as_any_mut().downcast_mut::<FtpUser>() {
                    u.start(cx, to, config);
                }
            }),
        );
        n.run();
        assert_eq!(
            &n.user(app).download("report.txt").unwrap().data[..],
            REPORT.as_bytes()
        );
        let c = codes(n.world.trace());
        match mode {
            DataMode::Passive => assert!(c.contains(&229), "{c:?}"),
            DataMode::Active => {
                let eprt = app_events(n.world.trace(), "ftp", "command")
                    .iter()
                    .any(|f| f["line"].as_str().unwrap_or("").starts_with("EPRT |1|"));
                assert!(eprt);
            }
        }
    }
}
