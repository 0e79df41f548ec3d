//! Logging in: LOGIN and AUTHENTICATE PLAIN (RFC 3501 §6.2, RFC 4616)
//! against the store's passwords, LOGINDISABLED until STARTTLS when the
//! server is so configured (RFC 3501 §6.2.1), and the capabilities the
//! server advertises before and after.
//!
//! Not here: STARTTLS itself (the driver puts TLS under the session; see
//! the parent module), the framing limits' use (`framing`).

use imap_codec::imap_types::{
    auth::AuthMechanism,
    core::NonEmptyVec,
    response::{Capability, Code},
};

use super::super::framing::FrameLimits;
use super::super::store::MailStore;
use super::{CODE_AUTHENTICATIONFAILED, Done, ImapServer, bad, code, no, ok_code};

/// What this server advertises in CAPABILITY: with `starttls`, STARTTLS
/// (and, with `login_disabled`, LOGINDISABLED and no AUTH=).
pub fn capabilities_with(starttls: bool, login_disabled: bool) -> NonEmptyVec<Capability<'static>> {
    let mut caps = capabilities().into_inner();
    if starttls {
        caps.push(Capability::StartTls);
    }
    if login_disabled {
        caps.retain(|c| !matches!(c, Capability::Auth(_) | Capability::SaslIr));
        caps.push(Capability::LoginDisabled);
    }
    NonEmptyVec::try_from(caps).unwrap_or_else(|_| NonEmptyVec::from(Capability::Imap4Rev1))
}

/// What this server advertises in CAPABILITY over a connection that needs
/// nothing more.
pub fn capabilities() -> NonEmptyVec<Capability<'static>> {
    let mut caps = vec![
        Capability::Imap4Rev1,
        Capability::LiteralPlus,
        Capability::Idle,
        Capability::Move,
    ];
    for other in ["UNSELECT", "CHILDREN", "UIDPLUS", "NAMESPACE", "ID"] {
        if let Ok(c) = Capability::try_from(other) {
            caps.push(c);
        }
    }
    caps.push(Capability::Enable);
    if let Ok(c) = Capability::try_from("SPECIAL-USE") {
        caps.push(c);
    }
    caps.push(Capability::Auth(AuthMechanism::Plain));
    caps.push(Capability::SaslIr);
    NonEmptyVec::try_from(caps).unwrap_or_else(|_| NonEmptyVec::from(Capability::Imap4Rev1))
}

impl ImapServer {
    pub(super) fn login_disabled(&self) -> bool {
        self.config.require_tls_for_login && !self.secure
    }

    pub(super) fn current_capabilities(&self) -> NonEmptyVec<Capability<'static>> {
        if self.user.is_some() {
            return capabilities();
        }
        capabilities_with(self.config.starttls && !self.secure, self.login_disabled())
    }

    pub(super) fn limits(&self) -> FrameLimits {
        FrameLimits {
            max_line: self.config.max_line,
            max_literal: self.config.max_literal,
            max_message: self
                .config
                .max_literal
                .saturating_add(self.config.max_line * 4),
        }
    }

    pub(super) fn try_login(
        &mut self,
        store: &mut dyn MailStore,
        user: &str,
        password: &str,
    ) -> Done {
        if store.check_password(user, password) {
            self.user = Some(user.to_string());
            self.failed_logins = 0;
            ok_code(Code::Capability(capabilities()), "Logged in")
        } else {
            self.failed_logins += 1;
            no(Some(code(CODE_AUTHENTICATIONFAILED)), "Invalid credentials")
        }
    }

    /// RFC 4616 PLAIN: `authzid NUL authcid NUL password`.
    pub(super) fn check_plain(&mut self, store: &mut dyn MailStore, data: &[u8]) -> Done {
        let parts: Vec<&[u8]> = data.split(|&b| b == 0).collect();
        let [authz, authc, pass] = parts.as_slice() else {
            self.failed_logins += 1;
            return bad("Malformed PLAIN credentials");
        };
        if !authz.is_empty() && authz != authc {
            self.failed_logins += 1;
            return no(
                Some(code(CODE_AUTHENTICATIONFAILED)),
                "Cannot act as another user",
            );
        }
        let user = String::from_utf8_lossy(authc).into_owned();
        let pass = String::from_utf8_lossy(pass).into_owned();
        self.try_login(store, &user, &pass)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn has(caps: &NonEmptyVec<Capability<'static>>, c: &Capability<'static>) -> bool {
        caps.as_ref().contains(c)
    }

    #[test]
    fn starttls_is_offered_only_where_it_can_be_used() {
        let plain = Capability::Auth(AuthMechanism::Plain);
        let caps = capabilities();
        assert!(has(&caps, &Capability::Imap4Rev1) && has(&caps, &plain));
        assert!(!has(&caps, &Capability::StartTls));
        assert!(has(&capabilities_with(true, false), &Capability::StartTls));
    }

    #[test]
    fn login_disabled_hides_every_way_to_log_in() {
        // RFC 3501 §6.2.3 and §7.2.1: LOGINDISABLED, and no AUTH= before
        // STARTTLS.
        let caps = capabilities_with(true, true);
        assert!(has(&caps, &Capability::LoginDisabled));
        assert!(has(&caps, &Capability::StartTls));
        assert!(!has(&caps, &Capability::Auth(AuthMechanism::Plain)));
        assert!(!has(&caps, &Capability::SaslIr));
    }
}
