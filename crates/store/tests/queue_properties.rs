//! Property: however messages arrive (any order, any chunks, resent), the inbox reports the
//! longest gap-free prefix it holds, and draining it applies every message exactly once, in
//! sequence order within each twin.

use proptest::prelude::*;
use std::collections::{BTreeSet, HashMap};
use twinsync_model::{ConnectionMode, ConnectionRole, ConnectionStatus, MessageKind};
use twinsync_store::*;

fn connection() -> NewConnection {
    NewConnection {
        id: "c".into(),
        name: "c".into(),
        description: String::new(),
        local_instance: "a".into(),
        remote_instance: "b".into(),
        remote_url: "http://b".into(),
        mode: ConnectionMode::Basic,
        role: ConnectionRole::Acceptor,
        status: ConnectionStatus::Active,
        sealed_secret: vec![],
    }
}

fn scenario() -> impl Strategy<Value = (Vec<usize>, Vec<Vec<i64>>, usize)> {
    (1usize..40).prop_flat_map(|n| {
        (
            prop::collection::vec(0usize..4, n),
            // arrival: chunks of seq numbers, possibly repeated, in any order
            prop::collection::vec(prop::collection::vec(1i64..=n as i64, 0..8), 1..12),
            1usize..6,
        )
            .prop_map(move |(twins, mut chunks, limit)| {
                // make sure everything arrives eventually
                chunks.push((1..=n as i64).rev().collect());
                (twins, chunks, limit)
            })
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn inbox_order_and_exactly_once((twins, chunks, limit) in scenario()) {
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        rt.block_on(async {
            let s = SqliteStore::open_in_memory().unwrap();
            s.insert_connection(connection()).await.unwrap();
            let twin_of = |seq: i64| format!("t{}", twins[(seq - 1) as usize]);
            let mut held = BTreeSet::new();
            for chunk in &chunks {
                let msgs = chunk.iter().map(|&seq| InMessage {
                    seq,
                    correlation: twin_of(seq),
                    kind: MessageKind::Replica,
                    payload: "{}".into(),
                    attempts: 0,
                }).collect();
                let contiguous = s.receive("c", msgs).await.unwrap();
                held.extend(chunk.iter().copied());
                let expected = (1..).take_while(|k| held.contains(k)).count() as i64;
                assert_eq!(contiguous, expected);
            }
            let mut applied: HashMap<String, Vec<i64>> = HashMap::new();
            let mut total = 0;
            loop {
                let ready = s.ready("c", chrono::Utc::now(), limit).await.unwrap();
                if ready.is_empty() { break; }
                for m in ready {
                    s.applied(Applied { connection_id: "c".into(), seq: m.seq, twin: None, log: None, reply: None }).await.unwrap();
                    applied.entry(m.correlation).or_default().push(m.seq);
                    total += 1;
                }
            }
            assert_eq!(total, twins.len());
            for seqs in applied.values() {
                assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
            }
        });
    }
}
