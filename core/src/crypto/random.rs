//! Random bytes from the operating system through aws-lc-rs: the one place the platform draws
//! them (serial numbers, salts, one-time passwords, identifiers).

use aws_lc_rs::rand::{SecureRandom, SystemRandom};

use crate::{Error, Result};

/// `N` random bytes.
pub fn random_bytes<const N: usize>() -> Result<[u8; N]> {
    let mut bytes = [0u8; N];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| Error::Crypto("the system random generator failed".into()))?;
    Ok(bytes)
}
