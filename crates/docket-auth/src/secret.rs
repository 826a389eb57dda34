//! Opaque secrets handed to clients (session cookies, API tokens): random, shown once, stored
//! only as a hash. They have 256 bits of entropy, so a fast hash (SHA-256) is enough: there is
//! nothing to brute-force.

use base64::Engine as _;
use sha2::{Digest, Sha256};

/// A secret as the client holds it: `<prefix>_<id>_<random>`. The id finds the stored row; the
/// whole secret's hash must match.
#[derive(Clone, PartialEq, Eq)]
pub struct OpaqueSecret {
    pub id: String,
    secret: String,
}

impl std::fmt::Debug for OpaqueSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "OpaqueSecret({}, ***)", self.id)
    }
}

impl OpaqueSecret {
    /// A new secret, e.g. `OpaqueSecret::generate("dkt")` for an API token.
    pub fn generate(prefix: &str) -> Self {
        let mut random = [0u8; 32];
        rand::Rng::fill(&mut rand::rng(), &mut random);
        let id = uuid::Uuid::now_v7().simple().to_string();
        let body = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random);
        Self {
            secret: format!("{prefix}_{id}_{body}"),
            id,
        }
    }

    /// Parses what a client presented; `None` if it is not of our form.
    pub fn parse(prefix: &str, presented: &str) -> Option<Self> {
        let rest = presented.strip_prefix(prefix)?.strip_prefix('_')?;
        let (id, body) = rest.split_once('_')?;
        let valid_id = id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit());
        let valid_body = body.len() >= 40
            && body
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        (valid_id && valid_body).then(|| Self {
            id: id.to_owned(),
            secret: presented.to_owned(),
        })
    }

    /// The secret itself, to hand to the client once.
    pub fn expose(&self) -> &str {
        &self.secret
    }

    /// What is stored: the SHA-256 of the secret, hex.
    pub fn hash(&self) -> String {
        hex(&Sha256::digest(self.secret.as_bytes()))
    }

    /// Compares with a stored hash in constant time.
    pub fn matches(&self, stored_hash: &str) -> bool {
        let ours = self.hash();
        ours.len() == stored_hash.len()
            && ours
                .bytes()
                .zip(stored_hash.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_secrets_parse_and_match_their_hash_only() {
        let s = OpaqueSecret::generate("dkt");
        let parsed = OpaqueSecret::parse("dkt", s.expose()).unwrap();
        assert_eq!(parsed, s);
        assert!(parsed.matches(&s.hash()));
        let other = OpaqueSecret::generate("dkt");
        assert!(!other.matches(&s.hash()));
        assert!(!format!("{s:?}").contains(s.expose()));
    }

    #[test]
    fn rejects_foreign_forms() {
        let s = OpaqueSecret::generate("dkt");
        assert!(OpaqueSecret::parse("dks", s.expose()).is_none());
        for bad in [
            "",
            "dkt",
            "dkt_",
            "dkt_x_y",
            "dkt_0123456789abcdef0123456789abcdef_short",
        ] {
            assert!(OpaqueSecret::parse("dkt", bad).is_none(), "{bad}");
        }
    }
}
