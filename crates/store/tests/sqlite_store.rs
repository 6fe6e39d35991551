//! The SQLite store through its trait, on a file: connections and invitations, rules,
//! triggers, twins, the queue's ordering and gap rules, errors blocking one twin, the log,
//! and everything surviving a reopen.

use chrono::{Duration, Utc};
use std::sync::Arc;
use twinsync_model::{
    ConnectionMode, ConnectionRole, ConnectionStatus, MessageKind, RuleDirection,
};
use twinsync_store::*;

fn conn(id: &str, name: &str) -> NewConnection {
    NewConnection {
        id: id.into(),
        name: name.into(),
        description: "support ↔ sales".into(),
        local_instance: "acme-sn".into(),
        remote_instance: "acme-sf".into(),
        remote_url: "https://sf-node.example".into(),
        mode: ConnectionMode::Script,
        role: ConnectionRole::Initiator,
        status: ConnectionStatus::Pending,
        sealed_secret: vec![1, 2, 3],
    }
}

fn open(dir: &tempfile::TempDir) -> SqliteStore {
    SqliteStore::open(&dir.path().join("node.db")).unwrap()
}

fn out(correlation: &str, payload: &str) -> Outgoing {
    Outgoing {
        correlation: correlation.into(),
        kind: MessageKind::Replica,
        payload: payload.into(),
        twin: None,
        log: None,
    }
}

fn inbound(seq: i64, correlation: &str) -> InMessage {
    InMessage {
        seq,
        correlation: correlation.into(),
        kind: MessageKind::Replica,
        payload: format!("{{\"n\":{seq}}}"),
        attempts: 0,
    }
}

#[tokio::test]
async fn connections_and_single_use_invitations() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(&dir);
    let c = s.insert_connection(conn("c1", "sn-to-sf")).await.unwrap();
    assert_eq!(c.spec.status, ConnectionStatus::Pending);
    let err = s
        .insert_connection(conn("c2", "sn-to-sf"))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err}");
    s.set_connection_status("c1", ConnectionStatus::Active)
        .await
        .unwrap();
    assert_eq!(
        s.connection("c1").await.unwrap().spec.status,
        ConnectionStatus::Active
    );
    assert!(matches!(
        s.connection("nope").await.unwrap_err(),
        StoreError::NotFound { .. }
    ));

    let now = Utc::now();
    s.put_invitation(Invitation {
        connection_id: "c1".into(),
        code_hash: vec![7; 32],
        expires_at: now + Duration::minutes(10),
    })
    .await
    .unwrap();
    let wrong = s.use_invitation("c1", &[8; 32], now).await.unwrap_err();
    assert!(wrong.to_string().contains("does not match"), "{wrong}");
    let late = s
        .use_invitation("c1", &[7; 32], now + Duration::minutes(11))
        .await
        .unwrap_err();
    assert!(late.to_string().contains("expired"), "{late}");
    s.use_invitation("c1", &[7; 32], now).await.unwrap();
    let again = s.use_invitation("c1", &[7; 32], now).await.unwrap_err();
    assert!(again.to_string().contains("used already"), "{again}");
}

#[tokio::test]
async fn rules_are_versioned_per_direction() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(&dir);
    s.insert_connection(conn("c1", "a")).await.unwrap();
    assert_eq!(
        s.live_rule("c1", RuleDirection::Outgoing).await.unwrap(),
        None
    );
    let v1 = s
        .publish_rule(
            "c1",
            RuleDirection::Outgoing,
            "replica.summary = entity.short_description",
            "ann",
        )
        .await
        .unwrap();
    let v2 = s
        .publish_rule(
            "c1",
            RuleDirection::Outgoing,
            "replica.summary = 'x'",
            "bob",
        )
        .await
        .unwrap();
    let i1 = s
        .publish_rule(
            "c1",
            RuleDirection::Incoming,
            "entity.Subject = replica.summary",
            "ann",
        )
        .await
        .unwrap();
    assert_eq!((v1.version, v2.version, i1.version), (1, 2, 1));
    let live = s
        .live_rule("c1", RuleDirection::Outgoing)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(live.source, "replica.summary = 'x'");
    assert_eq!(live.published_by, "bob");
    let history = s.rule_history("c1", RuleDirection::Outgoing).await.unwrap();
    assert_eq!(
        history.iter().map(|r| r.version).collect::<Vec<_>>(),
        [2, 1]
    );
}

