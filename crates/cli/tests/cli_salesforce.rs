//! `twinsync sandbox salesforce` as a user runs it: banner, login and query, flags, the
//! demo's second sandbox, no acknowledged write lost to `kill -9`, and the benchmark.

mod support;

use serde_json::{json, Value};
use std::time::Duration;
use support::{http, temp_dir, trusting, twinsync, Running};

fn login(url: &str, username: &str, password: &str) -> Result<String, Value> {
    let r = http()
        .post(format!("{url}/services/oauth2/token"))
        .form(&[
            ("grant_type", "password"),
            ("client_id", "twinsync"),
            ("client_secret", "twinsync-secret"),
            ("username", username),
            ("password", password),
        ])
        .send()
        .unwrap();
    let ok = r.status() == 200;
    let body: Value = r.json().unwrap();
    if ok {
        Ok(body["access_token"].as_str().unwrap().to_string())
    } else {
        Err(body)
    }
}

fn query(url: &str, token: &str, soql: &str) -> Value {
    http()
        .get(format!(
            "{url}/services/data/v68.0/query?q={}",
            url::form_urlencoded::byte_serialize(soql.as_bytes()).collect::<String>()
        ))
        .bearer_auth(token)
        .send()
        .unwrap()
        .json()
        .unwrap()
}

/// Every case's id and number, following `nextRecordsUrl`.
fn all_cases(url: &str, token: &str) -> Vec<(String, String)> {
    let mut page = query(url, token, "SELECT Id, CaseNumber FROM Case");
    let mut out = Vec::new();
    loop {
        for r in page["records"].as_array().unwrap() {
            out.push((
                r["Id"].as_str().unwrap().to_string(),
                r["CaseNumber"].as_str().unwrap().to_string(),
            ));
        }
        let Some(next) = page["nextRecordsUrl"].as_str() else {
            return out;
        };
        page = http()
            .get(format!("{url}{next}"))
            .bearer_auth(token)
            .send()
            .unwrap()
            .json()
            .unwrap();
    }
}

#[test]
fn the_salesforce_sandbox_serves_rest_until_terminated() {
    let sandbox = Running::start(&["sandbox", "salesforce", "--port", "0", "--seed", "4"]);
    let banner = sandbox.printed().join("\n");
    assert!(banner.contains("admin@example.com/admin"), "{banner}");
    assert!(
        banner.contains("connected app twinsync / twinsync-secret"),
        "{banner}"
    );
    let token = login(&sandbox.url, "admin@example.com", "admin").unwrap();
    let cases = query(
        &sandbox.url,
        &token,
        "SELECT CaseNumber FROM Case ORDER BY CaseNumber",
    );
    assert_eq!(cases["totalSize"], 4);
    assert_eq!(cases["records"][0]["CaseNumber"], "00001001");
    assert!(sandbox.terminate(), "exits 0 on SIGTERM");
}

