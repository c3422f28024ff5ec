//! Print files on an S3-compatible bucket shared by two server nodes on one database:
//! what one node stores, the other serves. Runs against the local S3 server `.ci/run`
//! starts (`PRINTFARM_TEST_S3_URL`, e.g. `http://127.0.0.1:9123`); without it, skipped.

use crate::common;
use common::{As, TestApp, fixture};
use reqwest::Method;

async fn image(app: &TestApp, token: &str, farm: &str, path: &str) -> (u16, Vec<u8>) {
    let answer = app
        .request(Method::GET, path, As::Bearer(token))
        .header("x-tenant-id", farm)
        .send()
        .await
        .expect("request");
    let status = answer.status().as_u16();
    (status, answer.bytes().await.expect("body").to_vec())
}

/// Objects a node keeps in its own data directory's file store.
fn local_objects(app: &TestApp) -> usize {
    walk(&app.state.settings.data_dir.join("files"))
}

fn walk(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |entries| {
        entries
            .flatten()
            .map(|e| {
                if e.path().is_dir() {
                    walk(&e.path())
                } else {
                    1
                }
            })
            .sum()
    })
}

#[tokio::test]
async fn a_file_uploaded_through_one_node_downloads_through_another_from_the_bucket() {
    let Some(bucket) = common::s3_bucket().await else {
        eprintln!("PRINTFARM_TEST_S3_URL is not set: skipped (.ci/run sets it)");
        return;
    };
    let a = TestApp::spawn_with(|s| bucket.use_in(s)).await;
    let b = a.another_node().await;
    let (owner, farm) = a.signed_up_owner("sian").await;
    let id = a.upload_fixture(&owner, &farm, "sample-a.3mf").await;

    // Node B serves the bytes node A stored, through B's own signed link.
    let link = b
        .get(
            &format!("/api/v1/files/{id}/download-url"),
            &owner.token,
            Some(&farm),
        )
        .await;
    link.expect(200);
    // Nodes behind one load balancer share the public URL: the link is taken to node B.
    let url = link.data()["download_url"].as_str().expect("a link");
    let path = &url[url
        .find("/api/v1/files/download/")
        .expect("a download path")..];
    let got = b
        .client
        .get(format!("{}{path}", b.base))
        .send()
        .await
        .expect("download");
    assert_eq!(got.status(), 200);
    assert_eq!(
        got.bytes().await.expect("bytes").to_vec(),
        fixture("sample-a.3mf")
    );
    let (status, thumbnail) = image(
        &b,
        &owner.token,
        &farm,
        &format!("/api/v1/files/{id}/thumbnail"),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(&thumbnail[..8], b"\x89PNG\r\n\x1a\n");

    // The objects are in the bucket under the prefix, not on either node's disk.
    let objects = b.state.files.list(&format!("{farm}/")).await.expect("list");
    assert_eq!(objects.len(), 2, "the file and its thumbnail: {objects:?}");
    assert_eq!((local_objects(&a), local_objects(&b)), (0, 0));
    let listed = reqwest::Client::new()
        .get(format!(
            "{}/{}?list-type=2&prefix=farms/{farm}/",
            bucket.endpoint, bucket.name
        ))
        .send()
        .await
        .expect("list the bucket")
        .text()
        .await
        .expect("xml");
    assert_eq!(listed.matches("<Key>").count(), 2, "{listed}");

    // Both nodes report the bucket as a working dependency.
    for node in [&a, &b] {
        let health = node
            .call(Method::GET, "/health/detailed", As::Nobody, None, None)
            .await;
        health.expect(200);
        assert_eq!(health.data()["checks"]["file_store"]["status"], "ok");
        assert_eq!(health.data()["checks"]["file_store"]["kind"], "s3");
    }

    // Removed through node B: gone from the bucket, and node A answers 404 for it.
    let removed = b
        .delete(&format!("/api/v1/files/{id}"), &owner.token, Some(&farm))
        .await;
    assert!(removed.status.is_success(), "{:?}", removed.body);
    assert!(
        b.state
            .files
            .list(&format!("{farm}/"))
            .await
            .expect("list")
            .is_empty()
    );
    let gone = a
        .get(
            &format!("/api/v1/files/{id}/download-url"),
            &owner.token,
            Some(&farm),
        )
        .await;
    gone.expect(404);
    b.stop().await;
    a.stop().await;
}