#[tokio::test]
async fn the_outbox_numbers_messages_and_moves_the_watermark_in_one_step() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(&dir);
    s.insert_connection(conn("c1", "a")).await.unwrap();
    let t = s
        .add_trigger(NewTrigger {
            connection_id: "c1".into(),
            entity_type: "incident".into(),
            query: "urgency=1".into(),
            notes: "urgent ones".into(),
            active: true,
        })
        .await
        .unwrap();
    let twin = s
        .ensure_local_twin(
            "c1",
            &LocalRecord {
                entity_type: "incident".into(),
                key: "k1".into(),
                number: Some("INC0010001".into()),
                url: None,
            },
            "corr-1",
        )
        .await
        .unwrap();
    let mut first = out("corr-1", "{\"a\":1}");
    first.twin = Some((
        twin.id,
        TwinChange {
            last_sent_hash: Some("h1".into()),
            ..Default::default()
        },
    ));
    let seqs = s
        .enqueue(Enqueue {
            connection_id: "c1".into(),
            messages: vec![first, out("corr-2", "{}")],
            advance: Some(Advance::Trigger(
                t.id,
                Watermark {
                    updated_at: "2026-01-01 00:00:00".into(),
                    key: "k1".into(),
                },
            )),
        })
        .await
        .unwrap();
    assert_eq!(seqs, [1, 2]);
    let seqs = s
        .enqueue(Enqueue {
            connection_id: "c1".into(),
            messages: vec![out("corr-1", "{\"a\":2}")],
            advance: None,
        })
        .await
        .unwrap();
    assert_eq!(seqs, [3]);
    let trig = &s.triggers("c1").await.unwrap()[0];
    assert_eq!(trig.watermark.key, "k1");
    assert_eq!(
        s.twin("c1", "corr-1")
            .await
            .unwrap()
            .unwrap()
            .last_sent_hash
            .as_deref(),
        Some("h1")
    );
    // A watermark for a trigger of another connection: nothing is queued.
    let err = s
        .enqueue(Enqueue {
            connection_id: "c1".into(),
            messages: vec![out("corr-3", "{}")],
            advance: Some(Advance::Trigger(999, Watermark::default())),
        })
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }));
    assert_eq!(
        s.feed("c1", "incident").await.unwrap(),
        Watermark::default()
    );
    let w = Watermark {
        updated_at: "2026-01-02 00:00:00".into(),
        key: "k9".into(),
    };
    s.enqueue(Enqueue {
        connection_id: "c1".into(),
        messages: vec![],
        advance: Some(Advance::Feed("incident".into(), w.clone())),
    })
    .await
    .unwrap();
    assert_eq!(s.feed("c1", "incident").await.unwrap(), w);
    let pending = s.undelivered("c1", 10).await.unwrap();
    assert_eq!(pending.iter().map(|m| m.seq).collect::<Vec<_>>(), [1, 2, 3]);
    s.mark_delivered("c1", 2).await.unwrap();
    assert_eq!(s.undelivered("c1", 10).await.unwrap()[0].seq, 3);
    assert_eq!(s.depths("c1").await.unwrap().outbox, 1);
}

