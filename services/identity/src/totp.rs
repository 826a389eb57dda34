//! Time-based one-time passwords (RFC 6238), the optional second factor of agents:
//! HMAC-SHA1, 30-second steps, 6 digits — what every authenticator app speaks.

use hmac::{Hmac, Mac};
use sha1::Sha1;

const STEP_SECS: u64 = 30;
const DIGITS: u32 = 6;
/// Steps of clock drift accepted on either side.
const DRIFT: u64 = 1;

/// A shared TOTP secret (20 random bytes). Never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct TotpSecret(Vec<u8>);

impl std::fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpSecret(***)")
    }
}

impl TotpSecret {
    pub fn generate() -> Self {
        let mut bytes = vec![0u8; 20];
        rand::Rng::fill(&mut rand::rng(), bytes.as_mut_slice());
        Self(bytes)
    }

    /// RFC 4648 base32 without padding, as authenticator apps take it.
    pub fn to_base32(&self) -> String {
        base32_encode(&self.0)
    }

    pub fn from_base32(s: &str) -> Option<Self> {
        base32_decode(s).filter(|b| b.len() >= 10).map(Self)
    }

    /// The `otpauth://` URI an authenticator app scans as a QR code.
    pub fn provisioning_uri(&self, issuer: &str, account: &str) -> String {
        let issuer = url_encode(issuer);
        format!(
            "otpauth://totp/{issuer}:{}?secret={}&issuer={issuer}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECS}",
            url_encode(account),
            self.to_base32()
        )
    }

    /// The code for the step containing `unix_secs`.
    pub fn code_at(&self, unix_secs: u64) -> String {
        self.code_for_step(unix_secs / STEP_SECS, DIGITS)
    }

    fn code_for_step(&self, step: u64, digits: u32) -> String {
        let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(&self.0) else {
            return String::new();
        };
        mac.update(&step.to_be_bytes());
        let hash = mac.finalize().into_bytes();
        let offset = usize::from(hash[hash.len() - 1] & 0x0f);
        let binary = (u32::from(hash[offset]) & 0x7f) << 24
            | u32::from(hash[offset + 1]) << 16
            | u32::from(hash[offset + 2]) << 8
            | u32::from(hash[offset + 3]);
        let code = binary % 10u32.pow(digits);
        format!("{code:0width$}", width = digits as usize)
    }

    /// Checks `code` against the current step and one step either side (clock drift). A step not
    /// newer than `last_used_step` is refused (replay). Returns the matching step, to be stored
    /// as the new `last_used_step`. Spaces are ignored ("123 456", as apps show codes).
    pub fn verify(&self, code: &str, unix_secs: u64, last_used_step: Option<u64>) -> Option<u64> {
        let code: String = code.chars().filter(|c| *c != ' ').collect();
        if code.len() != DIGITS as usize || !code.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let current = unix_secs / STEP_SECS;
        let mut found = None;
        for step in current.saturating_sub(DRIFT)..=current.saturating_add(DRIFT) {
            // Every candidate is compared, in constant time, so timing tells nothing; the
            // newest step that matches and was not used yet wins.
            let matches = constant_time_eq(&self.code_for_step(step, DIGITS), &code);
            let fresh = last_used_step.is_none_or(|last| step > last);
            if matches && fresh {
                found = Some(step);
            }
        }
        found
    }
}

pub(crate) fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

fn base32_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &b in bytes {
        buffer = (buffer << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[((buffer >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[((buffer << (5 - bits)) & 31) as usize]));
    }
    out
}

fn base32_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let (mut buffer, mut bits) = (0u32, 0u32);
    for c in s
        .trim()
        .trim_end_matches('=')
        .bytes()
        .filter(|b| *b != b' ')
    {
        let value = ALPHABET.iter().position(|a| *a == c.to_ascii_uppercase())?;
        buffer = (buffer << 5) | value as u32;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
        }
    }
    Some(out)
}

fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, SHA1, 8 digits.
    #[test]
    fn rfc_6238_test_vectors() {
        let secret = TotpSecret(b"12345678901234567890".to_vec());
        for (time, code) in [
            (59u64, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ] {
            assert_eq!(secret.code_for_step(time / STEP_SECS, 8), code, "t={time}");
        }
    }

    #[test]
    fn codes_have_six_digits_and_change_every_thirty_seconds() {
        let secret = TotpSecret(b"12345678901234567890".to_vec());
        // RFC 6238's vector for t=59 is 94287082 with 8 digits; 6 digits keep the last six.
        assert_eq!(secret.code_at(59), "287082");
        assert_eq!(secret.code_at(30), secret.code_at(59), "same step");
        assert_ne!(secret.code_at(59), secret.code_at(60), "next step");
        let code = TotpSecret::generate().code_at(1_700_000_000);
        assert_eq!(code.len(), 6);
        assert!(code.bytes().all(|b| b.is_ascii_digit()), "{code}");
    }

    #[test]
    fn accepts_one_step_of_drift_either_way() {
        let secret = TotpSecret::generate();
        let t = 1_700_000_010; // 10 s into its step
        let step = t / STEP_SECS;
        let code = secret.code_at(t);
        assert_eq!(secret.verify(&code, t, None), Some(step));
        assert_eq!(
            secret.verify(&code, t + 29, None),
            Some(step),
            "one step late"
        );
        assert_eq!(
            secret.verify(&code, t - 30, None),
            Some(step),
            "one step early"
        );
        assert_eq!(secret.verify(&code, t + 60, None), None, "two steps late");
        assert_eq!(secret.verify(&code, t - 60, None), None, "two steps early");
        assert_eq!(secret.verify(&code, 0, None), None);
        assert_eq!(
            secret.verify(&secret.code_at(0), 0, None),
            Some(0),
            "the first step has no earlier neighbour"
        );
        assert_eq!(secret.verify(&code[..3], t, None), None);
        let spaced = format!("{} {}", &code[..3], &code[3..]);
        assert_eq!(secret.verify(&spaced, t, None), Some(step));
    }

    #[test]
    fn codes_belong_to_their_secret() {
        let (a, b) = (
            TotpSecret(b"12345678901234567890".to_vec()),
            TotpSecret(b"09876543210987654321".to_vec()),
        );
        let t = 1_111_111_111;
        assert_eq!(a.verify(&a.code_at(t), t, None), Some(t / STEP_SECS));
        assert_eq!(b.verify(&a.code_at(t), t, None), None);
        assert_eq!(a.verify(&b.code_at(t), t, None), None);
    }

    #[test]
    fn refuses_replays() {
        let secret = TotpSecret::generate();
        let t = 1_700_000_000;
        let step = t / STEP_SECS;
        let code = secret.code_at(t);
        assert_eq!(
            secret.verify(&code, t, Some(step)),
            None,
            "the same code again"
        );
        assert_eq!(
            secret.verify(&code, t + 30, Some(step)),
            None,
            "later, still used"
        );
        assert_eq!(
            secret.verify(&code, t, Some(step + 1)),
            None,
            "older than the last"
        );
        assert_eq!(secret.verify(&code, t, Some(step - 1)), Some(step));
        let next = secret.code_at(t + 30);
        assert_eq!(secret.verify(&next, t + 30, Some(step)), Some(step + 1));
    }

    #[test]
    fn refuses_anything_but_six_ascii_digits() {
        let secret = TotpSecret(b"12345678901234567890".to_vec());
        let t = 59;
        assert_eq!(secret.verify("287082", t, None), Some(1));
        for bad in [
            "",
            "28708",
            "2870820",
            "28708a",
            "+87082",
            "-87082",
            "28708\u{0}",
            "２８７０８２", // fullwidth digits
            "٢٨٧٠٨٢",       // Arabic-Indic digits
            "94287082",     // the 8-digit code
            "287082\n",
        ] {
            assert_eq!(secret.verify(bad, t, None), None, "{bad:?}");
        }
    }

    #[test]
    fn base32_round_trip_and_uri() {
        let secret = TotpSecret::generate();
        assert_eq!(secret.0.len(), 20);
        assert_ne!(secret, TotpSecret::generate());
        let text = secret.to_base32();
        assert_eq!(text.len(), 32);
        assert!(!text.contains('='));
        assert_eq!(
            TotpSecret::from_base32(&text.to_lowercase()),
            Some(secret.clone())
        );
        assert_eq!(TotpSecret::from_base32(&text), Some(secret.clone()));
        // RFC 4648 test vectors, without padding.
        assert_eq!(base32_encode(b""), "");
        assert_eq!(base32_encode(b"f"), "MY");
        assert_eq!(base32_encode(b"fo"), "MZXQ");
        assert_eq!(base32_encode(b"foo"), "MZXW6");
        assert_eq!(base32_encode(b"foob"), "MZXW6YQ");
        assert_eq!(base32_encode(b"fooba"), "MZXW6YTB");
        assert_eq!(base32_encode(b"foobar"), "MZXW6YTBOI");
        assert_eq!(
            base32_decode("MZXW6YTBOI======").as_deref(),
            Some(&b"foobar"[..])
        );
        assert_eq!(
            base32_encode(b"12345678901234567890"),
            "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
        );
        assert!(TotpSecret::from_base32("not base32!").is_none());
        assert!(
            TotpSecret::from_base32("MZXW6YTBOI").is_none(),
            "too short a secret"
        );

        let uri = secret.provisioning_uri("Docket IT", "jane@uni.example");
        assert_eq!(
            uri,
            format!(
                "otpauth://totp/Docket%20IT:jane%40uni.example?secret={text}&issuer=Docket%20IT\
                 &algorithm=SHA1&digits=6&period=30"
            )
        );
        let odd = secret.provisioning_uri("Uni: IT & Co", "o'brien?x=1");
        assert!(
            odd.starts_with("otpauth://totp/Uni%3A%20IT%20%26%20Co:o%27brien%3Fx%3D1?"),
            "{odd}"
        );
    }

    #[test]
    fn debug_hides_the_secret() {
        let secret = TotpSecret::generate();
        let shown = format!("{secret:?}");
        assert_eq!(shown, "TotpSecret(***)");
        assert!(!shown.contains(&secret.to_base32()));
    }
}
