//! Access tokens: EdDSA (Ed25519) JWTs with a `kid`, signed with the newest key of
//! a directory and verified with any key in it, so rotating keys (add a newer
//! one, remove the old one once its tokens have expired) never breaks a token
//! before it expires. A fresh checkout gets a key generated once, under `./data/`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey, spki::der::pem::LineEnding};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use keel_runtime::server::{InvalidToken, Principal, TokenVerifier};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::platform::key_dir::{ensure_first_key, key_files, new_kid};

pub const ISSUER: &str = "keel";
pub const AUDIENCE: &str = "keel-api";

struct Key {
    kid: String,
    encoding: EncodingKey,
    decoding: DecodingKey,
    /// The public key, base64url, as JWKS publishes it.
    x: String,
}

/// The signing keys: every `*.pem` (PKCS#8 Ed25519) in a directory, named by kid.
pub struct SigningKeys {
    keys: Vec<Key>,
}

impl SigningKeys {
    /// Loads the directory's keys, generating one first if there is none.
    pub fn load_or_create(dir: &Path) -> anyhow::Result<SigningKeys> {
        std::fs::create_dir_all(dir).with_context(|| {
            format!(
                "creating the key directory {} (KEEL_JWT_KEYS_DIR)",
                dir.display()
            )
        })?;
        let made = ensure_first_key(dir, "pem", || {
            let pem = SigningKey::generate(&mut rand::rngs::OsRng)
                .to_pkcs8_pem(LineEnding::LF)
                .context("encoding the new key")?;
            Ok((new_kid("k")?, pem.as_bytes().to_vec()))
        })?;
        if let Some(kid) = made {
            tracing::info!(kid, dir = %dir.display(), "generated a JWT signing key");
        }
        let mut keys = Vec::new();
        for (kid, path) in key_files(dir, "pem")? {
            let pem = std::fs::read_to_string(&path)
                .with_context(|| format!("reading {}", path.display()))?;
            let signing = SigningKey::from_pkcs8_pem(&pem).map_err(|e| {
                anyhow::anyhow!("{} is not a PKCS#8 Ed25519 key: {e}", path.display())
            })?;
            let x = URL_SAFE_NO_PAD.encode(signing.verifying_key().as_bytes());
            keys.push(Key {
                encoding: EncodingKey::from_ed_pem(pem.as_bytes())
                    .with_context(|| format!("loading {}", path.display()))?,
                decoding: DecodingKey::from_ed_components(&x)?,
                kid,
                x,
            });
        }
        Ok(SigningKeys { keys })
    }

    /// The key new tokens are signed with: the last by name (kids sort by age).
    fn active(&self) -> &Key {
        self.keys
            .last()
            .expect("load_or_create leaves at least one key")
    }

    pub fn jwks(&self) -> keel_server::types::JwkSet {
        keel_server::types::JwkSet {
            keys: self
                .keys
                .iter()
                .map(|k| keel_server::types::Jwk {
                    kty: "OKP".into(),
                    crv: "Ed25519".into(),
                    x: k.x.clone(),
                    kid: k.kid.clone(),
                    alg: "EdDSA".into(),
                    use_: "sig".into(),
                })
                .collect(),
        }
    }
}

/// Which scopes each role grants (configurable: `KEEL_ROLE_SCOPES`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleScopes(BTreeMap<String, BTreeSet<String>>);

impl RoleScopes {
    /// `customer=users:read users:write;admin=users:read users:write users:admin`
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut map = BTreeMap::new();
        for entry in text.split(';').map(str::trim).filter(|e| !e.is_empty()) {
            let (role, scopes) = entry
                .split_once('=')
                .ok_or_else(|| format!("`{entry}` is not `role=scope scope…`"))?;
            map.insert(
                role.trim().to_owned(),
                scopes.split_whitespace().map(str::to_owned).collect(),
            );
        }
        if map.is_empty() {
            return Err("no role is given any scope".into());
        }
        Ok(RoleScopes(map))
    }

    pub fn scopes_of(&self, role: &str) -> BTreeSet<String> {
        self.0.get(role).cloned().unwrap_or_default()
    }
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub iss: String,
    pub aud: String,
    pub iat: u64,
    pub exp: u64,
    pub roles: Vec<String>,
    /// Space-separated, as OAuth 2.0 writes scopes.
    pub scope: String,
}