#[tokio::test]
async fn the_inbox_applies_in_order_per_twin_and_never_past_a_gap() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(&dir);
    s.insert_connection(conn("c1", "a")).await.unwrap();
    let now = Utc::now();
    // 1 and 3 for twin A, 2 and 5 for twin B; 4 is missing.
    let held = s
        .receive(
            "c1",
            vec![
                inbound(1, "A"),
                inbound(3, "A"),
                inbound(5, "B"),
                inbound(2, "B"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(held, 3);
    let seqs = |v: Vec<InMessage>| v.iter().map(|m| m.seq).collect::<Vec<_>>();
    assert_eq!(seqs(s.ready("c1", now, 10).await.unwrap()), [1, 2]);
    // A resend of what is held changes nothing; the missing one closes the gap.
    assert_eq!(
        s.receive("c1", vec![inbound(2, "B"), inbound(4, "C")])
            .await
            .unwrap(),
        5
    );
    let applied = |seq| Applied {
        connection_id: "c1".into(),
        seq,
        twin: None,
        log: None,
        reply: None,
    };
    s.applied(applied(1)).await.unwrap();
    let err = s.applied(applied(1)).await.unwrap_err();
    assert!(err.to_string().contains("applied twice"), "{err}");
    assert_eq!(seqs(s.ready("c1", now, 10).await.unwrap()), [2, 3, 4]);
    // B's 2 fails for a while: B's 5 waits behind it, the others go on.
    s.defer("c1", 2, now + Duration::seconds(30)).await.unwrap();
    assert_eq!(seqs(s.ready("c1", now, 10).await.unwrap()), [3, 4]);
    assert_eq!(
        seqs(
            s.ready("c1", now + Duration::seconds(31), 10)
                .await
                .unwrap()
        ),
        [2, 3, 4]
    );
    assert_eq!(
        s.ready("c1", now + Duration::seconds(31), 10)
            .await
            .unwrap()[0]
            .attempts,
        1
    );
    assert_eq!(s.depths("c1").await.unwrap().inbox, 4);
}

#[tokio::test]
async fn an_error_blocks_only_its_twin_until_retried() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(&dir);
    s.insert_connection(conn("c1", "a")).await.unwrap();
    s.receive(
        "c1",
        vec![inbound(1, "A"), inbound(2, "B"), inbound(3, "A")],
    )
    .await
    .unwrap();
    let now = Utc::now();
    let e = NewError {
        connection_id: "c1".into(),
        correlation: "A".into(),
        entity: "INC0010001".into(),
        rule_version: Some(3),
        location: Some("line 4, column 9".into()),
        message: "no such property: summry".into(),
        at: now,
    };
    let first = s.record_error(e.clone()).await.unwrap();
    let second = s.record_error(e).await.unwrap();
    assert_eq!(first.id, second.id);
    assert_eq!(second.attempts, 2);
    let ready: Vec<i64> = s
        .ready("c1", now, 10)
        .await
        .unwrap()
        .iter()
        .map(|m| m.seq)
        .collect();
    assert_eq!(ready, [2]);
    assert_eq!(s.open_errors(Some("c1")).await.unwrap().len(), 1);
    assert_eq!(s.open_errors(None).await.unwrap().len(), 1);
    let closed = s.close_error(first.id, true, now).await.unwrap();
    assert!(closed.closed_at.is_some());
    assert!(s.close_error(first.id, true, now).await.is_err());
    let ready: Vec<i64> = s
        .ready("c1", now, 10)
        .await
        .unwrap()
        .iter()
        .map(|m| m.seq)
        .collect();
    assert_eq!(ready, [1, 2]);
    // Resolving instead skips the failing message: A's next one is ready.
    let again = s
        .record_error(NewError {
            connection_id: "c1".into(),
            correlation: "A".into(),
            entity: "INC0010001".into(),
            rule_version: None,
            location: None,
            message: "still failing".into(),
            at: now,
        })
        .await
        .unwrap();
    s.close_error(again.id, false, now).await.unwrap();
    let ready: Vec<i64> = s
        .ready("c1", now, 10)
        .await
        .unwrap()
        .iter()
        .map(|m| m.seq)
        .collect();
    assert_eq!(ready, [2, 3]);
}

#[tokio::test]
async fn applying_records_twin_links_the_log_and_the_ack_together() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(&dir);
    s.insert_connection(conn("c1", "a")).await.unwrap();
    s.receive("c1", vec![inbound(1, "A")]).await.unwrap();
    let twin = s.ensure_remote_twin("c1", "A").await.unwrap();
    assert_eq!(s.ensure_remote_twin("c1", "A").await.unwrap().id, twin.id);
    let local = LocalRecord {
        entity_type: "Case".into(),
        key: "500000000000001AAA".into(),
        number: Some("00001001".into()),
        url: Some("https://sf/500".into()),
    };
    s.applied(Applied {
        connection_id: "c1".into(),
        seq: 1,
        twin: Some((
            twin.id,
            TwinChange {
                local: Some(local.clone()),
                previous: Some("{\"n\":1}".into()),
                own_version: Some("2026-01-01T00:00:00.000+0000".into()),
                ..Default::default()
            },
        )),
        log: Some(NewLogEntry {
            connection_id: "c1".into(),
            correlation: "A".into(),
            event: "created".into(),
            rule_version: Some(1),
            detail: "Case 00001001".into(),
            at: Utc::now(),
        }),
        reply: Some(Outgoing {
            correlation: "A".into(),
            kind: MessageKind::Ack,
            payload: "{}".into(),
            twin: None,
            log: None,
        }),
    })
    .await
    .unwrap();
    let t = s
        .twin_of_local("c1", "Case", &local.key)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(t.local, Some(local));
    assert_eq!(t.previous.as_deref(), Some("{\"n\":1}"));
    let log = s.log_of("c1", "A", 10).await.unwrap();
    assert_eq!(log[0].entry.event, "created");
    let acks = s.undelivered("c1", 10).await.unwrap();
    assert_eq!(acks[0].kind, MessageKind::Ack);
}

