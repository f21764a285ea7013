//! The event pipeline end to end on the embedded default, the in-process bus:
//! a registration commits its `user.registered` event with the user (outbox),
//! the relay delivers it, and the notifications consumer stores one welcome.
//! `tests/broker` runs the same path through RabbitMQ.

use keel_client::types::auth::{RegisterUserRequest, RegisterUserResponse};
use keel_client::types::notifications::{
    ListUserNotificationsRequest, ListUserNotificationsResponse,
};
use keel_client::types::users::{CreateUserRequest, CreateUserResponse};
use keel_client::types::{NotificationKind, Registration};
use reqwest::Method;
use sea_orm::{ConnectionTrait, Statement};
use uuid::Uuid;

use crate::support::{TestApp, header, new_user, wait_for_count};

#[tokio::test]
async fn registering_sends_one_welcome_the_user_can_read() {
    let app = TestApp::spawn().await;
    let reply = app
        .client_as(None)
        .register_user(&RegisterUserRequest {
            body: Registration {
                email: "ada@example.com".into(),
                display_name: "Ada".into(),
                password: "correct horse battery staple".into(),
            },
        })
        .await
        .expect("POST is answered");
    let RegisterUserResponse::Created { body: user, .. } = reply.value else {
        panic!("registering: {:?}", reply.value);
    };

    let found = app.notifications(user.id, 1).await;
    assert_eq!(found[0].kind, NotificationKind::Welcome);
    assert!(found[0].body.contains("Hello Ada"), "{:?}", found[0]);

    let own = app
        .client_as(Some(app.tokens.issue(user.id, "customer")))
        .list_user_notifications(&ListUserNotificationsRequest {
            user_id: user.id,
            limit: 10,
            cursor: None,
        })
        .await
        .expect("GET is answered")
        .value;
    assert!(
        matches!(&own, ListUserNotificationsResponse::Ok(page) if page.items == found),
        "{own:?}"
    );

    // Another customer is told there is no such user, not that it is forbidden.
    let other = app
        .client_as(Some(app.tokens.issue(Uuid::now_v7(), "customer")))
        .list_user_notifications(&ListUserNotificationsRequest {
            user_id: user.id,
            limit: 10,
            cursor: None,
        })
        .await
        .expect("GET is answered")
        .value;
    assert!(
        matches!(other, ListUserNotificationsResponse::NotFound(_)),
        "{other:?}"
    );
}

#[tokio::test]
async fn a_refused_write_records_no_event() {
    let app = TestApp::spawn().await;
    let (user, _) = app.create_user("grace@example.com", "Grace").await;
    let again = app
        .api
        .create_user(&CreateUserRequest {
            body: new_user("grace@example.com", "Grace again"),
        })
        .await
        .expect("POST is answered")
        .value;
    assert!(
        matches!(again, CreateUserResponse::Conflict(_)),
        "{again:?}"
    );
    app.notifications(user.id, 1).await;

    let db = app.database().await;
    // The relay marks the event published after the consumer has run.
    wait_for_count(
        &db,
        "SELECT COUNT(*) FROM outbox_events WHERE published_at_us IS NOT NULL",
        1,
        std::time::Duration::from_secs(10),
    )
    .await;
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT event_name, published_at_us FROM outbox_events",
        ))
        .await
        .unwrap();
    assert_eq!(rows.len(), 1, "one user, one event");
    let name: String = rows[0].try_get("", "event_name").unwrap();
    let published: Option<i64> = rows[0].try_get("", "published_at_us").unwrap();
    assert_eq!(name, "user.registered");
    assert!(published.is_some(), "the relay marked it published");
}

#[tokio::test]
async fn the_request_trace_runs_through_the_outbox_into_the_consumer() {
    let app = TestApp::spawn().await;
    let trace_id = Uuid::now_v7().simple().to_string();
    let traceparent = format!("00-{trace_id}-00f067aa0ba902b7-01");
    let response = app
        .request(Method::POST, "/v1/users")
        .header("traceparent", &traceparent)
        .json(&serde_json::json!({"email": "tracy@example.com", "displayName": "Tracy"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let returned = header(&response, "traceparent");
    assert_eq!(
        keel::platform::trace::trace_id(&returned),
        Some(trace_id.as_str())
    );
    assert_ne!(
        returned, traceparent,
        "the server's span is a child, with its own id"
    );
    let user: serde_json::Value = response.json().await.unwrap();
    let user_id: Uuid = user["id"].as_str().unwrap().parse().unwrap();
    app.notifications(user_id, 1).await;

    let db = app.database().await;
    let backend = db.get_database_backend();
    let outbox = db
        .query_one_raw(Statement::from_string(
            backend,
            "SELECT id, traceparent FROM outbox_events",
        ))
        .await
        .unwrap()
        .expect("the event");
    let event_id: Uuid = outbox.try_get("", "id").unwrap();
    let recorded: String = outbox.try_get("", "traceparent").unwrap();
    assert_eq!(
        keel::platform::trace::trace_id(&recorded),
        Some(trace_id.as_str())
    );

    let inbox = db
        .query_all_raw(Statement::from_string(
            backend,
            "SELECT consumer, event_id, traceparent FROM event_inbox",
        ))
        .await
        .unwrap();
    assert_eq!(inbox.len(), 1);
    let consumed: Uuid = inbox[0].try_get("", "event_id").unwrap();
    let consumer_trace: String = inbox[0].try_get("", "traceparent").unwrap();
    assert_eq!(consumed, event_id);
    assert_eq!(
        keel::platform::trace::trace_id(&consumer_trace),
        Some(trace_id.as_str()),
        "the consumer's span continues the request's trace"
    );
    assert_ne!(consumer_trace, recorded, "in a span of its own");
}

#[tokio::test]
async fn deleting_a_user_erases_their_notifications() {
    let app = TestApp::spawn().await;
    let (user, _) = app.create_user("gone@example.com", "Gone").await;
    let (stays, _) = app.create_user("stays@example.com", "Stays").await;
    app.notifications(user.id, 1).await;
    app.notifications(stays.id, 1).await;
    let deleted = app
        .request(Method::DELETE, &format!("/v1/users/{}", user.id))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);

    // At once: the listing asks the users context, not the consumer.
    let listing = app
        .api
        .list_user_notifications(&ListUserNotificationsRequest {
            user_id: user.id,
            limit: 10,
            cursor: None,
        })
        .await
        .expect("GET is answered")
        .value;
    assert!(
        matches!(listing, ListUserNotificationsResponse::NotFound(_)),
        "{listing:?}"
    );
    // Soon: the `user.deleted` consumer erases the stored copies, and only theirs.
    let db = app.database().await;
    wait_for_count(
        &db,
        "SELECT COUNT(*) FROM notifications",
        1,
        std::time::Duration::from_secs(30),
    )
    .await;
    app.notifications(stays.id, 1).await;
}
