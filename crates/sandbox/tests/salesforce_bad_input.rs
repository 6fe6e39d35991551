//! Random and hostile requests: the Salesforce sandbox answers each with a status below 500
//! (but for the errors injected on purpose) and, for a 4xx, the platform's JSON error array;
//! HEAD answers as GET does; it never panics and loses no record.

mod sf_common;

use rand::rngs::SmallRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use reqwest::Method;
use serde_json::{json, Map, Value};
use sf_common::{start, Sf, V};
use std::collections::BTreeMap;

const SEED_CASES: usize = 20;
const REQUESTS: usize = 1000;

const OBJECTS: &[&str] = &[
    "Case",
    "Case",
    "Case",
    "case",
    "CASE",
    "Account",
    "Contact",
    "CaseComment",
    "ContentVersion",
    "ContentDocument",
    "ContentDocumentLink",
    "User",
    "Task",
    "Opportunity",
    "Nope",
    "Nope__c",
    "",
    "%00",
    "Case%20",
    "é",
    "😀",
];

const FIELDS: &[&str] = &[
    "Id",
    "Subject",
    "Status",
    "Priority",
    "Description",
    "Origin",
    "Type",
    "Reason",
    "AccountId",
    "ContactId",
    "ParentId",
    "OwnerId",
    "CaseNumber",
    "IsClosed",
    "IsEscalated",
    "IsDeleted",
    "ClosedDate",
    "CreatedDate",
    "SystemModstamp",
    "SuppliedEmail",
    "Name",
    "LastName",
    "Email",
    "PathOnClient",
    "VersionData",
    "Title",
    "FirstPublishLocationId",
    "ContentDocumentId",
    "CommentBody",
    "Account.Name",
    "Owner.Name",
    "Nope",
    "Nope__c",
    "attributes",
    "",
];

const SOQL_PIECES: &[&str] = &[
    "SELECT",
    "SELECT",
    "FROM",
    "FROM",
    "WHERE",
    "AND",
    "OR",
    "NOT",
    "ORDER BY",
    "GROUP BY",
    "HAVING",
    "LIMIT",
    "OFFSET",
    "ASC",
    "DESC",
    "NULLS FIRST",
    "NULLS LAST",
    "IN",
    "NOT IN",
    "LIKE",
    "INCLUDES",
    "=",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "<>",
    "(",
    ")",
    ",",
    ".",
    ":",
    "'",
    "\\'",
    "\"",
    "\\",
    "%",
    "_",
    "@",
    "COUNT()",
    "COUNT(Id)",
    "MAX(CreatedDate)",
    "FIELDS(ALL)",
    "TODAY",
    "LAST_N_DAYS:3",
    "LAST_N_DAYS:",
    "NEXT_N_DAYS:-1",
    "THIS_MONTH",
    "2024-01-01",
    "2024-01-01T00:00:00Z",
    "2024-13-45T99:99:99Z",
    "null",
    "true",
    "false",
    "0",
    "-1",
    "1.5",
    "1e309",
    "99999999999999999999999",
    "'High'",
    "'%a%'",
    "'é'",
    "'\u{0}'",
    "(SELECT Id FROM CaseComments)",
    "(SELECT",
    "Case",
    "Account",
    "Nope",
    "Id",
    "Subject",
    "Priority",
    "CaseNumber",
    "Account.Name",
    "Account.Owner.Name",
    "Parent.Parent.Parent.Subject",
    "CaseComments",
    "WITH SECURITY_ENFORCED",
    "FOR UPDATE",
    "USING SCOPE",
    "TYPEOF",
    ";",
    "--",
    "/*",
];

/// A random string: ASCII, markup, quotes, control characters, non-BMP characters.
fn random_text(rng: &mut SmallRng, max: usize) -> String {
    let n = rng.random_range(0..=max);
    (0..n)
        .map(|_| match rng.random_range(0..6) {
            0 => rng.random::<char>(),
            1 => *[
                '<', '>', '&', '"', '\'', '\\', '%', '@', '{', '}', '\u{0}', '\n',
            ]
            .choose(rng)
            .unwrap(),
            _ => rng.random_range(b' '..=b'~') as char,
        })
        .collect()
}