#[tokio::test]
async fn two_detections_of_one_new_record_make_one_twin() {
    let dir = tempfile::tempdir().unwrap();
    let s = Arc::new(open(&dir));
    s.insert_connection(conn("c1", "a")).await.unwrap();
    let local = LocalRecord {
        entity_type: "incident".into(),
        key: "k".into(),
        ..Default::default()
    };
    let (a, b) = tokio::join!(
        {
            let s = s.clone();
            let l = local.clone();
            async move { s.ensure_local_twin("c1", &l, "corr-a").await.unwrap() }
        },
        {
            let s = s.clone();
            let l = local.clone();
            async move { s.ensure_local_twin("c1", &l, "corr-b").await.unwrap() }
        }
    );
    assert_eq!(a.id, b.id);
    assert_eq!(s.twins("c1", 10).await.unwrap().len(), 1);
}

#[tokio::test]
async fn everything_survives_a_reopen_and_delete_cascades() {
    let dir = tempfile::tempdir().unwrap();
    {
        let s = open(&dir);
        s.insert_connection(conn("c1", "a")).await.unwrap();
        s.enqueue(Enqueue {
            connection_id: "c1".into(),
            messages: vec![out("A", "{}"), out("B", "{}")],
            advance: None,
        })
        .await
        .unwrap();
        s.receive("c1", vec![inbound(1, "A")]).await.unwrap();
        s.ensure_remote_twin("c1", "A").await.unwrap();
    }
    let s = open(&dir);
    assert_eq!(s.undelivered("c1", 10).await.unwrap().len(), 2);
    let seqs = s
        .enqueue(Enqueue {
            connection_id: "c1".into(),
            messages: vec![out("A", "{}")],
            advance: None,
        })
        .await
        .unwrap();
    assert_eq!(seqs, [3], "numbering continues after a restart");
    assert_eq!(s.receive("c1", vec![]).await.unwrap(), 1);
    // Unlinking a twin keeps the numbering intact and drops what it had waiting.
    let twin = s.twin("c1", "A").await.unwrap().unwrap();
    s.delete_twin(twin.id).await.unwrap();
    assert_eq!(s.undelivered("c1", 10).await.unwrap().len(), 3);
    assert_eq!(s.depths("c1").await.unwrap().inbox, 0);
    s.delete_connection("c1").await.unwrap();
    assert!(s.connections().await.unwrap().is_empty());
    assert_eq!(s.undelivered("c1", 10).await.unwrap().len(), 0);
    assert!(s.delete_connection("c1").await.is_err());
}

#[tokio::test]
async fn links_are_intended_then_completed() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(&dir);
    s.insert_connection(conn("c1", "a")).await.unwrap();
    let intended = Link {
        connection_id: "c1".into(),
        correlation: "A".into(),
        kind: LinkKind::Comment,
        remote_id: "r1".into(),
        local_id: None,
        received: true,
    };
    s.put_link(intended.clone()).await.unwrap();
    s.put_link(intended.clone()).await.unwrap();
    assert_eq!(s.links("c1", "A").await.unwrap(), vec![intended.clone()]);
    let done = Link {
        local_id: Some("l1".into()),
        ..intended.clone()
    };
    s.put_link(done.clone()).await.unwrap();
    // Writing the intent again never forgets the local id.
    s.put_link(intended).await.unwrap();
    assert_eq!(s.links("c1", "A").await.unwrap(), vec![done]);
}
