//! What the auth context needs from storage.

use std::future::Future;

use uuid::Uuid;

use crate::users::ports::StorageError;

/// One refresh token as stored: only a hash of the token itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRefreshToken {
    pub id: Uuid,
    /// Every token descended from one login shares its family.
    pub family_id: Uuid,
    pub user_id: Uuid,
    pub expires_at_us: i64,
    /// Set when the token was exchanged; presenting it again is reuse.
    pub used: bool,
    pub revoked: bool,
}

pub trait RefreshTokenStore: Send + Sync + 'static {
    fn insert(
        &self,
        token: &StoredRefreshToken,
        token_hash: &str,
    ) -> impl Future<Output = Result<(), StorageError>> + Send;

    fn find(
        &self,
        token_hash: &str,
    ) -> impl Future<Output = Result<Option<StoredRefreshToken>, StorageError>> + Send;

    /// Marks the token used if it is still unused and unrevoked; `false` means
    /// another request used it first (a replay).
    fn mark_used(
        &self,
        id: Uuid,
        at_us: i64,
    ) -> impl Future<Output = Result<bool, StorageError>> + Send;

    fn revoke_family(
        &self,
        family_id: Uuid,
        at_us: i64,
    ) -> impl Future<Output = Result<(), StorageError>> + Send;
}
