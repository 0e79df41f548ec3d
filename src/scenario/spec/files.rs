//! The file transfer parts of a scenario: a file server's accounts, its
//! files and the services it offers, and an FTP session's mode, type and
//! steps.
//!
//! Not here: the actions that use them (`ActionKind::Ftp` and the others
//! in the parent module), what must hold across them (`validate`).

use super::super::units::Size;
use serde::Deserialize;

/// An account of a file server.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename = "User")]
pub struct FileUserSpec {
    pub name: String,
    pub password: String,
    /// The user's root directory in the server's tree (default `/NAME`).
    #[serde(default)]
    pub home: Option<String>,
    /// May read and list but change nothing.
    #[serde(default)]
    pub read_only: bool,
    /// Most bytes the home may hold; uploads beyond fail (FTP 452).
    #[serde(default)]
    pub quota: Option<Size>,
}

/// A file: its path and either its text or its size (then its content is
/// pseudo-random bytes that depend only on the path and the size).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename = "File")]
pub struct FileSpec {
    pub path: String,
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub size: Option<Size>,
}

/// A protocol a file server speaks.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
pub enum FileService {
    /// FTP on port 21, with data connections from port 20 (active) or to
    /// a port of the server's (passive).
    Ftp,
    /// HTTP on port 80.
    Http,
    /// SCP on port 22.
    Scp,
    /// TELNET on port 23: a login and a shell (`ls`, `cat`, `cd`, `pwd`)
    /// over the same files and users.
    Telnet,
}

pub(super) fn default_file_services() -> Vec<FileService> {
    vec![FileService::Ftp]
}

/// Who opens FTP's data connections.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
pub enum FtpMode {
    /// PORT: the client listens, the server connects from port 20.
    Active,
    /// PASV: the server listens, the client connects.
    #[default]
    Passive,
}

/// TYPE A or TYPE I.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
pub enum FtpType {
    Ascii,
    Binary,
}

/// One step of an FTP session.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub enum FtpStep {
    /// LIST of the current directory.
    List,
    /// LIST of a path.
    ListPath(String),
    /// NLST of the current directory.
    Nlst,
    Retr(String),
    /// STOR of `name` with the given text or a generated content of `size`.
    Stor {
        name: String,
        #[serde(default)]
        text: Option<String>,
        #[serde(default)]
        size: Option<Size>,
    },
    /// APPE, like STOR.
    Appe {
        name: String,
        #[serde(default)]
        text: Option<String>,
        #[serde(default)]
        size: Option<Size>,
    },
    Cwd(String),
    Cdup,
    Pwd,
    Mkd(String),
    Rmd(String),
    Dele(String),
    /// RNFR then RNTO.
    Rename(String, String),
    Type(FtpType),
    Size(String),
    Noop,
    /// Any command line, sent as is.
    Raw(String),
    Quit,
}

impl FtpStep {
    pub fn name(&self) -> &'static str {
        match self {
            FtpStep::List => "List",
            FtpStep::ListPath(_) => "ListPath",
            FtpStep::Nlst => "Nlst",
            FtpStep::Retr(_) => "Retr",
            FtpStep::Stor { .. } => "Stor",
            FtpStep::Appe { .. } => "Appe",
            FtpStep::Cwd(_) => "Cwd",
            FtpStep::Cdup => "Cdup",
            FtpStep::Pwd => "Pwd",
            FtpStep::Mkd(_) => "Mkd",
            FtpStep::Rmd(_) => "Rmd",
            FtpStep::Dele(_) => "Dele",
            FtpStep::Rename(..) => "Rename",
            FtpStep::Type(_) => "Type",
            FtpStep::Size(_) => "Size",
            FtpStep::Noop => "Noop",
            FtpStep::Raw(_) => "Raw",
            FtpStep::Quit => "Quit",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ron<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, ron::error::SpannedError> {
        ron::Options::default()
            .with_default_extension(ron::extensions::Extensions::IMPLICIT_SOME)
            .from_str(text)
    }

    #[test]
    fn ftp_steps_read_as_written() {
        let steps: Vec<FtpStep> =
            ron(r#"[List, Retr("a.txt"), Type(Binary), Stor(name: "n.txt", text: "hi\n")]"#)
                .unwrap();
        let names: Vec<&str> = steps.iter().map(FtpStep::name).collect();
        assert_eq!(names, ["List", "Retr", "Type", "Stor"]);
        assert_eq!(ron::<FtpMode>("Passive").unwrap(), FtpMode::Passive);
    }

    #[test]
    fn a_file_server_serves_ftp_unless_told() {
        assert_eq!(default_file_services(), [FileService::Ftp]);
        assert!(ron::<FileService>("Gopher").is_err());
    }
}