/// A random scalar or structure of JSON.
fn random_json(rng: &mut SmallRng, depth: u32) -> Value {
    match rng.random_range(0..if depth > 2 { 7 } else { 9 }) {
        0 => Value::Null,
        1 => json!(rng.random::<bool>()),
        2 => json!(rng.random::<i64>()),
        3 => json!(rng.random::<f64>() * 1e300),
        4 => json!(*[u64::MAX as f64, -0.0, 1e-300, f64::MAX, f64::MIN]
            .choose(rng)
            .unwrap()),
        5 | 6 => json!(random_text(rng, 20)),
        7 => Value::Array(
            (0..rng.random_range(0..4))
                .map(|_| random_json(rng, depth + 1))
                .collect(),
        ),
        _ => Value::Object(
            (0..rng.random_range(0..5))
                .map(|_| {
                    (
                        FIELDS.choose(rng).unwrap().to_string(),
                        random_json(rng, depth + 1),
                    )
                })
                .collect(),
        ),
    }
}

/// Ids that exist in the org (never deleted by this test) or do not.
struct Ids {
    seeded: Vec<String>,
    accounts: Vec<String>,
}

/// An id-shaped or not-quite-id value that names no record, so deletes change nothing.
fn fake_id(rng: &mut SmallRng) -> String {
    const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let prefix = *[
        "500", "001", "003", "068", "069", "00a", "005", "zzz", "000",
    ]
    .choose(rng)
    .unwrap();
    // Ids the sandbox issues have `5g0` after the prefix; `9zz` never collides with them.
    let body: String = (0..9)
        .map(|_| BASE62[rng.random_range(0..62)] as char)
        .collect();
    let id15 = format!("{prefix}9zz{body}");
    match rng.random_range(0..8) {
        0 => id15,
        1 => format!("{id15}AAA"), // usually a bad checksum
        2 => id15[..rng.random_range(0..15)].to_string(),
        3 => format!("{id15}{}", random_text(rng, 4)),
        4 => "x".repeat(rng.random_range(1..5000)),
        5 => random_text(rng, 20),
        _ => twinsync_model::salesforce_id::normalize(&id15).unwrap_or(id15),
    }
}

fn any_id(rng: &mut SmallRng, ids: &Ids, deleting: bool) -> String {
    if deleting || rng.random_bool(0.5) {
        return fake_id(rng);
    }
    let pool = if rng.random_bool(0.8) {
        &ids.seeded
    } else {
        &ids.accounts
    };
    let id = pool.choose(rng).unwrap().clone();
    if rng.random_bool(0.3) {
        id[..15].to_string()
    } else {
        id
    }
}

/// A Case-like record with plausible, wrong-typed, oversized or dangling values.
fn random_record(rng: &mut SmallRng, ids: &Ids) -> Map<String, Value> {
    let mut m = Map::new();
    // A valid Case, sometimes with a bad field added, so writes also succeed.
    let plausible = rng.random_bool(0.4);
    if plausible {
        m.insert("Subject".into(), json!(random_text(rng, 60)));
        m.insert(
            "Priority".into(),
            json!(*["High", "Medium", "Low"].choose(rng).unwrap()),
        );
        m.insert(
            "Status".into(),
            json!(*["New", "Working", "Escalated", "Closed"]
                .choose(rng)
                .unwrap()),
        );
        if rng.random_bool(0.5) {
            m.insert("Description".into(), json!(random_text(rng, 300)));
        }
    }
    let extra = match (plausible, rng.random_bool(0.6)) {
        (true, true) => 0,
        (true, false) => 1,
        _ => rng.random_range(0..6),
    };
    for _ in 0..extra {
        let field = FIELDS.choose(rng).unwrap().to_string();
        let value = match rng.random_range(0..12) {
            0 => json!(random_text(rng, 30)),
            1 => json!(*["High", "Medium", "Low", "Urgent", "", "high"]
                .choose(rng)
                .unwrap()),
            2 => json!(*["New", "Working", "Escalated", "Closed", "Bogus"]
                .choose(rng)
                .unwrap()),
            3 => json!("s".repeat(*[255usize, 256, 4000, 32_001, 100_000].choose(rng).unwrap())),
            4 => json!(any_id(rng, ids, false)),
            5 => json!(fake_id(rng)),
            6 => json!(*[
                "2024-01-01",
                "2024-01-01T10:00:00.000+0000",
                "yesterday",
                "2024-02-30"
            ]
            .choose(rng)
            .unwrap()),
            7 => json!(*["aGVsbG8=", "!!!not base64", "", "aGk"]
                .choose(rng)
                .unwrap()),
            8 => json!({"attributes": {"type": "Case"}, "Name": "nested"}),
            _ => random_json(rng, 1),
        };
        m.insert(field, value);
    }
    if rng.random_bool(0.7) {
        let ty = if plausible && rng.random_bool(0.8) {
            "Case"
        } else {
            *OBJECTS.choose(rng).unwrap()
        };
        m.insert("attributes".into(), json!({ "type": ty }));
    }
    m
}

