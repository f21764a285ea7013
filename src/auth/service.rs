//! The auth use cases behind the generated `AuthApi`: sign-up, login, refresh-token
//! rotation with reuse detection, logout, and the public keys.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use keel_server::RequestContext;
use keel_server::auth::*;
use keel_server::types::{self as dto, Problem};
use rand::RngCore;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::keys::AccessTokens;
use super::password::{Password, Passwords};
use super::ports::{RefreshTokenStore, StoredRefreshToken};
use crate::audit::ports::{Action, AuditEvent, AuditSink, record};
use crate::platform::db::Transactions;
use crate::platform::problem::{self, FieldProblem};
use crate::users::domain::{DisplayName, Email, Role, Timestamp, User, UserId};
use crate::users::ports::{UserRepository, WriteError};
use crate::users::registration;
use crate::users::service::{email_taken, etag, hash_off_thread, internal, invalid, to_dto};

pub struct AuthService<U, T, A> {
    users: U,
    transactions: Transactions,
    refresh_tokens: T,
    audit: A,
    passwords: Passwords,
    tokens: Arc<AccessTokens>,
    refresh_ttl_secs: i64,
}

impl<U: UserRepository, T: RefreshTokenStore, A: AuditSink> AuthService<U, T, A> {
    pub fn new(
        users: U,
        transactions: Transactions,
        refresh_tokens: T,
        audit: A,
        passwords: Passwords,
        tokens: Arc<AccessTokens>,
        refresh_ttl_secs: i64,
    ) -> Self {
        AuthService {
            users,
            transactions,
            refresh_tokens,
            audit,
            passwords,
            tokens,
            refresh_ttl_secs,
        }
    }

    /// A new access token and a new refresh token in `family_id`.
    async fn token_pair(
        &self,
        user: &User,
        family_id: Uuid,
    ) -> Result<dto::TokenPair, crate::users::ports::StorageError> {
        let mut secret = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut secret);
        let refresh = URL_SAFE_NO_PAD.encode(secret);
        let stored = StoredRefreshToken {
            id: Uuid::now_v7(),
            family_id,
            user_id: user.id.as_uuid(),
            expires_at_us: Timestamp::now().micros() + self.refresh_ttl_secs * 1_000_000,
            used: false,
            revoked: false,
        };
        self.refresh_tokens
            .insert(&stored, &digest(&refresh))
            .await?;
        Ok(dto::TokenPair {
            access_token: self.tokens.issue(user.id.as_uuid(), user.role.as_str()),
            refresh_token: refresh,
            token_type: dto::TokenPairTokenType::Bearer,
            expires_in: i32::try_from(self.tokens.ttl_secs()).unwrap_or(i32::MAX),
        })
    }
}

