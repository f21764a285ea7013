//! Accounts and tokens: sign-up, login, refresh rotation and reuse, logout,
//! keys, object-level authorization and the login rate limit.

use std::collections::BTreeSet;

use keel::auth::keys::{AUDIENCE, Claims, ISSUER};
use keel_client::types::audit::*;
use keel_client::types::auth::*;
use keel_client::types::users::*;
use keel_client::types::{
    AuditEventAction, Credentials, RefreshRequest, Registration, TokenPair, Tristate, UserPatch,
};
use uuid::Uuid;

use crate::support::{TestApp, assert_problem};

const PASSWORD: &str = "correct horse battery";

async fn register(app: &TestApp, email: &str) -> Uuid {
    let body = Registration {
        email: email.into(),
        display_name: "Someone".into(),
        password: PASSWORD.into(),
    };
    match app
        .client_as(None)
        .register_user(&RegisterUserRequest { body })
        .await
        .unwrap()
        .value
    {
        RegisterUserResponse::Created { body, .. } => body.id,
        other => panic!("registering {email}: {other:?}"),
    }
}

async fn login(app: &TestApp, email: &str, password: &str) -> IssueTokenResponse {
    let body = Credentials {
        email: email.into(),
        password: password.into(),
    };
    app.client_as(None)
        .issue_token(&IssueTokenRequest { body })
        .await
        .unwrap()
        .value
}

async fn tokens_of(app: &TestApp, email: &str) -> TokenPair {
    match login(app, email, PASSWORD).await {
        IssueTokenResponse::Ok(pair) => pair,
        other => panic!("logging in {email}: {other:?}"),
    }
}

async fn refresh(app: &TestApp, token: &str) -> RefreshTokenResponse {
    let body = RefreshRequest {
        refresh_token: token.into(),
    };
    app.client_as(None)
        .refresh_token(&RefreshTokenRequest { body })
        .await
        .unwrap()
        .value
}

#[tokio::test]
async fn a_person_registers_logs_in_and_reads_only_their_own_user() {
    let app = TestApp::spawn().await;
    let me = register(&app, "me@example.com").await;
    let other = register(&app, "other@example.com").await;
    let pair = tokens_of(&app, "me@example.com").await;
    assert_eq!(
        pair.token_type,
        keel_client::types::TokenPairTokenType::Bearer
    );
    assert!(pair.expires_in > 0);
    let client = app.client_as(Some(pair.access_token.clone()));

    let reply = client
        .get_user(&GetUserRequest { user_id: me })
        .await
        .unwrap();
    let GetUserResponse::Ok { body, etag } = reply.value else {
        panic!("{:?}", reply.value)
    };
    assert_eq!(body.role, keel_client::types::Role::Customer);

    // Another person's user does not exist, as far as a customer can tell (BOLA).
    let reply = client
        .get_user(&GetUserRequest { user_id: other })
        .await
        .unwrap();
    let GetUserResponse::NotFound(problem) = &reply.value else {
        panic!("{:?}", reply.value)
    };
    assert_problem(&reply, problem, 404);
    let patch = UserPatch {
        email: None,
        display_name: Some("Mine now".into()),
        avatar_url: Tristate::Absent,
        phone: Tristate::Absent,
    };
    let reply = client
        .update_user(&UpdateUserRequest {
            user_id: other,
            if_match: "*".into(),
            body: patch.clone(),
        })
        .await
        .unwrap();
    assert!(
        matches!(reply.value, UpdateUserResponse::NotFound(_)),
        "{:?}",
        reply.value
    );
    let reply = client
        .delete_user(&DeleteUserRequest { user_id: other })
        .await
        .unwrap();
    assert!(
        matches!(reply.value, DeleteUserResponse::NotFound(_)),
        "{:?}",
        reply.value
    );

    // Their own, they can change.
    let reply = client
        .update_user(&UpdateUserRequest {
            user_id: me,
            if_match: etag,
            body: patch,
        })
        .await
        .unwrap();
    assert!(
        matches!(reply.value, UpdateUserResponse::Ok { .. }),
        "{:?}",
        reply.value
    );

    // Creating and listing users is for administrators.
    let reply = client
        .list_users(&ListUsersRequest::default())
        .await
        .unwrap();
    let ListUsersResponse::Forbidden { body, .. } = &reply.value else {
        panic!("{:?}", reply.value)
    };
    assert_problem(&reply, body, 403);
    assert!(
        reply
            .headers
            .get("www-authenticate")
            .unwrap()
            .to_str()
            .unwrap()
            .contains("insufficient_scope")
    );
}