/// Issues and verifies access tokens.
pub struct AccessTokens {
    keys: SigningKeys,
    role_scopes: RoleScopes,
    ttl_secs: u64,
    /// Tokens whose signature and claims were checked, with their expiry: a
    /// client sends the same token for many requests, and the Ed25519 check
    /// is most of what authenticating costs (about 50 µs of CPU). Keys are
    /// loaded once per process, so a verdict can only change by expiring,
    /// which every hit checks again.
    verified: moka::sync::Cache<Box<str>, Verified>,
}

#[derive(Clone)]
struct Verified {
    principal: Principal,
    exp: u64,
}

/// Verified tokens kept: a few kilobytes each at most.
const VERIFIED_CAPACITY: u64 = 20_000;
/// The leeway granted to clocks (`exp`), as jsonwebtoken's validation grants.
const LEEWAY_SECS: u64 = 5;

impl AccessTokens {
    pub fn new(keys: SigningKeys, role_scopes: RoleScopes, ttl_secs: u64) -> Self {
        AccessTokens {
            keys,
            role_scopes,
            ttl_secs,
            verified: moka::sync::Cache::new(VERIFIED_CAPACITY),
        }
    }

    pub fn ttl_secs(&self) -> u64 {
        self.ttl_secs
    }

    pub fn jwks(&self) -> keel_server::types::JwkSet {
        self.keys.jwks()
    }

    /// A token for `user_id` with the scopes of `role`.
    pub fn issue(&self, user_id: Uuid, role: &str) -> String {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("after 1970")
            .as_secs();
        let claims = Claims {
            sub: user_id.to_string(),
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            iat: now,
            exp: now + self.ttl_secs,
            roles: vec![role.to_owned()],
            scope: self
                .role_scopes
                .scopes_of(role)
                .into_iter()
                .collect::<Vec<_>>()
                .join(" "),
        };
        self.sign(&claims)
    }

    /// Signs any claims with the active key (tests use it to forge expired tokens).
    pub fn sign(&self, claims: &Claims) -> String {
        let key = self.keys.active();
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(key.kid.clone());
        jsonwebtoken::encode(&header, claims, &key.encoding).expect("Ed25519 signing cannot fail")
    }
}

impl TokenVerifier for AccessTokens {
    fn verify(&self, token: &str) -> Result<Principal, InvalidToken> {
        if let Some(hit) = self.verified.get(token) {
            if now_secs() <= hit.exp + LEEWAY_SECS {
                return Ok(hit.principal);
            }
            self.verified.invalidate(token);
            return Err(InvalidToken("the access token has expired".to_owned()));
        }
        let (principal, exp) = self.verify_signed(token)?;
        self.verified.insert(
            token.into(),
            Verified {
                principal: principal.clone(),
                exp,
            },
        );
        Ok(principal)
    }
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs()
}

impl AccessTokens {
    /// The full check: signature, key, issuer, audience, expiry.
    fn verify_signed(&self, token: &str) -> Result<(Principal, u64), InvalidToken> {
        let invalid = |why: &str| InvalidToken(why.to_owned());
        let header = jsonwebtoken::decode_header(token)
            .map_err(|_| invalid("the access token is malformed"))?;
        if header.alg != Algorithm::EdDSA {
            return Err(invalid("the access token is not signed with EdDSA"));
        }
        let kid = header
            .kid
            .ok_or_else(|| invalid("the access token names no key (`kid`)"))?;
        let key = self
            .keys
            .keys
            .iter()
            .find(|k| k.kid == kid)
            .ok_or_else(|| invalid("the access token's key is unknown"))?;
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.leeway = LEEWAY_SECS;
        let data = jsonwebtoken::decode::<Claims>(token, &key.decoding, &validation).map_err(
            |e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => {
                    invalid("the access token has expired")
                }
                jsonwebtoken::errors::ErrorKind::InvalidSignature => {
                    invalid("the access token's signature is invalid")
                }
                _ => invalid("the access token is invalid"),
            },
        )?;
        let claims = data.claims;
        let principal = Principal {
            user_id: claims
                .sub
                .parse()
                .map_err(|_| invalid("the access token's subject is not a user id"))?,
            roles: claims.roles.into_iter().collect(),
            scopes: claims.scope.split_whitespace().map(str::to_owned).collect(),
        };
        Ok((principal, claims.exp))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::key_dir::write_private;

