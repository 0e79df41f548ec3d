//! wiretale's integration tests, one test binary for all of them: each
//! test binary links the whole library (with the visualizer, Bevy), so one
//! binary instead of seventeen saves minutes of linking and gigabytes of
//! disk. Run one group with a filter, e.g. `cargo test --test integration
//! live_mail::`. The visualizer's tests are in `tests/gui.rs`.

mod files_support;
mod live_common;
mod mail_support;

mod captures;
mod cli_run;
mod diagrams;
mod exercises;
mod files_ftp;
mod files_scenarios;
mod files_security;
mod fuzz_corpus;
mod golden;
mod live_files;
mod live_hostile;
mod live_mail;
mod live_ssh;
mod live_telnet;
mod live_tls;
mod mail_imap;
mod mail_imap_validation;
mod mail_scenarios;
mod mail_validation;
mod mail_world;
mod plots;
mod scenario_errors;
mod scenario_routes;
mod scenario_triggers;
mod smoltcp_interop;
mod state_contract;
mod story;
mod tcp_world;
