//! `twinsync node` as child processes, one per sandbox (also child processes), set up and
//! driven with the admin CLI: initiate, accept, trigger, an urgent incident becomes a case;
//! the ServiceNow node is killed with SIGKILL, an incident is filed while it is down, and
//! after a restart on the same data it syncs — nothing lost, nothing made twice.

mod support;

use serde_json::{json, Value};
use std::time::{Duration, Instant};
use support::{admin, http, sf_token, start_node, start_pair, Pair};

fn cases_named(sf: &str, token: &str, subject: &str) -> usize {
    let q: String = url::form_urlencoded::byte_serialize(
        format!("SELECT Id FROM Case WHERE Subject = '{subject}'").as_bytes(),
    )
    .collect();
    let v: Value = http()
        .get(format!("{sf}/services/data/v62.0/query?q={q}"))
        .bearer_auth(token)
        .send()
        .unwrap()
        .json()
        .unwrap();
    v["totalSize"].as_u64().unwrap_or(0) as usize
}

fn file_incident(sn: &str, subject: &str) {
    let r = http()
        .post(format!("{sn}/api/now/table/incident"))
        .basic_auth("admin", Some("admin"))
        .json(&json!({"short_description": subject, "urgency": "1"}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 201);
}

fn wait_until(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn nodes_as_processes_sync_and_survive_a_kill() {
    let Pair {
        dir,
        sn,
        sf,
        sn_cfg,
        sn_node,
        sf_node,
        id,
        ..
    } = start_pair(&["--name", "support-sales"]);
    let listed = admin(&sn_node.url, &["connection", "list"]);
    assert!(
        listed.contains("support-sales") && listed.contains("active"),
        "{listed}"
    );
    let added = admin(
        &sn_node.url,
        &[
            "trigger",
            "add",
            &id,
            "--entity-type",
            "incident",
            "--query",
            "urgency=1",
        ],
    );
    assert!(added.contains("added"), "{added}");

    let token = sf_token(&sf.url);
    file_incident(&sn.url, "Before the crash");
    wait_until("the first case", || {
        cases_named(&sf.url, &token, "Before the crash") == 1
    });

    // SIGKILL the ServiceNow node; file an incident while it is down; restart it.
    sn_node.kill_hard();
    file_incident(&sn.url, "While the node was down");
    let sn_node = start_node(&sn_cfg);
    wait_until("the case filed during the outage", || {
        cases_named(&sf.url, &token, "While the node was down") == 1
    });
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(cases_named(&sf.url, &token, "Before the crash"), 1);
    assert_eq!(cases_named(&sf.url, &token, "While the node was down"), 1);

    let stats = admin(&sn_node.url, &["stats", &id]);
    let sn_key = {
        let v: Value = http()
            .get(format!(
                "{}/api/now/table/incident?sysparm_query=short_description=Before the crash",
                sn.url
            ))
            .basic_auth("admin", Some("admin"))
            .send()
            .unwrap()
            .json()
            .unwrap();
        v["result"][0]["sys_id"].as_str().unwrap().to_string()
    };
    // The link shows once the other side's acknowledgement is applied.
    let mut history = String::new();
    wait_until("the link to the case", || {
        history = admin(
            &sn_node.url,
            &["entity", &id, "--entity-type", "incident", &sn_key],
        );
        history.contains("⇄ Case")
    });
    assert!(history.contains("sent"), "{history}");
    assert!(stats.contains("twins 2"), "{stats}");
    let errors = admin(&sf_node.url, &["errors", "list"]);
    assert!(errors.contains("no open errors"), "{errors}");
    // Bulk connect by a field finds the two pairs, linked already.
    let by = admin(
        &sn_node.url,
        &[
            "bulk-connect",
            &id,
            "--by",
            "incident.short_description=Case.Subject",
        ],
    );
    assert!(
        by.contains("2 local records with a value; 2 pairs, 0 newly linked"),
        "{by}"
    );
    let rule = admin(&sf_node.url, &["rules", "show", &id, "incoming"]);
    assert!(rule.contains("default incoming rule"), "{rule}");
    let _ = std::fs::remove_dir_all(&dir);
}
