//! Print files through the API with the real 3MF files from a farm: upload, true
//! metadata and thumbnails, signed download and upload links, versions, deletion.

use crate::common;

use common::{Account, As, TestApp, fixture};
use reqwest::Method;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

async fn upload(
    app: &TestApp,
    who: &Account,
    farm: &str,
    path: &str,
    name: &str,
    bytes: Vec<u8>,
) -> common::Answer {
    let form = Form::new().part("file", Part::bytes(bytes).file_name(name.to_string()));
    TestApp::send(
        app.request(Method::POST, path, As::Bearer(&who.token))
            .header("x-tenant-id", farm)
            .multipart(form),
    )
    .await
}

/// Objects the file store holds for a farm.
fn stored_objects(app: &TestApp, farm: &str) -> usize {
    fn count(dir: &std::path::Path) -> usize {
        std::fs::read_dir(dir)
            .map(|entries| {
                entries
                    .filter_map(|e| e.ok())
                    .map(|e| {
                        if e.path().is_dir() {
                            count(&e.path())
                        } else {
                            1
                        }
                    })
                    .sum()
            })
            .unwrap_or(0)
    }
    count(&app.data_dir.path().join("data/files").join(farm))
}

#[tokio::test]
async fn an_uploaded_3mf_shows_the_metadata_the_file_itself_states() {
    let app = TestApp::spawn().await;
    let (owner, farm) = app.signed_up_owner("olga").await;
    let answer = upload(
        &app,
        &owner,
        &farm,
        "/api/v1/files",
        "sample-a.3mf",
        fixture("sample-a.3mf"),
    )
    .await;
    answer.expect(201);
    let file = answer.data();
    assert_eq!(file["name"], "sample-a.3mf");
    assert_eq!(file["is_sliced"], true);
    assert_eq!(file["printer_model_id"], "N1");
    assert_eq!(file["print_time_seconds"], 926);
    assert_eq!(file["filament_weight_grams"], 3.57);
    assert_eq!(file["filament_length_meters"], 1.12);
    assert_eq!(file["layer_count"], 42);
    assert_eq!(file["filament_type"], "PLA");
    assert_eq!(file["nozzle_diameter"], 0.4);
    assert_eq!(file["file_size_bytes"], fixture("sample-a.3mf").len());
    let plate = &file["metadata"]["plates"][0];
    assert_eq!(plate["filaments"][0]["colour"], "#F7D959");
    assert!(file.get("metadata_json").is_none());

    let id = file["id"].as_str().unwrap();
    let thumb = app
        .request(
            Method::GET,
            &format!("/api/v1/files/{id}/thumbnail"),
            As::Bearer(&owner.token),
        )
        .header("x-tenant-id", &farm)
        .send()
        .await
        .unwrap();
    assert_eq!(thumb.status(), 200);
    assert_eq!(thumb.headers()["content-type"], "image/png");
    assert_eq!(&thumb.bytes().await.unwrap()[..8], b"\x89PNG\r\n\x1a\n");

    let list = app.get("/api/v1/files", &owner.token, Some(&farm)).await;
    assert_eq!(list.body["meta"]["total"], 1);
    assert_eq!(list.data()[0]["id"], id);
}

#[tokio::test]
async fn a_project_file_is_kept_but_marked_not_sliced_with_its_plates() {
    let app = TestApp::spawn().await;
    let (owner, farm) = app.signed_up_owner("olga").await;
    let answer = upload(
        &app,
        &owner,
        &farm,
        "/api/v1/files",
        "plates.3mf",
        fixture("multiplate-4-plates-project.3mf"),
    )
    .await;
    answer.expect(201);
    assert_eq!(answer.data()["is_sliced"], false);
    assert_eq!(
        answer.data()["metadata"]["plates"]
            .as_array()
            .unwrap()
            .len(),
        4
    );
    assert_eq!(answer.data()["metadata"]["sliced"], false);
}

#[tokio::test]
async fn bad_uploads_are_refused_and_leave_nothing_behind() {
    let app = TestApp::spawn().await;
    let (owner, farm) = app.signed_up_owner("olga").await;
    let junk = upload(
        &app,
        &owner,
        &farm,
        "/api/v1/files",
        "notes.3mf",
        b"this is not a zip".to_vec(),
    )
    .await;
    junk.expect(400);
    assert_eq!(junk.code(), "INVALID_3MF");
    upload(
        &app,
        &owner,
        &farm,
        "/api/v1/files",
        "sample-a.3mf",
        fixture("sample-a.3mf"),
    )
    .await
    .expect(201);
    let objects = stored_objects(&app, &farm);
    let twice = upload(
        &app,
        &owner,
        &farm,
        "/api/v1/files",
        "sample-a.3mf",
        fixture("sample-a.3mf"),
    )
    .await;
    twice.expect(409);
    assert_eq!(twice.code(), "FILE_NAME_TAKEN");
    assert_eq!(
        stored_objects(&app, &farm),
        objects,
        "the refused upload's objects were removed"
    );
    let no_file = TestApp::send(
        app.request(Method::POST, "/api/v1/files", As::Bearer(&owner.token))
            .header("x-tenant-id", &farm)
            .multipart(Form::new().text("name", "x.3mf")),
    )
    .await;
    no_file.expect(400);
    assert_eq!(no_file.fields(), ["file"]);
    let leftovers = std::fs::read_dir(app.data_dir.path().join("data/tmp"))
        .map(|d| d.count())
        .unwrap_or(0);
    assert_eq!(leftovers, 0, "no temporary files remain");
}

