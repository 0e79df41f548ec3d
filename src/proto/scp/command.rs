//! The remote command line that starts an scp transfer.
//!
//! The scp client does not send file names in a protocol message: it asks
//! the server to run `scp` itself, in "to" mode (`-t`, the server receives)
//! or "from" mode (`-f`, the server sends), with the path as argument
//! (OpenSSH `scp.c`, `toremote()` and `tolocal()`).

/// Which way the files go, seen from the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// `-t`: files go *to* the server (an upload); the server is the sink.
    To,
    /// `-f`: files come *from* the server (a download); the server is the
    /// source.
    From,
}

/// A parsed `scp [-r] [-p] [-d] -t|-f [--] path` command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScpCommand {
    pub direction: Direction,
    /// `-r`: directories are copied recursively.
    pub recursive: bool,
    /// `-p`: modification times are sent in `T` records.
    pub preserve_times: bool,
    /// `-d`: the target must be a directory (several files were given).
    pub target_must_be_dir: bool,
    /// The remote path, as given (relative paths are relative to the
    /// user's home directory).
    pub path: String,
}

impl ScpCommand {
    /// Parses a command line. Flags may be separate (`-r -p`) or grouped
    /// (`-rp`); `-v` and `-q` are accepted and ignored. The path is the
    /// rest of the line; one pair of surrounding quotes is removed.
    pub fn parse(command: &str) -> Result<ScpCommand, String> {
        let mut words = command.split_whitespace();
        if words.next() != Some("scp") {
            return Err(format!("{}: command not found", first_word(command)));
        }
        let mut direction = None;
        let mut recursive = false;
        let mut preserve_times = false;
        let mut target_must_be_dir = false;
        let mut rest: Vec<&str> = Vec::new();
        for word in words.by_ref() {
            if word == "--" {
                break;
            }
            let Some(flags) = word.strip_prefix('-') else {
                rest.push(word);
                break;
            };
            for flag in flags.chars() {
                match flag {
                    't' | 'f' => {
                        let d = if flag == 't' {
                            Direction::To
                        } else {
                            Direction::From
                        };
                        if direction.is_some_and(|old| old != d) {
                            return Err("scp: -t and -f are exclusive".to_string());
                        }
                        direction = Some(d);
                    }
                    'r' => recursive = true,
                    'p' => preserve_times = true,
                    'd' => target_must_be_dir = true,
                    'v' | 'q' => {}
                    other => return Err(format!("scp: unknown option -{other}")),
                }
            }
        }
        rest.extend(words);
        let direction = direction.ok_or("scp: one of -t or -f is required")?;
        let path = unquote(&rest.join(" ")).to_string();
        if path.is_empty() {
            return Err("scp: missing path".to_string());
        }
        Ok(ScpCommand {
            direction,
            recursive,
            preserve_times,
            target_must_be_dir,
            path,
        })
    }

    /// The command line, as the client sends it.
    pub fn to_command_line(&self) -> String {
        let mut line = "scp".to_string();
        if self.recursive {
            line.push_str(" -r");
        }
        if self.preserve_times {
            line.push_str(" -p");
        }
        if self.target_must_be_dir {
            line.push_str(" -d");
        }
        line.push_str(match self.direction {
            Direction::To => " -t",
            Direction::From => " -f",
        });
        // A path starting with '-' would read as a flag.
        if self.path.starts_with('-') {
            line.push_str(" --");
        }
        line.push(' ');
        line.push_str(&self.path);
        line
    }
}

fn first_word(command: &str) -> &str {
    command.split_whitespace().next().unwrap_or("")
}

/// Removes one pair of matching surrounding quotes.
fn unquote(path: &str) -> &str {
    for quote in ['\'', '"'] {
        if path.len() >= 2
            && let Some(inner) = path.strip_prefix(quote).and_then(|p| p.strip_suffix(quote))
        {
            return inner;
        }
    }
    path
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_what_openssh_sends() {
        let c = ScpCommand::parse("scp -r -p -t -- /uploads").unwrap();
        assert_eq!(
            c,
            ScpCommand {
                direction: Direction::To,
                recursive: true,
                preserve_times: true,
                target_must_be_dir: false,
                path: "/uploads".into()
            }
        );
        assert_eq!(c.to_command_line(), "scp -r -p -t /uploads");
        let c = ScpCommand::parse("scp -v -f 'my file.txt'").unwrap();
        assert_eq!(
            (c.direction, c.path.as_str()),
            (Direction::From, "my file.txt")
        );
        let c = ScpCommand::parse("scp -dt -- -odd").unwrap();
        assert!(c.target_must_be_dir);
        assert_eq!(c.to_command_line(), "scp -d -t -- -odd");
    }

    #[test]
    fn refuses_other_commands() {
        assert_eq!(
            ScpCommand::parse("rm -rf /"),
            Err("rm: command not found".to_string())
        );
        assert!(ScpCommand::parse("scp /x").is_err());
        assert!(ScpCommand::parse("scp -t").is_err());
        assert!(ScpCommand::parse("scp -t -f x").is_err());
        assert!(ScpCommand::parse("scp -x -t x").is_err());
        assert!(ScpCommand::parse("").is_err());
    }
}
