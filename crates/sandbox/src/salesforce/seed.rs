//! Seed data: the configured users, a few accounts and contacts, and N cases with comments,
//! plus sample tasks and opportunities. Deterministic (same ids on every start), built
//! directly as records so that 100,000 cases seed in seconds.

use super::config::SalesforceConfig;
use super::db::{Db, Op};
use super::schema::all_objects;
use super::writes::Counters;
use chrono::{DateTime, Duration, Utc};
use rand::rngs::SmallRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use serde_json::{Map, Value};
use twinsync_query::soql::format_sf_datetime;

const SUBJECTS: &[&str] = &[
    "Printer on fire",
    "Cannot log in to the customer portal",
    "Invoice shows the wrong amount",
    "Shipment arrived damaged",
    "Password reset email never arrives",
    "Generator makes a grinding noise",
    "Mobile app crashes on start",
    "Request for an on-site visit",
    "Warranty question about model X200",
    "Data export times out",
];
const ACCOUNTS: &[&str] = &[
    "Acme Corporation",
    "Globex",
    "Initech",
    "Umbrella Health",
    "Stark Industries",
    "Wayne Enterprises",
    "Soylent Foods",
    "Hooli",
];
const FIRST: &[&str] = &[
    "Ada", "Grace", "Alan", "Edsger", "Barbara", "Ken", "Margaret", "Linus",
];
const LAST: &[&str] = &[
    "Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Thompson", "Hamilton", "Torvalds",
];
const STATUSES: &[&str] = &["New", "New", "Working", "Escalated", "Closed"];
const PRIORITIES: &[&str] = &["High", "Medium", "Medium", "Low"];
const ORIGINS: &[&str] = &["Phone", "Email", "Web"];

struct Builder<'a> {
    db: &'a mut Db,
    counters: Counters,
}

impl Builder<'_> {
    /// Inserts a record of `object` from `(field, value)` pairs plus audit fields.
    fn insert(
        &mut self,
        object: &str,
        at: DateTime<Utc>,
        by: &str,
        fields: &[(&str, Value)],
    ) -> String {
        let Some(o) = self.db.object(object) else {
            return String::new();
        };
        let def = self.db.stores[o].def.clone();
        let id = self.counters.new_id(self.db, def.key_prefix);
        let stamp = format_sf_datetime(at);
        let mut record = Map::new();
        for f in &def.fields {
            if let Some(d) = &f.default {
                record.insert(f.name().to_string(), d.clone());
            }
        }
        record.insert("Id".into(), Value::from(id.clone()));
        record.insert("IsDeleted".into(), Value::Bool(false));
        for name in ["CreatedDate", "LastModifiedDate", "SystemModstamp"] {
            record.insert(name.into(), Value::from(stamp.clone()));
        }
        if !by.is_empty() {
            record.insert("CreatedById".into(), Value::from(by));
            record.insert("LastModifiedById".into(), Value::from(by));
            if def.position("OwnerId").is_some() {
                record.insert("OwnerId".into(), Value::from(by));
            }
        }
        for (k, v) in fields {
            if !v.is_null() {
                record.insert((*k).to_string(), v.clone());
            }
        }
        // Keep only fields the object has (audit fields differ per object).
        record.retain(|k, _| def.position(k).is_some());
        self.db.apply(&Op::Put {
            object: def.name.clone(),
            record,
        });
        // Counters move in the db too, so later inserts continue from here.
        for op in std::mem::take(&mut self.counters).ops() {
            self.db.apply(&op);
        }
        id
    }
}