fn random_soql(rng: &mut SmallRng) -> String {
    match rng.random_range(0..4) {
        0 => (0..rng.random_range(0..14))
            .map(|_| *SOQL_PIECES.choose(rng).unwrap())
            .collect::<Vec<_>>()
            .join(" "),
        1 => (0..rng.random_range(0..14))
            .map(|_| *SOQL_PIECES.choose(rng).unwrap())
            .collect::<String>(),
        2 => random_text(rng, 60),
        _ => {
            // Nearly valid: reaches the evaluator with odd values.
            let fields: Vec<&str> = (0..rng.random_range(1..4))
                .map(|_| *FIELDS.choose(rng).unwrap())
                .collect();
            let object = OBJECTS.choose(rng).unwrap();
            let field = FIELDS.choose(rng).unwrap();
            let op = ["=", "!=", "<", ">", "LIKE", "IN", "NOT IN"]
                .choose(rng)
                .unwrap();
            let value = match rng.random_range(0..6) {
                0 => format!("'{}'", random_text(rng, 10).replace('\'', "\\'")),
                1 => rng.random::<i64>().to_string(),
                2 => "('a', 'b', null)".to_string(),
                3 => "LAST_N_DAYS:99999999999".to_string(),
                4 => "2024-01-01T00:00:00Z".to_string(),
                _ => "null".to_string(),
            };
            let mut q = format!(
                "SELECT {} FROM {object} WHERE {field} {op} {value}",
                fields.join(", ")
            );
            if rng.random_bool(0.4) {
                q.push_str(&format!(" ORDER BY {} DESC", FIELDS.choose(rng).unwrap()));
            }
            if rng.random_bool(0.5) {
                q.push_str(&format!(
                    " LIMIT {}",
                    ["0", "-1", "1", "50000", "99999999999999999999"]
                        .choose(rng)
                        .unwrap()
                ));
            }
            if rng.random_bool(0.3) {
                q.push_str(&format!(
                    " OFFSET {}",
                    ["0", "-5", "2001", "18446744073709551615"]
                        .choose(rng)
                        .unwrap()
                ));
            }
            q
        }
    }
}

