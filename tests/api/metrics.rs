//! `/metrics`: Prometheus text, labelled by operation and status class, with
//! the event pipeline's counters beside the HTTP ones.

use reqwest::Method;

use crate::support::{TestApp, header};

#[tokio::test]
async fn requests_and_events_are_counted_by_operation_never_by_id() {
    let app = TestApp::spawn().await;
    let (user, _) = app.create_user("counted@example.com", "Counted").await;
    app.notifications(user.id, 1).await;
    let anonymous = app
        .request_as(Method::GET, &format!("/v1/users/{}", user.id), None)
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);

    let response = app.get("/metrics").await;
    assert_eq!(response.status(), 200);
    assert!(header(&response, "content-type").starts_with("text/plain; version=0.0.4"));
    let text = response.text().await.unwrap();
    for expected in [
        r#"keel_http_requests_total{operation="createUser",status_class="2xx"}"#,
        // Refused before its handler ran, still counted against its operation.
        r#"keel_http_requests_total{operation="getUser",status_class="4xx"}"#,
        r#"keel_http_request_duration_seconds_bucket{operation="createUser",status_class="2xx",le="0.001"}"#,
        r#"keel_http_request_duration_seconds_bucket{operation="createUser",status_class="2xx",le="10"}"#,
        "keel_http_requests_in_flight",
        "keel_outbox_published_total",
        "keel_outbox_publish_seconds_bucket",
        r#"keel_events_consumed_total{consumer="notifications",outcome="processed"}"#,
        r#"keel_db_pool_connections{state="idle"}"#,
        // Its own buckets, below the request latencies' first.
        r#"keel_db_pool_wait_seconds_bucket{le="0.00005"}"#,
        r#"keel_db_pool_wait_seconds_bucket{le="5"}"#,
        "keel_build_info{version=",
    ] {
        assert!(text.contains(expected), "no `{expected}` in:\n{text}");
    }
    assert!(
        !text.contains(&user.id.to_string()),
        "an id leaked into a label:\n{text}"
    );
}
