//! `wiretale diagram MACHINE --svg FILE`: a protocol's state machine for
//! slides, laid out as the visualizer draws it.

use super::{BAD_INPUT, OK};
use clap::Args;
use std::path::PathBuf;
use wiretale::diagram;

#[derive(Args)]
pub struct DiagramArgs {
    /// The machine: tcp, smtp, pop3, imap, ftp, telnet (the servers),
    /// smtp-client, pop3-client, imap-client, ftp-client, telnet-client,
    /// or telnet-option (option negotiation).
    machine: String,
    /// Write the diagram to this SVG file.
    #[arg(long, value_name = "FILE")]
    svg: PathBuf,
    /// Mark this state as the current one (and its edges as the possible
    /// next steps).
    #[arg(long, value_name = "STATE")]
    current: Option<String>,
}

pub fn diagram(args: DiagramArgs) -> u8 {
    let machines = diagram::machines();
    let names: Vec<&str> = machines.iter().map(|m| m.0).collect();
    let Some((_, title, states, transitions)) = machines
        .iter()
        .find(|m| m.0.eq_ignore_ascii_case(&args.machine))
    else {
        eprintln!(
            "wiretale: no state machine called {:?}; there are: {}",
            args.machine,
            names.join(", ")
        );
        return BAD_INPUT;
    };
    let d = diagram::layout(states, transitions);
    let current = match &args.current {
        Some(c) => match d.states.iter().find(|s| s.name.eq_ignore_ascii_case(c)) {
            Some(s) => Some(s.name),
            None => {
                let known: Vec<&str> = d.states.iter().map(|s| s.name).collect();
                eprintln!(
                    "wiretale: {} has no state {c:?}; its states: {}",
                    args.machine,
                    known.join(", ")
                );
                return BAD_INPUT;
            }
        },
        None => None,
    };
    let marks = diagram::Marks {
        current,
        taken: &[],
    };
    let svg = diagram::to_svg(&d, title, &marks);
    if let Err(e) = std::fs::write(&args.svg, svg) {
        eprintln!("wiretale: cannot write {}: {e}", args.svg.display());
        return BAD_INPUT;
    }
    eprintln!(
        "wrote the {} diagram ({} states, {} arrows) to {}",
        args.machine,
        d.states.len(),
        d.edges.len(),
        args.svg.display()
    );
    OK
}
