//! The durable queue on the real database (SQLite, or PostgreSQL when
//! `PRINTFARM_TEST_DATABASE_URL` is set): same-transaction enqueue, dedupe, leases,
//! retries, dead letters, and no message claimed twice by two processes.

use chrono::{Duration, Utc};
use serde_json::json;
use store::Store;
use store::queue::{self, AfterFailure};
use store::testing::TestDatabase;

async fn open() -> (TestDatabase, Store) {
    let db = TestDatabase::new().await;
    let store = Store::open(&db.url).await.expect("open the test database");
    (db, store)
}

fn now_plus(seconds: i64) -> chrono::DateTime<Utc> {
    Utc::now() + Duration::seconds(seconds)
}

#[tokio::test]
async fn a_message_exists_only_if_its_transaction_commits() {
    let (_db, store) = open().await;
    let now = store::now_text();
    let mut tx = store.begin().await.unwrap();
    queue::enqueue(
        &mut tx,
        "print-events",
        None,
        &json!({ "kind": "job_completed" }),
        None,
        None,
        &now,
    )
    .await
    .unwrap();
    tx.rollback().await.unwrap();
    let mut conn = store.conn().await.unwrap();
    assert_eq!(queue::depth(&mut conn, "print-events").await.unwrap(), 0);
    drop(conn);

    let mut tx = store.begin().await.unwrap();
    queue::enqueue(
        &mut tx,
        "print-events",
        None,
        &json!({ "kind": "job_completed" }),
        None,
        None,
        &now,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let mut conn = store.conn().await.unwrap();
    assert_eq!(queue::depth(&mut conn, "print-events").await.unwrap(), 1);
}

#[tokio::test]
async fn the_same_event_is_enqueued_once() {
    let (_db, store) = open().await;
    let now = store::now_text();
    let mut conn = store.conn().await.unwrap();
    let first = queue::enqueue(
        &mut conn,
        "print-events",
        None,
        &json!({}),
        Some("job-1:completed"),
        None,
        &now,
    )
    .await
    .unwrap();
    let again = queue::enqueue(
        &mut conn,
        "print-events",
        None,
        &json!({}),
        Some("job-1:completed"),
        None,
        &now,
    )
    .await
    .unwrap();
    let other_queue = queue::enqueue(
        &mut conn,
        "notifications",
        None,
        &json!({}),
        Some("job-1:completed"),
        None,
        &now,
    )
    .await
    .unwrap();
    assert!(first.is_some());
    assert!(again.is_none());
    assert!(other_queue.is_some());
    assert_eq!(queue::depth(&mut conn, "print-events").await.unwrap(), 1);
}

#[tokio::test]
async fn a_claimed_message_is_leased_retried_and_taken_over_when_its_worker_dies() {
    let (_db, store) = open().await;
    let mut conn = store.conn().await.unwrap();
    queue::enqueue(
        &mut conn,
        "q",
        None,
        &json!({ "n": 1 }),
        None,
        None,
        &store::now_text(),
    )
    .await
    .unwrap();
    drop(conn);

    let message = queue::claim(&store, "q", "w1", Utc::now(), now_plus(60))
        .await
        .unwrap()
        .expect("a message");
    assert_eq!(message.attempts, 1);
    assert_eq!(message.payload, r#"{"n":1}"#);
    // Leased: nobody else gets it now, and a different worker can't complete it.
    assert!(
        queue::claim(&store, "q", "w2", Utc::now(), now_plus(60))
            .await
            .unwrap()
            .is_none()
    );
    let mut conn = store.conn().await.unwrap();
    assert!(
        !queue::complete(&mut conn, &message.id, "w2", &store::now_text())
            .await
            .unwrap()
    );

    // A failure makes it wait for its retry time.
    let retry_at = domain::time::format(now_plus(30));
    let after = queue::fail(
        &mut conn,
        &message,
        "w1",
        "printer busy",
        &store::now_text(),
        &retry_at,
    )
    .await
    .unwrap();
    assert_eq!(after, AfterFailure::Retry);
    drop(conn);
    assert!(
        queue::claim(&store, "q", "w1", Utc::now(), now_plus(60))
            .await
            .unwrap()
            .is_none()
    );
    let retried = queue::claim(&store, "q", "w1", now_plus(31), now_plus(90))
        .await
        .unwrap()
        .expect("due again");
    assert_eq!(retried.attempts, 2);
    assert_eq!(retried.last_error.as_deref(), Some("printer busy"));

    // Its lease ends without an answer (the worker died): another worker takes it over.
    let taken_over = queue::claim(&store, "q", "w2", now_plus(91), now_plus(150))
        .await
        .unwrap()
        .expect("lease ended");
    assert_eq!(taken_over.attempts, 3);
    let mut conn = store.conn().await.unwrap();
    assert!(
        !queue::complete(&mut conn, &retried.id, "w1", &store::now_text())
            .await
            .unwrap(),
        "w1 lost its claim"
    );
    assert!(
        queue::complete(&mut conn, &taken_over.id, "w2", &store::now_text())
            .await
            .unwrap()
    );
    assert_eq!(queue::depth(&mut conn, "q").await.unwrap(), 0);
}

#[tokio::test]
async fn a_message_is_dead_and_kept_after_its_last_attempt() {
    let (_db, store) = open().await;
    let mut conn = store.conn().await.unwrap();
    queue::enqueue(
        &mut conn,
        "q",
        None,
        &json!({ "n": 2 }),
        None,
        None,
        &store::now_text(),
    )
    .await
    .unwrap();
    drop(conn);
    let mut at = 0;
    let mut outcomes = Vec::new();
    let mut last_id = String::new();
    while let Some(message) = queue::claim(&store, "q", "w", now_plus(at), now_plus(at + 60))
        .await
        .unwrap()
    {
        let mut conn = store.conn().await.unwrap();
        let retry_at = domain::time::format(now_plus(at + 10));
        outcomes.push(
            queue::fail(
                &mut conn,
                &message,
                "w",
                "unreachable",
                &store::now_text(),
                &retry_at,
            )
            .await
            .unwrap(),
        );
        last_id = message.id;
        at += 11;
    }
    use AfterFailure::*;
    assert_eq!(
        outcomes,
        [Retry, Retry, Retry, Retry, Dead],
        "five attempts in all"
    );
    let mut conn = store.conn().await.unwrap();
    let (attempts, error, queue_name): (i64, String, String) = sqlx::query_as(
        "SELECT CAST(attempts AS BIGINT), error_message, original_queue FROM dead_letter_messages WHERE id = $1",
    )
    .bind(&last_id)
    .fetch_one(&mut *conn)
    .await
    .unwrap();
    assert_eq!(
        (attempts, error.as_str(), queue_name.as_str()),
        (5, "unreachable", "q")
    );
    assert_eq!(queue::depth(&mut conn, "q").await.unwrap(), 0);
}

#[tokio::test]
async fn two_processes_never_claim_the_same_message() {
    let (db, store_a) = open().await;
    let store_b = Store::open(&db.url).await.unwrap();
    let mut conn = store_a.conn().await.unwrap();
    for n in 0..40 {
        queue::enqueue(
            &mut conn,
            "q",
            None,
            &json!({ "n": n }),
            None,
            None,
            &store::now_text(),
        )
        .await
        .unwrap();
    }
    drop(conn);
    let claim_all = |store: Store, worker: &'static str| {
        tokio::spawn(async move {
            let mut got = Vec::new();
            while let Some(m) = queue::claim(&store, "q", worker, Utc::now(), now_plus(600))
                .await
                .unwrap()
            {
                got.push(m.id);
            }
            got
        })
    };
    let handles = [
        claim_all(store_a.clone(), "a1"),
        claim_all(store_a.clone(), "a2"),
        claim_all(store_b.clone(), "b1"),
        claim_all(store_b.clone(), "b2"),
    ];
    let mut all = Vec::new();
    for handle in handles {
        all.extend(handle.await.unwrap());
    }
    let count = all.len();
    all.sort();
    all.dedup();
    assert_eq!(count, 40, "every message claimed");
    assert_eq!(all.len(), 40, "no message claimed twice");
}
