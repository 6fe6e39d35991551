//! Random and hostile requests: the sandbox answers each with the platform's envelope and a
//! 4xx status, never a 5xx or a crash, and loses no record.

mod common;

use common::{start, url_escape};
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use reqwest::Method;
use serde_json::{json, Value};

const QUERY_PIECES: &[&str] = &[
    "^",
    "^^",
    "^OR",
    "^NQ",
    "ORDERBY",
    "ORDERBYDESC",
    "=",
    "!=",
    "<",
    ">=",
    "LIKE",
    "NOT IN",
    "IN",
    "BETWEEN",
    "@",
    ",",
    ".",
    "priority",
    "caller_id.email",
    "sys_updated_on",
    "javascript:gs.daysAgo(",
    ")",
    "ISEMPTY",
    "INSTANCEOF",
    "%",
    "'",
    "\"",
    "é",
    "\u{0}",
    "1",
    "2026-01-01",
    "nope",
    " ",
];

fn random_json(rng: &mut StdRng, depth: u32) -> Value {
    // Depth 5 asks for an object of scalars: a plausible record.
    if depth == 5 {
        let fields = [
            "short_description",
            "impact",
            "urgency",
            "description",
            "caller_id",
            "active",
            "comments",
        ];
        let mut m = serde_json::Map::new();
        for _ in 0..rng.random_range(0..4) {
            let value = match rng.random_range(0..3) {
                0 => json!(rng.random_range(0..5)),
                1 => json!("text"),
                _ => random_json(rng, 3),
            };
            m.insert(fields.choose(rng).unwrap().to_string(), value);
        }
        return Value::Object(m);
    }
    match rng.random_range(0..if depth > 2 { 4 } else { 6 }) {
        0 => Value::Null,
        1 => json!(rng.random::<bool>()),
        2 => json!(rng.random::<i64>()),
        3 => json!((0..rng.random_range(0..12))
            .map(|_| rng.random::<char>())
            .collect::<String>()),
        4 => Value::Array(
            (0..rng.random_range(0..3))
                .map(|_| random_json(rng, depth + 1))
                .collect(),
        ),
        _ => {
            let fields = [
                "short_description",
                "impact",
                "urgency",
                "state",
                "caller_id",
                "opened_at",
                "active",
                "comments",
                "sys_id",
                "number",
                "bogus",
            ];
            let mut m = serde_json::Map::new();
            for _ in 0..rng.random_range(0..5) {
                m.insert(
                    fields.choose(rng).unwrap().to_string(),
                    random_json(rng, depth + 1),
                );
            }
            Value::Object(m)
        }
    }
}

#[tokio::test]
async fn random_requests_never_get_a_server_error_nor_lose_records() {
    let sn = start(20).await;
    let before = sn.query_ids("incident", "").await;
    let mut rng = StdRng::seed_from_u64(0xbad);
    let tables = [
        "incident",
        "incident",
        "incident",
        "sys_user",
        "nope",
        "sys_journal_field",
        "%00",
        "incident/../x",
    ];
    let mut seen = std::collections::BTreeMap::<u16, usize>::new();
    let methods = [
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
        Method::OPTIONS,
    ];
    for i in 0..1500 {
        let table = tables.choose(&mut rng).unwrap();
        let query: String = (0..rng.random_range(0..10))
            .map(|_| *QUERY_PIECES.choose(&mut rng).unwrap())
            .collect();
        let method = methods.choose(&mut rng).unwrap().clone();
        let mut path = format!("/api/now/table/{table}");
        // Updates and deletes mostly aim at a record id (one that does not exist, so the
        // seeded records stay), list reads and inserts mostly at the table.
        let with_id = match method {
            Method::PUT | Method::PATCH | Method::DELETE => 0.9,
            _ => 0.1,
        };
        if rng.random_bool(with_id) {
            path.push_str("/0123456789abcdef0123456789abcdef");
        }
        let params = [
            format!("sysparm_query={}", url_escape(&query)),
            format!(
                "sysparm_limit={}",
                [
                    "-1",
                    "0",
                    "abc",
                    "5",
                    "99999999999999999999",
                    "18446744073709551615"
                ]
                .choose(&mut rng)
                .unwrap()
            ),
            format!(
                "sysparm_offset={}",
                [
                    "-1",
                    "0",
                    "3",
                    "x",
                    "18446744073709551615",
                    "18446744073709551614"
                ]
                .choose(&mut rng)
                .unwrap()
            ),
            format!(
                "sysparm_display_value={}",
                ["true", "all", "x"].choose(&mut rng).unwrap()
            ),
            format!("sysparm_fields={}", url_escape(&query)),
        ];
        path.push('?');
        path.push_str(&params.join("&"));
        let mut request = sn.admin(method.clone(), &path);
        if rng.random_bool(0.5) {
            let body = if rng.random_bool(0.7) {
                random_json(&mut rng, 5)
            } else {
                random_json(&mut rng, 0)
            };
            request = request
                .header("content-type", "application/json")
                .body(body.to_string());
        } else {
            let bytes: Vec<u8> = (0..rng.random_range(0..64)).map(|_| rng.random()).collect();
            request = request.body(bytes);
        }
        let r = request.send().await.unwrap();
        let status = r.status().as_u16();
        *seen.entry(status).or_default() += 1;
        assert!(
            status < 500,
            "request {i}: {method} {path} → {status}: {}",
            r.text().await.unwrap()
        );
        if status >= 400 {
            let v: Value = r
                .json()
                .await
                .unwrap_or_else(|e| panic!("request {i}: {method} {path}: not JSON: {e}"));
            assert_eq!(v["status"], "failure", "request {i}");
        }
    }
    // Every kind of answer occurred, so the inputs reached reads, writes and each refusal.
    for status in [200, 201, 400, 404, 405] {
        assert!(
            seen.get(&status).copied().unwrap_or(0) > 10,
            "status {status}: {seen:?}"
        );
    }
    assert_eq!(seen.values().sum::<usize>(), 1500, "{seen:?}");
    eprintln!("statuses: {seen:?}");
    let after = sn.query_ids("incident", "").await;
    assert!(
        before.iter().all(|id| after.contains(id)),
        "no seeded record was lost"
    );
}