/// Refresh tokens are stored as SHA-256 digests: a leaked table holds no usable token.
fn digest(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn unauthorized(ctx: &RequestContext, detail: &str) -> Problem {
    problem::problem(ctx, 401, "unauthenticated", detail)
}

impl<U: UserRepository, T: RefreshTokenStore, A: AuditSink> AuthApi for AuthService<U, T, A> {
    async fn register_user(
        &self,
        ctx: RequestContext,
        req: RegisterUserRequest,
    ) -> RegisterUserResponse {
        let body = req.body;
        let parsed = (|| {
            Ok::<_, FieldProblem>((
                Email::parse(&body.email).map_err(|e| invalid("/email", e))?,
                DisplayName::parse(&body.display_name).map_err(|e| invalid("/displayName", e))?,
                Password::parse(&body.password)
                    .map_err(|e| FieldProblem::body("/password", "length", e.to_owned()))?,
            ))
        })();
        let (email, display_name, password) = match parsed {
            Ok(values) => values,
            Err(field) => {
                return RegisterUserResponse::BadRequest(problem::invalid_field(&ctx, field));
            }
        };
        let hash = hash_off_thread(&self.passwords, password).await;
        let user = User::register(
            email,
            display_name,
            None,
            Role::Customer,
            Some(hash),
            Timestamp::now(),
        );
        match registration::register(&self.users, &self.transactions, &user).await {
            Ok(()) => {
                let event = AuditEvent::of(&ctx, Action::UserCreated, Some(user.id.as_uuid()))
                    .by(user.id.as_uuid());
                record(&self.audit, event).await;
                RegisterUserResponse::Created {
                    etag: etag(user.version),
                    location: format!("/v1/users/{}", user.id),
                    body: to_dto(&user),
                }
            }
            Err(WriteError::EmailTaken) => RegisterUserResponse::Conflict(email_taken(&ctx)),
            Err(WriteError::Stale) => unreachable!("an insert has no expected version"),
            Err(WriteError::Storage(e)) => {
                RegisterUserResponse::InternalServerError(internal(&ctx, e))
            }
        }
    }

    async fn issue_token(&self, ctx: RequestContext, req: IssueTokenRequest) -> IssueTokenResponse {
        let user = match Email::parse(&req.body.email) {
            Ok(email) => match self.users.find_by_email(&email).await {
                Ok(user) => user,
                Err(e) => return IssueTokenResponse::InternalServerError(internal(&ctx, e)),
            },
            Err(_) => None,
        };
        // Verified even when there is no such user, against a dummy hash, so the
        // answer takes as long either way.
        let passwords = self.passwords.clone();
        let stored = user.as_ref().and_then(|u| u.password_hash.clone());
        let password = req.body.password;
        let verified =
            tokio::task::spawn_blocking(move || passwords.verify(&password, stored.as_deref()))
                .await
                .expect("verifying does not panic");
        let user = match (verified, user) {
            (true, Some(user)) => user,
            (_, user) => {
                tracing::info!(request_id = %ctx.request_id, "login failed");
                record(
                    &self.audit,
                    AuditEvent::of(&ctx, Action::LoginFailed, user.map(|u| u.id.as_uuid())),
                )
                .await;
                return IssueTokenResponse::Unauthorized {
                    body: unauthorized(&ctx, "the email or password is wrong"),
                    www_authenticate: None,
                };
            }
        };
        record(
            &self.audit,
            AuditEvent::of(&ctx, Action::LoginSucceeded, Some(user.id.as_uuid()))
                .by(user.id.as_uuid()),
        )
        .await;
        match self.token_pair(&user, Uuid::now_v7()).await {
            Ok(pair) => IssueTokenResponse::Ok(pair),
            Err(e) => IssueTokenResponse::InternalServerError(internal(&ctx, e)),
        }
    }

    async fn refresh_token(
        &self,
        ctx: RequestContext,
        req: RefreshTokenRequest,
    ) -> RefreshTokenResponse {
        let refused = |detail: &str| RefreshTokenResponse::Unauthorized {
            body: unauthorized(&ctx, detail),
            www_authenticate: None,
        };
        let now = Timestamp::now().micros();
        let stored = match self
            .refresh_tokens
            .find(&digest(&req.body.refresh_token))
            .await
        {
            Ok(Some(stored)) => stored,
            Ok(None) => return refused("the refresh token is unknown"),
            Err(e) => return RefreshTokenResponse::InternalServerError(internal(&ctx, e)),
        };
        if stored.revoked {
            return refused("the refresh token has been revoked");
        }
        // A used token presented again means it was copied: end the whole login.
        if stored.used
            || !matches!(
                self.refresh_tokens.mark_used(stored.id, now).await,
                Ok(true)
            )
        {
            tracing::warn!(request_id = %ctx.request_id, family = %stored.family_id, "refresh token reused; revoking its family");
            if let Err(e) = self
                .refresh_tokens
                .revoke_family(stored.family_id, now)
                .await
            {
                return RefreshTokenResponse::InternalServerError(internal(&ctx, e));
            }
            return refused(
                "the refresh token was already used; every token of this login is now revoked",
            );
        }
        if stored.expires_at_us <= now {
            return refused("the refresh token has expired");
        }
        let user = match self.users.get(UserId::from(stored.user_id)).await {
            Ok(Some(user)) => user,
            Ok(None) => return refused("the account no longer exists"),
            Err(e) => return RefreshTokenResponse::InternalServerError(internal(&ctx, e)),
        };
        match self.token_pair(&user, stored.family_id).await {
            Ok(pair) => RefreshTokenResponse::Ok(pair),
            Err(e) => RefreshTokenResponse::InternalServerError(internal(&ctx, e)),
        }
    }

    async fn logout(&self, ctx: RequestContext, req: LogoutRequest) -> LogoutResponse {
        match self
            .refresh_tokens
            .find(&digest(&req.body.refresh_token))
            .await
        {
            Ok(Some(stored)) => match self
                .refresh_tokens
                .revoke_family(stored.family_id, Timestamp::now().micros())
                .await
            {
                Ok(()) => LogoutResponse::NoContent,
                Err(e) => LogoutResponse::InternalServerError(internal(&ctx, e)),
            },
            // Unknown tokens are "already logged out": nothing to reveal.
            Ok(None) => LogoutResponse::NoContent,
            Err(e) => LogoutResponse::InternalServerError(internal(&ctx, e)),
        }
    }

    async fn get_jwks(&self, _ctx: RequestContext, _req: GetJwksRequest) -> GetJwksResponse {
        GetJwksResponse::Ok(self.tokens.jwks())
    }
}
