//! `wiretale diff`: two runs side by side, or one run and its "what if?"
//! fork: where they part, what each did next, and both ladders as SVG.

use super::{BAD_INPUT, OK};
use clap::Args;
use std::path::PathBuf;
use wiretale::exercise::{self, WhatIf, diff};
use wiretale::scenario::{self, Loaded};
use wiretale::trace::Layer;
use wiretale::trace::ladder::LadderFilter;

#[derive(Args)]
pub struct DiffArgs {
    /// A scenario file or the name of a bundled scenario.
    left: String,
    /// A second scenario to compare with (a lab's reference and a
    /// student's file). Without it, the left scenario is compared with
    /// itself changed by --what-if.
    right: Option<String>,
    /// A change to the right run (repeatable): drop:PACKET,
    /// link-down:A/B@TIME[+FOR], host-down:HOST@TIME[+FOR],
    /// loss:A/B=PERCENT%@TIME, latency:A/B=DELAY@TIME, seed:N. The packet
    /// is its number in the trace (`packet 12`).
    #[arg(long = "what-if", value_name = "CHANGE")]
    what_if: Vec<WhatIf>,
    /// Draw both ladders side by side in this SVG file, the first arrow
    /// that differs highlighted.
    #[arg(long, value_name = "FILE")]
    svg: Option<PathBuf>,
    /// What the ladders show: layers, comma separated ("tcp", "smtp,tcp");
    /// by default every application dialogue.
    #[arg(long, value_delimiter = ',', value_parser = super::run::parse_layer)]
    ladder_layers: Vec<Layer>,
    /// Only connections whose name contains this text, e.g. ":25".
    #[arg(long, value_name = "TEXT")]
    ladder_conn: Option<String>,
}

fn load(name: &str) -> Result<Loaded, u8> {
    scenario::load(name).map_err(|e| {
        eprintln!("{e}");
        BAD_INPUT
    })
}

pub fn diff(args: DiffArgs) -> u8 {
    match compare(&args) {
        Ok(()) => OK,
        Err(code) => code,
    }
}

fn compare(args: &DiffArgs) -> Result<(), u8> {
    let left = load(&args.left)?;
    let right = match &args.right {
        Some(r) => load(r)?,
        None if args.what_if.is_empty() => {
            eprintln!(
                "wiretale diff: nothing to compare: give a second scenario or a change with --what-if (e.g. --what-if drop:12)"
            );
            return Err(BAD_INPUT);
        }
        None => Loaded {
            file: left.file.clone(),
            text: left.text.clone(),
            scenario: left.scenario.clone(),
        },
    };
    let forked = exercise::fork(&right.scenario, &args.what_if).map_err(|e| {
        eprintln!("wiretale diff: {e}");
        BAD_INPUT
    })?;
    let run = |s| {
        exercise::run(s).map_err(|e| {
            eprintln!("wiretale diff: {e}");
            BAD_INPUT
        })
    };
    let (a, b) = (run(&left.scenario)?, run(&forked)?);
    let left_name = left.file.clone();
    let right_name = if args.what_if.is_empty() {
        right.file.clone()
    } else {
        format!("{}, {}", right.file, exercise::describe(&args.what_if))
    };
    let filter = LadderFilter {
        layers: args.ladder_layers.clone(),
        conn: args.ladder_conn.clone(),
    };
    let c = diff::compare(
        &diff::Side {
            name: left_name,
            trace: a.world.trace(),
        },
        &diff::Side {
            name: right_name,
            trace: b.world.trace(),
        },
        &filter,
    );
    print!("{}", c.to_text());
    if let Some(path) = &args.svg {
        let title = format!("{}: two runs side by side", left.scenario.title);
        if let Err(e) = std::fs::write(path, c.to_svg(&title)) {
            eprintln!("wiretale diff: cannot write {}: {e}", path.display());
            return Err(BAD_INPUT);
        }
        eprintln!("wrote both ladders to {}", path.display());
    }
    Ok(())
}
