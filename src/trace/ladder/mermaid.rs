//! The ladder as a Mermaid sequence diagram: a participant per column, an
//! arrow per line (crossed when lost, dotted for FTP data connections),
//! ports named when there are several connections.
//!
//! Not here: positions and slants (Mermaid lays out by itself; the SVG has
//! them, see `svg`).

use super::super::Protocol;
use super::Ladder;
use std::fmt::Write as _;

/// A Mermaid participant id: letters, digits and underscores.
fn mermaid_id(name: &str) -> String {
    let id: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    format!("h_{id}")
}

/// Mermaid text escapes: `;` and `#` would end or start an entity.
fn mermaid_text(s: &str) -> String {
    // One pass: the `;` of an escape just written is not escaped again.
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '#' => out.push_str("#35;"),
            ';' => out.push_str("#59;"),
            '\r' | '\n' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// The ladder as a Mermaid sequence diagram.
pub fn to_mermaid(l: &Ladder, title: &str) -> String {
    let mut s = String::from("sequenceDiagram\n");
    let _ = writeln!(s, "    title {}", mermaid_text(title));
    for c in &l.columns {
        let _ = writeln!(
            s,
            "    participant {} as {}",
            mermaid_id(c),
            mermaid_text(c)
        );
    }
    // With several connections each arrow names its ports, and FTP's data
    // connections are dotted: Mermaid has two line styles.
    let several = l.conns.len() > 1;
    for a in &l.arrows {
        let (f, t) = (mermaid_id(&l.columns[a.from]), mermaid_id(&l.columns[a.to]));
        let dotted = a.protocol == Protocol::FtpData;
        let arrow = match (a.lost, dotted) {
            (true, false) => "-x",
            (true, true) => "--x",
            (false, false) => "->>",
            (false, true) => "-->>",
        };
        let lost = if a.lost { " (lost)" } else { "" };
        let ports = match a.ports {
            Some((p, q)) if several => format!("[{p}\u{2192}{q}] "),
            _ => String::new(),
        };
        let label: Vec<String> = a.label.lines().map(mermaid_text).collect();
        let _ = writeln!(s, "    {f}{arrow}{t}: {ports}{}{lost}", label.join("<br/>"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::super::svg::tests::ladder;
    use super::*;

    #[test]
    fn ids_and_text_are_what_mermaid_accepts() {
        assert_eq!(mermaid_id("mail.crepes.fr"), "h_mail_crepes_fr");
        assert_eq!(mermaid_text("a;b\r\nc"), "a#59;b  c");
        // A `#` is written once: its escape's `;` is not escaped again.
        assert_eq!(mermaid_text("#1; x"), "#35;1#59; x");
    }

    #[test]
    fn one_arrow_per_line_crossed_when_lost() {
        let m = to_mermaid(&ladder("EHLO alice-pc", false), "SMTP");
        assert_eq!(
            m,
            "sequenceDiagram\n    title SMTP\n    participant h_alice_pc as alice-pc\n    \
             participant h_mail_crepes_fr as mail.crepes.fr\n    \
             h_alice_pc->>h_mail_crepes_fr: EHLO alice-pc\n"
        );
        let lost = to_mermaid(&ladder("QUIT", true), "SMTP");
        assert!(
            lost.ends_with("h_alice_pc-xh_mail_crepes_fr: QUIT (lost)\n"),
            "{lost}"
        );
    }
}
