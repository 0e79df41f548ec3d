//! The `wiretale` command: the visualizer, headless runs, batch checks and
//! the live mode. See `wiretale --help` and the README.

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    cli::main()
}
