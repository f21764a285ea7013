//! The users operations, through their happy paths and their documented
//! failures, driven by the generated Rust client.

use std::collections::HashSet;

use keel_client::types::users::*;
use keel_client::types::{ListUsersOrder, Tristate, User, UserPatch};
use uuid::Uuid;

use crate::support::{TestApp, assert_problem, new_user};

fn patch() -> UserPatch {
    UserPatch {
        email: None,
        display_name: None,
        avatar_url: Tristate::Absent,
        phone: Tristate::Absent,
    }
}

fn update(user_id: Uuid, if_match: &str, body: UserPatch) -> UpdateUserRequest {
    UpdateUserRequest {
        user_id,
        if_match: if_match.to_owned(),
        body,
    }
}

#[tokio::test]
async fn a_user_can_be_created_read_listed_updated_and_deleted() {
    let app = TestApp::spawn().await;

    let reply = app
        .api
        .create_user(&CreateUserRequest {
            body: new_user("Ada@Example.com", "Ada Lovelace"),
        })
        .await
        .unwrap();
    assert_eq!(reply.status.as_u16(), 201);
    let CreateUserResponse::Created {
        body: created,
        etag,
        location,
    } = reply.value
    else {
        panic!("{:?}", reply.value)
    };
    assert_eq!(location, format!("/v1/users/{}", created.id));
    assert_eq!(
        created.email, "ada@example.com",
        "emails are stored in lower case"
    );
    assert_eq!(created.display_name, "Ada Lovelace");
    assert_eq!(created.avatar_url, None);
    assert_eq!(created.created_at, created.updated_at);
    let id = created.id;

    let reply = app
        .api
        .get_user(&GetUserRequest { user_id: id })
        .await
        .unwrap();
    assert_eq!(
        reply.value,
        GetUserResponse::Ok {
            body: created.clone(),
            etag: etag.clone()
        }
    );

    let reply = app
        .api
        .list_users(&ListUsersRequest::default())
        .await
        .unwrap();
    let ListUsersResponse::Ok(page) = reply.value else {
        panic!("{:?}", reply.value)
    };
    assert_eq!(page.items, vec![created.clone()]);
    assert_eq!(page.next_cursor, None, "one page only");

    let body = UserPatch {
        display_name: Some("Countess of Lovelace".into()),
        avatar_url: Tristate::Value("https://example.com/ada.png".into()),
        ..patch()
    };
    let reply = app.api.update_user(&update(id, &etag, body)).await.unwrap();
    let UpdateUserResponse::Ok {
        body: updated,
        etag: etag2,
    } = reply.value
    else {
        panic!("{:?}", reply.value)
    };
    assert_ne!(etag2, etag, "a write makes a new version");
    assert_eq!(updated.display_name, "Countess of Lovelace");
    assert_eq!(
        updated.avatar_url.as_deref(),
        Some("https://example.com/ada.png")
    );
    assert_eq!(
        updated.email, "ada@example.com",
        "absent properties are left alone"
    );
    assert_eq!(updated.created_at, created.created_at);
    assert!(updated.updated_at >= created.updated_at);

    // `null` clears a nullable property; absence leaves it alone.
    let reply = app
        .api
        .update_user(&update(
            id,
            &etag2,
            UserPatch {
                avatar_url: Tristate::Null,
                ..patch()
            },
        ))
        .await
        .unwrap();
    let UpdateUserResponse::Ok { body: cleared, .. } = reply.value else {
        panic!("{:?}", reply.value)
    };
    assert_eq!(cleared.avatar_url, None);
    assert_eq!(cleared.display_name, "Countess of Lovelace");

    let reply = app
        .api
        .delete_user(&DeleteUserRequest { user_id: id })
        .await
        .unwrap();
    assert_eq!(reply.value, DeleteUserResponse::NoContent);
    let reply = app
        .api
        .get_user(&GetUserRequest { user_id: id })
        .await
        .unwrap();
    let GetUserResponse::NotFound(problem) = &reply.value else {
        panic!("{:?}", reply.value)
    };
    assert_problem(&reply, problem, 404);
    let reply = app
        .api
        .delete_user(&DeleteUserRequest { user_id: id })
        .await
        .unwrap();
    let DeleteUserResponse::NotFound(problem) = &reply.value else {
        panic!("{:?}", reply.value)
    };
    assert_problem(&reply, problem, 404);
}

