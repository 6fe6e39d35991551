//! The Attachment API over HTTP: byte-exact round trips, listing, metadata, deletion, errors.

mod common;

use common::{error_of, start, start_with, url_escape, Sn};
use rand::{Rng, SeedableRng};
use reqwest::Method;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use twinsync_sandbox::servicenow::ServiceNowConfig;

async fn upload(
    sn: &Sn,
    table: &str,
    id: &str,
    name: &str,
    content_type: &str,
    bytes: Vec<u8>,
) -> reqwest::Response {
    sn.itil(
        Method::POST,
        &format!(
            "/api/now/attachment/file?table_name={table}&table_sys_id={id}&file_name={}",
            url_escape(name)
        ),
    )
    .header("content-type", content_type)
    .body(bytes)
    .send()
    .await
    .unwrap()
}

#[tokio::test]
async fn attachments_round_trip_byte_exact_with_metadata() {
    let sn = start(0).await;
    let id = sn.create("incident", json!({})).await["sys_id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let files: Vec<(String, &str, Vec<u8>)> = vec![
        (
            "all bytes.bin".into(),
            "application/octet-stream",
            (0..=255u8).cycle().take(4096).collect(),
        ),
        (
            "photo.png".into(),
            "image/png",
            (0..1_500_000).map(|_| rng.random()).collect(),
        ),
        ("empty.txt".into(), "text/plain", Vec::new()),
        (
            "notes é.txt".into(),
            "text/plain; charset=utf-8",
            "héllo wörld\r\n\0end".as_bytes().to_vec(),
        ),
    ];
    let mut ids = Vec::new();
    for (name, content_type, bytes) in &files {
        let r = upload(&sn, "incident", &id, name, content_type, bytes.clone()).await;
        assert_eq!(r.status(), 201, "{name}");
        let location = r.headers()["location"].to_str().unwrap().to_string();
        let v: Value = r.json().await.unwrap();
        let meta = &v["result"];
        let att = meta["sys_id"].as_str().unwrap().to_string();
        assert_eq!(location, format!("{}/api/now/attachment/{att}", sn.url));
        assert_eq!(meta["file_name"], name.as_str());
        assert_eq!(meta["content_type"], *content_type);
        assert_eq!(meta["size_bytes"], bytes.len().to_string());
        assert_eq!(meta["table_name"], "incident");
        assert_eq!(meta["table_sys_id"], id.as_str());
        assert_eq!(meta["hash"], hex::encode(Sha256::digest(bytes)));
        assert_eq!(
            meta["download_link"],
            format!("{}/api/now/attachment/{att}/file", sn.url)
        );
        assert_eq!(meta["sys_created_by"], "itil");
        ids.push(att);
    }
    for ((name, content_type, bytes), att) in files.iter().zip(&ids) {
        let r = sn
            .admin(Method::GET, &format!("/api/now/attachment/{att}/file"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["content-type"], *content_type);
        let meta: Value =
            serde_json::from_str(r.headers()["x-attachment-metadata"].to_str().unwrap()).unwrap();
        assert_eq!(meta["file_name"], name.as_str());
        assert_eq!(
            r.bytes().await.unwrap().as_ref(),
            bytes.as_slice(),
            "{name} is byte-exact"
        );

        let v = sn.get_json(&format!("/api/now/attachment/{att}")).await;
        assert_eq!(v["result"]["sys_id"], att.as_str());
    }

    let q = url_escape(&format!(
        "table_name=incident^table_sys_id={id}^ORDERBYfile_name"
    ));
    let r = sn
        .admin(
            Method::GET,
            &format!("/api/now/attachment?sysparm_query={q}&sysparm_limit=2"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["x-total-count"], "4");
    assert!(r.headers()["link"]
        .to_str()
        .unwrap()
        .contains("rel=\"next\""));
    let v: Value = r.json().await.unwrap();
    let names: Vec<&str> = v["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["file_name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["all bytes.bin", "empty.txt"]);
    // The metadata is also the sys_attachment table.
    let v = sn
        .get_json(&format!(
            "/api/now/table/sys_attachment?sysparm_query=table_sys_id={id}"
        ))
        .await;
    assert_eq!(v["result"].as_array().unwrap().len(), 4);

    let r = sn
        .itil(Method::DELETE, &format!("/api/now/attachment/{}", ids[0]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let r = sn
        .admin(Method::GET, &format!("/api/now/attachment/{}/file", ids[0]))
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(r).await.0, 404);

    // Deleting the record deletes its attachments.
    let r = sn
        .itil(Method::DELETE, &format!("/api/now/table/incident/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let v = sn.get_json("/api/now/table/sys_attachment").await;
    assert_eq!(v["result"], json!([]));
}

#[tokio::test]
async fn bad_uploads_are_refused_with_the_platform_envelope() {
    let sn = start_with(ServiceNowConfig {
        max_attachment_bytes: 1000,
        users: twinsync_sandbox::servicenow::config::default_users()
            .into_iter()
            .chain([twinsync_sandbox::servicenow::UserSpec::parse_flag("ess:ess").unwrap()])
            .collect(),
        ..Default::default()
    })
    .await;
    let id = sn.create("incident", json!({})).await["sys_id"]
        .as_str()
        .unwrap()
        .to_string();
    let post = |query: String| sn.itil(Method::POST, &format!("/api/now/attachment/file?{query}"));

    for (query, missing) in [
        (format!("table_sys_id={id}&file_name=a"), "table_name"),
        (
            "table_name=incident&file_name=a".to_string(),
            "table_sys_id",
        ),
        (
            format!("table_name=incident&table_sys_id={id}"),
            "file_name",
        ),
    ] {
        let r = post(query)
            .header("content-type", "text/plain")
            .body("x")
            .send()
            .await
            .unwrap();
        let (status, err) = error_of(r).await;
        assert_eq!(status, 400);
        assert!(err["message"].as_str().unwrap().contains(missing), "{err}");
    }
    let r = post(format!("table_name=incident&table_sys_id={id}&file_name=a"))
        .body("x")
        .send()
        .await
        .unwrap();
    let (status, err) = error_of(r).await;
    assert_eq!(status, 400);
    assert!(err["message"].as_str().unwrap().contains("Content-Type"));

    let r = post(
        "table_name=incident&table_sys_id=ffffffffffffffffffffffffffffffff&file_name=a".into(),
    )
    .header("content-type", "text/plain")
    .body("x")
    .send()
    .await
    .unwrap();
    assert_eq!(error_of(r).await.0, 404);
    let r = post(format!("table_name=nope&table_sys_id={id}&file_name=a"))
        .header("content-type", "text/plain")
        .body("x")
        .send()
        .await
        .unwrap();
    let (status, err) = error_of(r).await;
    assert_eq!(
        (status, err["message"].as_str()),
        (400, Some("Invalid table nope"))
    );

    let r = post(format!(
        "table_name=incident&table_sys_id={id}&file_name=big"
    ))
    .header("content-type", "text/plain")
    .body(vec![b'x'; 1001])
    .send()
    .await
    .unwrap();
    let (status, err) = error_of(r).await;
    assert_eq!(status, 400);
    assert!(
        err["detail"]
            .as_str()
            .unwrap()
            .contains("Max allowed: 1000 bytes."),
        "{err}"
    );

    let r = sn
        .req(
            Method::POST,
            &format!("/api/now/attachment/file?table_name=incident&table_sys_id={id}&file_name=a"),
        )
        .basic_auth("ess", Some("ess"))
        .header("content-type", "text/plain")
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_of(r).await.0,
        403,
        "attaching needs write access to the record"
    );

    let v = sn.get_json("/api/now/attachment").await;
    assert_eq!(
        v["result"],
        json!([]),
        "no refused upload left anything behind"
    );
}
