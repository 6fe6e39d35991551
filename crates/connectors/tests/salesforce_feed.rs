//! The Salesforce change feed against the sandbox: 10,000 changed cases sharing timestamps
//! (the platform keeps seconds; 200 records per collection call share one), read in
//! odd-sized pages with and without a trigger query — nothing missed, nothing repeated, in
//! update order; later changes picked up from the watermark; the settle window.

mod sf_support;

use serde_json::json;
use sf_support::start;
use std::collections::HashSet;
use twinsync_connectors::{Platform, Watermark};

async fn drain(
    c: &impl Platform,
    query: Option<&str>,
    start: Watermark,
    limit: usize,
) -> (Vec<(String, String)>, Watermark, usize) {
    let mut seen = Vec::new();
    let mut wm = start;
    let mut pages = 0;
    loop {
        let page = c.changes("Case", query, &wm, limit).await.unwrap();
        pages += 1;
        assert!(page.entities.len() <= limit);
        seen.extend(
            page.entities
                .iter()
                .map(|e| (e.version.updated_at.clone(), e.key.clone())),
        );
        wm = page.next;
        if !page.more {
            break;
        }
        assert!(pages < 10_000, "the feed does not end");
    }
    (seen, wm, pages)
}

/// Ids compare ignoring case in SOQL, as they sort on the platform.
fn assert_in_order_without_repeats(seen: &[(String, String)]) {
    for pair in seen.windows(2) {
        let a = (&pair[0].0, pair[0].1.to_ascii_lowercase());
        let b = (&pair[1].0, pair[1].1.to_ascii_lowercase());
        assert!(a < b, "out of order or repeated: {pair:?}");
    }
}

#[tokio::test]
async fn ten_thousand_changes_sharing_timestamps_are_read_once_each_in_order() {
    let sf = start(0).await;
    let ids = sf.seed_cases(10_000).await;
    let c = sf.connector();
    c.describe("Case").await.unwrap();
    let stamps: HashSet<String> = sf
        .query("SELECT SystemModstamp FROM Case")
        .await
        .iter()
        .map(|r| r["SystemModstamp"].as_str().unwrap().to_string())
        .collect();
    assert!(stamps.len() <= 50, "timestamps shared: {}", stamps.len());

    let before = c.api_calls().requests;
    let (seen, wm, pages) = drain(&c, None, Watermark::start(), 333).await;
    let calls = c.api_calls().requests - before;
    assert_eq!(seen.len(), 10_000);
    assert_in_order_without_repeats(&seen);
    let keys: HashSet<&String> = seen.iter().map(|(_, k)| k).collect();
    assert_eq!(keys.len(), 10_000);
    let expected: HashSet<&String> = ids.iter().collect();
    assert_eq!(keys, expected);
    assert_eq!(pages, 31);
    assert_eq!(
        calls, pages as u64,
        "one query per page, comments and files included"
    );

    // Pages of 2,000 ask for 2,001 rows: more than one query batch, so every page but the
    // last (which finds only 2,000) follows `nextRecordsUrl` once.
    let before = c.api_calls().requests;
    let (big, _, pages) = drain(&c, None, Watermark::start(), 2000).await;
    assert_eq!(big, seen);
    assert_eq!(pages, 5);
    assert_eq!(c.api_calls().requests - before, 9);

    let (urgent, _, _) = drain(
        &c,
        Some("SELECT Id FROM Case WHERE Priority = 'High'"),
        Watermark::start(),
        97,
    )
    .await;
    assert_eq!(urgent.len(), 10_000usize.div_ceil(7));
    assert_in_order_without_repeats(&urgent);

    let page = c.changes("Case", None, &wm, 333).await.unwrap();
    assert!(page.entities.is_empty() && !page.more);
    assert_eq!(page.next, wm);

    // A later edit comes through once, from the watermark (a second later: the platform's
    // timestamps have whole seconds).
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let edited = &seen[1234].1;
    c.update(
        "Case",
        edited,
        json!({"Description": "later"}).as_object().unwrap(),
    )
    .await
    .unwrap();
    let (again, _, _) = drain(&c, None, wm, 333).await;
    assert_eq!(again.len(), 1);
    assert_eq!(&again[0].1, edited);
}

#[tokio::test]
async fn the_watermark_stops_before_changes_of_the_settle_window() {
    let sf = start(3).await; // seeded in the past
    let c = sf.connector_with(|cfg| cfg.settle = Some(std::time::Duration::from_secs(30)));
    let fresh = sf.seed_cases(1).await;
    let (seen, wm, _) = drain(&c, None, Watermark::start(), 10).await;
    assert_eq!(seen.len(), 4, "a fresh change is handed out at once");
    assert_eq!(seen[3].1, fresh[0], "after the settled ones");
    assert_eq!(wm.key, seen[2].1, "the watermark stops before it");
    // It is read again until its second is settled.
    let (again, next, _) = drain(&c, None, wm.clone(), 10).await;
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].1, fresh[0]);
    assert_eq!(next, wm);
    // Without the window the watermark passes it.
    let (all, past, _) = drain(&sf.connector(), None, Watermark::start(), 10).await;
    assert_eq!(all.len(), 4);
    assert_eq!(past.key, fresh[0]);
}
