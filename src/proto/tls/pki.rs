//! A scenario's certificate authority and the certificates of its hosts.
//!
//! Every key is an Ed25519 key derived from the scenario's seed and a
//! label, and every field of every certificate is fixed, so the same
//! scenario always has the same CA: `wiretale serve --ca-out ca.pem`
//! writes it, and real clients then verify the servers with
//! `--cacert ca.pem` (curl) or `cafile=` (Python).

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SerialNumber,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use sha2::{Digest, Sha256};

/// Certificates are valid from 2025 to 2045: any scenario date and any
/// real date a course meets fall inside.
const NOT_BEFORE: (i32, u8, u8) = (2025, 1, 1);
const NOT_AFTER: (i32, u8, u8) = (2045, 1, 1);

/// The PKCS#8 encoding of an Ed25519 private key (RFC 8410 §7): a fixed
/// prefix, then the 32-byte seed.
fn ed25519_pkcs8(seed: &[u8; 32]) -> Vec<u8> {
    let mut der = vec![
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04,
        0x20,
    ];
    der.extend_from_slice(seed);
    der
}

fn derive(seed: u64, label: &str) -> [u8; 32] {
    Sha256::new()
        .chain_update(b"wiretale tls key\0")
        .chain_update(seed.to_be_bytes())
        .chain_update(label.as_bytes())
        .finalize()
        .into()
}

fn key_pair(seed: u64, label: &str) -> Result<(KeyPair, Vec<u8>), String> {
    let pkcs8 = ed25519_pkcs8(&derive(seed, label));
    let der = PrivatePkcs8KeyDer::from(pkcs8.clone());
    let key = KeyPair::from_pkcs8_der_and_sign_algo(&der, &rcgen::PKCS_ED25519)
        .map_err(|e| e.to_string())?;
    Ok((key, pkcs8))
}

fn dates(params: &mut CertificateParams, serial: &str) {
    params.not_before = rcgen::date_time_ymd(NOT_BEFORE.0, NOT_BEFORE.1, NOT_BEFORE.2);
    params.not_after = rcgen::date_time_ymd(NOT_AFTER.0, NOT_AFTER.1, NOT_AFTER.2);
    let digest = Sha256::digest(serial.as_bytes());
    // A positive serial number of 16 bytes.
    let mut bytes = digest[..16].to_vec();
    bytes[0] &= 0x7f;
    params.serial_number = Some(SerialNumber::from_slice(&bytes));
}

/// A scenario's CA and the means to issue host certificates.
pub struct ScenarioPki {
    seed: u64,
    ca_params: CertificateParams,
    ca_pem: String,
    ca_der: CertificateDer<'static>,
}

impl std::fmt::Debug for ScenarioPki {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScenarioPki")
            .field("seed", &self.seed)
            .finish_non_exhaustive()
    }
}

/// A host's certificate chain and key, ready for rustls.
pub struct HostCert {
    pub chain: Vec<CertificateDer<'static>>,
    pub key: PrivateKeyDer<'static>,
}

impl ScenarioPki {
    /// The CA of the scenario with this seed.
    pub fn new(seed: u64, title: &str) -> Result<ScenarioPki, String> {
        let (ca_key, _) = key_pair(seed, "ca")?;
        let mut params = CertificateParams::new(Vec::<String>::new()).map_err(|e| e.to_string())?;
        let mut name = DistinguishedName::new();
        name.push(DnType::OrganizationName, "wiretale");
        name.push(
            DnType::CommonName,
            format!(
                "wiretale scenario CA ({})",
                title.chars().take(40).collect::<String>()
            ),
        );
        params.distinguished_name = name;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        dates(&mut params, &format!("ca {seed}"));
        let cert = params.self_signed(&ca_key).map_err(|e| e.to_string())?;
        Ok(ScenarioPki {
            seed,
            ca_pem: cert.pem(),
            ca_der: cert.der().clone(),
            ca_params: params,
        })
    }

    /// The CA certificate, PEM.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    pub fn ca_der(&self) -> &CertificateDer<'static> {
        &self.ca_der
    }

    /// A certificate for `host`, valid for its name, `localhost` and
    /// 127.0.0.1 (so real clients on the loopback can verify it), signed
    /// by the CA.
    pub fn host_cert(&self, host: &str) -> Result<HostCert, String> {
        let (ca_key, _) = key_pair(self.seed, "ca")?;
        let issuer = Issuer::from_params(&self.ca_params, &ca_key);
        let (key, pkcs8) = key_pair(self.seed, &format!("host {host}"))?;
        let mut names = vec![
            host.to_string(),
            "localhost".to_string(),
            "127.0.0.1".to_string(),
        ];
        names.dedup();
        let mut params = CertificateParams::new(names).map_err(|e| e.to_string())?;
        let mut name = DistinguishedName::new();
        name.push(DnType::OrganizationName, "wiretale");
        name.push(DnType::CommonName, host);
        params.distinguished_name = name;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.use_authority_key_identifier_extension = true;
        dates(&mut params, &format!("host {} {host}", self.seed));
        let cert = params.signed_by(&key, &issuer).map_err(|e| e.to_string())?;
        Ok(HostCert {
            chain: vec![cert.der().clone(), self.ca_der.clone()],
            key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(pkcs8)),
        })
    }
}