#[tokio::test]
async fn a_signed_link_downloads_the_exact_bytes_without_a_session() {
    let app = TestApp::spawn().await;
    let (owner, farm) = app.signed_up_owner("olga").await;
    let bytes = fixture("sample-a.3mf");
    let file = upload(
        &app,
        &owner,
        &farm,
        "/api/v1/files",
        "sample-a.3mf",
        bytes.clone(),
    )
    .await;
    let id = file.data()["id"].as_str().unwrap();
    let link = app
        .get(
            &format!("/api/v1/files/{id}/download-url"),
            &owner.token,
            Some(&farm),
        )
        .await;
    link.expect(200);
    let url = link.data()["download_url"].as_str().unwrap();
    assert!(url.starts_with(&app.base));
    let got = app.client.get(url).send().await.unwrap();
    assert_eq!(got.status(), 200);
    assert!(
        got.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("sample-a.3mf")
    );
    let body = got.bytes().await.unwrap();
    assert_eq!(Sha256::digest(&body), Sha256::digest(&bytes));
    let tampered = app
        .client
        .get(format!("{}x", url.trim_end_matches('A')))
        .send()
        .await
        .unwrap();
    assert_eq!(tampered.status(), 403);
}

#[tokio::test]
async fn a_browser_uploads_with_a_plain_put_to_a_signed_link_once() {
    let app = TestApp::spawn().await;
    let (owner, farm) = app.signed_up_owner("olga").await;
    let link = app
        .post(
            "/api/v1/files/upload-url",
            &owner.token,
            Some(&farm),
            json!({ "file_name": "sample-d.3mf", "content_type": "model/3mf" }),
        )
        .await;
    link.expect(200);
    let url = link.data()["upload_url"].as_str().unwrap().to_string();
    let put = |bytes: Vec<u8>| app.client.put(&url).body(bytes).send();
    let first = put(fixture("sample-d.3mf")).await.unwrap();
    assert_eq!(first.status(), 200, "as the original's client reads it");
    let body: Value = first.json().await.unwrap();
    assert_eq!(body["data"]["id"], link.data()["file_id"]);
    assert_eq!(body["data"]["printer_model_id"], "N2S");
    assert_eq!(body["data"]["filament_type"], "PETG");
    assert_eq!(body["data"]["print_time_seconds"], 1099);
    let again = put(fixture("sample-d.3mf")).await.unwrap();
    assert_eq!(again.status(), 409);
}

#[tokio::test]
async fn parse_metadata_reads_without_keeping() {
    let app = TestApp::spawn().await;
    let (owner, farm) = app.signed_up_owner("olga").await;
    let answer = upload(
        &app,
        &owner,
        &farm,
        "/api/v1/files/parse-metadata",
        "sample-d.3mf",
        fixture("sample-d.3mf"),
    )
    .await;
    answer.expect(200);
    assert_eq!(answer.data()["summary"]["printer_model_id"], "N2S");
    assert_eq!(answer.data()["summary"]["layer_count"], 42);
    assert_eq!(answer.data()["has_thumbnail"], true);
    assert_eq!(
        app.get("/api/v1/files", &owner.token, Some(&farm))
            .await
            .body["meta"]["total"],
        0
    );
    assert_eq!(stored_objects(&app, &farm), 0);
}

