//! Encoded queries and paging through the Table API.

mod common;

use common::{start, start_with, url_escape, Sn};
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::HashSet;
use twinsync_sandbox::servicenow::ServiceNowConfig;

/// Six incidents with known values; returns their sys_ids in creation order.
async fn fixture(sn: &Sn) -> Vec<String> {
    let users = sn.get_json("/api/now/table/sys_user?sysparm_query=user_nameINabel.tuter,beth.anglin^ORDERBYuser_name").await;
    let abel = users["result"][0]["sys_id"].as_str().unwrap().to_string();
    let beth = users["result"][1]["sys_id"].as_str().unwrap().to_string();
    let rows = [
        json!({"short_description": "Email is down", "impact": 1, "urgency": 1, "caller_id": abel, "assigned_to": beth, "category": "software", "due_date": "2026-01-10 08:00:00"}),
        json!({"short_description": "VPN drops", "impact": 2, "urgency": 2, "caller_id": beth, "category": "network", "due_date": "2026-02-01 00:00:00"}),
        json!({"short_description": "Printer jam ^ again", "impact": 3, "urgency": 3, "caller_id": abel, "assigned_to": abel, "category": "hardware"}),
        json!({"short_description": "email quota", "impact": 1, "urgency": 3, "category": "software"}),
        json!({"short_description": "", "impact": 3, "urgency": 1, "caller_id": beth, "category": "database", "due_date": "2026-03-15 12:30:00"}),
        json!({"short_description": "Laptop broken", "impact": 2, "urgency": 3, "caller_id": abel, "category": "hardware"}),
    ];
    let mut ids = Vec::new();
    for row in rows {
        ids.push(
            sn.create("incident", row).await["sys_id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    ids
}

/// Which fixture rows (1-based) a query returns, in order.
async fn rows(sn: &Sn, ids: &[String], query: &str) -> Vec<usize> {
    sn.query_ids("incident", query)
        .await
        .iter()
        .map(|id| ids.iter().position(|i| i == id).map_or(0, |p| p + 1))
        .collect()
}

#[tokio::test]
async fn every_operator_works_through_sysparm_query() {
    let sn = start(0).await;
    let ids = fixture(&sn).await;
    // Priorities: 1, 3, 5, 3, 3, 4.
    let cases: &[(&str, &[usize])] = &[
        ("priority=3", &[2, 4, 5]),
        ("priority!=3", &[1, 3, 6]),
        ("priority>3", &[3, 6]),
        ("priority>=4", &[3, 6]),
        ("priority<3", &[1]),
        ("priority<=3", &[1, 2, 4, 5]),
        ("short_descriptionLIKEemail", &[1, 4]),
        ("short_descriptionNOT LIKEemail", &[2, 3, 6]),
        ("short_descriptionNOTLIKEemail", &[2, 3, 6]),
        ("short_descriptionSTARTSWITHvpn", &[2]),
        ("short_descriptionENDSWITHBROKEN", &[6]),
        ("short_description=EMAIL QUOTA", &[4]),
        ("categoryINnetwork,database", &[2, 5]),
        ("categoryNOT INsoftware,hardware", &[2, 5]),
        ("short_descriptionISEMPTY", &[5]),
        ("short_descriptionISNOTEMPTY", &[1, 2, 3, 4, 6]),
        ("caller_idISEMPTY", &[4]),
        ("assigned_toANYTHING", &[1, 2, 3, 4, 5, 6]),
        ("priorityBETWEEN3@4", &[2, 4, 5, 6]),
        ("due_dateBETWEEN2026-01-15@2026-03-01", &[2]),
        ("due_date<2026-02-01 00:00:00", &[1]),
        ("due_date>=2026-02-01", &[2, 5]),
        ("caller_idSAMEASassigned_to", &[3]),
        ("caller_idNSAMEASassigned_to", &[1]),
        (
            "sys_created_onONToday@javascript:gs.beginningOfToday()@javascript:gs.endOfToday()",
            &[1, 2, 3, 4, 5, 6],
        ),
        (
            "sys_created_on>javascript:gs.daysAgoStart(1)",
            &[1, 2, 3, 4, 5, 6],
        ),
        ("sys_created_onRELATIVEGT@hour@ago@1", &[1, 2, 3, 4, 5, 6]),
        ("sys_created_onRELATIVELT@hour@ago@1", &[]),
        ("caller_id.user_name=beth.anglin", &[2, 5]),
        ("caller_id.emailSTARTSWITHabel", &[1, 3, 6]),
        ("caller_idLIKEtuter", &[1, 3, 6]),
        ("short_descriptionLIKEjam ^^ again", &[3]),
        ("category=software^priority=1^ORpriority=5", &[1]),
        ("priority=1^NQcategory=hardware^urgency=3", &[1, 3, 6]),
        ("active=true^EQ", &[1, 2, 3, 4, 5, 6]),
        ("", &[1, 2, 3, 4, 5, 6]),
    ];
    for (query, expected) in cases {
        assert_eq!(rows(&sn, &ids, query).await, *expected, "query: {query}");
    }
}

#[tokio::test]
async fn order_by_sorts_by_type_and_reference_display_value() {
    let sn = start(0).await;
    let ids = fixture(&sn).await;
    assert_eq!(
        rows(&sn, &ids, "ORDERBYpriority^ORDERBYnumber").await,
        [1, 2, 4, 5, 6, 3]
    );
    assert_eq!(
        rows(&sn, &ids, "ORDERBYDESCpriority^ORDERBYDESCnumber").await,
        [3, 6, 5, 4, 2, 1]
    );
    // Empty first, then Abel Tuter before Beth Anglin.
    assert_eq!(
        rows(&sn, &ids, "ORDERBYcaller_id^ORDERBYnumber").await,
        [4, 1, 3, 6, 2, 5]
    );
    assert_eq!(
        rows(&sn, &ids, "ORDERBYdue_date^ORDERBYnumber").await,
        [3, 4, 6, 1, 2, 5]
    );
}

#[tokio::test]
async fn an_invalid_term_is_ignored_unless_the_instance_returns_no_rows_for_it() {
    let sn = start(0).await;
    let ids = fixture(&sn).await;
    assert_eq!(rows(&sn, &ids, "category=network^priorty=1").await, [2]);
    assert_eq!(rows(&sn, &ids, "priorty=1").await, [1, 2, 3, 4, 5, 6]);
    assert_eq!(rows(&sn, &ids, "categoryXXnetwork^priority=1").await, [1]);

    let strict = start_with(ServiceNowConfig {
        invalid_query_returns_no_rows: true,
        ..Default::default()
    })
    .await;
    let ids = fixture(&strict).await;
    assert_eq!(
        rows(&strict, &ids, "category=network^priorty=1").await,
        Vec::<usize>::new()
    );
    assert_eq!(rows(&strict, &ids, "category=network").await, [2]);
}

#[tokio::test]
async fn indexed_lookups_find_records_by_number_and_correlation_id() {
    let sn = start(200).await;
    let v = sn
        .get_json("/api/now/table/incident?sysparm_query=number=INC0010150&sysparm_fields=number")
        .await;
    assert_eq!(v["result"], json!([{"number": "INC0010150"}]));
    let id = sn.query_ids("incident", "number=INC0010007").await[0].clone();
    sn.patch("incident", &id, json!({"correlation_id": "500XY0000001"}))
        .await;
    assert_eq!(
        sn.query_ids("incident", "correlation_id=500XY0000001")
            .await,
        std::slice::from_ref(&id)
    );
    assert_eq!(
        sn.query_ids("incident", "correlation_id=500XY0000001^active=false")
            .await
            .len(),
        0
    );
}

/// Walks the `Link: rel="next"` chain from `first`, returning every sys_id and the pages.
async fn follow_links(sn: &Sn, first: &str) -> (Vec<String>, usize, usize) {
    let mut url = format!("{}{first}", sn.url);
    let mut seen = Vec::new();
    let mut pages = 0;
    let mut total: usize;
    loop {
        let r = sn
            .client
            .get(&url)
            .basic_auth("admin", Some("admin"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        total = r.headers()["x-total-count"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        let next = r
            .headers()
            .get("link")
            .map(|h| h.to_str().unwrap().to_string())
            .and_then(|link| {
                link.split(',')
                    .find(|part| part.ends_with("rel=\"next\""))
                    .map(|part| part[1..part.find('>').unwrap()].to_string())
            });
        let v: Value = r.json().await.unwrap();
        for rec in v["result"].as_array().unwrap() {
            seen.push(rec["sys_id"].as_str().unwrap().to_string());
        }
        pages += 1;
        match next {
            Some(n) => url = n,
            None => break,
        }
    }
    (seen, pages, total)
}

#[tokio::test]
async fn paging_walks_25000_records_through_link_headers_without_gaps_or_repeats() {
    let sn = start(25_000).await;
    let (ids, pages, total) = follow_links(
        &sn,
        "/api/now/table/incident?sysparm_fields=sys_id&sysparm_limit=1000",
    )
    .await;
    assert_eq!(total, 25_000);
    assert_eq!(pages, 25);
    assert_eq!(ids.len(), 25_000);
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 25_000);

    // A filtered, ordered walk keeps the order across pages.
    let q = url_escape("active=true^ORDERBYsys_updated_on^ORDERBYnumber");
    let (ids, _, total) = follow_links(
        &sn,
        &format!(
            "/api/now/table/incident?sysparm_fields=sys_id&sysparm_limit=777&sysparm_query={q}"
        ),
    )
    .await;
    assert_eq!(ids.len(), total);
    assert!(total > 10_000 && total < 25_000, "{total}");
    let v = sn
        .get_json(&format!("/api/now/table/incident?sysparm_fields=sys_id,sys_updated_on&sysparm_limit=100000&sysparm_query={q}"))
        .await;
    let all: Vec<String> = v["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["sys_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids, all, "pages concatenate to the unpaged answer");
    let stamps: Vec<&str> = v["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["sys_updated_on"].as_str().unwrap())
        .collect();
    assert!(stamps.windows(2).all(|w| w[0] <= w[1]));
}

#[tokio::test]
async fn paging_headers_follow_the_parameters() {
    let sn = start(30).await;
    let get = |q: &'static str| {
        sn.admin(
            Method::GET,
            &format!("/api/now/table/incident?sysparm_fields=number{q}"),
        )
        .send()
    };

    let r = get("&sysparm_limit=10&sysparm_offset=10").await.unwrap();
    assert_eq!(r.headers()["x-total-count"], "30");
    let link = r.headers()["link"].to_str().unwrap().to_string();
    let rels: Vec<&str> = link
        .split(',')
        .map(|p| p.rsplit("rel=").next().unwrap())
        .collect();
    assert_eq!(rels, ["\"first\"", "\"prev\"", "\"next\"", "\"last\""]);
    assert!(
        link.contains("sysparm_limit=10&sysparm_offset=20>;rel=\"next\""),
        "{link}"
    );
    assert!(link.contains("sysparm_offset=0>;rel=\"prev\""), "{link}");
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["result"][0]["number"], "INC0010011");

    let r = get("&sysparm_limit=10&sysparm_suppress_pagination_header=true")
        .await
        .unwrap();
    assert!(r.headers().get("link").is_none());
    assert_eq!(r.headers()["x-total-count"], "30");

    let r = get("&sysparm_limit=10&sysparm_no_count=true")
        .await
        .unwrap();
    assert!(r.headers().get("x-total-count").is_none());

    let r = get("").await.unwrap();
    assert!(r.headers().get("link").is_none(), "one page needs no links");
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["result"].as_array().unwrap().len(), 30);

    // Offsets and limits at the edge of the integer range are answered, not crashed on.
    let r = get("&sysparm_offset=18446744073709551615&sysparm_limit=5")
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()["link"]
        .to_str()
        .unwrap()
        .contains("rel=\"last\""));
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["result"], json!([]));
    let r = get("&sysparm_offset=1&sysparm_limit=18446744073709551615")
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["result"].as_array().unwrap().len(), 29);

    let r = get("&sysparm_offset=100").await.unwrap();
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["result"], json!([]));

    let r = get("&sysparm_query=number=INC9999999").await.unwrap();
    assert_eq!(r.headers()["x-total-count"], "0");
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["result"], json!([]));
}
