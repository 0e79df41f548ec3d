//! Errors in scenario files, reported the way compilers report them: the
//! file, line and column, the offending line and a caret under the spot,
//! and a hint ("did you mean ...?") where one helps.
//!
//! RON syntax and type errors come with a position from the parser. The
//! semantic checks (an unknown host, a duplicate address) work on the
//! deserialized values, which carry no positions, so [`Source`] finds the
//! offending text again by searching for it.

use std::fmt;

/// One problem at one place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub file: String,
    /// 1-based line; 0 when the problem has no place in the file.
    pub line: usize,
    /// 1-based column, in characters.
    pub col: usize,
    /// Characters to underline.
    pub len: usize,
    pub message: String,
    pub help: Option<String>,
    /// The text of the line, for the excerpt.
    pub source_line: Option<String>,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "error: {}", self.message)?;
        if self.line == 0 {
            write!(f, "  --> {}", self.file)?;
        } else {
            write!(f, "  --> {}:{}:{}", self.file, self.line, self.col)?;
        }
        if let Some(text) = &self.source_line {
            let num = self.line.to_string();
            let pad = " ".repeat(num.len());
            writeln!(f)?;
            writeln!(f, "{pad} |")?;
            writeln!(f, "{num} | {}", text.replace('\t', " "))?;
            let caret = "^".repeat(self.len.max(1));
            write!(
                f,
                "{pad} | {}{caret}",
                " ".repeat(self.col.saturating_sub(1))
            )?;
            if let Some(h) = &self.help {
                write!(f, " {h}")?;
            }
        } else if let Some(h) = &self.help {
            write!(f, "\n  = help: {h}")?;
        }
        Ok(())
    }
}

/// Every problem found in a scenario file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScenarioError {
    pub diagnostics: Vec<Diagnostic>,
}

impl ScenarioError {
    /// A problem with the file as a whole (unreadable, not text).
    pub fn whole_file(file: &str, message: String) -> ScenarioError {
        ScenarioError {
            diagnostics: vec![Diagnostic {
                file: file.to_owned(),
                line: 0,
                col: 0,
                len: 0,
                message,
                help: None,
                source_line: None,
            }],
        }
    }

    /// The first problem's location as `file:line:column`.
    pub fn location(&self) -> String {
        match self.diagnostics.first() {
            Some(d) if d.line > 0 => format!("{}:{}:{}", d.file, d.line, d.col),
            Some(d) => d.file.clone(),
            None => String::new(),
        }
    }
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.diagnostics.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
                writeln!(f)?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ScenarioError {}

/// A scenario's text, for placing diagnostics.
pub struct Source<'a> {
    pub file: &'a str,
    pub text: &'a str,
}

