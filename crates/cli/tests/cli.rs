//! The `twinsync` binary as a user runs it: help, version, the sandbox and the demo as child
//! processes, clear errors for bad flags, and no acknowledged write lost to `kill -9`.

mod support;

use std::path::Path;

use std::time::Duration;
use support::{http, temp_dir, trusting, twinsync, Running};
#[test]
fn help_and_version_read_well() {
    let out = twinsync().arg("--help").output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    for command in ["demo", "sandbox", "bench"] {
        assert!(help.contains(command), "{help}");
    }
    let out = twinsync()
        .args(["sandbox", "servicenow", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    for flag in [
        "--port",
        "--data",
        "--seed",
        "--tls",
        "--cert",
        "--key",
        "--user",
        "--config",
        "--strict-queries",
    ] {
        assert!(help.contains(flag), "{flag} missing from:\n{help}");
    }
    let out = twinsync().arg("--version").output().unwrap();
    assert_eq!(
        String::from_utf8(out.stdout).unwrap().trim(),
        format!("twinsync {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn the_sandbox_command_serves_the_table_api_until_terminated() {
    let sandbox = Running::start(&["sandbox", "servicenow", "--port", "0", "--seed", "3"]);
    let banner = sandbox.printed().join("\n");
    assert!(banner.contains("admin/admin (admin)"), "{banner}");
    assert!(banner.contains("curl -u admin:admin"), "{banner}");
    let v: serde_json::Value = http()
        .get(format!("{}/api/now/table/incident", sandbox.url))
        .basic_auth("admin", Some("admin"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(v["result"].as_array().unwrap().len(), 3);
    assert!(sandbox.terminate(), "exits 0 on SIGTERM");
}

#[test]
fn the_demo_starts_a_seeded_sandbox_and_shows_how_to_use_it() {
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
        "12",
    ]);
    let printed = demo.printed().join("\n");
    assert!(
        printed.contains("match the trigger query `urgency=1`"),
        "{printed}"
    );
    assert!(printed.contains("sysparm_query=urgency=1"), "{printed}");
    let v: serde_json::Value = http()
        .get(format!(
            // The seeded ones: the scenario files more as the demo goes on.
            "{}/api/now/table/incident?sysparm_query=urgency=1^short_descriptionNOT%20LIKEDemo:",
            demo.url
        ))
        .basic_auth("admin", Some("admin"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let shown = printed
        .lines()
        .find(|l| l.contains("match the trigger query"))
        .unwrap();
    let count: usize = shown
        .split(';')
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(v["result"].as_array().unwrap().len(), count, "{shown}");
    assert!(demo.terminate());
}

#[test]
fn the_demo_once_syncs_both_ways_and_exits_zero() {
    let out = twinsync()
        .args([
            "--log",
            "warn",
            "demo",
            "--once",
            "--port",
            "0",
            "--salesforce-port",
            "0",
            "--node-port",
            "0",
            "--salesforce-node-port",
            "0",
        ])
        .output()
        .unwrap();
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{printed}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for expected in [
        "accepted on the Salesforce node: active",
        "→ Salesforce Case",
        "→ ServiceNow INC",
        "Salesforce comment → ServiceNow",
        "Status Working",
        "Closed in",
        "All 5 expected syncs happened.",
    ] {
        assert!(
            printed.contains(expected),
            "missing {expected:?} in:\n{printed}"
        );
    }
}

#[test]
fn bad_flags_and_busy_ports_fail_with_a_clear_message() {
    let out = twinsync()
        .args([
            "sandbox",
            "servicenow",
            "--port",
            "0",
            "--user",
            "nopassword",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("NAME:PASSWORD"), "{err}");

    let dir = temp_dir();
    let config = dir.join("bad.toml");
    std::fs::write(&config, "no_such_setting = 1\n").unwrap();
    let out = twinsync()
        .args([
            "sandbox",
            "servicenow",
            "--port",
            "0",
            "--config",
            config.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("bad.toml") && err.contains("no_such_setting"),
        "{err}"
    );

    let first = Running::start(&["sandbox", "servicenow", "--port", "0", "--seed", "0"]);
    let port = first.url.rsplit(':').next().unwrap().to_string();
    let out = twinsync()
        .args(["sandbox", "servicenow", "--port", &port])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("cannot listen on") && err.contains("--port 0"),
        "{err}"
    );
}

/// Inserts incidents from several threads until told to stop; returns the sys_ids whose
/// creation the sandbox acknowledged with 201.
fn write_until_stopped(
    url: &str,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> Vec<std::thread::JoinHandle<Vec<String>>> {
    (0..4)
        .map(|w| {
            let url = url.to_string();
            let stop = stop.clone();
            std::thread::spawn(move || {
                let client = http();
                let mut acknowledged = Vec::new();
                let mut n = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    n += 1;
                    let r = client
                        .post(format!("{url}/api/now/table/incident?sysparm_fields=sys_id"))
                        .basic_auth("itil", Some("itil"))
                        .json(&serde_json::json!({"short_description": format!("writer {w} #{n}"), "comments": "c"}))
                        .send();
                    match r {
                        Ok(r) if r.status() == 201 => {
                            let v: serde_json::Value = r.json().unwrap();
                            acknowledged.push(v["result"]["sys_id"].as_str().unwrap().to_string());
                        }
                        _ => break, // the process was killed mid-request
                    }
                }
                acknowledged
            })
        })
        .collect()
}

fn all_incident_ids(url: &str) -> Vec<String> {
    let v: serde_json::Value = http()
        .get(format!(
            "{url}/api/now/table/incident?sysparm_fields=sys_id&sysparm_limit=1000000"
        ))
        .basic_auth("admin", Some("admin"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    v["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["sys_id"].as_str().unwrap().to_string())
        .collect()
}

fn start_persistent(data: &Path) -> Running {
    Running::start(&[
        "sandbox",
        "servicenow",
        "--port",
        "0",
        "--seed",
        "5",
        "--data",
        data.to_str().unwrap(),
    ])
}

#[test]
fn no_acknowledged_write_is_lost_when_the_sandbox_is_killed() {
    let dir = temp_dir();
    let data = dir.join("servicenow.jsonl");
    let mut expected: Vec<String> = Vec::new();
    for round in 0..3 {
        let sandbox = start_persistent(&data);
        let present = all_incident_ids(&sandbox.url);
        for id in &expected {
            assert!(
                present.contains(id),
                "round {round}: acknowledged incident {id} lost"
            );
        }
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let writers = write_until_stopped(&sandbox.url, stop.clone());
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
            "round {round}: the writers got going ({acknowledged})"
        );
    }
    let sandbox = start_persistent(&data);
    let present = all_incident_ids(&sandbox.url);
    for id in &expected {
        assert!(present.contains(id), "acknowledged incident {id} lost");
    }
    assert!(present.len() >= expected.len() + 5);
    let numbers: serde_json::Value = http()
        .get(format!(
            "{}/api/now/table/incident?sysparm_fields=number&sysparm_limit=1000000",
            sandbox.url
        ))
        .basic_auth("admin", Some("admin"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let mut numbers: Vec<&str> = numbers["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["number"].as_str().unwrap())
        .collect();
    let total = numbers.len();
    numbers.sort();
    numbers.dedup();
    assert_eq!(
        numbers.len(),
        total,
        "no number handed out twice across crashes"
    );
}

#[test]
fn the_sandbox_benchmark_runs_every_phase_without_errors() {
    let out = twinsync()
        .args([
            "bench",
            "sandbox",
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
    assert!(printed.contains("300 incidents"), "{printed}");
    for phase in [
        "GET by sys_id",
        "PATCH by sys_id",
        "query number= (indexed)",
        "query numberLIKE (full scan)",
    ] {
        let line = printed
            .lines()
            .find(|l| l.starts_with(phase))
            .unwrap_or_else(|| panic!("{phase} missing:\n{printed}"));
        assert!(line.ends_with("errors 0"), "{line}");
        let requests: usize = line[phase.len()..]
            .split_whitespace()
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert!(requests > 0, "{line}");
    }
}

#[test]
fn tls_flags_serve_https_with_a_generated_or_given_certificate() {
    let dir = temp_dir();
    let ca = dir.join("ca.pem");
    let generated = Running::start(&[
        "sandbox",
        "servicenow",
        "--port",
        "0",
        "--seed",
        "1",
        "--tls",
        "--cert-out",
        ca.to_str().unwrap(),
    ]);
    assert!(generated.url.starts_with("https://"), "{}", generated.url);
    let banner = generated.printed().join("\n");
    assert!(
        banner.contains(&format!("TLS cert: {}", ca.display())),
        "{banner}"
    );
    let r = trusting(&ca)
        .get(format!("{}/api/now/table/incident", generated.url))
        .basic_auth("admin", Some("admin"))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);

    // The same material given back with --cert/--key.
    let material =
        twinsync_sandbox::common::tls::TlsMaterial::self_signed(&dir.join("ca2.pem")).unwrap();
    let (chain, key) = (dir.join("chain.pem"), dir.join("key.pem"));
    std::fs::write(&chain, &material.cert_pem).unwrap();
    std::fs::write(&key, &material.key_pem).unwrap();
    let given = Running::start(&[
        "sandbox",
        "servicenow",
        "--port",
        "0",
        "--seed",
        "1",
        "--tls",
        "--cert",
        chain.to_str().unwrap(),
        "--key",
        key.to_str().unwrap(),
    ]);
    let r = trusting(&dir.join("ca2.pem"))
        .get(format!("{}/sandbox", given.url))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);

    let out = twinsync()
        .args([
            "sandbox",
            "servicenow",
            "--port",
            "0",
            "--tls",
            "--cert",
            "/nonexistent.pem",
            "--key",
            "/nonexistent.key",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8(out.stderr)
        .unwrap()
        .contains("/nonexistent.pem"));
}

#[test]
fn user_flags_replace_the_default_users() {
    let sandbox = Running::start(&[
        "sandbox",
        "servicenow",
        "--port",
        "0",
        "--seed",
        "1",
        "--user",
        "jane:s3cret:itil",
    ]);
    let banner = sandbox.printed().join("\n");
    assert!(
        banner.contains("jane (itil)") && !banner.contains("s3cret"),
        "passwords given by flag are not echoed: {banner}"
    );
    let get = |user: &str, password: &str| {
        http()
            .get(format!("{}/api/now/table/incident", sandbox.url))
            .basic_auth(user, Some(password))
            .send()
            .unwrap()
            .status()
    };
    assert_eq!(get("jane", "s3cret"), 200);
    assert_eq!(get("admin", "admin"), 401);
    let r = http()
        .post(format!("{}/api/now/table/incident", sandbox.url))
        .basic_auth("jane", Some("s3cret"))
        .json(&serde_json::json!({"short_description": "by jane"}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 201, "itil may write incidents");
}
