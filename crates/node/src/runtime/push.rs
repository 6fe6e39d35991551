//! Push: the platform tells the node which records changed (a ServiceNow business rule's
//! REST message, a Salesforce outbound message) and the node syncs them at once instead of
//! at the next poll. A notification only names records; the node reads them and lets the
//! triggers decide, exactly as a poll would. Polling stays on as the safety net: a lost
//! notification costs latency, never a change.

use super::worker::{self, TRIGGERED, TWINNED};
use super::{Inner, NodeError};
use quick_xml::events::Event;
use quick_xml::Reader;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use tokio::sync::{watch, Notify};
use twinsync_model::{ConnectionStatus, RuleDirection};
use twinsync_store::{Connection, Store};

/// Records named by notifications and not yet looked at, by entity type.
#[derive(Default)]
pub(crate) struct Pushed {
    pending: std::sync::Mutex<BTreeMap<String, BTreeSet<String>>>,
    wake: Notify,
}

impl Pushed {
    /// Notes records to look at and wakes the push worker. The same record named twice
    /// before the worker runs is looked at once.
    pub fn add(&self, records: impl IntoIterator<Item = (String, String)>) -> usize {
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        let mut n = 0;
        for (entity_type, key) in records {
            pending.entry(entity_type).or_default().insert(key);
            n += 1;
        }
        drop(pending);
        if n > 0 {
            self.wake.notify_one();
        }
        n
    }

    fn take(&self) -> BTreeMap<String, BTreeSet<String>> {
        std::mem::take(&mut *self.pending.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// The records a ServiceNow push names: a JSON object with `table` and `sys_id` (what the
/// sandbox's webhook and a business rule's REST message send), or a list of them.
pub(crate) fn servicenow_records(body: &[u8]) -> Result<Vec<(String, String)>, String> {
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| format!("the body is not JSON ({e}); send {{\"table\": …, \"sys_id\": …}}"))?;
    let items = match value {
        serde_json::Value::Array(items) => items,
        other => vec![other],
    };
    items
        .iter()
        .map(|item| {
            let field = |name: &str| {
                item.get(name)
                    .and_then(|v| v.as_str())
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .ok_or_else(|| format!("a notification has no `{name}` text"))
            };
            Ok((field("table")?, field("sys_id")?))
        })
        .collect()
}

/// A Salesforce outbound message: the org that sent it and the records it names.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct OutboundMessage {
    /// `OrganizationId`.
    pub organization_id: String,
    /// `(object, Id)` of every notification, in order.
    pub records: Vec<(String, String)>,
}

/// Parses the SOAP `notifications` envelope of an outbound message.
pub(crate) fn salesforce_records(body: &[u8]) -> Result<OutboundMessage, String> {
    let text = std::str::from_utf8(body).map_err(|_| "the body is not UTF-8".to_string())?;
    let mut reader = Reader::from_str(text);
    let mut path: Vec<String> = Vec::new();
    let mut object = String::new();
    let mut seen_notifications = false;
    let mut message = OutboundMessage {
        organization_id: String::new(),
        records: Vec::new(),
    };
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) => {
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                if name == "notifications" {
                    seen_notifications = true;
                }
                if name == "sObject" {
                    object = e
                        .attributes()
                        .flatten()
                        .find(|a| a.key.local_name().as_ref() == b"type")
                        .map(|a| {
                            let v = String::from_utf8_lossy(&a.value).into_owned();
                            v.rsplit(':').next().unwrap_or_default().to_string()
                        })
                        .unwrap_or_default();
                }
                path.push(name);
            }
            Ok(Event::End(_)) => {
                path.pop();
            }
            Ok(Event::Text(t)) => {
                let value = String::from_utf8_lossy(t.as_ref()).trim().to_string();
                let tail: Vec<&str> = path.iter().rev().take(2).map(String::as_str).collect();
                match tail.as_slice() {
                    ["Id", "sObject"] if !value.is_empty() => {
                        if object.is_empty() {
                            return Err("an sObject has no xsi:type naming its object".into());
                        }
                        message.records.push((object.clone(), value));
                    }
                    ["OrganizationId", "notifications"] => message.organization_id = value,
                    _ => {}
                }
            }
            Ok(Event::Eof) => break,
            Ok(_) => {}
            Err(e) => {
                return Err(format!(
                    "the body is not well-formed XML at byte {}: {e}",
                    reader.buffer_position()
                ))
            }
        }
    }
    if !seen_notifications {
        return Err("the body has no outbound-message `notifications` element".into());
    }
    Ok(message)
}

/// The acknowledgement Salesforce waits for; without it the message is sent again.
pub(crate) const SALESFORCE_ACK: &str = r#"<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound"><Ack>true</Ack></notificationsResponse></soapenv:Body></soapenv:Envelope>"#;

/// Looks at pushed records whenever some arrive, until told to stop.
pub(crate) async fn run(inner: Arc<Inner>, mut stopped: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = inner.pushed.wake.notified() => {}
            _ = stopped.changed() => return,
        }
        if *stopped.borrow() {
            return;
        }
        tokio::select! {
            _ = push_round(&inner) => {}
            _ = stopped.changed() => return,
        }
    }
}

