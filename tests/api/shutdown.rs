//! SIGTERM during a write load, against the real binary: the load balancer's
//! part is played by a watcher that stops sending once readiness fails.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use sea_orm::{ConnectionTrait, Statement};
use uuid::Uuid;

use crate::support::{KeelProcess, TestDatabase};

#[tokio::test]
async fn sigterm_under_load_drops_no_request_and_loses_no_write() {
    let database = TestDatabase::create().await;
    let mut server = KeelProcess::start(
        &database.url,
        &[
            ("KEEL_SHUTDOWN_DELAY_SECS", "1"),
            ("KEEL_SHUTDOWN_GRACE_SECS", "10"),
            ("KEEL_RATE_LIMIT_PER_MINUTE", "1000000"),
        ],
    );
    let admin = server.admin_token();
    let base = server.base.clone();
    let client = server.client();
    let stop_sending = Arc::new(AtomicBool::new(false));
    let written = Arc::new(AtomicUsize::new(0));

    let workers: Vec<_> = (0..8)
        .map(|worker| {
            let (client, base, admin, stop, written) = (
                client.clone(),
                base.clone(),
                admin.clone(),
                stop_sending.clone(),
                written.clone(),
            );
            tokio::spawn(async move {
                let (mut acknowledged, mut failures) = (Vec::new(), Vec::new());
                let mut i = 0;
                while !stop.load(Ordering::SeqCst) {
                    i += 1;
                    let sent = client
                        .post(format!("{base}/v1/users"))
                        .bearer_auth(&admin)
                        .json(&serde_json::json!({
                            "email": format!("load-{worker}-{i}@example.com"),
                            "displayName": "Load",
                        }))
                        .send()
                        .await;
                    match sent {
                        Ok(response) if response.status() == 201 => {
                            let body: serde_json::Value = response.json().await.unwrap();
                            acknowledged
                                .push(body["id"].as_str().unwrap().parse::<Uuid>().unwrap());
                            written.fetch_add(1, Ordering::SeqCst);
                        }
                        Ok(response) => failures.push(format!("status {}", response.status())),
                        Err(error) => failures.push(format!("{error:?}")),
                    }
                }
                (acknowledged, failures)
            })
        })
        .collect();
    // The load balancer: stops routing here once readiness fails.
    let watcher = {
        let (client, base, stop) = (client.clone(), base.clone(), stop_sending.clone());
        tokio::spawn(async move {
            loop {
                let ready = client.get(format!("{base}/health/ready")).send().await;
                if !matches!(&ready, Ok(r) if r.status() == 200) {
                    stop.store(true, Ordering::SeqCst);
                    return ready.map(|r| r.status().as_u16()).ok();
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };

    // SIGTERM lands in a running load, however slow the machine is today.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while written.load(Ordering::SeqCst) < 30 {
        assert!(
            std::time::Instant::now() < deadline,
            "the load did not start"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &server.pid().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    assert_eq!(
        watcher.await.unwrap(),
        Some(503),
        "readiness failed with a 503 before the listener closed"
    );
    let mut acknowledged = Vec::new();
    for worker in workers {
        let (ids, failures) = worker.await.unwrap();
        assert!(
            failures.is_empty(),
            "requests failed during shutdown: {failures:?}"
        );
        acknowledged.extend(ids);
    }
    assert!(
        acknowledged.len() > 20,
        "the load ran: {} writes",
        acknowledged.len()
    );
    let exited = server.wait().await;
    assert!(exited.success(), "keel exited with {exited}");

    let db = sea_orm::Database::connect(&database.url).await.unwrap();
    let stored: BTreeSet<Uuid> = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT id FROM users",
        ))
        .await
        .unwrap()
        .iter()
        .map(|row| row.try_get("", "id").unwrap())
        .collect();
    let missing: Vec<_> = acknowledged
        .iter()
        .filter(|id| !stored.contains(id))
        .collect();
    assert!(
        missing.is_empty(),
        "acknowledged but not stored: {missing:?}"
    );
}
