//! Local passwords, hashed with argon2id (PHC strings, parameters stored with each hash).

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::domain::NewPassword;
use crate::error::IdentityError;

/// Argon2id with OWASP's recommended minimum (19 MiB, 2 passes, 1 lane).
fn hasher() -> Result<Argon2<'static>, IdentityError> {
    let params = Params::new(19 * 1024, 2, 1, None)
        .map_err(|e| IdentityError::Corrupt(format!("argon2 parameters: {e}")))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

pub fn hash(password: &NewPassword) -> Result<String, IdentityError> {
    let mut salt = [0u8; 16];
    rand::Rng::fill(&mut rand::rng(), &mut salt);
    let salt =
        SaltString::encode_b64(&salt).map_err(|e| IdentityError::Corrupt(format!("salt: {e}")))?;
    hasher()?
        .hash_password(password.expose().as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| IdentityError::Corrupt(format!("hashing a password: {e}")))
}

/// Whether `password` matches `stored`. A malformed stored hash never matches.
pub fn verify(password: &str, stored: &str) -> bool {
    #[cfg(test)]
    VERIFICATIONS.with(|n| n.set(n.get() + 1));
    let Ok(parsed) = PasswordHash::new(stored) else {
        tracing::error!("a stored password hash is malformed");
        return false;
    };
    // The parameters come from the stored hash; the default instance only picks the algorithm.
    Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok()
}

/// Spends the time of one verification, for logins of unknown users, so that response time does
/// not tell which logins exist.
pub fn verify_dummy(password: &str) {
    static DUMMY: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    let dummy = DUMMY.get_or_init(|| {
        NewPassword::parse("dummy password for timing")
            .ok()
            .and_then(|p| hash(&p).ok())
    });
    if let Some(d) = dummy {
        let _ = verify(password, d);
    }
}

/// Whether `password` matches `stored`; without a stored hash, false after the time of a
/// verification all the same.
pub fn verify_or_dummy(password: &str, stored: Option<&str>) -> bool {
    match stored {
        Some(hash) => verify(password, hash),
        None => {
            verify_dummy(password);
            false
        }
    }
}

#[cfg(test)]
thread_local! {
    /// How many verifications (real or dummy) this thread ran: the unit tests check that every
    /// refusal spends the time of one.
    pub(crate) static VERIFICATIONS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_only_their_password() {
        let p = NewPassword::parse("correct horse battery").unwrap();
        let h = hash(&p).unwrap();
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(verify("correct horse battery", &h));
        assert!(!verify("correct horse batterY", &h));
        assert!(!verify("", &h));
        assert!(!verify("correct horse battery", "not a hash"));
        assert_ne!(hash(&p).unwrap(), h, "salted");
    }
}
