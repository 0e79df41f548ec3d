//! The scenarios shipped with wiretale, compiled into the binary so that
//! `wiretale run tcp_handshake` works from any directory.
//!
//! It holds their text only; they are parsed and checked like any file.

/// A bundled scenario.
#[derive(Debug, Clone, Copy)]
pub struct Bundled {
    /// The file name without `.ron`.
    pub name: &'static str,
    pub text: &'static str,
}

/// Every bundled scenario, in the order `wiretale scenarios` lists them.
pub const ALL: &[Bundled] = &[
    Bundled {
        name: "alice_to_bob",
        text: include_str!("../../scenarios/alice_to_bob.ron"),
    },
    Bundled {
        name: "isp_to_organization",
        text: include_str!("../../scenarios/isp_to_organization.ron"),
    },
    Bundled {
        name: "mail_retry",
        text: include_str!("../../scenarios/mail_retry.ron"),
    },
    Bundled {
        name: "pop_vs_imap",
        text: include_str!("../../scenarios/pop_vs_imap.ron"),
    },
    Bundled {
        name: "tcp_handshake",
        text: include_str!("../../scenarios/tcp_handshake.ron"),
    },
    Bundled {
        name: "tcp_lossy_transfer",
        text: include_str!("../../scenarios/tcp_lossy_transfer.ron"),
    },
    Bundled {
        name: "ftp_session",
        text: include_str!("../../scenarios/ftp_session.ron"),
    },
    Bundled {
        name: "ftp_passive",
        text: include_str!("../../scenarios/ftp_passive.ron"),
    },
    Bundled {
        name: "ftp_errors",
        text: include_str!("../../scenarios/ftp_errors.ron"),
    },
    Bundled {
        name: "ftp_vs_http",
        text: include_str!("../../scenarios/ftp_vs_http.ron"),
    },
    Bundled {
        name: "scp_vs_ftp",
        text: include_str!("../../scenarios/scp_vs_ftp.ron"),
    },
    Bundled {
        name: "smtp_starttls",
        text: include_str!("../../scenarios/smtp_starttls.ron"),
    },
    Bundled {
        name: "telnet_vs_ssh",
        text: include_str!("../../scenarios/telnet_vs_ssh.ron"),
    },
];

/// The bundled labs (`labs/`): for each, the instructor's reference with
/// the expectations a student's answer is graded against (`NAME`), and the
/// broken scenario students start from (`NAME_start`).
pub const LABS: &[Bundled] = &[
    Bundled {
        name: "ftp_firewall",
        text: include_str!("../../labs/ftp_firewall.ron"),
    },
    Bundled {
        name: "ftp_firewall_start",
        text: include_str!("../../labs/ftp_firewall_start.ron"),
    },
    Bundled {
        name: "missing_mx",
        text: include_str!("../../labs/missing_mx.ron"),
    },
    Bundled {
        name: "missing_mx_start",
        text: include_str!("../../labs/missing_mx_start.ron"),
    },
];

/// The bundled scenario or lab called `name` (with or without `.ron`, or
/// a path ending in that file name).
pub fn find(name: &str) -> Option<&'static Bundled> {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let base = base.strip_suffix(".ron").unwrap_or(base);
    ALL.iter().chain(LABS).find(|b| b.name == base)
}
