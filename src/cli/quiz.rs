//! `wiretale quiz`: predict the next step in a terminal. The run pauses
//! before each question's event; the answer is typed on standard input
//! (so answers can be piped in), scored, and the results written for the
//! instructor.

use super::{BAD_INPUT, OK};
use clap::Args;
use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::time::Instant;
use wiretale::exercise::{self, quiz};
use wiretale::scenario;
use wiretale::trace::Layer;

#[derive(Args)]
pub struct QuizArgs {
    /// A scenario file or the name of a bundled scenario.
    scenario: String,
    /// Also ask questions generated from the run: reply codes, TCP states,
    /// the SYN-ACK's ack number, who opens FTP's data connection, MX
    /// answers.
    #[arg(long)]
    generated: bool,
    /// At most this many generated questions, spread over the run.
    #[arg(long, default_value_t = 10)]
    max: usize,
    /// The student's name, for the results (default: $USER).
    #[arg(long)]
    name: Option<String>,
    /// Write the results here: FILE.json or FILE.csv.
    #[arg(long, value_name = "FILE")]
    results: Option<PathBuf>,
}

pub fn quiz(args: QuizArgs) -> u8 {
    let loaded = match scenario::load(&args.scenario) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("{e}");
            return BAD_INPUT;
        }
    };
    if let Some(Err(e)) = args.results.as_deref().map(quiz::results_path) {
        eprintln!("wiretale quiz: {e}");
        return BAD_INPUT;
    }
    let run = match exercise::run(&loaded.scenario) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("wiretale quiz: {e}");
            return BAD_INPUT;
        }
    };
    let trace = run.world.trace();
    let (mut questions, missing) = quiz::from_scenario(&loaded.scenario, trace);
    for m in missing {
        eprintln!("wiretale quiz: {m} matched no event of the run; it is not asked");
    }
    if args.generated {
        questions.extend(quiz::spread(quiz::generated(trace), args.max));
    }
    if questions.is_empty() {
        eprintln!(
            "wiretale quiz: {} has no quiz: questions; add --generated for questions made from the run",
            loaded.file
        );
        return BAD_INPUT;
    }
    let mut session = quiz::Session::new(questions);
    let student = args
        .name
        .clone()
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| "student".into());
    let started = Instant::now();
    let stdin = std::io::stdin();
    let mut input = stdin.lock();
    let mut shown = 0;
    let total = session.questions.len();
    let mut ended = false;
    println!(
        "{}: {total} questions. Answer each, then press Enter.\n",
        loaded.scenario.title
    );
    while let Some(q) = session.next().cloned() {
        // What led up to the question: the last few lines a reader follows.
        let lead: Vec<String> = trace.records[shown..q.event]
            .iter()
            .filter(|r| {
                !matches!(trace.layer(r), Layer::Link | Layer::Ip)
                    && !matches!(trace.event_name(r), "cwnd" | "rtt")
            })
            .map(|r| trace.to_text(r))
            .collect();
        for l in lead.iter().skip(lead.len().saturating_sub(6)) {
            println!("  {}", l.trim_end());
        }
        shown = q.event;
        let number = session.answers.len() + 1;
        println!("\nQuestion {number} of {total} (at {}): {}", q.time, q.text);
        for (k, c) in q.choices.iter().enumerate() {
            println!("  {}. {c}", k + 1);
        }
        print!("> ");
        let _ = std::io::stdout().flush();
        let asked = Instant::now();
        let mut line = String::new();
        let given = if ended {
            None
        } else {
            match input.read_line(&mut line) {
                Ok(0) | Err(_) => {
                    ended = true;
                    None
                }
                Ok(_) => Some(line.trim().to_string()),
            }
        };
        let right = session.answer(given.as_deref(), asked.elapsed().as_secs_f64());
        match (given, right) {
            (None, _) => println!("(no answer) The answer is {}.", q.answer),
            (Some(_), Some(true)) => println!("Right: {}.", q.answer),
            (Some(g), _) => println!("Not {g:?}: the answer is {}.", q.answer),
        }
        println!("  the event that shows it: {}\n", q.proof);
    }
    let seconds = started.elapsed().as_secs_f64();
    println!("Score: {} of {total}.", session.score());
    if let Some(path) = &args.results {
        let results = quiz::Results {
            student: &student,
            scenario: &loaded.file,
            session: &session,
            seconds,
        };
        if let Err(e) = results.write(path) {
            eprintln!("wiretale quiz: cannot write {}: {e}", path.display());
            return BAD_INPUT;
        }
        eprintln!("wrote the results to {}", path.display());
    }
    OK
}
