//! The users operations, through their happy paths and their documented failures.

use std::collections::HashSet;

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{TestApp, header, problem};

#[tokio::test]
async fn a_user_can_be_created_read_listed_updated_and_deleted() {
    let app = TestApp::spawn().await;

    let response = app
        .request(Method::POST, "/v1/users")
        .json(&json!({ "email": "Ada@Example.com", "displayName": "Ada Lovelace" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let etag = header(&response, "etag");
    let location = header(&response, "location");
    let created: Value = response.json().await.unwrap();
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(location, format!("/v1/users/{id}"));
    assert_eq!(
        created["email"], "ada@example.com",
        "emails are stored in lower case"
    );
    assert_eq!(created["displayName"], "Ada Lovelace");
    assert_eq!(created["avatarUrl"], Value::Null);
    assert_eq!(created["createdAt"], created["updatedAt"]);

    let response = app.get(&location).await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "etag"), etag);
    assert_eq!(response.json::<Value>().await.unwrap(), created);

    let page: Value = app.get("/v1/users").await.json().await.unwrap();
    assert_eq!(page["items"], json!([created]));
    assert!(page.get("nextCursor").is_none(), "one page only: {page}");

    let response = app
        .request(Method::PATCH, &location)
        .header("if-match", &etag)
        .json(&json!({ "displayName": "Countess of Lovelace", "avatarUrl": "https://example.com/ada.png" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let etag2 = header(&response, "etag");
    assert_ne!(etag2, etag, "a write makes a new version");
    let updated: Value = response.json().await.unwrap();
    assert_eq!(updated["displayName"], "Countess of Lovelace");
    assert_eq!(updated["avatarUrl"], "https://example.com/ada.png");
    assert_eq!(
        updated["email"], "ada@example.com",
        "absent properties are left alone"
    );
    assert_eq!(updated["createdAt"], created["createdAt"]);

    // `null` clears a nullable property; absence leaves it alone.
    let response = app
        .request(Method::PATCH, &location)
        .header("if-match", &etag2)
        .json(&json!({ "avatarUrl": null }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let cleared: Value = response.json().await.unwrap();
    assert_eq!(cleared["avatarUrl"], Value::Null);
    assert_eq!(cleared["displayName"], "Countess of Lovelace");

    let response = app.request(Method::DELETE, &location).send().await.unwrap();
    assert_eq!(response.status(), 204);
    problem(app.get(&location).await, 404).await;
    problem(
        app.request(Method::DELETE, &location).send().await.unwrap(),
        404,
    )
    .await;
}

#[tokio::test]
async fn an_email_in_use_is_a_conflict_whatever_its_case() {
    let app = TestApp::spawn().await;
    app.create_user("grace@example.com", "Grace").await;
    let response = app
        .request(Method::POST, "/v1/users")
        .json(&json!({ "email": "GRACE@example.com", "displayName": "Another Grace" }))
        .send()
        .await
        .unwrap();
    let body = problem(response, 409).await;
    assert_eq!(body["type"], "urn:keel:problem:email-taken");

    // Changing another user's email to a taken one conflicts too.
    let (other, etag) = app.create_user("hopper@example.com", "Hopper").await;
    let response = app
        .request(
            Method::PATCH,
            &format!("/v1/users/{}", other["id"].as_str().unwrap()),
        )
        .header("if-match", etag)
        .json(&json!({ "email": "grace@example.com" }))
        .send()
        .await
        .unwrap();
    problem(response, 409).await;
}

#[tokio::test]
async fn updates_need_the_current_etag() {
    let app = TestApp::spawn().await;
    let (user, etag) = app.create_user("linus@example.com", "Linus").await;
    let path = format!("/v1/users/{}", user["id"].as_str().unwrap());

    let missing = app
        .request(Method::PATCH, &path)
        .json(&json!({ "displayName": "L" }))
        .send()
        .await
        .unwrap();
    let body = problem(missing, 428).await;
    assert!(
        body["detail"].as_str().unwrap().contains("If-Match"),
        "{body}"
    );

    let ok = app
        .request(Method::PATCH, &path)
        .header("if-match", &etag)
        .json(&json!({ "displayName": "L" }))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);

    // The first ETag is now stale.
    let stale = app
        .request(Method::PATCH, &path)
        .header("if-match", &etag)
        .json(&json!({ "displayName": "M" }))
        .send()
        .await
        .unwrap();
    let body = problem(stale, 412).await;
    assert_eq!(body["type"], "urn:keel:problem:stale-version");
    let current: Value = app.get(&path).await.json().await.unwrap();
    assert_eq!(
        current["displayName"], "L",
        "a rejected update changes nothing"
    );

    let unknown = app
        .request(
            Method::PATCH,
            "/v1/users/01900000-0000-7000-8000-000000000000",
        )
        .header("if-match", "\"1\"")
        .json(&json!({ "displayName": "X" }))
        .send()
        .await
        .unwrap();
    problem(unknown, 404).await;
}

#[tokio::test]
async fn of_two_concurrent_updates_with_one_etag_exactly_one_wins() {
    let app = TestApp::spawn().await;
    // Several rounds, since a single race can be won by luck of scheduling.
    for round in 0..8 {
        let (user, etag) = app
            .create_user(&format!("race{round}@example.com"), "Racer")
            .await;
        let path = format!("/v1/users/{}", user["id"].as_str().unwrap());
        let send = |name: &'static str| {
            app.request(Method::PATCH, &path)
                .header("if-match", &etag)
                .json(&json!({ "displayName": name }))
                .send()
        };
        let (a, b) = tokio::join!(send("Left"), send("Right"));
        let mut statuses = [a.unwrap().status().as_u16(), b.unwrap().status().as_u16()];
        statuses.sort_unstable();
        assert_eq!(statuses, [200, 412], "round {round}");
        let stored: Value = app.get(&path).await.json().await.unwrap();
        assert!(stored["displayName"] == "Left" || stored["displayName"] == "Right");
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
        created.push(user["id"].as_str().unwrap().to_owned());
    }
    let mut seen = Vec::new();
    let mut pages = 0;
    let mut cursor: Option<String> = None;
    loop {
        let mut path = "/v1/users?limit=5".to_owned();
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let page: Value = app.get(&path).await.json().await.unwrap();
        pages += 1;
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 5);
        seen.extend(items.iter().map(|u| u["id"].as_str().unwrap().to_owned()));
        match page.get("nextCursor").and_then(Value::as_str) {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
        assert!(pages < 10, "paging does not end");
    }
    assert_eq!(pages, 5);
    assert_eq!(seen, created, "every user once, in creation order");
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 23);

    // The default page size is 20.
    let page: Value = app.get("/v1/users").await.json().await.unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 20);
    assert!(page["nextCursor"].is_string());
}

#[tokio::test]
async fn listing_filters_by_email_text_and_creation_time() {
    let app = TestApp::spawn().await;
    let (a, _) = app.create_user("alice@shop.example", "Alice").await;
    let (b, _) = app.create_user("bob_smith@shop.example", "Bob").await;
    let (c, _) = app.create_user("carol@other.example", "Carol").await;
    let ids = |page: &Value| -> Vec<String> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let id = |u: &Value| u["id"].as_str().unwrap().to_owned();

    let page: Value = app
        .get("/v1/users?emailContains=SHOP")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(ids(&page), [id(&a), id(&b)], "case-insensitive");

    // `_` and `%` are literal text, not wildcards.
    let page: Value = app
        .get("/v1/users?emailContains=b_s")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(ids(&page), [id(&b)]);
    let page: Value = app
        .get("/v1/users?emailContains=%25")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(ids(&page), Vec::<String>::new());

    let after = b["createdAt"].as_str().unwrap();
    let page: Value = app
        .get(&format!("/v1/users?createdAfter={}", urlencode(after)))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(ids(&page), [id(&c)], "strictly after");
    let page: Value = app
        .get(&format!("/v1/users?createdBefore={}", urlencode(after)))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(ids(&page), [id(&a)], "strictly before");
    let page: Value = app
        .get(&format!(
            "/v1/users?createdAfter={}&emailContains=carol",
            urlencode(a["createdAt"].as_str().unwrap())
        ))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(ids(&page), [id(&c)], "filters combine");
}

fn urlencode(text: &str) -> String {
    text.replace('+', "%2B").replace(':', "%3A")
}