impl Source<'_> {
    /// A diagnostic at 1-based `line` and `col`.
    pub fn at(
        &self,
        line: usize,
        col: usize,
        len: usize,
        message: String,
        help: Option<String>,
    ) -> Diagnostic {
        let source_line = self
            .text
            .lines()
            .nth(line.saturating_sub(1))
            .map(str::to_owned);
        Diagnostic {
            file: self.file.to_owned(),
            line,
            col,
            len,
            message,
            help,
            source_line,
        }
    }

    /// A diagnostic at a byte offset.
    pub fn at_offset(
        &self,
        offset: usize,
        len: usize,
        message: String,
        help: Option<String>,
    ) -> Diagnostic {
        let before = &self.text[..offset.min(self.text.len())];
        let line = before.matches('\n').count() + 1;
        let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        self.at(line, col, len, message, help)
    }

    /// A diagnostic at the `nth` (0-based) appearance of `"needle"` (with
    /// its quotes) after `start`, or at the start of the file if it is not
    /// found.
    pub fn at_quoted(
        &self,
        needle: &str,
        nth: usize,
        message: String,
        help: Option<String>,
    ) -> Diagnostic {
        let quoted = format!("\"{needle}\"");
        match self.find_nth(&quoted, nth) {
            Some(off) => self.at_offset(off, quoted.chars().count(), message, help),
            None => self.at(1, 1, 1, message, help),
        }
    }

    /// A diagnostic at the first `"needle"` inside the `index`-th (0-based)
    /// item written `tag(` in the section `section:` (e.g. the third
    /// `Link(` of `links:`), falling back to the first `"needle"` anywhere.
    pub fn at_quoted_in_item(
        &self,
        section: &str,
        tag: &str,
        index: usize,
        needle: &str,
        message: String,
        help: Option<String>,
    ) -> Diagnostic {
        let quoted = format!("\"{needle}\"");
        let found = self
            .item_span(section, tag, index)
            .and_then(|span| self.find_nth_within(span, &quoted, 0));
        match found {
            Some(off) => self.at_offset(off, quoted.chars().count(), message, help),
            None => self.at_quoted(needle, 0, message, help),
        }
    }

    /// A diagnostic at the `nth` (0-based) appearance of `needle` as
    /// written (not quoted) inside the `index`-th `tag(` item of
    /// `section`, falling back to its first appearance anywhere.
    #[allow(clippy::too_many_arguments)]
    pub fn at_text_in_item(
        &self,
        section: &str,
        tag: &str,
        index: usize,
        needle: &str,
        nth: usize,
        message: String,
        help: Option<String>,
    ) -> Diagnostic {
        let found = self
            .item_span(section, tag, index)
            .and_then(|span| self.find_nth_within(span, needle, nth));
        match found {
            Some(off) => self.at_offset(off, needle.chars().count(), message, help),
            None => self.at_text(needle, 0, message, help),
        }
    }

    /// A diagnostic at the `nth` (0-based) `"needle"` after the start of
    /// `section:`, falling back to its first appearance anywhere.
    pub fn at_quoted_in_section(
        &self,
        section: &str,
        needle: &str,
        nth: usize,
        message: String,
        help: Option<String>,
    ) -> Diagnostic {
        let quoted = format!("\"{needle}\"");
        let found = self
            .find_nth(&format!("{section}:"), 0)
            .and_then(|start| self.find_nth_after(start, &quoted, nth));
        match found {
            Some(off) => self.at_offset(off, quoted.chars().count(), message, help),
            None => self.at_quoted(needle, 0, message, help),
        }
    }

    /// The bytes of the `index`-th (0-based) item of the list `section:
    /// [...]`, e.g. the third `Link(...)` of `links:`. Items are found by
    /// their brackets (outside strings and comments), so an item is never
    /// confused with another one or with something nested in it. `tag`
    /// names the items for readers of the call; an item written without
    /// it (`Link(` may be left out in RON) is found all the same.
    pub fn item_span(&self, section: &str, _tag: &str, index: usize) -> Option<(usize, usize)> {
        let sec = self.find_nth(&format!("{section}:"), 0)?;
        let bytes = self.text.as_bytes();
        let mut i = sec + section.len() + 1;
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        if bytes.get(i) != Some(&b'[') {
            return None;
        }
        i += 1;
        let (mut depth, mut item, mut start) = (0usize, 0usize, None::<usize>);
        while i < bytes.len() {
            let c = bytes[i];
            match c {
                b'"' => {
                    start.get_or_insert(i);
                    i += 1;
                    while i < bytes.len() && bytes[i] != b'"' {
                        i += if bytes[i] == b'\\' { 2 } else { 1 };
                    }
                }
                b'/' if bytes.get(i + 1) == Some(&b'/') => {
                    while i < bytes.len() && bytes[i] != b'\n' {
                        i += 1;
                    }
                    continue;
                }
                b'(' | b'[' | b'{' => {
                    start.get_or_insert(i);
                    depth += 1;
                }
                b')' | b']' | b'}' => {
                    if depth == 0 {
                        // The end of the list.
                        return match start {
                            Some(st) if item == index => Some((st, i)),
                            _ => None,
                        };
                    }
                    depth -= 1;
                }
                b',' if depth == 0 => {
                    if let Some(st) = start.take() {
                        if item == index {
                            return Some((st, i));
                        }
                        item += 1;
                    }
                }
                c if depth == 0 && !c.is_ascii_whitespace() => {
                    start.get_or_insert(i);
                }
                _ => {}
            }
            i += 1;
        }
        None
    }

    /// Byte offset of the `nth` appearance of `needle` outside comments
    /// within `span`.
    fn find_nth_within(&self, span: (usize, usize), needle: &str, nth: usize) -> Option<usize> {
        self.find_nth_after(span.0, needle, nth)
            .filter(|&off| off + needle.len() <= span.1)
    }

    /// A diagnostic at the `nth` appearance of `needle` as written (not
    /// quoted), e.g. a field name.
    pub fn at_text(
        &self,
        needle: &str,
        nth: usize,
        message: String,
        help: Option<String>,
    ) -> Diagnostic {
        match self.find_nth(needle, nth) {
            Some(off) => self.at_offset(off, needle.chars().count(), message, help),
            None => self.at(1, 1, 1, message, help),
        }
    }

    /// Byte offset of the `nth` appearance of `needle` outside comments.
    fn find_nth(&self, needle: &str, nth: usize) -> Option<usize> {
        self.find_nth_after(0, needle, nth)
    }

    /// Byte offset of the `nth` appearance of `needle` outside comments,
    /// at or after byte `from`.
    fn find_nth_after(&self, mut from: usize, needle: &str, nth: usize) -> Option<usize> {
        let mut seen = 0;
        while let Some(i) = self.text[from..].find(needle) {
            let off = from + i;
            if !self.in_comment(off) {
                if seen == nth {
                    return Some(off);
                }
                seen += 1;
            }
            from = off + needle.len().max(1);
        }
        None
    }

    /// True if `off` lies after `//` on its line.
    fn in_comment(&self, off: usize) -> bool {
        let line_start = self.text[..off].rfind('\n').map_or(0, |i| i + 1);
        let line = &self.text[line_start..off];
        // A `//` inside a string on this line does not start a comment.
        let mut in_str = false;
        let mut prev = ' ';
        let chars: Vec<char> = line.chars().collect();
        for (i, &c) in chars.iter().enumerate() {
            if c == '"' && prev != '\\' {
                in_str = !in_str;
            }
            if !in_str && c == '/' && chars.get(i + 1) == Some(&'/') {
                return true;
            }
            prev = c;
        }
        false
    }
}

