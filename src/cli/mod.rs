//! Command-line parsing and the subcommands.
//!
//! Exit codes (README): 0 success, 1 an expectation failed, 2 bad input
//! (an unreadable or invalid scenario, bad arguments), with a message that
//! names the file, line and column.

mod bench;
mod check;
mod diagram;
mod diff;
mod generate;
mod gui;
mod quiz;
mod run;
mod serve;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Exit code: every expectation held.
pub const OK: u8 = 0;
/// Exit code: an expectation failed.
pub const FAILED: u8 = 1;
/// Exit code: bad input.
pub const BAD_INPUT: u8 = 2;

#[derive(Parser)]
#[command(
    name = "wiretale",
    version,
    about = "A teaching network simulator: watch e-mail and file transfer happen, packet by packet",
    long_about = None,
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Open the visualizer on a scenario (the default: alice_to_bob).
    Gui(gui::GuiArgs),
    /// Run a scenario headless and print its trace.
    Run(run::RunArgs),
    /// Check scenarios' expectations headless, in parallel (exit 0 all
    /// passed, 1 some failed, 2 bad input).
    Check(check::CheckArgs),
    /// Serve a scenario's mail, FTP, web and TELNET servers on loopback
    /// ports for real clients (curl, Python, a mail program, telnet).
    Serve(serve::ServeArgs),
    /// Compare two runs (two scenarios, or one and a "what if?" change):
    /// where they part, what each did next, both ladders as SVG.
    Diff(diff::DiffArgs),
    /// Predict the next step: answer questions asked before chosen events
    /// of a run (the scenario's quiz, or --generated ones), scored.
    Quiz(quiz::QuizArgs),
    /// Draw a protocol's state machine as SVG for slides (tcp, smtp,
    /// pop3, imap, ftp, telnet, and their clients).
    Diagram(diagram::DiagramArgs),
    /// Write the scenario file of a big network: a star, a tree of
    /// routers or a campus, idle or with every host sending to a server.
    Generate(generate::GenerateArgs),
    /// Measure the scale workloads (idle networks, many transfers, short
    /// and chained connections, long runs with the trace off, the trace
    /// writers) at several sizes, against their targets.
    Bench(bench::BenchArgs),
    /// List the bundled scenarios and labs; with a name, print that one's
    /// file (`wiretale scenarios ftp_firewall_start > answer.ron`).
    Scenarios {
        /// A bundled scenario or lab to print.
        name: Option<String>,
    },
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let code = match cli.command {
        None => gui(None),
        Some(Command::Gui(args)) => gui(Some(args)),
        Some(Command::Run(args)) => run::run(args),
        Some(Command::Check(args)) => check::check(args),
        Some(Command::Serve(args)) => serve::serve(args),
        Some(Command::Diagram(args)) => diagram::diagram(args),
        Some(Command::Diff(args)) => diff::diff(args),
        Some(Command::Quiz(args)) => quiz::quiz(args),
        Some(Command::Generate(args)) => generate::generate(args),
        Some(Command::Bench(args)) => bench::bench(args),
        Some(Command::Scenarios { name }) => scenarios(name.as_deref()),
    };
    ExitCode::from(code)
}

fn gui(args: Option<gui::GuiArgs>) -> u8 {
    gui::gui(args)
}

fn scenarios(name: Option<&str>) -> u8 {
    use wiretale::scenario::bundled::{ALL, LABS, find};
    if let Some(name) = name {
        return match find(name) {
            Some(b) => {
                print!("{}", b.text);
                OK
            }
            None => {
                let names = ALL.iter().chain(LABS).map(|b| b.name);
                let hint = wiretale::scenario::diag::did_you_mean(name, names)
                    .map(|h| format!(" ({h})"))
                    .unwrap_or_default();
                eprintln!("wiretale: no bundled scenario or lab called `{name}`{hint}");
                BAD_INPUT
            }
        };
    }
    let width = ALL
        .iter()
        .chain(LABS)
        .map(|b| b.name.len())
        .max()
        .unwrap_or(0);
    let list = |list: &[wiretale::scenario::bundled::Bundled]| {
        for b in list {
            let title = match wiretale::scenario::parse(b.name, b.text) {
                Ok(s) => s.title,
                Err(e) => format!("(invalid: {})", e.location()),
            };
            println!("{:width$}  {title}", b.name);
        }
    };
    list(ALL);
    println!("\nLabs (grade an answer with `wiretale check --expect LAB ANSWER.ron`):");
    list(LABS);
    OK
}