#[tokio::test]
async fn wrong_passwords_and_unknown_emails_get_the_same_401() {
    let app = TestApp::spawn().await;
    register(&app, "me@example.com").await;
    for (email, password) in [
        ("me@example.com", "not my password!"),
        ("nobody@example.com", PASSWORD),
        ("not an email", PASSWORD),
    ] {
        let IssueTokenResponse::Unauthorized { body, .. } = login(&app, email, password).await
        else {
            panic!("{email}")
        };
        assert_eq!(
            body.detail.as_deref(),
            Some("the email or password is wrong")
        );
    }
}

#[tokio::test]
async fn refresh_tokens_rotate_and_a_replay_revokes_the_whole_login() {
    let app = TestApp::spawn().await;
    register(&app, "me@example.com").await;
    let first = tokens_of(&app, "me@example.com").await;
    let RefreshTokenResponse::Ok(second) = refresh(&app, &first.refresh_token).await else {
        panic!()
    };
    assert_ne!(second.refresh_token, first.refresh_token);

    // The first token again: a replay. It fails, and so does the second, its heir.
    let RefreshTokenResponse::Unauthorized { body, .. } = refresh(&app, &first.refresh_token).await
    else {
        panic!()
    };
    assert!(body.detail.unwrap().contains("already used"));
    assert!(matches!(
        refresh(&app, &second.refresh_token).await,
        RefreshTokenResponse::Unauthorized { .. }
    ));

    // Another login is a separate family, untouched.
    let other = tokens_of(&app, "me@example.com").await;
    assert!(matches!(
        refresh(&app, &other.refresh_token).await,
        RefreshTokenResponse::Ok(_)
    ));
    assert!(matches!(
        refresh(&app, "made-up").await,
        RefreshTokenResponse::Unauthorized { .. }
    ));
}

#[tokio::test]
async fn logout_revokes_the_login() {
    let app = TestApp::spawn().await;
    register(&app, "me@example.com").await;
    let pair = tokens_of(&app, "me@example.com").await;
    let body = RefreshRequest {
        refresh_token: pair.refresh_token.clone(),
    };
    let reply = app
        .client_as(None)
        .logout(&LogoutRequest { body })
        .await
        .unwrap();
    assert_eq!(reply.value, LogoutResponse::NoContent);
    assert!(matches!(
        refresh(&app, &pair.refresh_token).await,
        RefreshTokenResponse::Unauthorized { .. }
    ));
}

#[tokio::test]
async fn the_key_set_publishes_the_signing_key() {
    let app = TestApp::spawn().await;
    let GetJwksResponse::Ok(set) = app
        .client_as(None)
        .get_jwks(&GetJwksRequest {})
        .await
        .unwrap()
        .value
    else {
        panic!()
    };
    let token = app.tokens.issue(Uuid::now_v7(), "customer");
    let kid = jsonwebtoken::decode_header(&token).unwrap().kid.unwrap();
    let key = set
        .keys
        .iter()
        .find(|k| k.kid == kid)
        .expect("the signing key is published");
    assert_eq!(
        (key.kty.as_str(), key.crv.as_str(), key.alg.as_str()),
        ("OKP", "Ed25519", "EdDSA")
    );
    // The published key verifies the token on its own, as another service would.
    let decoding = jsonwebtoken::DecodingKey::from_ed_components(&key.x).unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::EdDSA);
    validation.set_audience(&[AUDIENCE]);
    assert!(jsonwebtoken::decode::<Claims>(&token, &decoding, &validation).is_ok());
}

