//! The Table API over HTTP: records, parameters, business rules, errors, auth and roles.

mod common;

use common::{error_of, start, start_with, Sn};
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;
use twinsync_sandbox::servicenow::{ServiceNowConfig, UserSpec};

fn is_sys_id(s: &str) -> bool {
    s.len() == 32
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn is_timestamp(s: &str) -> bool {
    chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").is_ok()
}

#[tokio::test]
async fn create_read_update_delete_round_trip() {
    let sn = start(0).await;
    let r = sn
        .itil(Method::POST, "/api/now/table/incident")
        .json(&json!({"short_description": "Printer jam", "urgency": 1, "impact": "2", "description": "floor 3"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    assert_eq!(
        r.headers()["content-type"],
        "application/json;charset=UTF-8"
    );
    let location = r.headers()["location"].to_str().unwrap().to_string();
    let created: Value = r.json().await.unwrap();
    let rec = &created["result"];
    let id = rec["sys_id"].as_str().unwrap();
    assert!(is_sys_id(id));
    assert_eq!(location, format!("{}/api/now/table/incident/{id}", sn.url));
    assert_eq!(rec["number"], "INC0010001");
    assert_eq!(rec["priority"], "2", "impact 2 × urgency 1");
    assert_eq!(rec["state"], "1");
    assert_eq!(rec["active"], "true");
    assert_eq!(rec["sys_created_by"], "itil");
    assert_eq!(rec["sys_updated_by"], "itil");
    assert_eq!(rec["sys_mod_count"], "0");
    assert_eq!(rec["sys_class_name"], "incident");
    assert!(is_timestamp(rec["sys_created_on"].as_str().unwrap()));
    assert_eq!(rec["correlation_id"], "");
    assert_eq!(rec["correlation_display"], "");
    // Every value is a string, as the platform sends them.
    for (k, v) in rec.as_object().unwrap() {
        assert!(v.is_string() || v.is_object(), "{k}: {v}");
    }

    let got = sn.get_json(&format!("/api/now/table/incident/{id}")).await;
    assert_eq!(got["result"]["short_description"], "Printer jam");

    let updated = sn
        .patch(
            "incident",
            id,
            json!({"short_description": "Printer jam again", "correlation_id": "SF-500X"}),
        )
        .await;
    assert_eq!(updated["short_description"], "Printer jam again");
    assert_eq!(updated["correlation_id"], "SF-500X");
    assert_eq!(updated["sys_mod_count"], "1");

    // PUT also updates only the fields sent.
    let r = sn
        .itil(Method::PUT, &format!("/api/now/table/incident/{id}"))
        .json(&json!({"description": "floor 4"}))
        .send()
        .await
        .unwrap();
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["result"]["short_description"], "Printer jam again");
    assert_eq!(v["result"]["description"], "floor 4");

    let r = sn
        .itil(Method::DELETE, &format!("/api/now/table/incident/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert!(r.bytes().await.unwrap().is_empty());
    let r = sn
        .admin(Method::GET, &format!("/api/now/table/incident/{id}"))
        .send()
        .await
        .unwrap();
    let (status, err) = error_of(r).await;
    assert_eq!(status, 404);
    assert_eq!(err["message"], "No Record found");
    assert_eq!(
        err["detail"],
        "Record doesn't exist or ACL restricts the record retrieval"
    );
}

#[tokio::test]
async fn versioned_paths_serve_the_same_api() {
    let sn = start(3).await;
    for prefix in ["/api/now/table", "/api/now/v1/table", "/api/now/v2/table"] {
        let v = sn
            .get_json(&format!("{prefix}/incident?sysparm_limit=1"))
            .await;
        assert_eq!(v["result"].as_array().unwrap().len(), 1, "{prefix}");
    }
}

#[tokio::test]
async fn every_task_table_numbers_records_in_the_platform_format() {
    let sn = start(0).await;
    for (table, first, second) in [
        ("incident", "INC0010001", "INC0010002"),
        ("problem", "PRB0040001", "PRB0040002"),
        ("change_request", "CHG0030001", "CHG0030002"),
        ("sc_task", "SCTASK0010001", "SCTASK0010002"),
    ] {
        assert_eq!(sn.create(table, json!({})).await["number"], first);
        assert_eq!(sn.create(table, json!({})).await["number"], second);
    }
    let p = sn
        .create("problem", json!({"impact": 1, "urgency": 1}))
        .await;
    assert_eq!(p["state"], "101");
    assert_eq!(p["priority"], "1");
    let c = sn.create("change_request", json!({})).await;
    assert_eq!(c["state"], "-5");
    assert_eq!(c["type"], "normal");
}

#[tokio::test]
async fn priority_is_derived_from_impact_and_urgency_whatever_is_written() {
    let sn = start(0).await;
    let matrix = [
        (1, 1, "1"),
        (1, 2, "2"),
        (1, 3, "3"),
        (2, 1, "2"),
        (2, 2, "3"),
        (2, 3, "4"),
        (3, 1, "3"),
        (3, 2, "4"),
        (3, 3, "5"),
    ];
    for (impact, urgency, priority) in matrix {
        let r = sn
            .create(
                "incident",
                json!({"impact": impact, "urgency": urgency, "priority": "1"}),
            )
            .await;
        assert_eq!(r["priority"], priority, "impact {impact} urgency {urgency}");
    }
    let r = sn.create("incident", json!({})).await;
    assert_eq!(r["priority"], "5", "defaults are impact 3, urgency 3");
    let id = r["sys_id"].as_str().unwrap();
    let r = sn.patch("incident", id, json!({"urgency": "1"})).await;
    assert_eq!(r["priority"], "3");
}

#[tokio::test]
async fn state_changes_drive_active_and_resolution_fields() {
    let sn = start(0).await;
    let id = sn.create("incident", json!({})).await["sys_id"]
        .as_str()
        .unwrap()
        .to_string();

    let r = sn
        .itil(Method::PATCH, &format!("/api/now/table/incident/{id}"))
        .json(&json!({"state": "6", "comments": "should not be recorded"}))
        .send()
        .await
        .unwrap();
    let (status, err) = error_of(r).await;
    assert_eq!(status, 403);
    assert_eq!(err["message"], "Operation Failed");
    assert_eq!(
        err["detail"],
        "Data Policy Exception: \n\tThe following fields are mandatory: Resolution code, Resolution notes"
    );
    let journal = sn
        .get_json(&format!(
            "/api/now/table/sys_journal_field?sysparm_query=element_id={id}"
        ))
        .await;
    assert_eq!(
        journal["result"].as_array().unwrap().len(),
        0,
        "a refused write changes nothing"
    );

    let r = sn
        .patch(
            "incident",
            &id,
            json!({"state": 6, "close_code": "Solution provided", "close_notes": "rebooted"}),
        )
        .await;
    assert_eq!(r["state"], "6");
    assert_eq!(r["incident_state"], "6");
    assert_eq!(r["active"], "true");
    assert!(is_timestamp(r["resolved_at"].as_str().unwrap()));
    assert!(is_sys_id(r["resolved_by"].as_str().unwrap()));

    let r = sn.patch("incident", &id, json!({"state": "7"})).await;
    assert_eq!(r["active"], "false");
    assert!(is_timestamp(r["closed_at"].as_str().unwrap()));

    let r = sn.patch("incident", &id, json!({"state": "2"})).await;
    assert_eq!(r["active"], "true");
    assert_eq!(r["resolved_at"], "");
    assert_eq!(r["closed_at"], "");
    assert_eq!(r["reopen_count"], "1");
}

#[tokio::test]
async fn an_update_that_changes_nothing_leaves_the_record_untouched() {
    let sn = start(0).await;
    let r = sn
        .create("incident", json!({"short_description": "same"}))
        .await;
    let id = r["sys_id"].as_str().unwrap();
    let again = sn
        .patch("incident", id, json!({"short_description": "same"}))
        .await;
    assert_eq!(again["sys_mod_count"], "0");
    assert_eq!(again["sys_updated_on"], r["sys_updated_on"]);
}

#[tokio::test]
async fn journal_writes_append_entries_readable_through_sys_journal_field() {
    let sn = start(0).await;
    let id = sn
        .create("incident", json!({"comments": "first comment"}))
        .await["sys_id"]
        .as_str()
        .unwrap()
        .to_string();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let r = sn
        .patch("incident", &id, json!({"work_notes": "internal note"}))
        .await;
    assert_eq!(
        r["comments"], "",
        "journal fields read back empty without display values"
    );
    assert_eq!(r["sys_mod_count"], "1");

    let q = format!("element_id={id}^elementINcomments,work_notes^ORDERBYsys_created_on");
    let v = sn
        .get_json(&format!(
            "/api/now/table/sys_journal_field?sysparm_query={}",
            common::url_escape(&q)
        ))
        .await;
    let entries = v["result"].as_array().unwrap();
    assert_eq!(entries.len(), 2);
    for (e, (element, value)) in entries.iter().zip([
        ("comments", "first comment"),
        ("work_notes", "internal note"),
    ]) {
        assert_eq!(e["element"], element);
        assert_eq!(e["value"], value);
        assert_eq!(e["element_id"], id.as_str());
        assert_eq!(e["name"], "incident");
        assert_eq!(e["sys_created_by"], "itil");
        assert!(is_timestamp(e["sys_created_on"].as_str().unwrap()));
        assert!(is_sys_id(e["sys_id"].as_str().unwrap()));
    }

    let v = sn
        .get_json(&format!("/api/now/table/incident/{id}?sysparm_display_value=true&sysparm_fields=comments,work_notes,comments_and_work_notes"))
        .await;
    let comments = v["result"]["comments"].as_str().unwrap();
    assert!(
        comments.ends_with(" - ITIL User (Additional comments)\nfirst comment\n\n"),
        "{comments}"
    );
    let both = v["result"]["comments_and_work_notes"].as_str().unwrap();
    let newest_first = both.find("internal note").unwrap() < both.find("first comment").unwrap();
    assert!(newest_first, "{both}");
    assert!(both.contains("(Work notes)\ninternal note"));
}

#[tokio::test]
async fn display_values_and_reference_links_follow_the_parameters() {
    let sn = start(0).await;
    let users = sn
        .get_json("/api/now/table/sys_user?sysparm_query=user_name=abel.tuter")
        .await;
    let abel = users["result"][0]["sys_id"].as_str().unwrap().to_string();
    let id = sn
        .create(
            "incident",
            json!({"caller_id": abel, "state": "2", "impact": 1}),
        )
        .await["sys_id"]
        .as_str()
        .unwrap()
        .to_string();
    let get = |params: &'static str| {
        let path = format!("/api/now/table/incident/{id}?sysparm_fields=caller_id,state,assigned_to,sys_mod_count&{params}");
        let sn: &Sn = &sn;
        async move { sn.get_json(&path).await["result"].clone() }
    };
    let link = format!("{}/api/now/table/sys_user/{abel}", sn.url);

    let v = get("").await;
    assert_eq!(v["caller_id"], json!({"link": link, "value": abel}));
    assert_eq!(v["state"], "2");
    assert_eq!(
        v["assigned_to"], "",
        "an empty reference is an empty string"
    );

    let v = get("sysparm_exclude_reference_link=true").await;
    assert_eq!(v["caller_id"], json!(abel));

    let v = get("sysparm_display_value=true").await;
    assert_eq!(
        v["caller_id"],
        json!({"display_value": "Abel Tuter", "link": link})
    );
    assert_eq!(v["state"], "In Progress");

    let v = get("sysparm_display_value=true&sysparm_exclude_reference_link=true").await;
    assert_eq!(v["caller_id"], "Abel Tuter");

    let v = get("sysparm_display_value=all").await;
    assert_eq!(
        v["caller_id"],
        json!({"display_value": "Abel Tuter", "link": link, "value": abel})
    );
    assert_eq!(
        v["state"],
        json!({"display_value": "In Progress", "value": "2"})
    );
    assert_eq!(
        v["sys_mod_count"],
        json!({"display_value": "0", "value": "0"})
    );

    let v = get("sysparm_display_value=all&sysparm_exclude_reference_link=true").await;
    assert_eq!(
        v["caller_id"],
        json!({"display_value": "Abel Tuter", "value": abel})
    );
}

#[tokio::test]
async fn fields_can_be_chosen_and_dot_walked() {
    let sn = start(5).await;
    let v = sn
        .get_json("/api/now/table/incident?sysparm_limit=1&sysparm_fields=number,caller_id.email,caller_id.manager.name,nonexistent")
        .await;
    let rec = v["result"][0].as_object().unwrap();
    let keys: Vec<&str> = rec.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        ["number", "caller_id.email", "caller_id.manager.name"]
    );
    assert!(rec["caller_id.email"]
        .as_str()
        .unwrap()
        .ends_with("@example.com"));
}

#[tokio::test]
async fn input_display_values_and_reference_names_are_resolved() {
    let sn = start(0).await;
    let r = sn
        .itil(Method::POST, "/api/now/table/incident?sysparm_input_display_value=true&sysparm_display_value=true&sysparm_exclude_reference_link=true")
        .json(&json!({"state": "In Progress", "impact": "1 - High", "caller_id": "Beth Anglin"}))
        .send()
        .await
        .unwrap();
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["result"]["state"], "In Progress");
    assert_eq!(v["result"]["impact"], "1 - High");
    assert_eq!(v["result"]["caller_id"], "Beth Anglin");
}

#[tokio::test]
async fn unknown_fields_are_ignored_and_wrong_types_refused() {
    let sn = start(0).await;
    let r = sn
        .create(
            "incident",
            json!({"short_description": "x", "u_not_a_field": "y", "impact": 2, "active": true}),
        )
        .await;
    assert!(r.get("u_not_a_field").is_none());
    assert_eq!(r["impact"], "2");

    for (body, field) in [
        (json!({"impact": "high"}), "impact"),
        (json!({"opened_at": "yesterday"}), "opened_at"),
        (json!({"knowledge": "maybe"}), "knowledge"),
        (
            json!({"short_description": {"nested": true}}),
            "short_description",
        ),
        (json!({"short_description": [1, 2]}), "short_description"),
    ] {
        let r = sn
            .itil(Method::POST, "/api/now/table/incident")
            .json(&body)
            .send()
            .await
            .unwrap();
        let (status, err) = error_of(r).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(err["message"], "Exception while reading request");
        assert!(err["detail"].as_str().unwrap().contains(field), "{err}");
    }
    let count = sn.get_json("/api/now/table/incident").await["result"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(count, 1, "refused inserts create nothing");
}

#[tokio::test]
async fn malformed_oversized_and_misaddressed_requests_get_the_platform_envelope() {
    let sn = start_with(ServiceNowConfig {
        max_body_bytes: 1024,
        ..Default::default()
    })
    .await;
    for body in ["{not json", "\"a string\"", "42", "[1]"] {
        let r = sn
            .itil(Method::POST, "/api/now/table/incident")
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        let (status, err) = error_of(r).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(
            err["detail"],
            "Verify Request body and Content-type headers. Not able to parse request"
        );
    }
    // An array is read as its first record, as on the platform.
    let r = sn
        .itil(Method::POST, "/api/now/table/incident")
        .json(&json!([{"short_description": "first"}, {"short_description": "second"}]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["result"]["short_description"], "first");

    let big = json!({"description": "x".repeat(2000)});
    let r = sn
        .itil(Method::POST, "/api/now/table/incident")
        .json(&big)
        .send()
        .await
        .unwrap();
    let (status, err) = error_of(r).await;
    assert_eq!(status, 400);
    assert!(
        err["detail"]
            .as_str()
            .unwrap()
            .starts_with("Rejected large REST payload with content-length = "),
        "{err}"
    );
    assert!(
        err["detail"]
            .as_str()
            .unwrap()
            .ends_with("Max allowed: 1024 bytes."),
        "{err}"
    );

    let r = sn
        .admin(Method::GET, "/api/now/table/no_such_table")
        .send()
        .await
        .unwrap();
    let (status, err) = error_of(r).await;
    assert_eq!(
        (status, err["message"].as_str()),
        (400, Some("Invalid table no_such_table"))
    );
    assert_eq!(err["detail"], Value::Null);
    let r = sn
        .itil(Method::POST, "/api/now/table/no_such_table")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(r).await.0, 400);

    let r = sn
        .admin(Method::POST, "/api/now/table/incident/0123")
        .send()
        .await
        .unwrap();
    let (status, err) = error_of(r).await;
    assert_eq!(
        (status, err["message"].as_str()),
        (405, Some("Method not Supported"))
    );

    let r = sn
        .admin(Method::GET, "/api/now/not_an_api")
        .send()
        .await
        .unwrap();
    let (status, err) = error_of(r).await;
    assert_eq!(
        (status, err["message"].as_str()),
        (400, Some("Requested URI does not represent any resource"))
    );

    for method in [Method::PATCH, Method::PUT, Method::DELETE] {
        let r = sn
            .admin(
                method.clone(),
                "/api/now/table/incident/ffffffffffffffffffffffffffffffff",
            )
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(error_of(r).await.0, 404, "{method}");
    }
}

#[tokio::test]
async fn basic_auth_failures_get_401_with_the_platform_body() {
    let sn = start(0).await;
    let attempts = [
        sn.req(Method::GET, "/api/now/table/incident"),
        sn.req(Method::GET, "/api/now/table/incident")
            .basic_auth("admin", Some("wrong")),
        sn.req(Method::GET, "/api/now/table/incident")
            .basic_auth("nobody", Some("admin")),
        sn.req(Method::GET, "/api/now/table/incident")
            .basic_auth("ADMIN", Some("admin")),
        sn.req(Method::GET, "/api/now/table/incident")
            .bearer_auth("not-a-token"),
        sn.req(Method::GET, "/api/now/table/incident")
            .header("authorization", "Basic !!!"),
    ];
    for attempt in attempts {
        let r = attempt.send().await.unwrap();
        assert_eq!(
            r.headers()["www-authenticate"],
            "BASIC realm=\"Service-now\""
        );
        let (status, err) = error_of(r).await;
        assert_eq!(status, 401);
        assert_eq!(
            err,
            json!({"message": "User Not Authenticated", "detail": "Required to provide Auth information"})
        );
    }
}

#[tokio::test]
async fn users_created_through_the_api_can_log_in_until_deactivated_or_locked() {
    let sn = start(0).await;
    let r = sn
        .admin(Method::POST, "/api/now/table/sys_user")
        .json(&json!({"user_name": "jane", "first_name": "Jane", "last_name": "Doe", "user_password": "s3cret", "roles": "itil"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let v: Value = r.json().await.unwrap();
    let jane = v["result"]["sys_id"].as_str().unwrap().to_string();
    assert_eq!(v["result"]["name"], "Jane Doe");
    assert!(
        v["result"].get("user_password").is_none(),
        "passwords are never returned"
    );

    let as_jane = || {
        sn.req(Method::GET, "/api/now/table/incident")
            .basic_auth("jane", Some("s3cret"))
    };
    assert_eq!(as_jane().send().await.unwrap().status(), 200);
    let r = sn
        .req(Method::POST, "/api/now/table/incident")
        .basic_auth("jane", Some("s3cret"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["result"]["sys_created_by"], "jane");

    for change in [
        json!({"locked_out": true}),
        json!({"locked_out": false, "active": false}),
    ] {
        let r = sn
            .admin(Method::PATCH, &format!("/api/now/table/sys_user/{jane}"))
            .json(&change)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(as_jane().send().await.unwrap().status(), 401, "{change}");
    }
}

#[tokio::test]
async fn writes_to_task_tables_need_the_itil_or_admin_role() {
    let sn = start_with(ServiceNowConfig {
        users: vec![
            UserSpec::parse_flag("admin:admin:admin").unwrap(),
            UserSpec::parse_flag("itil:itil:itil").unwrap(),
            UserSpec::parse_flag("ess:ess").unwrap(),
        ],
        ..Default::default()
    })
    .await;
    let id = sn.create("incident", json!({})).await["sys_id"]
        .as_str()
        .unwrap()
        .to_string();
    let ess = |m: Method, p: &str| sn.req(m, p).basic_auth("ess", Some("ess"));
    assert_eq!(
        ess(Method::GET, "/api/now/table/incident")
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let cases = [
        (
            ess(Method::POST, "/api/now/table/incident").json(&json!({})),
            "Insert",
        ),
        (
            ess(Method::PATCH, &format!("/api/now/table/incident/{id}"))
                .json(&json!({"short_description": "x"})),
            "Update",
        ),
        (
            ess(Method::DELETE, &format!("/api/now/table/incident/{id}")),
            "Delete",
        ),
        (
            sn.itil(Method::POST, "/api/now/table/sys_user")
                .json(&json!({"user_name": "x"})),
            "Insert",
        ),
    ];
    for (request, operation) in cases {
        let (status, err) = error_of(request.send().await.unwrap()).await;
        assert_eq!(status, 403);
        assert_eq!(err["message"], "Operation Failed");
        assert_eq!(
            err["detail"],
            format!("ACL Exception {operation} Failed due to security constraints")
        );
    }
}

#[tokio::test]
async fn oauth_password_and_refresh_grants_issue_working_tokens() {
    let sn = start(0).await;
    let token_request =
        |form: &[(&str, &str)]| sn.req(Method::POST, "/oauth_token.do").form(form).send();
    let r = token_request(&[
        ("grant_type", "password"),
        ("client_id", "twinsync"),
        ("client_secret", "twinsync-secret"),
        ("username", "itil"),
        ("password", "itil"),
    ])
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    let t: Value = r.json().await.unwrap();
    assert_eq!(t["token_type"], "Bearer");
    assert_eq!(t["scope"], "useraccount");
    assert_eq!(t["expires_in"], 1799);
    let access = t["access_token"].as_str().unwrap().to_string();
    let refresh = t["refresh_token"].as_str().unwrap().to_string();

    let r = sn
        .req(Method::POST, "/api/now/table/incident")
        .bearer_auth(&access)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["result"]["sys_created_by"], "itil");

    let r = token_request(&[
        ("grant_type", "refresh_token"),
        ("client_id", "twinsync"),
        ("client_secret", "twinsync-secret"),
        ("refresh_token", &refresh),
    ])
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    let t: Value = r.json().await.unwrap();
    let second = t["access_token"].as_str().unwrap();
    assert_ne!(second, access);
    assert_eq!(
        sn.req(Method::GET, "/api/now/table/incident")
            .bearer_auth(second)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    let refused = [
        vec![
            ("grant_type", "password"),
            ("client_id", "twinsync"),
            ("client_secret", "wrong"),
            ("username", "itil"),
            ("password", "itil"),
        ],
        vec![
            ("grant_type", "password"),
            ("client_id", "twinsync"),
            ("client_secret", "twinsync-secret"),
            ("username", "itil"),
            ("password", "wrong"),
        ],
        vec![
            ("grant_type", "refresh_token"),
            ("client_id", "twinsync"),
            ("client_secret", "twinsync-secret"),
            ("refresh_token", "bogus"),
        ],
        vec![
            ("grant_type", "client_credentials"),
            ("client_id", "twinsync"),
            ("client_secret", "twinsync-secret"),
        ],
        vec![
            ("grant_type", "authorization_code"),
            ("client_id", "twinsync"),
            ("client_secret", "twinsync-secret"),
        ],
    ];
    for form in refused {
        let r = token_request(&form).await.unwrap();
        assert_eq!(r.status(), 401, "{form:?}");
        let v: Value = r.json().await.unwrap();
        assert_eq!(
            v,
            json!({"error_description": "access_denied", "error": "server_error"})
        );
    }
    // The platform reads only form bodies: the same fields as JSON are refused.
    let r = sn
        .req(Method::POST, "/oauth_token.do")
        .json(&json!({"grant_type": "password", "client_id": "twinsync", "client_secret": "twinsync-secret", "username": "itil", "password": "itil"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn access_tokens_expire() {
    let sn = start_with(ServiceNowConfig {
        access_token_ttl: Duration::from_secs(1),
        ..Default::default()
    })
    .await;
    let r = sn
        .req(Method::POST, "/oauth_token.do")
        .form(&[
            ("grant_type", "password"),
            ("client_id", "twinsync"),
            ("client_secret", "twinsync-secret"),
            ("username", "admin"),
            ("password", "admin"),
        ])
        .send()
        .await
        .unwrap();
    let t: Value = r.json().await.unwrap();
    let access = t["access_token"].as_str().unwrap().to_string();
    let get = || {
        sn.req(Method::GET, "/api/now/table/sys_user")
            .bearer_auth(&access)
            .send()
    };
    assert_eq!(get().await.unwrap().status(), 200);
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let (status, err) = error_of(get().await.unwrap()).await;
    assert_eq!(status, 401);
    assert_eq!(err["message"], "User Not Authenticated");
}

#[tokio::test]
async fn batch_api_runs_sub_requests_as_the_caller() {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    let sn = start(3).await;
    let id = sn
        .create("incident", json!({"short_description": "before"}))
        .await["sys_id"]
        .as_str()
        .unwrap()
        .to_string();
    let body = json!({
        "batch_request_id": 7,
        "rest_requests": [
            {"id": "a", "method": "GET", "url": format!("/api/now/table/incident/{id}?sysparm_fields=short_description"), "headers": [{"name": "Accept", "value": "application/json"}]},
            {"id": "b", "method": "PATCH", "url": format!("/api/now/table/incident/{id}"), "headers": [{"name": "Content-Type", "value": "application/json"}], "body": b64.encode(br#"{"short_description":"after"}"#)},
            {"id": "c", "method": "GET", "url": "/api/now/table/no_such_table"},
            {"id": "d", "method": "DELETE", "url": format!("/api/now/table/incident/{id}")}
        ]
    });
    let r = sn
        .itil(Method::POST, "/api/now/v1/batch")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["batch_request_id"], "7");
    assert_eq!(v["unserviced_requests"], json!([]));
    let served = v["serviced_requests"].as_array().unwrap();
    let statuses: Vec<(String, u64)> = served
        .iter()
        .map(|s| {
            (
                s["id"].as_str().unwrap().to_string(),
                s["status_code"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        statuses,
        [
            ("a".into(), 200),
            ("b".into(), 200),
            ("c".into(), 400),
            ("d".into(), 204)
        ]
    );
    let body_of = |i: usize| -> Value {
        serde_json::from_slice(&b64.decode(served[i]["body"].as_str().unwrap()).unwrap()).unwrap()
    };
    assert_eq!(body_of(0)["result"]["short_description"], "before");
    assert_eq!(body_of(1)["result"]["short_description"], "after");
    assert_eq!(body_of(1)["result"]["sys_updated_by"], "itil");
    assert!(served[0]["headers"]
        .as_array()
        .unwrap()
        .iter()
        .any(|h| h["name"] == "content-type"));
    let r = sn
        .admin(Method::GET, &format!("/api/now/table/incident/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404, "the batched DELETE ran");

    let r = sn
        .req(Method::POST, "/api/now/v1/batch")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401, "the batch itself needs credentials");
}

#[tokio::test]
async fn oauth_clients_may_authenticate_with_an_http_basic_header() {
    let sn = start(0).await;
    let r = sn
        .req(Method::POST, "/oauth_token.do")
        .basic_auth("twinsync", Some("twinsync-secret"))
        .form(&[
            ("grant_type", "password"),
            ("username", "admin"),
            ("password", "admin"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let t: Value = r.json().await.unwrap();
    assert!(t["access_token"].as_str().unwrap().len() > 20);
    let r = sn
        .req(Method::POST, "/oauth_token.do")
        .basic_auth("twinsync", Some("wrong"))
        .form(&[
            ("grant_type", "password"),
            ("username", "admin"),
            ("password", "admin"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}