/// Levenshtein distance, for "did you mean".
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, &cb) in b.iter().enumerate() {
            let cost = usize::from(ca != cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The candidate closest to `wrong`, if it is close enough to be a typo.
pub fn did_you_mean<'a>(
    wrong: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    let limit = (wrong.chars().count() / 3).max(2);
    let wrong_l = wrong.to_lowercase();
    candidates
        .into_iter()
        .map(|c| {
            let c_l = c.to_lowercase();
            // On a tie, prefer a candidate that starts like the typo and
            // then one that contains it ("ap" is more likely "app" than
            // "ip").
            let same_start = c_l.chars().next() == wrong_l.chars().next();
            (
                distance(&wrong_l, &c_l),
                !same_start,
                !c_l.contains(&wrong_l),
                c,
            )
        })
        .filter(|(d, ..)| *d <= limit)
        .min_by_key(|(d, a, b, _)| (*d, *a, *b))
        .map(|(.., c)| format!("did you mean `{c}`?"))
}

/// Turns a RON parser error into a diagnostic with a readable message.
pub fn from_ron(src: &Source<'_>, err: &ron::error::SpannedError) -> Diagnostic {
    use ron::error::Error as E;
    let pos = &err.span.start;
    let (message, help, len) = match &err.code {
        E::NoSuchStructField {
            expected,
            found,
            outer,
        } => (
            format!(
                "unknown field `{found}`{}",
                outer
                    .as_ref()
                    .map(|o| format!(" in `{o}`"))
                    .unwrap_or_default()
            ),
            did_you_mean(found, expected.iter().copied())
                .or_else(|| Some(format!("expected one of: {}", expected.join(", ")))),
            found.chars().count(),
        ),
        E::NoSuchEnumVariant {
            expected,
            found,
            outer,
        } => (
            format!(
                "unknown variant `{found}`{}",
                outer
                    .as_ref()
                    .map(|o| format!(" for `{o}`"))
                    .unwrap_or_default()
            ),
            did_you_mean(found, expected.iter().copied())
                .or_else(|| Some(format!("expected one of: {}", expected.join(", ")))),
            found.chars().count(),
        ),
        E::MissingStructField { field, outer } => (
            format!(
                "missing field `{field}`{}",
                outer
                    .as_ref()
                    .map(|o| format!(" in `{o}`"))
                    .unwrap_or_default()
            ),
            Some(format!(
                "add `{field}: ...` to the {} that ends here",
                outer
                    .as_deref()
                    .map_or("structure".to_owned(), |o| format!("`{o}(...)`"))
            )),
            1,
        ),
        E::IntegerOutOfBounds => (
            "number out of range for this field".to_owned(),
            Some("ports and counts are whole numbers from 0 up".to_owned()),
            1,
        ),
        E::Eof => (
            "unexpected end of file".to_owned(),
            Some("is a bracket or parenthesis left open?".to_owned()),
            1,
        ),
        other => (other.to_string(), None, 1),
    };
    // The parser's span ends after the offending token: underline from the
    // start of the span when it covers the token.
    let (line, col) = if err.span.end.line == pos.line && err.span.end.col > pos.col && len > 1 {
        (pos.line, err.span.end.col.saturating_sub(len).max(pos.col))
    } else {
        (pos.line, pos.col)
    };
    // A value our own deserializers refused ("fast" is not a duration) is
    // reported inside or just after its string: underline the string.
    if matches!(err.code, E::Message(_) | E::InvalidValueForType { .. })
        && let Some(text) = src.text.lines().nth(line.saturating_sub(1))
        && let Some((open, close)) = string_around(text, col.saturating_sub(1))
    {
        return src.at(line, open + 1, close - open + 1, message, help);
    }
    src.at(line.max(1), col.max(1), len, message, help)
}

/// The string literal on `line` (as character indices of its quotes) that
/// contains or ends just before character index `at`.
fn string_around(line: &str, at: usize) -> Option<(usize, usize)> {
    let chars: Vec<char> = line.chars().collect();
    let mut open: Option<usize> = None;
    let mut i = 0;
    while i < chars.len() {
        match (chars[i], open) {
            ('\\', Some(_)) => i += 1,
            ('"', None) => open = Some(i),
            ('"', Some(o)) => {
                if o <= at && at <= i + 1 {
                    return Some((o, i));
                }
                open = None;
            }
            _ => {}
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_and_excerpts() {
        assert_eq!(
            did_you_mean("bob-mial", ["alice", "bob-mail"]),
            Some("did you mean `bob-mail`?".into())
        );
        assert_eq!(did_you_mean("zzz", ["alice", "bob-mail"]), None);
        let text = "Scenario(\n  // \"bob\" in a comment\n  hosts: [\"bob\"],\n)";
        let src = Source {
            file: "x.ron",
            text,
        };
        let d = src.at_quoted("bob", 0, "unknown host".into(), None);
        assert_eq!((d.line, d.col, d.len), (3, 11, 5));
        let shown = d.to_string();
        assert!(shown.contains("--> x.ron:3:11"), "{shown}");
        assert!(shown.contains("  hosts: [\"bob\"],"), "{shown}");
    }
}
