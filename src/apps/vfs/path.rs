//! [`VPath`]: a path normalised *lexically*, before anything is looked up.
//! `..` at the root stays at the root, empty and `.` components vanish,
//! backslashes separate like slashes, and names with control bytes, names
//! too long and paths too deep are refused; so no spelling of a path can
//! leave the root it is resolved in.
//!
//! Not here: what is at a path (the tree in the parent module), decoding
//! percent-encoded URLs (HTTP does that first).

use std::fmt;

use super::VfsError;

/// Longest path text accepted by [`VPath::resolve`], in bytes.
pub const MAX_PATH_LEN: usize = 4096;
/// Longest single name (path component), in bytes, as in most Unix file
/// systems.
pub const MAX_NAME_LEN: usize = 255;
/// Deepest directory nesting a path may reach below a user's root.
pub const MAX_DEPTH: usize = 64;

/// A normalised path: a list of names from some root, with no `.`, `..`
/// or empty components. Displayed as `/a/b` (the root is `/`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct VPath {
    pub(super) parts: Vec<String>,
}

impl VPath {
    /// The root `/`.
    pub fn root() -> VPath {
        VPath { parts: Vec::new() }
    }

    /// Parses a path from the root (a leading `/` is optional).
    pub fn parse(path: &str) -> Result<VPath, VfsError> {
        VPath::root().resolve(path)
    }

    /// Resolves `path`, as a user typed it, against `self` (the current
    /// directory), and normalises the result.
    ///
    /// - A leading `/` (or `\`) starts at the root, otherwise at `self`.
    /// - `/` and `\` both separate components (Windows clients send `\`).
    /// - Empty and `.` components are skipped; `..` goes up one level but
    ///   never above the root, so nothing escapes it.
    /// - NUL and other control bytes, names over [`MAX_NAME_LEN`], paths over
    ///   [`MAX_PATH_LEN`] and results deeper than [`MAX_DEPTH`] are
    ///   [`VfsError::InvalidPath`]. Control bytes are refused because a name
    ///   with CR or LF in it would forge lines in a directory listing.
    pub fn resolve(&self, path: &str) -> Result<VPath, VfsError> {
        if path.len() > MAX_PATH_LEN || path.chars().any(char::is_control) {
            return Err(VfsError::InvalidPath);
        }
        let mut parts = if path.starts_with(['/', '\\']) {
            Vec::new()
        } else {
            self.parts.clone()
        };
        for name in path.split(['/', '\\']) {
            match name {
                "" | "." => {}
                ".." => {
                    parts.pop();
                }
                _ if name.len() > MAX_NAME_LEN => return Err(VfsError::InvalidPath),
                _ => parts.push(name.to_string()),
            }
        }
        if parts.len() > MAX_DEPTH {
            return Err(VfsError::InvalidPath);
        }
        Ok(VPath { parts })
    }

    /// The names from the root, in order.
    pub fn components(&self) -> &[String] {
        &self.parts
    }

    /// True for `/`.
    pub fn is_root(&self) -> bool {
        self.parts.is_empty()
    }

    /// The last name, or `None` at the root.
    pub fn file_name(&self) -> Option<&str> {
        self.parts.last().map(String::as_str)
    }

    /// The containing directory (the root is its own parent).
    pub fn parent(&self) -> VPath {
        let mut parts = self.parts.clone();
        parts.pop();
        VPath { parts }
    }

    /// `self` with one more name appended (the name is not checked).
    pub fn join(&self, name: &str) -> VPath {
        let mut parts = self.parts.clone();
        parts.push(name.to_string());
        VPath { parts }
    }

    /// True if `self` is `other` or lies below it.
    pub fn starts_with(&self, other: &VPath) -> bool {
        self.parts.starts_with(&other.parts)
    }
}