    fn tokens(dir: &Path) -> AccessTokens {
        AccessTokens::new(
            SigningKeys::load_or_create(dir).unwrap(),
            RoleScopes::parse("customer=a b;admin=a b c").unwrap(),
            60,
        )
    }

    #[test]
    fn servers_starting_together_on_an_empty_directory_make_one_key() {
        let dir = std::env::temp_dir().join(format!("keel-keys-race-{}", Uuid::now_v7()));
        let start = std::sync::Barrier::new(8);
        let loaded: Vec<Vec<String>> = std::thread::scope(|scope| {
            let threads: Vec<_> = (0..8)
                .map(|_| {
                    scope.spawn(|| {
                        start.wait();
                        let keys = SigningKeys::load_or_create(&dir).unwrap();
                        keys.jwks().keys.into_iter().map(|k| k.x).collect()
                    })
                })
                .collect();
            threads.into_iter().map(|t| t.join().unwrap()).collect()
        });
        assert_eq!(key_files(&dir, "pem").unwrap().len(), 1, "one key made");
        for keys in &loaded {
            assert_eq!(keys, &loaded[0], "every server loaded that one key");
        }
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_verified_token_is_remembered_until_it_expires_and_only_that_token() {
        let dir = std::env::temp_dir().join(format!("keel-keys-cache-{}", Uuid::now_v7()));
        let tokens = tokens(&dir);
        let user = Uuid::now_v7();
        let token = tokens.issue(user, "customer");
        assert_eq!(tokens.verify(&token).unwrap().user_id, user);
        assert_eq!(
            tokens.verify(&token).unwrap().user_id,
            user,
            "from the cache"
        );
        // One character off is another token: it is checked, and refused.
        let at = token.len() - 10; // inside the signature
        let flipped = if &token[at..=at] == "A" { "B" } else { "A" };
        let forged = format!("{}{flipped}{}", &token[..at], &token[at + 1..]);
        assert!(tokens.verify(&forged).is_err());
        // A remembered token past its expiry (and the leeway) is refused.
        let principal = tokens.verify(&token).unwrap();
        tokens.verified.insert(
            token.as_str().into(),
            Verified {
                principal,
                exp: now_secs() - LEEWAY_SECS - 1,
            },
        );
        assert_eq!(
            tokens.verify(&token).unwrap_err().0,
            "the access token has expired"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_key_is_made_once_and_tokens_verify_across_rotation() {
        let dir = std::env::temp_dir().join(format!("keel-keys-{}", Uuid::now_v7()));
        let first = tokens(&dir);
        let user = Uuid::now_v7();
        let old_token = first.issue(user, "customer");
        let principal = first.verify(&old_token).unwrap();
        assert_eq!(principal.user_id, user);
        assert_eq!(principal.scopes, ["a", "b"].map(String::from).into());
        assert_eq!(
            tokens(&dir).jwks().keys.len(),
            1,
            "the key is generated once"
        );

        // Rotation: a newer key signs; the old one still verifies.
        let newer = SigningKey::generate(&mut rand::rngs::OsRng)
            .to_pkcs8_pem(LineEnding::LF)
            .unwrap();
        write_private(&dir.join("zz-newer.pem"), newer.as_bytes()).unwrap();
        let rotated = tokens(&dir);
        assert_eq!(rotated.jwks().keys.len(), 2);
        assert!(
            rotated.verify(&old_token).is_ok(),
            "tokens of the old key stay valid"
        );
        let new_token = rotated.issue(user, "admin");
        assert_eq!(
            jsonwebtoken::decode_header(&new_token)
                .unwrap()
                .kid
                .as_deref(),
            Some("zz-newer")
        );
        std::fs::remove_dir_all(dir).unwrap();
    }
}
