//! Two hosts on one link: the handshake, a transfer and the teardown, as
//! the trace records them.

use std::net::SocketAddrV4;
use wiretale::apps::tcp::{BulkSender, Discard, pattern_sha256};
use wiretale::net::{LinkConfig, NodeKind, World};
use wiretale::sim::{SimDuration, SimTime};
use wiretale::trace::{Event, Trace};

fn two_hosts(seed: u64, link: LinkConfig) -> (World, u32, u32) {
    let mut w = World::new(seed);
    let a = w.add_node("client", NodeKind::Host);
    let b = w.add_node("server", NodeKind::Host);
    w.add_link(a, b, link, None, None).unwrap();
    let sender = w.add_app(a, Box::new(BulkSender::new()));
    let sink = w.add_app(b, Box::new(Discard::new(9)));
    (w, sender, sink)
}

fn segments(trace: &Trace) -> Vec<String> {
    trace
        .records
        .iter()
        .filter(|r| matches!(r.event, Event::SegmentSent { .. }))
        .map(|r| {
            let f = trace.fields(r);
            format!(
                "{} {} {} seq={} ack={} len={}",
                f["host"], f["flags"], f["dst"], f["seq"], f["ack"], f["len"]
            )
            .replace('"', "")
        })
        .collect()
}

#[test]
fn transfer_arrives_whole() {
    let (mut w, sender, sink) = two_hosts(1, LinkConfig::default());
    let to = SocketAddrV4::new(w.node(1).address().unwrap(), 9);
    w.schedule_call(
        SimTime::from_millis(1),
        sender,
        Box::new(move |app, cx| {
            app.as_any_mut()
                .downcast_mut::<BulkSender>()
                .unwrap()
                .start(cx, to, 10_240)
        }),
    );
    w.run(SimTime::from_secs(300));
    let d = w.app_as::<Discard>(sink).unwrap();
    assert_eq!(d.received().len(), 1);
    assert_eq!(d.received()[0].bytes, 10_240);
    assert_eq!(
        d.received()[0].sha256.as_deref(),
        Some(pattern_sha256(10_240).as_str())
    );
    for line in segments(w.trace()) {
        println!("{line}");
    }
    for r in &w.trace().records {
        println!("{}", w.trace().to_text(r));
    }
    let _ = SimDuration::ZERO;
}
