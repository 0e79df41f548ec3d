//! How the listener shows what it read: lines and commands cut from a
//! stream, bytes as printable text or hex, and the two measures that tell
//! ciphertext from text (the entropy of the bytes, the longest printable
//! run).

/// Bytes shown in a preview.
const PREVIEW_LEN: usize = 64;

/// The first line of `data`, without its terminator.
pub(super) fn first_line(data: &[u8]) -> &[u8] {
    let end = data.iter().position(|&b| b == b'\n').unwrap_or(data.len());
    let line = &data[..end];
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// True if `text` starts with `prefix`, ignoring ASCII case.
pub(super) fn starts_with_ignore_case(text: &[u8], prefix: &str) -> bool {
    text.len() >= prefix.len() && text[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
}

/// The start of the line after the one `cursor` is in.
pub(super) fn next_line_start(data: &[u8], cursor: usize) -> usize {
    data.get(cursor..)
        .and_then(|rest| rest.iter().position(|&b| b == b'\n'))
        .map_or(data.len(), |p| cursor + p + 1)
}

/// A line of a run: where it starts, and its bytes without CRLF.
pub(super) struct LineAt<'a> {
    pub(super) start: usize,
    pub(super) text: &'a [u8],
}

/// The lines of a run, the last one possibly unterminated.
pub(super) fn lines(data: &[u8]) -> Vec<LineAt<'_>> {
    let mut out = Vec::new();
    let mut start = 0;
    while start < data.len() {
        let end = data[start..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(data.len(), |p| start + p);
        let line = &data[start..end];
        out.push(LineAt {
            start,
            text: line.strip_suffix(b"\r").unwrap_or(line),
        });
        start = end + 1;
    }
    out
}

/// The text of a line, for a report.
pub(super) fn show(bytes: &[u8]) -> String {
    bytes
        .iter()
        .take(200)
        .map(|&b| {
            if (0x20..0x7f).contains(&b) {
                char::from(b)
            } else {
                '.'
            }
        })
        .collect()
}

/// `(command word uppercased, argument)` of a text command line.
pub(super) fn split_command(line: &[u8]) -> (String, String) {
    let text = String::from_utf8_lossy(line);
    let (word, arg) = text.split_once(' ').unwrap_or((&text, ""));
    (word.to_ascii_uppercase(), arg.to_string())
}

/// Shannon entropy of the byte histogram, in bits per byte: near 8 for
/// ciphertext, about 4 to 5 for English text.
pub fn byte_entropy(data: &[u8]) -> f64 {
    if data.is_empty() {
        return 0.0;
    }
    let mut counts = [0u64; 256];
    for &b in data {
        counts[usize::from(b)] += 1;
    }
    let total = data.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f64 / total;
            -p * p.log2()
        })
        .sum()
}

/// The longest run of printable ASCII (space to `~`).
pub fn longest_printable_run(data: &[u8]) -> &[u8] {
    let mut best = &data[..0];
    let mut start = 0;
    for (i, &b) in data.iter().enumerate() {
        if !(0x20..0x7f).contains(&b) {
            start = i + 1;
        } else if i + 1 - start > best.len() {
            best = &data[start..=i];
        }
    }
    best
}

/// The first bytes, as text if they are text, else as hex.
pub(super) fn preview(data: &[u8]) -> String {
    preview_n(data, PREVIEW_LEN)
}

/// The first `n` bytes, as [`preview`] shows them.
pub(super) fn preview_n(data: &[u8], n: usize) -> String {
    let head = &data[..data.len().min(n)];
    let more = if data.len() > n { "..." } else { "" };
    let printable = head
        .iter()
        .filter(|&&b| (0x20..0x7f).contains(&b) || b == b'\n' || b == b'\r' || b == b'\t')
        .count();
    if printable * 10 >= head.len() * 9 {
        let text: String = head
            .iter()
            .map(|&b| match b {
                b'\n' => "\\n".to_string(),
                b'\r' => "\\r".to_string(),
                b'\t' => "\\t".to_string(),
                0x20..0x7f => char::from(b).to_string(),
                _ => ".".to_string(),
            })
            .collect();
        format!("\"{text}{more}\"")
    } else {
        let hex: Vec<String> = head.iter().take(16).map(|b| format!("{b:02x}")).collect();
        let more = if data.len() > 16 { " ..." } else { "" };
        format!("binary {}{more}", hex.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers() {
        assert_eq!(byte_entropy(b"aaaa"), 0.0);
        let all: Vec<u8> = (0..=255).collect();
        assert!((byte_entropy(&all) - 8.0).abs() < 1e-9);
        assert_eq!(longest_printable_run(b"\x00abc\x01de"), b"abc");
        assert_eq!(preview(&[0u8, 1, 2]), "binary 00 01 02");
    }

    #[test]
    fn lines_and_commands() {
        let data = b"USER alice\r\nPASS x\nlast";
        let found: Vec<(usize, &[u8])> = lines(data).iter().map(|l| (l.start, l.text)).collect();
        assert_eq!(
            found,
            vec![(0, &b"USER alice"[..]), (12, b"PASS x"), (19, b"last")]
        );
        assert_eq!(first_line(data), b"USER alice");
        assert_eq!(next_line_start(data, 3), 12);
        assert_eq!(next_line_start(data, 20), data.len());
        assert_eq!(
            split_command(b"user alice smith"),
            ("USER".to_string(), "alice smith".to_string())
        );
        assert!(starts_with_ignore_case(b"subject: hi", "Subject:"));
        assert!(!starts_with_ignore_case(b"Sub", "Subject:"));
        assert_eq!(show(b"a\x00b"), "a.b");
        assert_eq!(preview_n(b"hello\nworld", 5), "\"hello...\"");
    }
}
