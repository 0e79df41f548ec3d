//! The randomness and the clock rustls sees.
//!
//! A live session takes both from the operating system. A simulated one
//! must give the same bytes for the same seed, so its connection draws
//! every random byte (client and server randoms, session ids, the X25519
//! key shares) from its own seeded generator, and its clock is the
//! scenario's date. rustls asks for randomness through a process-wide
//! provider; the generator of the connection being driven is lent to it
//! through a thread-local for the length of each call ([`with_rng`]), so
//! connections (and tests running in parallel) never share one.

use rand_chacha::ChaCha20Rng;
use rand_core::Rng;
use rustls::crypto::{
    ActiveKeyExchange, CryptoProvider, SecureRandom, SharedSecret, SupportedKxGroup,
};
use rustls::pki_types::UnixTime;
use rustls::time_provider::TimeProvider;
use rustls::{Error, NamedGroup};
use std::cell::RefCell;
use std::sync::Arc;
use x25519_dalek::{X25519_BASEPOINT_BYTES, x25519};

thread_local! {
    static RNG: RefCell<Option<ChaCha20Rng>> = const { RefCell::new(None) };
}

/// Runs `f` with `rng` as the source of every random byte rustls draws on
/// this thread.
pub fn with_rng<T>(rng: &mut Option<ChaCha20Rng>, f: impl FnOnce() -> T) -> T {
    RNG.with(|cell| std::mem::swap(&mut *cell.borrow_mut(), rng));
    let out = f();
    RNG.with(|cell| std::mem::swap(&mut *cell.borrow_mut(), rng));
    out
}

/// Fills `out` from the lent generator, or from the operating system when
/// none is lent (live mode).
fn fill(out: &mut [u8]) -> bool {
    RNG.with(|cell| match cell.borrow_mut().as_mut() {
        Some(rng) => {
            rng.fill_bytes(out);
            true
        }
        None => getrandom::fill(out).is_ok(),
    })
}

#[derive(Debug)]
struct LentRandom;

impl SecureRandom for LentRandom {
    fn fill(&self, buf: &mut [u8]) -> Result<(), rustls::crypto::GetRandomFailed> {
        if fill(buf) {
            Ok(())
        } else {
            Err(rustls::crypto::GetRandomFailed)
        }
    }
}

/// X25519 key shares (RFC 8446 §4.2.8.2) from the lent generator.
#[derive(Debug)]
struct X25519;

struct X25519Share {
    secret: [u8; 32],
    public: [u8; 32],
}

impl SupportedKxGroup for X25519 {
    fn start(&self) -> Result<Box<dyn ActiveKeyExchange>, Error> {
        let mut secret = [0u8; 32];
        if !fill(&mut secret) {
            return Err(Error::FailedToGetRandomBytes);
        }
        let public = x25519(secret, X25519_BASEPOINT_BYTES);
        Ok(Box::new(X25519Share { secret, public }))
    }

    fn name(&self) -> NamedGroup {
        NamedGroup::X25519
    }
}

impl ActiveKeyExchange for X25519Share {
    fn complete(self: Box<Self>, peer: &[u8]) -> Result<SharedSecret, Error> {
        let peer: [u8; 32] = peer
            .try_into()
            .map_err(|_| Error::from(rustls::PeerMisbehaved::InvalidKeyShare))?;
        let shared = x25519(self.secret, peer);
        if shared == [0u8; 32] {
            return Err(rustls::PeerMisbehaved::InvalidKeyShare.into());
        }
        Ok(SharedSecret::from(&shared[..]))
    }

    fn pub_key(&self) -> &[u8] {
        &self.public
    }

    fn group(&self) -> NamedGroup {
        NamedGroup::X25519
    }
}

/// ring's ciphers and signatures, with wiretale's randomness and X25519.
pub fn provider() -> Arc<CryptoProvider> {
    // Deprecated for its lack of post-quantum key exchange; the key
    // exchange groups are replaced below anyway, and the signature
    // algorithms and key loader are reachable no other way.
    #[allow(deprecated)]
    let mut provider = rustls::crypto::ring::default_provider();
    provider.secure_random = &LentRandom;
    provider.kx_groups = vec![&X25519];
    Arc::new(provider)
}

/// The clock of certificate checks and tickets: the scenario's date in a
/// simulation, the system's in live mode.
#[derive(Debug)]
pub struct Clock(pub Option<u64>);

impl TimeProvider for Clock {
    fn current_time(&self) -> Option<UnixTime> {
        match self.0 {
            Some(secs) => Some(UnixTime::since_unix_epoch(std::time::Duration::from_secs(
                secs,
            ))),
            None => Some(UnixTime::now()),
        }
    }
}
