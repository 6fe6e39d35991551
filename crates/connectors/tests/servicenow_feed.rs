//! The ServiceNow change feed against the sandbox: 10,000 changed records sharing a few
//! timestamps, read in odd-sized pages with and without a trigger query — nothing missed,
//! nothing repeated, in update order; later changes picked up from the watermark; the
//! settle window.

mod sn_support;

use serde_json::{json, Value};
use sn_support::start;
use std::collections::HashSet;
use twinsync_connectors::{Platform, Watermark};

/// Creates `n` incidents whose `sys_updated_on` takes one of `stamps` values (in rotation),
/// all in the past; every seventh has urgency 1.
async fn seed_shared_timestamps(sn: &sn_support::Sn, n: usize, stamps: usize) {
    let reqs: Vec<(&str, String, Value)> = (0..n)
        .map(|i| {
            let at = format!("2026-01-01 10:{:02}:00", i % stamps);
            (
                "POST",
                "/api/now/table/incident?sysparm_suppress_auto_sys_field=true".to_string(),
                json!({
                    "short_description": format!("feed {i}"),
                    "urgency": if i % 7 == 0 { "1" } else { "3" },
                    "sys_created_on": at,
                    "sys_updated_on": at,
                    "sys_created_by": "admin",
                    "sys_updated_by": "admin",
                    "sys_mod_count": "0",
                }),
            )
        })
        .collect();
    for chunk in reqs.chunks(100) {
        sn.batch(chunk).await;
    }
}

/// Reads the whole feed from `start` in pages of `limit`; returns `(updated_at, key)` in the
/// order read, the watermark reached and the number of pages.
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
        let page = c.changes("incident", query, &wm, limit).await.unwrap();
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

fn assert_in_order_without_repeats(seen: &[(String, String)]) {
    for pair in seen.windows(2) {
        assert!(pair[0] < pair[1], "out of order or repeated: {pair:?}");
    }
}

#[tokio::test]
async fn ten_thousand_changes_sharing_timestamps_are_read_once_each_in_order() {
    let sn = start(0).await;
    seed_shared_timestamps(&sn, 10_000, 40).await;
    let c = sn.connector();

    let before = c.api_calls().requests;
    let (seen, wm, pages) = drain(&c, None, Watermark::start(), 333).await;
    let calls = c.api_calls().requests - before;
    assert_eq!(seen.len(), 10_000);
    assert_in_order_without_repeats(&seen);
    let keys: HashSet<&String> = seen.iter().map(|(_, k)| k).collect();
    assert_eq!(keys.len(), 10_000);
    assert_eq!(pages, 31);
    // One record query and one batch for comments and attachments per page.
    assert!(calls <= 2 * pages as u64, "{calls} calls for {pages} pages");

    // With a trigger query: exactly the matching records.
    let (urgent, _, _) = drain(&c, Some("urgency=1"), Watermark::start(), 97).await;
    assert_eq!(urgent.len(), 10_000usize.div_ceil(7));
    assert_in_order_without_repeats(&urgent);

    // Nothing new: an empty page that keeps the watermark.
    let page = c.changes("incident", None, &wm, 333).await.unwrap();
    assert!(page.entities.is_empty() && !page.more);
    assert_eq!(page.next, wm);

    // A later edit comes through once, from the watermark.
    let edited = &seen[1234].1;
    c.update(
        "incident",
        edited,
        json!({"description": "later"}).as_object().unwrap(),
    )
    .await
    .unwrap();
    let (again, _, _) = drain(&c, None, wm, 333).await;
    assert_eq!(again.len(), 1);
    assert_eq!(&again[0].1, edited);
}

#[tokio::test]
async fn the_watermark_stops_before_changes_of_the_settle_window() {
    let sn = start(0).await;
    seed_shared_timestamps(&sn, 3, 1).await;
    let c = sn.connector_with(|config| config.settle = Some(std::time::Duration::from_secs(30)));
    let fresh = c
        .create(
            "incident",
            "fresh",
            json!({"short_description": "just now"})
                .as_object()
                .unwrap(),
        )
        .await
        .unwrap();
    let (seen, wm, _) = drain(&c, None, Watermark::start(), 10).await;
    assert_eq!(seen.len(), 4, "a fresh change is handed out at once");
    assert_eq!(seen[3].1, fresh.key, "after the settled ones");
    assert_eq!(wm.key, seen[2].1, "the watermark stops before it");
    // It is read again until its second is settled.
    let (again, next, _) = drain(&c, None, wm.clone(), 10).await;
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].1, fresh.key);
    assert_eq!(next, wm);
    // Without the window the watermark passes it.
    let (all, past, _) = drain(&sn.connector(), None, Watermark::start(), 10).await;
    assert_eq!(all.len(), 4);
    assert_eq!(past.key, fresh.key);
}