#[tokio::test]
async fn an_email_in_use_is_a_conflict_whatever_its_case() {
    let app = TestApp::spawn().await;
    app.create_user("grace@example.com", "Grace").await;
    let reply = app
        .api
        .create_user(&CreateUserRequest {
            body: new_user("GRACE@example.com", "Another Grace"),
        })
        .await
        .unwrap();
    let CreateUserResponse::Conflict(problem) = &reply.value else {
        panic!("{:?}", reply.value)
    };
    assert_problem(&reply, problem, 409);
    assert_eq!(problem.type_, "urn:keel:problem:email-taken");

    // Changing another user's email to a taken one conflicts too.
    let (other, etag) = app.create_user("hopper@example.com", "Hopper").await;
    let body = UserPatch {
        email: Some("grace@example.com".into()),
        ..patch()
    };
    let reply = app
        .api
        .update_user(&update(other.id, &etag, body))
        .await
        .unwrap();
    let UpdateUserResponse::Conflict(problem) = &reply.value else {
        panic!("{:?}", reply.value)
    };
    assert_problem(&reply, problem, 409);
}

#[tokio::test]
async fn updates_need_the_current_etag() {
    let app = TestApp::spawn().await;
    let (user, etag) = app.create_user("linus@example.com", "Linus").await;
    let rename = |name: &str| UserPatch {
        display_name: Some(name.into()),
        ..patch()
    };

    let reply = app
        .api
        .update_user(&update(user.id, &etag, rename("L")))
        .await
        .unwrap();
    assert!(
        matches!(reply.value, UpdateUserResponse::Ok { .. }),
        "{:?}",
        reply.value
    );

    // The first ETag is now stale.
    let reply = app
        .api
        .update_user(&update(user.id, &etag, rename("M")))
        .await
        .unwrap();
    let UpdateUserResponse::PreconditionFailed(problem) = &reply.value else {
        panic!("{:?}", reply.value)
    };
    assert_problem(&reply, problem, 412);
    assert_eq!(problem.type_, "urn:keel:problem:stale-version");
    let reply = app
        .api
        .get_user(&GetUserRequest { user_id: user.id })
        .await
        .unwrap();
    let GetUserResponse::Ok { body: current, .. } = reply.value else {
        panic!("{:?}", reply.value)
    };
    assert_eq!(
        current.display_name, "L",
        "a rejected update changes nothing"
    );

    // `*` matches any version.
    let reply = app
        .api
        .update_user(&update(user.id, "*", rename("N")))
        .await
        .unwrap();
    assert!(
        matches!(reply.value, UpdateUserResponse::Ok { .. }),
        "{:?}",
        reply.value
    );

    let reply = app
        .api
        .update_user(&update(Uuid::now_v7(), "\"1\"", rename("X")))
        .await
        .unwrap();
    let UpdateUserResponse::NotFound(problem) = &reply.value else {
        panic!("{:?}", reply.value)
    };
    assert_problem(&reply, problem, 404);
}

#[tokio::test]
async fn of_two_concurrent_updates_with_one_etag_exactly_one_wins() {
    let app = TestApp::spawn().await;
    // Several rounds, since a single race can be won by luck of scheduling.
    for round in 0..8 {
        let (user, etag) = app
            .create_user(&format!("race{round}@example.com"), "Racer")
            .await;
        let left = update(
            user.id,
            &etag,
            UserPatch {
                display_name: Some("Left".into()),
                ..patch()
            },
        );
        let right = update(
            user.id,
            &etag,
            UserPatch {
                display_name: Some("Right".into()),
                ..patch()
            },
        );
        let (a, b) = tokio::join!(app.api.update_user(&left), app.api.update_user(&right));
        let mut statuses = [a.unwrap().status.as_u16(), b.unwrap().status.as_u16()];
        statuses.sort_unstable();
        assert_eq!(statuses, [200, 412], "round {round}");
        let reply = app
            .api
            .get_user(&GetUserRequest { user_id: user.id })
            .await
            .unwrap();
        let GetUserResponse::Ok { body, etag: now } = reply.value else {
            panic!("{:?}", reply.value)
        };
        assert!(body.display_name == "Left" || body.display_name == "Right");
        assert_ne!(now, etag, "exactly one write landed");
    }
}

async fn page(app: &TestApp, request: ListUsersRequest) -> (Vec<User>, Option<String>) {
    let reply = app.api.list_users(&request).await.unwrap();
    let ListUsersResponse::Ok(page) = reply.value else {
        panic!("{:?}", reply.value)
    };
    (page.items, page.next_cursor)
}

fn ids(users: &[User]) -> Vec<Uuid> {
    users.iter().map(|u| u.id).collect()
}

/// Follows `nextCursor` from the first page to the last: the ids seen, and how
/// many pages it took. Each page must hold at most `limit` users.
async fn every_page(app: &TestApp, first: ListUsersRequest) -> (Vec<Uuid>, usize) {
    let mut seen = Vec::new();
    let mut pages = 0;
    let mut request = first;
    loop {
        let (items, next) = page(app, request.clone()).await;
        pages += 1;
        assert!(items.len() <= request.limit as usize);
        seen.extend(ids(&items));
        match next {
            Some(next) => request.cursor = Some(next),
            None => return (seen, pages),
        }
        assert!(pages < 20, "paging does not end");
    }
}