/// Queues what the pushed records need on every connection, then sends at once.
async fn push_round(inner: &Inner) {
    // Not at the same time as a round: a record is never detected and applied at once.
    let _one_at_a_time = inner.round_lock.lock().await;
    let pending = inner.pushed.take();
    if pending.is_empty() {
        return;
    }
    let connections = match inner.store.connections().await {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "cannot read the connections");
            return;
        }
    };
    for c in connections {
        if c.spec.status == ConnectionStatus::Pending {
            continue;
        }
        for (entity_type, keys) in &pending {
            if let Err(e) = detect_pushed(inner, &c, entity_type, keys).await {
                // The poll finds these records later.
                tracing::warn!(connection = %c.spec.id, entity_type, error = %e, "pushed records not synced now; the next poll will");
            }
        }
        if c.spec.status == ConnectionStatus::Active {
            worker::send(inner, &c).await;
        }
    }
}

/// Queues messages for pushed records of one type: those already twinned, and those a
/// trigger matches.
async fn detect_pushed(
    inner: &Inner,
    c: &Connection,
    entity_type: &str,
    keys: &BTreeSet<String>,
) -> Result<(), NodeError> {
    let rule = worker::rule(inner, c, RuleDirection::Outgoing).await;
    let rule = (rule.0.as_str(), rule.1);
    let mut twinned = Vec::new();
    let mut untwinned = Vec::new();
    for k in keys {
        match inner
            .store
            .twin_of_local(&c.spec.id, entity_type, k)
            .await?
        {
            Some(_) => twinned.push(k.clone()),
            None => untwinned.push(k.clone()),
        }
    }
    let mut messages = Vec::new();
    if !twinned.is_empty() {
        let entities = inner.platform.get(entity_type, &twinned).await?;
        messages.extend(worker::messages_for(inner, c, &entities, rule, TWINNED).await?);
    }
    let triggers = inner.store.triggers(&c.spec.id).await?;
    for t in triggers
        .iter()
        .filter(|t| t.spec.active && t.spec.entity_type == entity_type)
    {
        if untwinned.is_empty() {
            break;
        }
        let entities = inner
            .platform
            .get_matching(entity_type, &t.spec.query, &untwinned)
            .await?;
        untwinned.retain(|k| !entities.iter().any(|e| &e.key == k));
        messages.extend(worker::messages_for(inner, c, &entities, rule, TRIGGERED).await?);
    }
    worker::queue(inner, &c.spec.id, messages).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_records_of_an_outbound_message() {
        let body = r#"<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
 <soapenv:Body>
  <notifications xmlns="http://soap.sforce.com/2005/09/outbound">
   <OrganizationId>00D000000000001AAA</OrganizationId>
   <ActionId>04k000000000001AAA</ActionId>
   <SessionId xsi:nil="true"/>
   <Notification>
    <Id>04l000000000001AAA</Id>
    <sObject xsi:type="sf:Case" xmlns:sf="urn:sobject.enterprise.soap.sforce.com">
     <sf:Id>500000000000001AAA</sf:Id>
     <sf:Subject>Printer &amp; scanner</sf:Subject>
    </sObject>
   </Notification>
   <Notification>
    <Id>04l000000000002AAA</Id>
    <sObject xsi:type="sf:Task" xmlns:sf="urn:sobject.enterprise.soap.sforce.com"><sf:Id>00T000000000002AAA</sf:Id></sObject>
   </Notification>
  </notifications>
 </soapenv:Body>
</soapenv:Envelope>"#;
        let m = salesforce_records(body.as_bytes()).unwrap();
        assert_eq!(m.organization_id, "00D000000000001AAA");
        assert_eq!(
            m.records,
            vec![
                ("Case".to_string(), "500000000000001AAA".to_string()),
                ("Task".to_string(), "00T000000000002AAA".to_string())
            ]
        );
    }

    #[test]
    fn refuses_what_is_not_an_outbound_message() {
        assert!(salesforce_records(b"<a><b>")
            .unwrap_err()
            .contains("notifications"));
        assert!(salesforce_records(b"<x></y>").is_err());
        assert!(salesforce_records(b"\xff").is_err());
    }

    #[test]
    fn reads_servicenow_notifications_one_or_many() {
        assert_eq!(
            servicenow_records(br#"{"table":"incident","sys_id":"abc","operation":"update"}"#)
                .unwrap(),
            vec![("incident".to_string(), "abc".to_string())]
        );
        assert_eq!(
            servicenow_records(
                br#"[{"table":"incident","sys_id":"a"},{"table":"problem","sys_id":"b"}]"#
            )
            .unwrap()
            .len(),
            2
        );
        assert!(servicenow_records(br#"{"table":"incident"}"#)
            .unwrap_err()
            .contains("sys_id"));
        assert!(servicenow_records(b"nope").unwrap_err().contains("JSON"));
    }

    #[test]
    fn a_record_named_twice_is_looked_at_once() {
        let p = Pushed::default();
        p.add([
            ("incident".into(), "a".into()),
            ("incident".into(), "a".into()),
        ]);
        p.add([("incident".into(), "b".into())]);
        let taken = p.take();
        assert_eq!(taken["incident"].len(), 2);
        assert!(p.take().is_empty());
    }
}
