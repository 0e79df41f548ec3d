//! `wiretale generate`: writes the scenario file of a big network (a star,
//! a tree of routers, a campus), idle or with every host sending to a
//! server, for benchmarks and for showing a big network.

use super::{BAD_INPUT, OK};
use clap::Args;
use std::path::PathBuf;
use wiretale::scenario::generate::{self, Options, Shape};

#[derive(Args)]
pub struct GenerateArgs {
    /// star (one router, every host on it), tree (routers in a tree) or
    /// campus (a core and buildings, each linked to the next).
    shape: Shape,
    /// How many hosts (besides the server and the routers).
    #[arg(long)]
    hosts: usize,
    /// Every host sends this much to the server over TCP (e.g. 100KB);
    /// without it the network stays idle.
    #[arg(long, value_name = "SIZE")]
    send: Option<String>,
    /// With --send: each host starts when the one before it has finished
    /// (an `after:` trigger on its transfer_done).
    #[arg(long)]
    chain: bool,
    /// TCP's maximum segment lifetime (TIME-WAIT is twice it); 1s unless
    /// given, so that big runs end soon.
    #[arg(long, value_name = "DURATION")]
    msl: Option<String>,
    /// Children per router in a tree.
    #[arg(long, default_value_t = 8)]
    fanout: usize,
    /// Write the scenario here instead of to standard output.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
}

pub fn generate(args: GenerateArgs) -> u8 {
    let text = match generate::generate(&Options {
        shape: args.shape,
        hosts: args.hosts,
        send: args.send,
        fanout: args.fanout,
        chain: args.chain,
        msl: args.msl,
    }) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("wiretale generate: {e}");
            return BAD_INPUT;
        }
    };
    match &args.output {
        None => {
            print!("{text}");
            OK
        }
        Some(path) => match std::fs::write(path, text) {
            Ok(()) => OK,
            Err(e) => {
                eprintln!("wiretale generate: cannot write {}: {e}", path.display());
                BAD_INPUT
            }
        },
    }
}