#[tokio::test]
async fn paging_visits_every_user_once_in_creation_order() {
    let app = TestApp::spawn().await;
    let mut created = Vec::new();
    for i in 0..23 {
        let (user, _) = app
            .create_user(&format!("user{i:02}@example.com"), &format!("User {i}"))
            .await;
        created.push(user.id);
    }
    let (seen, pages) = every_page(
        &app,
        ListUsersRequest {
            limit: 5,
            ..Default::default()
        },
    )
    .await;
    assert_eq!(pages, 5);
    assert_eq!(seen, created, "every user once, in creation order");
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 23);

    // Newest first pages the other way round, with the same guarantees.
    let newest_first = ListUsersRequest {
        limit: 7,
        order: ListUsersOrder::NewestFirst,
        ..Default::default()
    };
    let (newest, pages) = every_page(&app, newest_first).await;
    assert_eq!(pages, 4);
    assert_eq!(newest, created.iter().rev().copied().collect::<Vec<_>>());

    // The default page size is 20.
    let (items, next) = page(&app, ListUsersRequest::default()).await;
    assert_eq!(items.len(), 20);
    assert!(next.is_some());
}

#[tokio::test]
async fn listing_filters_by_email_text_and_creation_time() {
    let app = TestApp::spawn().await;
    let (a, _) = app.create_user("alice@shop.example", "Alice").await;
    let (b, _) = app.create_user("bob_smith@shop.example", "Bob").await;
    let (c, _) = app.create_user("carol@other.example", "Carol").await;
    let with_text = |text: &str| ListUsersRequest {
        email_contains: Some(text.to_owned()),
        ..Default::default()
    };

    assert_eq!(
        ids(&page(&app, with_text("SHOP")).await.0),
        [a.id, b.id],
        "case-insensitive"
    );
    // `_` and `%` are literal text, not wildcards.
    assert_eq!(ids(&page(&app, with_text("b_s")).await.0), [b.id]);
    assert_eq!(ids(&page(&app, with_text("%")).await.0), Vec::<Uuid>::new());

    let after_b = ListUsersRequest {
        created_after: Some(b.created_at),
        ..Default::default()
    };
    assert_eq!(ids(&page(&app, after_b).await.0), [c.id], "strictly after");
    let before_b = ListUsersRequest {
        created_before: Some(b.created_at),
        ..Default::default()
    };
    assert_eq!(
        ids(&page(&app, before_b).await.0),
        [a.id],
        "strictly before"
    );
    let both = ListUsersRequest {
        created_after: Some(a.created_at),
        ..with_text("carol")
    };
    assert_eq!(ids(&page(&app, both).await.0), [c.id], "filters combine");
}

#[tokio::test]
async fn a_phone_number_is_stored_encrypted_and_read_back_in_clear() {
    use sea_orm::ConnectionTrait;
    let app = TestApp::spawn().await;
    let mut body = new_user("phone@example.com", "Phoned");
    body.phone = Tristate::Value("+4915112345678".into());
    let reply = app
        .api
        .create_user(&CreateUserRequest { body })
        .await
        .unwrap();
    let CreateUserResponse::Created {
        body: user, etag, ..
    } = reply.value
    else {
        panic!("{:?}", reply.value)
    };
    assert_eq!(user.phone.as_deref(), Some("+4915112345678"));

    let db = sea_orm::Database::connect(app.database_url())
        .await
        .unwrap();
    let statement = sea_orm::Statement::from_string(
        db.get_database_backend(),
        "SELECT phone_ciphertext FROM users",
    );
    let row = db.query_one_raw(statement).await.unwrap().unwrap();
    let stored: String = row.try_get("", "phone_ciphertext").unwrap();
    assert!(
        !stored.contains("15112345678"),
        "no plaintext at rest: {stored}"
    );
    assert!(
        stored
            .split_once(':')
            .is_some_and(|(kid, _)| kid.starts_with('f')),
        "the key id is stored beside it: {stored}"
    );
    db.close().await.unwrap();

    let reply = app
        .api
        .get_user(&GetUserRequest { user_id: user.id })
        .await
        .unwrap();
    let GetUserResponse::Ok { body: read, .. } = reply.value else {
        panic!("{:?}", reply.value)
    };
    assert_eq!(read.phone.as_deref(), Some("+4915112345678"));

    let reply = app
        .api
        .update_user(&update(
            user.id,
            &etag,
            UserPatch {
                phone: Tristate::Null,
                ..patch()
            },
        ))
        .await
        .unwrap();
    let UpdateUserResponse::Ok { body: cleared, .. } = reply.value else {
        panic!("{:?}", reply.value)
    };
    assert_eq!(cleared.phone, None);
}
