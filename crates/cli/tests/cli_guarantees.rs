//! DESIGN.md §4 under fire: two nodes as child processes sync 20 twins while people make
//! 2,000 updates on both sides (incident descriptions on ServiceNow, case subjects on
//! Salesforce), and either node is killed with SIGKILL at random moments and restarted on
//! the same data. Once quiet, every twin on both sides holds the last value written on
//! each side (nothing lost, no older update applied after a newer one), each field's
//! other-side edits survived, and there is exactly one case per incident.

mod support;

use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::{admin, http, rand_suffix, sf_token, start_node, start_pair, Pair};

const TWINS: usize = 20;
const UPDATES_PER_SIDE: usize = 1000;

fn incidents(sn: &str) -> Vec<Value> {
    let v: Value = http()
        .get(format!(
            "{sn}/api/now/table/incident?sysparm_query=urgency=1&sysparm_fields=sys_id,short_description,description&sysparm_limit=1000"
        ))
        .basic_auth("admin", Some("admin"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    v["result"].as_array().cloned().unwrap_or_default()
}

fn cases(sf: &str, token: &str) -> Vec<Value> {
    let q: String =
        url::form_urlencoded::byte_serialize(b"SELECT Id, Subject, Description FROM Case")
            .collect();
    let v: Value = http()
        .get(format!("{sf}/services/data/v62.0/query?q={q}"))
        .bearer_auth(token)
        .send()
        .unwrap()
        .json()
        .unwrap();
    v["records"].as_array().cloned().unwrap_or_default()
}

/// A small deterministic-per-run random source (no extra crate for a test's dice).
struct Dice(u64);

impl Dice {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

#[test]
fn kill_9_at_random_points_of_2000_updates_loses_and_duplicates_nothing() {
    let Pair {
        dir,
        sn,
        sf,
        sn_cfg,
        sf_cfg,
        sn_node,
        sf_node,
        id,
    } = start_pair(&[]);
    admin(
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

    // The twins: 20 urgent incidents, each becomes a case.
    for i in 0..TWINS {
        let r = http()
            .post(format!("{}/api/now/table/incident", sn.url))
            .basic_auth("admin", Some("admin"))
            .json(&json!({"short_description": format!("g-{i}"), "urgency": "1"}))
            .send()
            .unwrap();
        assert_eq!(r.status(), 201);
    }
    let token = sf_token(&sf.url);
    let deadline = Instant::now() + Duration::from_secs(120);
    while cases(&sf.url, &token).len() < TWINS {
        assert!(Instant::now() < deadline, "the 20 cases did not appear");
        std::thread::sleep(Duration::from_millis(200));
    }
    let by_subject = |rows: Vec<Value>, field: &str, key: &str| -> Vec<String> {
        let mut m: HashMap<String, String> = HashMap::new();
        for r in rows {
            m.insert(
                r[field].as_str().unwrap_or_default().to_string(),
                r[key].as_str().unwrap().to_string(),
            );
        }
        (0..TWINS).map(|i| m[&format!("g-{i}")].clone()).collect()
    };
    let incident_keys = by_subject(incidents(&sn.url), "short_description", "sys_id");
    let case_keys = by_subject(cases(&sf.url, &token), "Subject", "Id");

    // The stream: each side writes its own field of the twins, round and round.
    let writing = Arc::new(AtomicBool::new(true));
    let sn_writer = {
        let (url, keys) = (sn.url.clone(), incident_keys.clone());
        std::thread::spawn(move || {
            let mut last = vec![String::new(); TWINS];
            for seq in 0..UPDATES_PER_SIDE {
                let i = seq % TWINS;
                let value = format!("sn {seq}");
                let r = http()
                    .patch(format!("{url}/api/now/table/incident/{}", keys[i]))
                    .basic_auth("admin", Some("admin"))
                    .json(&json!({"description": value}))
                    .send()
                    .unwrap();
                assert_eq!(r.status(), 200);
                last[i] = value;
                std::thread::sleep(Duration::from_millis(4));
            }
            last
        })
    };
    let sf_writer = {
        let (url, keys, token) = (sf.url.clone(), case_keys.clone(), token.clone());
        std::thread::spawn(move || {
            let mut last = vec![String::new(); TWINS];
            for seq in 0..UPDATES_PER_SIDE {
                let i = (seq * 7) % TWINS;
                let value = format!("sf {seq}");
                let r = http()
                    .patch(format!(
                        "{url}/services/data/v62.0/sobjects/Case/{}",
                        keys[i]
                    ))
                    .bearer_auth(&token)
                    .json(&json!({"Subject": value}))
                    .send()
                    .unwrap();
                assert_eq!(r.status(), 204);
                last[i] = value;
                std::thread::sleep(Duration::from_millis(4));
            }
            last
        })
    };
    // The killer: while the stream runs, SIGKILL one node or the other and restart it.
    let killer = {
        let writing = writing.clone();
        let (sn_cfg, sf_cfg) = (sn_cfg.clone(), sf_cfg.clone());
        std::thread::spawn(move || {
            let mut dice = Dice(rand_suffix() as u64 | 1);
            let (mut sn_node, mut sf_node) = (sn_node, sf_node);
            let mut kills = Vec::new();
            while writing.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(300 + dice.below(1200)));
                if !writing.load(Ordering::SeqCst) {
                    break;
                }
                if dice.below(2) == 0 {
                    sn_node.kill_hard();
                    sn_node = start_node(&sn_cfg);
                    kills.push("servicenow");
                } else {
                    sf_node.kill_hard();
                    sf_node = start_node(&sf_cfg);
                    kills.push("salesforce");
                }
            }
            (sn_node, sf_node, kills)
        })
    };
    let sn_last = sn_writer.join().unwrap();
    let sf_last = sf_writer.join().unwrap();
    writing.store(false, Ordering::SeqCst);
    let (sn_node, sf_node, kills) = killer.join().unwrap();
    assert!(!kills.is_empty(), "no node was killed");
    eprintln!("killed: {kills:?}");

    // Converged: both sides hold the last value of each side's field, on every twin.
    let deadline = Instant::now() + Duration::from_secs(180);
    let mismatches = || -> Vec<String> {
        let inc: HashMap<String, Value> = incidents(&sn.url)
            .into_iter()
            .map(|r| (r["sys_id"].as_str().unwrap().to_string(), r))
            .collect();
        let cs: HashMap<String, Value> = cases(&sf.url, &token)
            .into_iter()
            .map(|r| (r["Id"].as_str().unwrap().to_string(), r))
            .collect();
        let mut out = Vec::new();
        for i in 0..TWINS {
            let (a, b) = (&inc[&incident_keys[i]], &cs[&case_keys[i]]);
            let checks = [
                (&a["description"], &sn_last[i], "incident description"),
                (&b["Description"], &sn_last[i], "case Description"),
                (
                    &a["short_description"],
                    &sf_last[i],
                    "incident short_description",
                ),
                (&b["Subject"], &sf_last[i], "case Subject"),
            ];
            for (got, want, what) in checks {
                if got.as_str() != Some(want.as_str()) {
                    out.push(format!("twin {i}: {what} is {got}, want {want:?}"));
                }
            }
        }
        out
    };
    loop {
        let left = mismatches();
        if left.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not converged after the kills {kills:?}: {left:#?}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    // Nothing made twice, and it stays converged (no late older update, no ping-pong).
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(mismatches(), Vec::<String>::new());
    assert_eq!(incidents(&sn.url).len(), TWINS);
    assert_eq!(cases(&sf.url, &token).len(), TWINS);
    for node in [&sn_node.url, &sf_node.url] {
        let errors = admin(node, &["errors", "list"]);
        assert!(errors.contains("no open errors"), "{errors}");
    }
    let stats = admin(&sn_node.url, &["stats", &id]);
    assert!(stats.contains(&format!("twins {TWINS}")), "{stats}");
    drop((sn_node, sf_node));
    let _ = std::fs::remove_dir_all(&dir);
}
