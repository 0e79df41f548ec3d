//! `wiretale serve`: a scenario's servers on real loopback ports.

use super::{BAD_INPUT, OK};
use clap::Args;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use wiretale::live::{LiveFormat, LiveOptions, LiveServer, TraceSink};
use wiretale::scenario::{self, units};

#[derive(Args)]
pub struct ServeArgs {
    /// A scenario file or the name of a bundled scenario.
    scenario: String,
    /// Each service listens on this plus its port (SMTP on 10025 by
    /// default); each further server host adds 1000.
    #[arg(long, default_value_t = 10_000)]
    port_base: u16,
    /// Serve only this host of the scenario.
    #[arg(long)]
    host: Option<String>,
    /// Write the trace to this file instead of standard output.
    #[arg(long)]
    trace: Option<PathBuf>,
    #[arg(long, value_enum, default_value = "text")]
    format: super::run::Format,
    /// Ports for FTP passive data connections, e.g. 30000-30999.
    #[arg(long, value_parser = parse_range, default_value = "30000-30999")]
    passive_ports: (u16, u16),
    /// Sessions served at once; more are turned away.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    max_sessions: u32,
    /// Close a session that says nothing for this long.
    #[arg(long, default_value = "2min", value_parser = parse_duration)]
    idle_timeout: Duration,
    /// Write the certificate of the scenario's CA (PEM) to this file, for
    /// clients to verify the servers with (`curl --cacert FILE`).
    #[arg(long)]
    ca_out: Option<PathBuf>,
}

fn parse_range(s: &str) -> Result<(u16, u16), String> {
    let (a, b) = s.split_once('-').ok_or("write a range like 30000-30999")?;
    let a: u16 = a
        .trim()
        .parse()
        .map_err(|_| format!("{a:?} is not a port"))?;
    let b: u16 = b
        .trim()
        .parse()
        .map_err(|_| format!("{b:?} is not a port"))?;
    if a == 0 || a > b {
        return Err("the range must run from a lower to a higher port, above 0".into());
    }
    Ok((a, b))
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    units::parse_duration(s).map(|d| Duration::from_nanos(d.as_nanos()))
}

pub fn serve(args: ServeArgs) -> u8 {
    let loaded = match scenario::load(&args.scenario) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("{e}");
            return BAD_INPUT;
        }
    };
    let out: Box<dyn Write + Send> = match &args.trace {
        Some(path) => match std::fs::File::create(path) {
            Ok(f) => Box::new(std::io::BufWriter::new(f)),
            Err(e) => {
                eprintln!("wiretale: cannot write {}: {e}", path.display());
                return BAD_INPUT;
            }
        },
        None => Box::new(std::io::stdout()),
    };
    let sink = TraceSink {
        out: Some(out),
        format: match args.format {
            super::run::Format::Text => LiveFormat::Text,
            super::run::Format::Jsonl => LiveFormat::Jsonl,
        },
        keep_lines: false,
    };
    let opts = LiveOptions {
        port_base: args.port_base,
        host: args.host.clone(),
        passive_ports: args.passive_ports,
        max_sessions: args.max_sessions as usize,
        idle_timeout: args.idle_timeout,
    };
    let server = match LiveServer::start(&loaded, opts, sink) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("wiretale: {e}");
            return BAD_INPUT;
        }
    };
    if let Some(path) = &args.ca_out {
        if let Err(e) = std::fs::write(path, server.ca_pem()) {
            eprintln!("wiretale: cannot write {}: {e}", path.display());
            server.shutdown();
            return BAD_INPUT;
        }
        eprintln!(
            "wiretale: the scenario's CA certificate is in {}",
            path.display()
        );
    }
    eprintln!("{}: serving on 127.0.0.1 (Ctrl-C stops)", loaded.file);
    for b in server.bound() {
        eprintln!("  {:<14} {:<11} {}", b.host, b.service.name(), b.addr);
        if b.service == wiretale::live::Service::Ssh
            && let Some(key) = server.ssh_host_key(&b.host)
        {
            eprintln!(
                "  {:<14} {:<11} host key {} ({})",
                "",
                "",
                wiretale::proto::ssh::fingerprint(&key),
                wiretale::proto::ssh::public_key_line(&key)
            );
        }
    }
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    if let Err(e) = ctrlc::set_handler(move || flag.store(true, Ordering::SeqCst)) {
        eprintln!("wiretale: cannot catch Ctrl-C ({e}); stop the server with a signal");
    }
    while !stop.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(100));
    }
    eprintln!("\nwiretale: shutting down");
    server.shutdown();
    OK
}