/// A fresh org with the configured users and `config.seed_cases` cases, as of `now`.
pub fn seeded(config: &SalesforceConfig, now: DateTime<Utc>) -> Db {
    let objects = all_objects(&config.custom_fields).unwrap_or_else(|e| {
        tracing::error!(error = %e, "custom fields refused; starting without them");
        all_objects(&[]).unwrap_or_default()
    });
    let mut db = Db::new(objects);
    let mut rng = SmallRng::seed_from_u64(0x5a1e5f0);
    let mut b = Builder {
        db: &mut db,
        counters: Counters::default(),
    };
    let start = now - Duration::days(20);
    let mut users = Vec::new();
    for u in &config.users {
        let name = u.name.clone().unwrap_or_else(|| u.username.clone());
        let (first, last) = name.split_once(' ').unwrap_or(("", name.as_str()));
        let id = b.insert(
            "User",
            start,
            "",
            &[
                ("Username", Value::from(u.username.clone())),
                ("FirstName", Value::from(first)),
                ("LastName", Value::from(last)),
                ("Name", Value::from(name.clone())),
                (
                    "Email",
                    Value::from(u.email.clone().unwrap_or_else(|| u.username.clone())),
                ),
                (
                    "Alias",
                    Value::from(u.username.chars().take(8).collect::<String>()),
                ),
                ("IsActive", Value::Bool(true)),
            ],
        );
        users.push(id);
    }
    let admin = users.first().cloned().unwrap_or_default();
    let mut accounts = Vec::new();
    let mut contacts = Vec::new();
    for (i, name) in ACCOUNTS.iter().enumerate() {
        let account = b.insert(
            "Account",
            start,
            &admin,
            &[
                ("Name", Value::from(*name)),
                ("Type", Value::from("Customer - Direct")),
                (
                    "Industry",
                    Value::from(["Technology", "Manufacturing", "Retail", "Healthcare"][i % 4]),
                ),
            ],
        );
        let (first, last) = (FIRST[i % FIRST.len()], LAST[i % LAST.len()]);
        let contact = b.insert(
            "Contact",
            start,
            &admin,
            &[
                ("AccountId", Value::from(account.clone())),
                ("FirstName", Value::from(first)),
                ("LastName", Value::from(last)),
                ("Name", Value::from(format!("{first} {last}"))),
                (
                    "Email",
                    Value::from(format!(
                        "{}.{}@example.com",
                        first.to_lowercase(),
                        last.to_lowercase()
                    )),
                ),
            ],
        );
        accounts.push(account);
        contacts.push(contact);
    }
    let span = (now - start).num_seconds().max(1);
    let n = config.seed_cases;
    for i in 0..n {
        let at = start + Duration::seconds(span * i as i64 / n.max(1) as i64);
        let k = rng.random_range(0..accounts.len());
        let status = *STATUSES.choose(&mut rng).unwrap_or(&"New");
        let case_number = 1001 + i as u64;
        let case = b.insert(
            "Case",
            at,
            &admin,
            &[
                ("CaseNumber", Value::from(format!("{case_number:08}"))),
                ("Subject", Value::from(SUBJECTS[i % SUBJECTS.len()])),
                (
                    "Description",
                    Value::from(format!("Seeded case {} for {}.", i + 1, ACCOUNTS[k])),
                ),
                ("Status", Value::from(status)),
                (
                    "Priority",
                    Value::from(*PRIORITIES.choose(&mut rng).unwrap_or(&"Medium")),
                ),
                (
                    "Origin",
                    Value::from(*ORIGINS.choose(&mut rng).unwrap_or(&"Web")),
                ),
                ("AccountId", Value::from(accounts[k].clone())),
                ("ContactId", Value::from(contacts[k].clone())),
                ("IsClosed", Value::Bool(status == "Closed")),
                (
                    "ClosedDate",
                    if status == "Closed" {
                        Value::from(format_sf_datetime(at))
                    } else {
                        Value::Null
                    },
                ),
                ("IsEscalated", Value::Bool(status == "Escalated")),
            ],
        );
        for c in 0..(i % 3) {
            b.insert(
                "CaseComment",
                at + Duration::seconds(60 * (c as i64 + 1)),
                &admin,
                &[
                    ("ParentId", Value::from(case.clone())),
                    (
                        "CommentBody",
                        Value::from(format!("Comment {} on case {case_number:08}", c + 1)),
                    ),
                    ("IsPublished", Value::Bool(c % 2 == 0)),
                ],
            );
        }
    }
    b.db.counters.insert("CaseNumber".into(), 1001 + n as u64);
    for (i, account) in accounts.iter().enumerate().take(3) {
        b.insert(
            "Opportunity",
            start,
            &admin,
            &[
                ("AccountId", Value::from(account.clone())),
                ("Name", Value::from(format!("{} renewal", ACCOUNTS[i]))),
                ("StageName", Value::from("Prospecting")),
                (
                    "CloseDate",
                    Value::from((now + Duration::days(30)).format("%Y-%m-%d").to_string()),
                ),
                ("Amount", Value::from(10_000 * (i + 1))),
                ("IsClosed", Value::Bool(false)),
                ("IsWon", Value::Bool(false)),
            ],
        );
        b.insert(
            "Task",
            start,
            &admin,
            &[
                ("WhatId", Value::from(account.clone())),
                ("Subject", Value::from("Call the customer")),
                (
                    "ActivityDate",
                    Value::from(now.format("%Y-%m-%d").to_string()),
                ),
                ("Status", Value::from("Not Started")),
                ("Priority", Value::from("Normal")),
                ("IsClosed", Value::Bool(false)),
            ],
        );
    }
    b.insert(
        "Product2",
        start,
        &admin,
        &[
            ("Name", Value::from("X200 Generator")),
            ("ProductCode", Value::from("X200")),
            ("IsActive", Value::Bool(true)),
        ],
    );
    db
}
