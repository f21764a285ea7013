//! The users use cases, behind the generated `UsersApi` trait: requests arrive
//! decoded and validated against the contract; this maps them to the domain,
//! calls the repository and maps the outcome to the operation's response enum.

use keel_server::RequestContext;
use keel_server::types::{self as dto, Problem};
use keel_server::users::*;
use uuid::Uuid;

use super::domain::{
    AvatarUrl, DisplayName, Email, InvalidValue, Phone, Role, Timestamp, User, UserChanges, UserId,
    Version,
};
use super::ports::{ListQuery, StorageError, UserRepository, WriteError};
use super::registration;
use crate::audit::ports::{Action, AuditEvent, AuditSink, record};
use crate::auth::password::{Password, Passwords};
use crate::platform::conditional::{self, if_match_allows};
use crate::platform::cursor;
use crate::platform::db::Transactions;
use crate::platform::problem::{self, FieldProblem};

pub struct UsersService<R, A> {
    repo: R,
    transactions: Transactions,
    audit: A,
    passwords: Passwords,
}

impl<R: UserRepository, A: AuditSink> UsersService<R, A> {
    pub fn new(repo: R, transactions: Transactions, audit: A, passwords: Passwords) -> Self {
        UsersService {
            repo,
            transactions,
            audit,
            passwords,
        }
    }
}

/// Object-level authorization (OWASP API1): a caller without `users:admin` may
/// touch only their own user. Others' users are reported missing (404), not
/// forbidden, so ids cannot be probed for existence.
pub fn may_access(ctx: &RequestContext, user_id: Uuid) -> bool {
    ctx.principal
        .as_ref()
        .is_some_and(|p| p.has_scope("users:admin") || p.user_id == user_id)
}

pub fn role_from_dto(role: dto::Role) -> Role {
    match role {
        dto::Role::Customer => Role::Customer,
        dto::Role::Admin => Role::Admin,
    }
}

pub(crate) fn role_to_dto(role: Role) -> dto::Role {
    match role {
        Role::Customer => dto::Role::Customer,
        Role::Admin => dto::Role::Admin,
    }
}

impl<R: UserRepository, A: AuditSink> UsersApi for UsersService<R, A> {
    async fn create_user(&self, ctx: RequestContext, req: CreateUserRequest) -> CreateUserResponse {
        let body = req.body;
        let parsed = (|| {
            Ok::<_, FieldProblem>((
                Email::parse(&body.email).map_err(|e| invalid("/email", e))?,
                DisplayName::parse(&body.display_name).map_err(|e| invalid("/displayName", e))?,
                body.avatar_url
                    .into_option()
                    .map(|a| AvatarUrl::parse(&a))
                    .transpose()
                    .map_err(|e| invalid("/avatarUrl", e))?,
                body.password
                    .as_deref()
                    .map(Password::parse)
                    .transpose()
                    .map_err(|e| FieldProblem::body("/password", "length", e.to_owned()))?,
                body.phone
                    .into_option()
                    .map(|p| Phone::parse(&p))
                    .transpose()
                    .map_err(|e| invalid("/phone", e))?,
            ))
        })();
        let (email, display_name, avatar_url, password, phone) = match parsed {
            Ok(values) => values,
            Err(field) => {
                return CreateUserResponse::BadRequest(problem::invalid_field(&ctx, field));
            }
        };
        let password_hash = match password {
            Some(password) => Some(hash_off_thread(&self.passwords, password).await),
            None => None,
        };
        let role = body.role.map_or(Role::Customer, role_from_dto);
        let mut user = User::register(
            email,
            display_name,
            avatar_url,
            role,
            password_hash,
            Timestamp::now(),
        );
        user.phone = phone;
        match registration::register(&self.repo, &self.transactions, &user).await {
            Ok(()) => {
                record(
                    &self.audit,
                    AuditEvent::of(&ctx, Action::UserCreated, Some(user.id.as_uuid())),
                )
                .await;
                CreateUserResponse::Created {
                    etag: etag(user.version),
                    location: format!("/v1/users/{}", user.id),
                    body: to_dto(&user),
                }
            }
            Err(WriteError::EmailTaken) => CreateUserResponse::Conflict(email_taken(&ctx)),
            Err(WriteError::Stale) => unreachable!("an insert has no expected version"),
            Err(WriteError::Storage(e)) => {
                CreateUserResponse::InternalServerError(internal(&ctx, e))
            }
        }
    }

