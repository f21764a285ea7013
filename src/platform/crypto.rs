//! Field encryption at rest: AES-256-GCM with a key id stored beside each
//! ciphertext (`<kid>:<base64url(nonce ‖ ciphertext)>`), so keys rotate without
//! rewriting data: the newest key of the directory encrypts, every key decrypts.
//! The associated data binds a ciphertext to its row, so one cannot be copied
//! onto another.

use std::path::Path;

use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use anyhow::{Context, bail};

use super::key_dir::{ensure_first_key, key_files, new_kid};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

pub struct FieldCipher {
    /// Sorted by kid; the last encrypts.
    keys: Vec<(String, Aes256Gcm)>,
}

/// A stored value that does not decrypt: a missing key or tampered data.
#[derive(Debug, thiserror::Error)]
#[error("an encrypted field does not decrypt: {0}")]
pub struct Undecryptable(String);

impl FieldCipher {
    /// Loads every `<kid>.key` (32 bytes, base64) from `dir`, generating one if none.
    pub fn load_or_create(dir: &Path) -> anyhow::Result<FieldCipher> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating {} (KEEL_FIELD_KEYS_DIR)", dir.display()))?;
        let made = ensure_first_key(dir, "key", || {
            let key = Aes256Gcm::generate_key(OsRng);
            Ok((new_kid("f")?, STANDARD.encode(key).into_bytes()))
        })?;
        if let Some(kid) = made {
            tracing::info!(kid, "generated a field encryption key");
        }
        let mut keys = Vec::new();
        for (kid, path) in key_files(dir, "key")? {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("reading {}", path.display()))?;
            let bytes = STANDARD
                .decode(text.trim())
                .with_context(|| format!("{} is not base64", path.display()))?;
            if bytes.len() != 32 {
                bail!(
                    "{} must hold 32 bytes (AES-256), not {}",
                    path.display(),
                    bytes.len()
                );
            }
            let cipher = Aes256Gcm::new_from_slice(&bytes)
                .map_err(|_| anyhow::anyhow!("{} is not an AES-256 key", path.display()))?;
            keys.push((kid, cipher));
        }
        Ok(FieldCipher { keys })
    }

    pub fn encrypt(&self, plaintext: &str, aad: &[u8]) -> String {
        let (kid, cipher) = self.keys.last().expect("load_or_create leaves a key");
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let sealed = cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext.as_bytes(),
                    aad,
                },
            )
            .expect("AES-GCM encrypts any input");
        let mut blob = nonce.to_vec();
        blob.extend(sealed);
        format!("{kid}:{}", URL_SAFE_NO_PAD.encode(blob))
    }

    pub fn decrypt(&self, stored: &str, aad: &[u8]) -> Result<String, Undecryptable> {
        let (kid, encoded) = stored
            .split_once(':')
            .ok_or_else(|| Undecryptable("no key id".into()))?;
        let (_, cipher) = self
            .keys
            .iter()
            .find(|(k, _)| k == kid)
            .ok_or_else(|| Undecryptable(format!("key `{kid}` is not configured")))?;
        let blob = URL_SAFE_NO_PAD
            .decode(encoded)
            .map_err(|_| Undecryptable("not base64".into()))?;
        if blob.len() < 12 {
            return Err(Undecryptable("too short".into()));
        }
        let (nonce, sealed) = blob.split_at(12);
        let plain = cipher
            .decrypt(
                &Nonce::from(<[u8; 12]>::try_from(nonce).expect("split at 12")),
                Payload { msg: sealed, aad },
            )
            .map_err(|_| Undecryptable("authentication failed".into()))?;
        String::from_utf8(plain).map_err(|_| Undecryptable("not UTF-8".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::key_dir::write_private;

    #[test]
    fn servers_starting_together_on_an_empty_directory_make_one_key() {
        let dir =
            std::env::temp_dir().join(format!("keel-field-keys-race-{}", uuid::Uuid::now_v7()));
        let start = std::sync::Barrier::new(8);
        let ciphers: Vec<FieldCipher> = std::thread::scope(|scope| {
            let threads: Vec<_> = (0..8)
                .map(|_| {
                    scope.spawn(|| {
                        start.wait();
                        FieldCipher::load_or_create(&dir).unwrap()
                    })
                })
                .collect();
            threads.into_iter().map(|t| t.join().unwrap()).collect()
        });
        assert_eq!(key_files(&dir, "key").unwrap().len(), 1, "one key made");
        for (n, cipher) in ciphers.iter().enumerate() {
            let stored = cipher.encrypt("+4915112345678", b"row-1");
            for other in &ciphers {
                assert!(
                    other.decrypt(&stored, b"row-1").is_ok(),
                    "server {n}'s data"
                );
            }
        }
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn values_round_trip_bind_to_their_row_and_survive_rotation() {
        let dir = std::env::temp_dir().join(format!("keel-field-keys-{}", uuid::Uuid::now_v7()));
        let first = FieldCipher::load_or_create(&dir).unwrap();
        let stored = first.encrypt("+4915112345678", b"row-1");
        assert!(!stored.contains("4915112345678"));
        assert_eq!(first.decrypt(&stored, b"row-1").unwrap(), "+4915112345678");
        assert!(
            first.decrypt(&stored, b"row-2").is_err(),
            "a ciphertext moved to another row fails"
        );

        let newer = STANDARD.encode(Aes256Gcm::generate_key(OsRng));
        write_private(&dir.join("zz-newer.key"), newer.as_bytes()).unwrap();
        let rotated = FieldCipher::load_or_create(&dir).unwrap();
        assert_eq!(
            rotated.decrypt(&stored, b"row-1").unwrap(),
            "+4915112345678",
            "old data still reads"
        );
        assert!(
            rotated.encrypt("x", b"r").starts_with("zz-newer:"),
            "new data uses the newest key"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }
}
