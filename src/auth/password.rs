//! Password hashing with argon2id at OWASP's recommended cost.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

/// A password as the user typed it: 12 to 128 characters.
#[derive(Clone)]
pub struct Password(String);

impl Password {
    pub const MIN_CHARS: usize = 12;
    pub const MAX_CHARS: usize = 128;

    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let chars = raw.chars().count();
        if (Self::MIN_CHARS..=Self::MAX_CHARS).contains(&chars) {
            Ok(Password(raw.to_owned()))
        } else {
            Err("must be 12 to 128 characters long")
        }
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// Hashes and verifies passwords. Verifying against an unknown account costs the
/// same as against a known one (a dummy hash is checked), so response times do
/// not reveal which emails have accounts.
#[derive(Clone)]
pub struct Passwords {
    argon2: Argon2<'static>,
    dummy: String,
}

impl Default for Passwords {
    fn default() -> Self {
        Self::new()
    }
}

impl Passwords {
    pub fn new() -> Self {
        // OWASP Password Storage Cheat Sheet: argon2id, m = 19 MiB, t = 2, p = 1.
        let params = Params::new(19 * 1024, 2, 1, None).expect("valid argon2 parameters");
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let dummy = argon2
            .hash_password(b"not a real password", &SaltString::generate(&mut OsRng))
            .expect("hashing works")
            .to_string();
        Passwords { argon2, dummy }
    }

    /// A PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`), salt included.
    pub fn hash(&self, password: &Password) -> String {
        self.argon2
            .hash_password(password.0.as_bytes(), &SaltString::generate(&mut OsRng))
            .expect("argon2 hashes any input")
            .to_string()
    }

    /// Whether `password` matches `stored`; `None` stands for "no such account"
    /// and takes as long as a wrong password.
    pub fn verify(&self, password: &str, stored: Option<&str>) -> bool {
        let target = stored.unwrap_or(&self.dummy);
        let matches = PasswordHash::new(target)
            .map(|hash| {
                self.argon2
                    .verify_password(password.as_bytes(), &hash)
                    .is_ok()
            })
            .unwrap_or(false);
        matches && stored.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_unknown_accounts_never_match() {
        let passwords = Passwords::new();
        let hash = passwords.hash(&Password::parse("correct horse battery").unwrap());
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(passwords.verify("correct horse battery", Some(&hash)));
        assert!(!passwords.verify("wrong horse battery", Some(&hash)));
        assert!(
            !passwords.verify("not a real password", None),
            "the dummy never logs anyone in"
        );
        assert!(Password::parse("short").is_err());
    }
}