    async fn get_user(&self, ctx: RequestContext, req: GetUserRequest) -> GetUserResponse {
        if !may_access(&ctx, req.user_id) {
            return GetUserResponse::NotFound(not_found(&ctx, req.user_id));
        }
        match self.repo.get(req.user_id.into()).await {
            Ok(Some(user)) => GetUserResponse::Ok {
                etag: etag(user.version),
                body: to_dto(&user),
            },
            Ok(None) => GetUserResponse::NotFound(not_found(&ctx, req.user_id)),
            Err(e) => GetUserResponse::InternalServerError(internal(&ctx, e)),
        }
    }

    async fn list_users(&self, ctx: RequestContext, req: ListUsersRequest) -> ListUsersResponse {
        let after = match req.cursor.as_deref().map(decode_cursor).transpose() {
            Ok(after) => after,
            Err(field) => {
                return ListUsersResponse::BadRequest(problem::invalid_field(&ctx, field));
            }
        };
        let limit = u64::try_from(req.limit).expect("the contract bounds limit to 1..=100");
        let query = ListQuery {
            newest_first: req.order == dto::ListUsersOrder::NewestFirst,
            after,
            // One more than asked tells whether another page follows.
            limit: limit + 1,
            email_contains: req.email_contains.map(|text| text.to_lowercase()),
            created_after: req.created_after.map(Timestamp::from),
            created_before: req.created_before.map(Timestamp::from),
        };
        match self.repo.list(&query).await {
            Ok(mut users) => {
                let more = users.len() as u64 > limit;
                users.truncate(limit as usize);
                let next_cursor = if more {
                    users.last().map(|u| encode_cursor(u.id))
                } else {
                    None
                };
                ListUsersResponse::Ok(dto::UserPage {
                    items: users.iter().map(to_dto).collect(),
                    next_cursor,
                })
            }
            Err(e) => ListUsersResponse::InternalServerError(internal(&ctx, e)),
        }
    }

    async fn update_user(&self, ctx: RequestContext, req: UpdateUserRequest) -> UpdateUserResponse {
        if !may_access(&ctx, req.user_id) {
            return UpdateUserResponse::NotFound(not_found(&ctx, req.user_id));
        }
        let changes = match to_changes(req.body) {
            Ok(changes) => changes,
            Err(field) => {
                return UpdateUserResponse::BadRequest(problem::invalid_field(&ctx, field));
            }
        };
        let mut user = match self.repo.get(req.user_id.into()).await {
            Ok(Some(user)) => user,
            Ok(None) => return UpdateUserResponse::NotFound(not_found(&ctx, req.user_id)),
            Err(e) => return UpdateUserResponse::InternalServerError(internal(&ctx, e)),
        };
        let current = etag(user.version);
        if !if_match_allows(&req.if_match, &current) {
            return UpdateUserResponse::PreconditionFailed(problem::stale(
                &ctx,
                "user",
                Some(&current),
            ));
        }
        let expected = user.version;
        user.apply(changes, Timestamp::now());
        match self.repo.update(&user, expected).await {
            Ok(()) => UpdateUserResponse::Ok {
                etag: etag(user.version),
                body: to_dto(&user),
            },
            Err(WriteError::Stale) => {
                UpdateUserResponse::PreconditionFailed(problem::stale(&ctx, "user", None))
            }
            Err(WriteError::EmailTaken) => UpdateUserResponse::Conflict(email_taken(&ctx)),
            Err(WriteError::Storage(e)) => {
                UpdateUserResponse::InternalServerError(internal(&ctx, e))
            }
        }
    }