#[test]
fn flags_set_users_custom_fields_limits_and_refuse_nonsense() {
    let sandbox = Running::start(&[
        "sandbox",
        "salesforce",
        "--port",
        "0",
        "--seed",
        "1",
        "--user",
        "ops@example.com:secret:TOK",
        "--custom-field",
        "Case.Ticket_Key__c:string:external",
        "--daily-limit",
        "3",
    ]);
    let banner = sandbox.printed().join("\n");
    assert!(
        !banner.contains("ops@example.com/secret"),
        "custom passwords are not printed: {banner}"
    );
    assert!(login(&sandbox.url, "admin@example.com", "admin").is_err());
    assert!(login(&sandbox.url, "ops@example.com", "secret").is_err());
    let token = login(&sandbox.url, "ops@example.com", "secretTOK").unwrap();
    let r = http()
        .patch(format!(
            "{}/services/data/v68.0/sobjects/Case/Ticket_Key__c/INC0010001",
            sandbox.url
        ))
        .bearer_auth(&token)
        .json(&json!({"Subject": "upserted"}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 201);
    for _ in 0..2 {
        http()
            .get(format!("{}/services/data/v68.0/limits", sandbox.url))
            .bearer_auth(&token)
            .send()
            .unwrap();
    }
    let r = http()
        .get(format!("{}/services/data/v68.0/limits", sandbox.url))
        .bearer_auth(&token)
        .send()
        .unwrap();
    assert_eq!(r.status(), 403, "the fourth call is over the limit of 3");
    drop(sandbox);

    for (flag, value, needle) in [
        ("--user", "nopassword", "USERNAME:PASSWORD"),
        ("--custom-field", "Case.Bad Name", "__c"),
        ("--custom-field", "Nope.Field__c", "no object Nope"),
    ] {
        let out = twinsync()
            .args(["sandbox", "salesforce", "--port", "0", flag, value])
            .output()
            .unwrap();
        assert!(!out.status.success(), "{flag} {value}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(err.contains(needle), "{flag} {value}: {err}");
    }
}

#[test]
fn the_demo_also_runs_a_seeded_salesforce_org() {
    let demo = Running::start(&[
        "demo",
        "--port",
        "0",
        "--salesforce-port",
        "0",
        "--node-port",
        "0",
        "--salesforce-node-port",
        "0",
        "--seed",
        "5",
    ]);
    let line = demo.wait_for("Salesforce sandbox listening on ");
    let url = line.rsplit(' ').next().unwrap();
    let token = login(url, "admin@example.com", "admin").unwrap();
    assert_eq!(
        query(url, &token, "SELECT COUNT() FROM Case")["totalSize"],
        5
    );
    assert!(demo.terminate());
}

#[test]
fn no_acknowledged_salesforce_write_is_lost_when_killed() {
    let dir = temp_dir();
    let data = dir.join("salesforce.jsonl");
    let start = || {
        Running::start(&[
            "sandbox",
            "salesforce",
            "--port",
            "0",
            "--seed",
            "2",
            "--data",
            data.to_str().unwrap(),
        ])
    };
    let mut expected: Vec<String> = Vec::new();
    for round in 0..2 {
        let sandbox = start();
        let token = login(&sandbox.url, "admin@example.com", "admin").unwrap();
        let present: std::collections::HashSet<String> = all_cases(&sandbox.url, &token)
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        for id in &expected {
            assert!(present.contains(id), "round {round}: case {id} lost");
        }
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let writers: Vec<_> = (0..3)
            .map(|w| {
                let (url, token, stop) = (sandbox.url.clone(), token.clone(), stop.clone());
                std::thread::spawn(move || {
                    let client = http();
                    let mut ids = Vec::new();
                    let mut n = 0;
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        n += 1;
                        let Ok(r) = client
                            .post(format!("{url}/services/data/v68.0/sobjects/Case"))
                            .bearer_auth(&token)
                            .json(&json!({"Subject": format!("writer {w} #{n}")}))
                            .send()
                        else {
                            break;
                        };
                        if r.status() != 201 {
                            break;
                        }
                        let Ok(body) = r.json::<Value>() else { break };
                        ids.push(body["id"].as_str().unwrap().to_string());
                    }
                    ids
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(400));
        sandbox.kill_hard();
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let mut acknowledged = 0;
        for w in writers {
            let ids = w.join().unwrap();
            acknowledged += ids.len();
            expected.extend(ids);
        }
        assert!(
            acknowledged > 10,
            "round {round}: writers got going ({acknowledged})"
        );
    }
    let sandbox = start();
    let token = login(&sandbox.url, "admin@example.com", "admin").unwrap();
    let records = all_cases(&sandbox.url, &token);
    let ids: std::collections::HashSet<&str> = records.iter().map(|(id, _)| id.as_str()).collect();
    for id in &expected {
        assert!(ids.contains(id.as_str()), "acknowledged case {id} lost");
    }
    let mut numbers: Vec<&str> = records.iter().map(|(_, n)| n.as_str()).collect();
    let total = numbers.len();
    numbers.sort();
    numbers.dedup();
    assert_eq!(
        numbers.len(),
        total,
        "no case number handed out twice across crashes"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn the_salesforce_benchmark_runs_every_phase_without_errors() {
    let out = twinsync()
        .args([
            "bench",
            "sandbox",
            "--platform",
            "salesforce",
            "--records",
            "300",
            "--seconds",
            "1",
            "--concurrency",
            "4",
        ])
        .output()
        .unwrap();
    let printed = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "{printed}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(printed.contains("300 cases"), "{printed}");
    for phase in [
        "GET case by id",
        "PATCH case by id",
        "SOQL CaseNumber = (indexed)",
        "SOQL CaseNumber LIKE (scan)",
    ] {
        let line = printed
            .lines()
            .find(|l| l.starts_with(phase))
            .unwrap_or_else(|| panic!("{phase} missing:\n{printed}"));
        assert!(line.ends_with("errors 0"), "{line}");
    }
}

#[test]
fn tls_serves_the_org_over_https_with_the_printed_certificate() {
    let dir = temp_dir();
    let ca = dir.join("ca.pem");
    let sandbox = Running::start(&[
        "sandbox",
        "salesforce",
        "--port",
        "0",
        "--seed",
        "1",
        "--tls",
        "--cert-out",
        ca.to_str().unwrap(),
    ]);
    assert!(sandbox.url.starts_with("https://"), "{}", sandbox.url);
    let banner = sandbox.printed().join("\n");
    assert!(banner.contains(ca.to_str().unwrap()), "{banner}");
    let client = trusting(&ca);
    let token: Value = client
        .post(format!("{}/services/oauth2/token", sandbox.url))
        .form(&[
            ("grant_type", "password"),
            ("client_id", "twinsync"),
            ("client_secret", "twinsync-secret"),
            ("username", "admin@example.com"),
            ("password", "admin"),
        ])
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(token["instance_url"], json!(sandbox.url));
    let r = client
        .get(format!("{}/services/data/v68.0/limits", sandbox.url))
        .bearer_auth(token["access_token"].as_str().unwrap())
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    drop(sandbox);
    let _ = std::fs::remove_dir_all(dir);
}