#[tokio::test]
async fn a_file_keeps_three_versions_one_current_and_deleting_it_removes_its_objects() {
    let app = TestApp::spawn().await;
    let (owner, farm) = app.signed_up_owner("olga").await;
    let file = upload(
        &app,
        &owner,
        &farm,
        "/api/v1/files",
        "bracket.3mf",
        fixture("sample-a.3mf"),
    )
    .await;
    let id = file.data()["id"].as_str().unwrap().to_string();
    let versions_path = format!("/api/v1/files/{id}/versions");
    let v2 = upload(
        &app,
        &owner,
        &farm,
        &versions_path,
        "bracket.3mf",
        fixture("sample-d.3mf"),
    )
    .await;
    v2.expect(201);
    assert_eq!(v2.data()["version_number"], 2);
    let now = app
        .get(&format!("/api/v1/files/{id}"), &owner.token, Some(&farm))
        .await;
    assert_eq!(
        now.data()["printer_model_id"],
        "N2S",
        "the new version is current"
    );
    upload(
        &app,
        &owner,
        &farm,
        &versions_path,
        "bracket.3mf",
        fixture("sample-a.3mf"),
    )
    .await
    .expect(201);
    let fourth = upload(
        &app,
        &owner,
        &farm,
        &versions_path,
        "bracket.3mf",
        fixture("sample-d.3mf"),
    )
    .await;
    fourth.expect(409);
    assert_eq!(fourth.code(), "TOO_MANY_VERSIONS");

    let listed = app.get(&versions_path, &owner.token, Some(&farm)).await;
    let current: Vec<i64> = listed
        .data()
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["is_current_version"] == 1)
        .map(|v| v["version_number"].as_i64().unwrap())
        .collect();
    assert_eq!(current, [3]);
    app.delete(&format!("{versions_path}/3"), &owner.token, Some(&farm))
        .await
        .expect(409);
    let back = app
        .put(
            &format!("{versions_path}/2/current"),
            &owner.token,
            Some(&farm),
            json!({}),
        )
        .await;
    back.expect(200);
    assert_eq!(back.data()["printer_model_id"], "N2S");
    assert_eq!(back.data()["filament_type"], "PETG");
    app.delete(&format!("{versions_path}/1"), &owner.token, Some(&farm))
        .await
        .expect(200);
    app.delete(&format!("{versions_path}/9"), &owner.token, Some(&farm))
        .await
        .expect(404);
    assert!(stored_objects(&app, &farm) > 0);

    app.delete(&format!("/api/v1/files/{id}"), &owner.token, Some(&farm))
        .await
        .expect(200);
    app.get(&format!("/api/v1/files/{id}"), &owner.token, Some(&farm))
        .await
        .expect(404);
    assert_eq!(
        stored_objects(&app, &farm),
        0,
        "every version's objects are gone"
    );
}

#[tokio::test]
async fn wiki_pictures_are_checked_stored_and_shown_to_members_only() {
    let app = TestApp::spawn().await;
    let (owner, farm) = app.signed_up_owner("olga").await;
    let (stranger, _) = app.signed_up_owner("bob").await;
    let not_image = upload(
        &app,
        &owner,
        &farm,
        "/api/v1/files/wiki-image",
        "x.png",
        b"plain text".to_vec(),
    )
    .await;
    not_image.expect(400);
    assert_eq!(not_image.fields(), ["file"]);
    // A real PNG: the thumbnail inside the fixture.
    let png = {
        use std::io::Read;
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(fixture("sample-a.3mf"))).unwrap();
        let mut entry = zip.by_name("Metadata/plate_1.png").unwrap();
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).unwrap();
        bytes
    };
    let stored = upload(
        &app,
        &owner,
        &farm,
        "/api/v1/files/wiki-image",
        "step-1.png",
        png.clone(),
    )
    .await;
    stored.expect(201);
    let url = stored.data()["url"].as_str().unwrap().to_string();
    assert!(url.starts_with(&format!("/api/v1/files/wiki-image/{farm}/")));
    let got = app
        .request(Method::GET, &url, As::Cookie(&owner.token))
        .send()
        .await
        .unwrap();
    assert_eq!(got.status(), 200);
    assert_eq!(got.headers()["content-type"], "image/png");
    assert_eq!(got.bytes().await.unwrap().as_ref(), png.as_slice());
    let refused = TestApp::send(app.request(Method::GET, &url, As::Bearer(&stranger.token))).await;
    refused.expect(403);
    let missing = TestApp::send(app.request(
        Method::GET,
        &format!("/api/v1/files/wiki-image/{farm}/nothing.png"),
        As::Bearer(&owner.token),
    ))
    .await;
    missing.expect(404);
}

#[tokio::test]
async fn a_file_over_the_upload_limit_is_refused_with_413_and_not_kept() {
    let app = TestApp::spawn_with(|s| s.max_upload_bytes = 100_000).await;
    let (owner, farm) = app.signed_up_owner("olga").await;
    let big = upload(
        &app,
        &owner,
        &farm,
        "/api/v1/files",
        "sample-a.3mf",
        fixture("sample-a.3mf"),
    )
    .await;
    big.expect(413);
    assert_eq!(big.code(), "PAYLOAD_TOO_LARGE");
    assert_eq!(stored_objects(&app, &farm), 0);
    let leftovers = std::fs::read_dir(app.data_dir.path().join("data/tmp"))
        .map(|d| d.count())
        .unwrap_or(0);
    assert_eq!(leftovers, 0);
}