#[tokio::test]
async fn tampered_expired_and_unknown_key_tokens_get_401() {
    let app = TestApp::spawn().await;
    let me = register(&app, "me@example.com").await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let claims = |exp: u64| Claims {
        sub: me.to_string(),
        iss: ISSUER.into(),
        aud: AUDIENCE.into(),
        iat: now - 7200,
        exp,
        roles: vec!["admin".into()],
        scope: "users:read users:write users:admin".into(),
    };
    let valid = app.tokens.sign(&claims(now + 600));
    let expired = app.tokens.sign(&claims(now - 3600));
    let mut tampered = valid.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    // A token from a key this server does not know, under a made-up kid.
    let stranger_dir = std::env::temp_dir().join(format!("keel-stranger-{}", Uuid::now_v7()));
    // Generated under a timestamp kid, then renamed: the server cannot know this kid.
    keel::auth::SigningKeys::load_or_create(&stranger_dir).unwrap();
    // The key, not the lock file written beside it.
    let generated = std::fs::read_dir(&stranger_dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .find(|path| path.extension().is_some_and(|e| e == "pem"))
        .unwrap();
    std::fs::rename(&generated, stranger_dir.join("stranger.pem")).unwrap();
    let stranger = keel::auth::AccessTokens::new(
        keel::auth::SigningKeys::load_or_create(&stranger_dir).unwrap(),
        keel::auth::RoleScopes::parse("admin=users:read users:write users:admin").unwrap(),
        600,
    );
    let foreign = stranger.issue(me, "admin");
    assert_eq!(
        jsonwebtoken::decode_header(&foreign)
            .unwrap()
            .kid
            .as_deref(),
        Some("stranger")
    );
    std::fs::remove_dir_all(stranger_dir).unwrap();

    let read = |token: String| {
        let client = app.client_as(Some(token));
        async move {
            client
                .get_user(&GetUserRequest { user_id: me })
                .await
                .unwrap()
        }
    };
    assert!(matches!(
        read(valid).await.value,
        GetUserResponse::Ok { .. }
    ));
    for (name, token) in [
        ("expired", expired),
        ("tampered", tampered),
        ("unknown kid", foreign),
        ("garbage", "x.y.z".into()),
    ] {
        let reply = read(token).await;
        let GetUserResponse::Unauthorized { body, .. } = &reply.value else {
            panic!("{name}: {:?}", reply.value)
        };
        assert_problem(&reply, body, 401);
        let challenge = reply
            .headers
            .get("www-authenticate")
            .unwrap()
            .to_str()
            .unwrap();
        assert!(
            challenge.starts_with("Bearer") && challenge.contains("invalid_token"),
            "{name}: {challenge}"
        );
    }
}

#[tokio::test]
async fn a_burst_of_bad_logins_from_one_address_is_throttled() {
    let app = TestApp::spawn().await;
    register(&app, "me@example.com").await;
    let mut statuses = Vec::new();
    for _ in 0..200 {
        let body = Credentials {
            email: "me@example.com".into(),
            password: "guess guess guess".into(),
        };
        let reply = app
            .client_as(None)
            .issue_token(&IssueTokenRequest { body })
            .await
            .unwrap();
        if let IssueTokenResponse::TooManyRequests { retry_after, .. } = &reply.value {
            assert!(retry_after.is_some_and(|s| s >= 1), "{:?}", reply.value);
        }
        statuses.push(reply.status.as_u16());
    }
    let seen: BTreeSet<u16> = statuses.iter().copied().collect();
    assert_eq!(seen, [401, 429].into(), "wrong passwords, then throttling");
    assert!(
        statuses.iter().filter(|s| **s == 429).count() > 150,
        "most of the burst is refused"
    );
    // The budget refills one request every 3 s, so what follows the burst
    // depends on how long it took; the burst itself is the proof.

    // Every attempt that reached the service is in the audit log; throttled ones never did.
    let failures = statuses.iter().filter(|s| **s == 401).count();
    let mut events = Vec::new();
    let mut cursor = None;
    loop {
        let request = ListAuditEventsRequest {
            limit: 100,
            cursor: cursor.clone(),
        };
        let ListAuditEventsResponse::Ok(page) =
            app.api.list_audit_events(&request).await.unwrap().value
        else {
            panic!()
        };
        events.extend(page.items);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    let failed: Vec<_> = events
        .iter()
        .filter(|e| e.action == AuditEventAction::LoginFailed)
        .collect();
    assert_eq!(failed.len(), failures);
    assert!(
        failed
            .iter()
            .all(|e| e.client_ip.as_deref() == Some("127.0.0.1")
                && e.actor_id.is_none()
                && e.target_id.is_some())
    );
    assert!(
        events
            .iter()
            .any(|e| e.action == AuditEventAction::UserCreated)
    );
}

#[tokio::test]
async fn the_audit_log_is_append_only_in_the_database_itself() {
    use sea_orm::ConnectionTrait;
    let app = TestApp::spawn().await;
    register(&app, "me@example.com").await;
    tokens_of(&app, "me@example.com").await;
    let db = sea_orm::Database::connect(app.database_url())
        .await
        .unwrap();
    let count = || async {
        let statement = sea_orm::Statement::from_string(
            db.get_database_backend(),
            "SELECT COUNT(*) AS n FROM audit_events",
        );
        let row = db.query_one_raw(statement).await.unwrap().unwrap();
        row.try_get::<i64>("", "n").unwrap()
    };
    assert_eq!(count().await, 2, "user.created and login.succeeded");
    assert!(
        db.execute_unprepared("UPDATE audit_events SET action = 'login.failed'")
            .await
            .is_err()
    );
    assert!(
        db.execute_unprepared("DELETE FROM audit_events")
            .await
            .is_err()
    );
    assert_eq!(count().await, 2);
    db.close().await.unwrap();
}