    async fn delete_user(&self, ctx: RequestContext, req: DeleteUserRequest) -> DeleteUserResponse {
        if !may_access(&ctx, req.user_id) {
            return DeleteUserResponse::NotFound(not_found(&ctx, req.user_id));
        }
        match registration::delete(&self.repo, &self.transactions, req.user_id.into()).await {
            Ok(true) => {
                record(
                    &self.audit,
                    AuditEvent::of(&ctx, Action::UserDeleted, Some(req.user_id)),
                )
                .await;
                DeleteUserResponse::NoContent
            }
            Ok(false) => DeleteUserResponse::NotFound(not_found(&ctx, req.user_id)),
            Err(e) => DeleteUserResponse::InternalServerError(internal(&ctx, e)),
        }
    }
}

/// argon2 takes tens of milliseconds of CPU by design: off the async workers.
pub async fn hash_off_thread(passwords: &Passwords, password: Password) -> String {
    let passwords = passwords.clone();
    tokio::task::spawn_blocking(move || passwords.hash(&password))
        .await
        .expect("hashing does not panic")
}

pub fn to_dto(user: &User) -> dto::User {
    dto::User {
        id: user.id.as_uuid(),
        email: user.email.as_str().to_owned(),
        display_name: user.display_name.as_str().to_owned(),
        avatar_url: user.avatar_url.as_ref().map(|a| a.as_str().to_owned()),
        role: role_to_dto(user.role),
        phone: user.phone.as_ref().map(|p| p.as_str().to_owned()),
        created_at: user.created_at.as_datetime(),
        updated_at: user.updated_at.as_datetime(),
    }
}

fn to_changes(patch: dto::UserPatch) -> Result<UserChanges, FieldProblem> {
    Ok(UserChanges {
        email: patch
            .email
            .as_deref()
            .map(Email::parse)
            .transpose()
            .map_err(|e| invalid("/email", e))?,
        display_name: patch
            .display_name
            .as_deref()
            .map(DisplayName::parse)
            .transpose()
            .map_err(|e| invalid("/displayName", e))?,
        avatar_url: patch
            .avatar_url
            .into_change()
            .map(|avatar| avatar.map(|a| AvatarUrl::parse(&a)).transpose())
            .transpose()
            .map_err(|e| invalid("/avatarUrl", e))?,
        phone: patch
            .phone
            .into_change()
            .map(|phone| phone.map(|p| Phone::parse(&p)).transpose())
            .transpose()
            .map_err(|e| invalid("/phone", e))?,
    })
}

/// The contract's checks are looser than the domain's in places (a `uri` may be
/// `ftp:`, an avatar may not); the domain has the last word.
pub fn invalid(pointer: &'static str, error: InvalidValue) -> FieldProblem {
    FieldProblem::body(pointer, "domain", error.to_string())
}

pub fn etag(version: Version) -> String {
    conditional::etag(version.get())
}

fn encode_cursor(id: UserId) -> String {
    cursor::encode(id.as_uuid())
}

fn decode_cursor(text: &str) -> Result<UserId, FieldProblem> {
    cursor::parameter(text).map(UserId::from)
}

fn not_found(ctx: &RequestContext, id: Uuid) -> Problem {
    problem::problem(
        ctx,
        404,
        "user-not-found",
        format!("there is no user with id {id}"),
    )
}

pub fn email_taken(ctx: &RequestContext) -> Problem {
    problem::problem(
        ctx,
        409,
        "email-taken",
        "the email address is already used by another user",
    )
}

pub fn internal(ctx: &RequestContext, error: StorageError) -> Problem {
    problem::internal(ctx, &error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let id = UserId::new();
        assert_eq!(decode_cursor(&encode_cursor(id)).unwrap(), id);
        assert!(decode_cursor("not a cursor").is_err());
        assert!(
            decode_cursor("AAAA").is_err(),
            "valid base64 of the wrong length"
        );
    }
}