fn escape(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// A composite request whose subrequests may refer to missing, later or malformed references.
fn random_composite(rng: &mut SmallRng, ids: &Ids) -> Value {
    let n = *[0usize, 1, 2, 3, 5, 26].choose(rng).unwrap();
    let mut subs = Vec::new();
    for i in 0..n {
        let method = *["GET", "POST", "PATCH", "DELETE", "PUT", "get", "FOO", ""]
            .choose(rng)
            .unwrap();
        let deleting = method.eq_ignore_ascii_case("DELETE");
        let reference = match rng.random_range(0..6) {
            0 => "@{ref0.id}".to_string(),
            1 => "@{nope.id}".to_string(),
            2 => format!("@{{ref{}.id}}", i + 1),
            3 => "@{ref0.records[99].Id}".to_string(),
            4 => "@{ref0".to_string(),
            _ => any_id(rng, ids, deleting),
        };
        // A reference to an earlier create could name a live record: never delete through one.
        let reference = if deleting && reference.starts_with('@') {
            fake_id(rng)
        } else {
            reference
        };
        let object = OBJECTS.choose(rng).unwrap();
        let url = match rng.random_range(0..8) {
            0 | 1 => format!("/services/data/{V}/sobjects/{object}"),
            2 | 3 => format!("/services/data/{V}/sobjects/{object}/{reference}"),
            4 => format!("/services/data/{V}/query?q={}", escape(&random_soql(rng))),
            5 => format!("/services/data/v20.0/sobjects/{object}"),
            6 => "relative/url".to_string(),
            _ => format!("/services/data/{V}/composite"),
        };
        let mut sub = json!({"method": method, "url": url, "referenceId": format!("ref{i}")});
        match rng.random_range(0..6) {
            0 => sub["referenceId"] = json!("ref0"),
            1 => sub["referenceId"] = json!(""),
            2 => {
                sub.as_object_mut().unwrap().remove("referenceId");
            }
            3 => sub["referenceId"] = json!(7),
            _ => {}
        }
        if rng.random_bool(0.6) {
            let mut body = random_record(rng, ids);
            if rng.random_bool(0.5) {
                body.insert("AccountId".into(), json!(reference));
            }
            sub["body"] = Value::Object(body);
        }
        if rng.random_bool(0.1) {
            sub["url"] = random_json(rng, 2);
        }
        subs.push(sub);
    }
    let mut body = json!({"allOrNone": rng.random_bool(0.5), "compositeRequest": subs});
    if rng.random_bool(0.1) {
        body["compositeRequest"] = random_json(rng, 2);
    }
    if rng.random_bool(0.1) {
        body["allOrNone"] = json!("yes");
    }
    body
}

/// A collections body: records of assorted types, sometimes too many or not a list.
fn random_collection(rng: &mut SmallRng, ids: &Ids) -> Value {
    let n = *[0usize, 1, 2, 3, 201].choose(rng).unwrap();
    let records: Vec<Value> = (0..n)
        .map(|_| {
            let mut r = random_record(rng, ids);
            if rng.random_bool(0.5) {
                r.insert("Id".into(), json!(any_id(rng, ids, false)));
            }
            Value::Object(r)
        })
        .collect();
    let mut body = json!({"allOrNone": rng.random_bool(0.5), "records": records});
    match rng.random_range(0..10) {
        0 => body["records"] = json!("not a list"),
        1 => body["allOrNone"] = json!(1),
        2 => body["ids"] = json!([any_id(rng, ids, false), 5]),
        3 => body["fields"] = json!(["Subject", "Nope", 3]),
        _ => {}
    }
    body
}

/// The methods a kind of path (the `match` arms of [`random_path`]) is normally called with.
const NATURAL: &[&[&str]] = &[
    &["GET", "POST", "POST", "POST"],
    &["GET", "PATCH", "PATCH", "DELETE"],
    &["GET", "PATCH", "DELETE"],
    &["GET"],
    &["GET", "PATCH", "PATCH", "DELETE"],
    &["GET"],
    &["GET"],
    &["GET"],
    &["GET"],
    &["GET"],
    &["POST"],
    &["POST", "PATCH"],
    &["DELETE"],
    &["GET", "POST", "PATCH"],
    &["GET"],
    &["GET", "POST", "PATCH", "DELETE"],
];

const ALL_METHODS: &[&str] = &["GET", "POST", "PATCH", "DELETE", "PUT", "HEAD", "OPTIONS"];

/// A random method and path: mostly a method the path is meant for, sometimes any.
fn random_request(rng: &mut SmallRng, ids: &Ids) -> (Method, String) {
    // Record reads and writes more often than the rest.
    let kind = *[
        0, 0, 0, 1, 1, 1, 2, 3, 4, 4, 5, 6, 7, 8, 9, 10, 10, 11, 11, 12, 13, 14, 15,
    ]
    .choose(rng)
    .unwrap();
    let method = if rng.random_bool(0.75) {
        NATURAL[kind].choose(rng).unwrap()
    } else {
        ALL_METHODS.choose(rng).unwrap()
    };
    let method = Method::from_bytes(method.as_bytes()).unwrap();
    let deleting = method == Method::DELETE;
    // The real object most of the time, so requests get past routing.
    let object = if rng.random_bool(0.6) {
        "Case"
    } else {
        *OBJECTS.choose(rng).unwrap()
    };
    let id = any_id(rng, ids, deleting);
    let field = *FIELDS.choose(rng).unwrap();
    let path = match kind {
        0 => format!("/sobjects/{object}"),
        1 => format!("/sobjects/{object}/{}", escape(&id)),
        2 => format!(
            "/sobjects/{object}/{field}/{}",
            escape(&any_id(rng, ids, deleting))
        ),
        3 => format!(
            "/sobjects/{object}/{}?fields={}",
            escape(&id),
            escape(
                &(0..rng.random_range(0..4))
                    .map(|_| *FIELDS.choose(rng).unwrap())
                    .collect::<Vec<_>>()
                    .join(",")
            )
        ),
        4 => format!("/sobjects/{object}/Id/{}", escape(&id)),
        5 => format!("/sobjects/{object}/{}/VersionData", escape(&id)),
        6 => format!(
            "/sobjects/{object}/{}/?start={}&end={}",
            ["updated", "deleted", "describe"].choose(rng).unwrap(),
            escape(
                [
                    "2024-01-01T00:00:00Z",
                    "now",
                    "",
                    "2099-01-01T00:00:00+00:00"
                ]
                .choose(rng)
                .unwrap()
            ),
            escape(
                [
                    "2024-01-02T00:00:00Z",
                    "9999-12-31T23:59:59Z",
                    "-1",
                    "2024-01-01T00:00:00.000+0000"
                ]
                .choose(rng)
                .unwrap()
            )
        ),
        7 | 8 => format!(
            "/{}?q={}",
            ["query", "query", "queryAll", "query/", "search"]
                .choose(rng)
                .unwrap(),
            escape(&random_soql(rng))
        ),
        9 => format!(
            "/query/{}",
            escape(
                [
                    "01g5g0000000001-2000",
                    "01gXXXX-99999999999999999999",
                    "-",
                    "01g-",
                    "-18446744073709551615",
                    "x-1-2",
                ]
                .choose(rng)
                .unwrap()
            )
        ),
        10 => "/composite".to_string(),
        11 => "/composite/sobjects".to_string(),
        12 => format!(
            "/composite/sobjects?ids={}&allOrNone={}",
            (0..rng.random_range(0..4))
                .map(|_| escape(&any_id(rng, ids, deleting)))
                .collect::<Vec<_>>()
                .join(","),
            ["true", "false", "x"].choose(rng).unwrap()
        ),
        13 => format!(
            "/composite/sobjects/{object}{}",
            if rng.random_bool(0.5) {
                format!("/{field}")
            } else {
                format!(
                    "?ids={}&fields={field}",
                    escape(&any_id(rng, ids, deleting))
                )
            }
        ),
        14 => [
            "/limits",
            "",
            "/",
            "/sobjects",
            "/tooling",
            "/composite/batch",
        ]
        .choose(rng)
        .unwrap()
        .to_string(),
        _ => {
            // Random segments.
            (0..rng.random_range(1..6))
                .map(|_| match rng.random_range(0..4) {
                    0 => escape(&random_text(rng, 8)),
                    1 => escape(&any_id(rng, ids, deleting)),
                    2 => object.to_string(),
                    _ => [
                        "sobjects",
                        "query",
                        "composite",
                        "describe",
                        "VersionData",
                        "updated",
                        "limits",
                    ]
                    .choose(rng)
                    .unwrap()
                    .to_string(),
                })
                .map(|s| format!("/{s}"))
                .collect()
        }
    };
    let version = match rng.random_range(0..25) {
        0 => "v20.0",
        1 => "v59.1",
        2 => "latest",
        3 => "59.0",
        4 => "v99999999999999999999.0",
        _ => V,
    };
    (method, format!("/services/data/{version}{path}"))
}

/// A request body: JSON of several kinds, or bytes that are not JSON at all.
fn random_body(rng: &mut SmallRng, ids: &Ids, path: &str) -> (Option<&'static str>, Vec<u8>) {
    let json = |v: Value| (Some("application/json"), v.to_string().into_bytes());
    // Mostly the kind of body the resource expects, so requests get past parsing.
    if rng.random_bool(0.6) {
        let route = path.split('?').next().unwrap_or("");
        if route.ends_with("/composite") {
            return json(random_composite(rng, ids));
        }
        if route.contains("/composite/sobjects") {
            return json(random_collection(rng, ids));
        }
        if route.contains("/sobjects/") {
            return json(Value::Object(random_record(rng, ids)));
        }
    }
    match rng.random_range(0..12) {
        0 | 1 => json(Value::Object(random_record(rng, ids))),
        2 | 3 => json(random_collection(rng, ids)),
        4 => json(random_composite(rng, ids)),
        5 => json(random_json(rng, 0)),
        6 => (
            Some("application/json"),
            (0..rng.random_range(0..64)).map(|_| rng.random()).collect(),
        ),
        7 => (
            Some("application/json"),
            (*[
                "",
                " ",
                "{",
                "}",
                "[",
                "null",
                "[]",
                "{}",
                "\"str\"",
                "{\"a\":}",
                "{'a':1}",
                "{\"Subject\":\"x\",}",
                "\u{feff}{}",
                "{\"Subject\":\"\\ud800\"}",
            ]
            .choose(rng)
            .unwrap())
            .as_bytes()
            .to_vec(),
        ),
        8 => {
            let depth = rng.random_range(100..300);
            (
                Some("application/json"),
                format!("{}{}", "[".repeat(depth), "]".repeat(depth)).into_bytes(),
            )
        }
        9 => (
            Some(
                *[
                    "text/xml",
                    "application/x-www-form-urlencoded",
                    "text/plain",
                ]
                .choose(rng)
                .unwrap(),
            ),
            random_text(rng, 200).into_bytes(),
        ),
        10 => json(
            json!({"Subject": "y".repeat(rng.random_range(0..300_000)), "Description": random_text(rng, 100)}),
        ),
        _ => (None, Vec::new()),
    }
}

async fn seed_ids(sf: &Sf) -> Vec<String> {
    let v = sf.query("SELECT Id FROM Case ORDER BY CaseNumber").await;
    v["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["Id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn random_requests_never_get_a_server_error_nor_lose_records() {
    let sf = start(SEED_CASES).await;
    let seeded = seed_ids(&sf).await;
    assert_eq!(seeded.len(), SEED_CASES);
    let accounts: Vec<String> = sf.query("SELECT Id FROM Account").await["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["Id"].as_str().unwrap().to_string())
        .collect();
    let ids = Ids {
        seeded: seeded.clone(),
        accounts,
    };
    let mut rng = SmallRng::seed_from_u64(0x05a1_ebad);
    let mut seen = BTreeMap::<u16, usize>::new();
    let mut injected = 0;
    for i in 0..REQUESTS {
        let (method, path) = random_request(&mut rng, &ids);
        let (content_type, body) = random_body(&mut rng, &ids, &path);
        let inject = rng.random_bool(0.02);
        if inject {
            let (status, _) = sf
                .admin(
                    Method::PUT,
                    "/sandbox/faults",
                    Some(json!({"fail_next": 1})),
                )
                .await;
            assert_eq!(status, 200);
            injected += 1;
        }
        let mut request = sf
            .client
            .request(method.clone(), format!("{}{path}", sf.url));
        let authorized = rng.random_bool(0.97);
        if authorized {
            request = request.bearer_auth(&sf.token);
        } else {
            request = request.header(
                "Authorization",
                random_text(&mut rng, 30)
                    .chars()
                    .filter(|c| !c.is_control())
                    .collect::<String>(),
            );
        }
        if let Some(ct) = content_type {
            request = request.header("Content-Type", ct);
        }
        if rng.random_bool(0.05) {
            request = request.header(
                "Sforce-Query-Options",
                *[
                    "batchSize=0",
                    "batchSize=-1",
                    "batchSize=99999999999999999999",
                    "batchSize=x",
                ]
                .choose(&mut rng)
                .unwrap(),
            );
        }
        let shown_body = String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned();
        let r = match request.body(body).send().await {
            Ok(r) => r,
            Err(e) => panic!("request {i}: {method} {path} {shown_body}: no answer (did the server panic?): {e:?}"),
        };
        let status = r.status().as_u16();
        *seen.entry(status).or_default() += 1;
        let text = r.text().await.unwrap_or_default();
        let what = || {
            format!(
                "request {i}: {method} {path} {shown_body} → {status}: {}",
                text.chars().take(500).collect::<String>()
            )
        };
        if inject {
            assert_eq!(status, 500, "{}", what());
            if method == Method::HEAD {
                continue;
            }
            let v: Value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("{}", what()));
            assert_eq!(v[0]["errorCode"], "UNKNOWN_EXCEPTION", "{}", what());
            continue;
        }
        assert!(status < 500, "{}", what());
        if method == Method::HEAD && authorized {
            // HEAD is GET without the body: same status (the platform allows HEAD wherever
            // it allows GET).
            let get = sf
                .client
                .get(format!("{}{path}", sf.url))
                .bearer_auth(&sf.token)
                .send()
                .await
                .unwrap_or_else(|e| panic!("{}: GET: {e}", what()));
            assert_eq!(
                status,
                get.status().as_u16(),
                "{}: GET answers otherwise",
                what()
            );
        }
        if (400..500).contains(&status) && method != Method::HEAD {
            let v: Value =
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: not JSON: {e}", what()));
            let errors = v
                .as_array()
                .unwrap_or_else(|| panic!("{}: not an error array", what()));
            assert!(!errors.is_empty(), "{}", what());
            for e in errors {
                assert!(
                    e["errorCode"].as_str().is_some_and(|c| !c.is_empty()),
                    "{}",
                    what()
                );
                assert!(e["message"].is_string(), "{}", what());
            }
        }
    }
    eprintln!("statuses: {seen:?}, injected: {injected}");
    assert_eq!(seen.values().sum::<usize>(), REQUESTS);
    assert_eq!(seen.get(&500).copied().unwrap_or(0), injected);
    // The inputs reached reads, writes and each kind of refusal.
    for status in [200, 201, 400, 404, 405] {
        assert!(
            seen.get(&status).copied().unwrap_or(0) >= 5,
            "status {status}: {seen:?}"
        );
    }
    let (_, faults) = sf.admin(Method::GET, "/sandbox/faults", None).await;
    assert_eq!(faults["injected"]["errors"], injected);

    // Nothing was lost: every seeded case is still there and live, and queries still work.
    let after = seed_ids(&sf).await;
    for id in &seeded {
        assert!(after.contains(id), "seeded case {id} was lost");
    }
    let list = seeded
        .iter()
        .map(|id| format!("'{id}'"))
        .collect::<Vec<_>>()
        .join(",");
    let v = sf
        .query(&format!("SELECT COUNT() FROM Case WHERE Id IN ({list})"))
        .await;
    assert_eq!(v["totalSize"], SEED_CASES);
    let v = sf
        .query(&format!(
            "SELECT Id, CaseNumber, Subject, Account.Name, (SELECT Id FROM CaseComments) FROM Case WHERE Id IN ({list}) ORDER BY CaseNumber"
        ))
        .await;
    assert_eq!(v["records"].as_array().unwrap().len(), SEED_CASES);
    let numbers: Vec<&str> = v["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["CaseNumber"].as_str().unwrap())
        .collect();
    let want: Vec<String> = (0..SEED_CASES)
        .map(|i| format!("{:08}", 1001 + i))
        .collect();
    assert_eq!(numbers, want);
    // Every case, including those the random requests created, still renders.
    let total = sf.query("SELECT COUNT() FROM Case").await["totalSize"]
        .as_u64()
        .unwrap();
    assert!(total as usize >= SEED_CASES);
    let v = sf
        .query("SELECT Id, CaseNumber, Subject, Description, Status, Priority, Origin, Type, Reason, AccountId, ContactId, ParentId, IsClosed, ClosedDate, IsEscalated, SuppliedEmail, CreatedDate, SystemModstamp, Account.Name, Owner.Name FROM Case")
        .await;
    assert_eq!(v["totalSize"], total);
}