impl fmt::Display for VPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.parts.is_empty() {
            return f.write_str("/");
        }
        for part in &self.parts {
            write!(f, "/{part}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> VPath {
        VPath::parse(s).unwrap()
    }

    #[test]
    fn resolve_normalises_lexically() {
        let cwd = p("/pub/docs");
        let cases = [
            ("a.txt", "/pub/docs/a.txt"),
            ("./a.txt", "/pub/docs/a.txt"),
            ("../a.txt", "/pub/a.txt"),
            ("/a.txt", "/a.txt"),
            ("a//b///c", "/pub/docs/a/b/c"),
            ("a/./b/../c", "/pub/docs/a/c"),
            ("", "/pub/docs"),
            (".", "/pub/docs"),
            ("/", "/"),
        ];
        for (input, want) in cases {
            assert_eq!(cwd.resolve(input).unwrap().to_string(), want, "{input:?}");
        }
    }

    #[test]
    fn no_spelling_of_a_path_climbs_above_the_root() {
        let cwd = p("/pub");
        let attempts = [
            ("..", "/"),
            ("../..", "/"),
            ("../../../../../../etc/passwd", "/etc/passwd"),
            ("/../../etc/passwd", "/etc/passwd"),
            ("..\\..\\..\\etc\\passwd", "/etc/passwd"),
            ("\\..\\etc", "/etc"),
            ("pub/../../../..", "/"),
            ("....//....//etc", "/pub/..../..../etc"),
            ("%2e%2e/%2e%2e/etc", "/pub/%2e%2e/%2e%2e/etc"),
            ("..%2f..%2fetc", "/pub/..%2f..%2fetc"),
            ("..%5c..%5cetc", "/pub/..%5c..%5cetc"),
            ("~/../..", "/"),
            ("/./././..", "/"),
        ];
        for (input, want) in attempts {
            let got = cwd.resolve(input).unwrap();
            assert_eq!(got.to_string(), want, "{input:?}");
            assert!(
                !got.components()
                    .iter()
                    .any(|c| c == ".." || c == "." || c.is_empty())
            );
        }
    }

    #[test]
    fn control_bytes_long_names_and_depth_are_invalid() {
        let root = VPath::root();
        for bad in [
            "a\0b",
            "\0",
            "x/\0/..",
            "line\r\nbreak",
            "tab\there",
            "del\u{7f}",
        ] {
            assert_eq!(root.resolve(bad), Err(VfsError::InvalidPath), "{bad:?}");
        }
        assert_eq!(root.resolve(&"n".repeat(256)), Err(VfsError::InvalidPath));
        assert!(root.resolve(&"n".repeat(255)).is_ok());
        assert_eq!(root.resolve(&"d/".repeat(65)), Err(VfsError::InvalidPath));
        assert!(root.resolve(&"d/".repeat(64)).is_ok());
        assert_eq!(root.resolve(&"/".repeat(5000)), Err(VfsError::InvalidPath));
        // Depth counts the result, so climbing back down is fine.
        assert!(
            root.resolve(&format!("{}{}", "d/".repeat(64), "../".repeat(10)))
                .is_ok()
        );
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;

    fn pathish() -> impl Strategy<Value = String> {
        proptest::collection::vec(
            prop_oneof![
                Just("..".to_string()),
                Just(".".to_string()),
                Just("".to_string()),
                Just("a".to_string()),
                Just("\\".to_string()),
                Just("%2e%2e".to_string()),
                "[a-z.%\\\\]{1,6}",
                any::<String>(),
            ],
            0..12,
        )
        .prop_map(|parts| parts.join("/"))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn resolved_paths_are_normal_and_inside_the_root(cwd in pathish(), input in pathish()) {
            let Ok(cwd) = VPath::parse(&cwd) else { return Ok(()); };
            match cwd.resolve(&input) {
                Ok(path) => {
                    prop_assert!(path.components().len() <= MAX_DEPTH);
                    for name in path.components() {
                        prop_assert!(!name.is_empty() && name != "." && name != "..");
                        prop_assert!(!name.contains(['/', '\\', '\0']));
                    }
                    // Resolving the printed form again changes nothing.
                    prop_assert_eq!(VPath::parse(&path.to_string()), Ok(path.clone()));
                }
                Err(e) => prop_assert_eq!(e, VfsError::InvalidPath),
            }
        }
    }
}
