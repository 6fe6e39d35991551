//! Compiling and running a typical 30-line outgoing script for an incident with 20
//! comments, and the same mapping written for Rhai, measured in the same run for comparison.
//!
//! `cargo bench -p twinsync-rules --bench rules`

use criterion::{criterion_group, criterion_main, Criterion};

/// The allocator the `twinsync` binary uses, so the figures match what a node does.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
use serde_json::{json, Value};
use std::hint::black_box;
use twinsync_rules::{Limits, RunContext, Script, StaticUsers};

/// The typical outgoing rule: field mapping, look-up maps, a filtered and reshaped comment
/// list, attachments, custom fields, labels.
const GROOVY: &str = r#"// Outgoing: a ServiceNow incident to its replica
replica.key = entity.sys_id
replica.number = entity.number
replica.summary = entity.short_description
replica.description = entity.description ?: ""
def urgencyMap = ["1": "High", "2": "Medium", "3": "Low"]
replica.urgency = urgencyMap[entity.urgency] ?: "Low"
def stateMap = ["1": "New", "2": "Working", "3": "Working", "6": "Closed", "7": "Closed"]
replica.status = stateMap[entity.state] ?: "New"
replica.priority = entity.priority
replica.assignee = entity.assigned_to?.email
replica.reporter = entity.caller_id?.email
def labels = []
if (entity.category) { labels << entity.category }
if (entity.subcategory) { labels << entity.subcategory }
if (entity.urgency == "1" && entity.impact == "1") { labels << "major" }
replica.labels = labels
replica.comments = entity.comments.findAll { !it.internal }.collect { c ->
    [id: c.id, body: c.body.trim(), author: c.author, created: c.created]
}
replica.attachments = entity.attachments.collect { a ->
    [id: a.sys_id, filename: a.file_name, size: a.size_bytes as Integer]
}
replica.customFields = [:]
replica.customFields["Business service"] = entity.business_service
replica.customFields["Opened"] = entity.opened_at
def publicCount = replica.comments.size()
replica.description = replica.description + "\n\n(" + publicCount + " public comments)"
replica.entityType = entity.entityType
"#;

/// The same mapping in Rhai.
const RHAI: &str = r#"// Outgoing: a ServiceNow incident to its replica
let replica = #{};
replica.key = entity.sys_id;
replica.number = entity.number;
replica.summary = entity.short_description;
replica.description = if entity.description == () { "" } else { entity.description };
let urgency_map = #{ "1": "High", "2": "Medium", "3": "Low" };
let u = urgency_map[entity.urgency];
replica.urgency = if u == () { "Low" } else { u };
let state_map = #{ "1": "New", "2": "Working", "3": "Working", "6": "Closed", "7": "Closed" };
let s = state_map[entity.state];
replica.status = if s == () { "New" } else { s };
replica.priority = entity.priority;
replica.assignee = if entity.assigned_to == () { () } else { entity.assigned_to.email };
replica.reporter = if entity.caller_id == () { () } else { entity.caller_id.email };
let labels = [];
if entity.category != () && entity.category != "" { labels.push(entity.category); }
if entity.subcategory != () && entity.subcategory != "" { labels.push(entity.subcategory); }
if entity.urgency == "1" && entity.impact == "1" { labels.push("major"); }
replica.labels = labels;
replica.comments = entity.comments.filter(|c| !c.internal).map(|c| #{
    id: c.id, body: c.body.trim(), author: c.author, created: c.created
});
replica.attachments = entity.attachments.map(|a| #{
    id: a.sys_id, filename: a.file_name, size: parse_int(a.size_bytes)
});
replica.customFields = #{};
replica.customFields["Business service"] = entity.business_service;
replica.customFields["Opened"] = entity.opened_at;
let public_count = replica.comments.len();
replica.description = replica.description + "\n\n(" + public_count + " public comments)";
replica.entityType = entity.entityType;
replica
"#;

fn incident() -> Value {
    let comments: Vec<Value> = (0..20)
        .map(|i| {
            json!({"id": format!("c{i}"), "body": format!("  comment number {i}  "), "author": "beth.anglin",
                   "created": "2026-11-25 09:00:00", "internal": i % 4 == 0})
        })
        .collect();
    json!({
        "entityType": "incident", "sys_id": "46d44a5f2f5b2110b2c1e1f0a7c0e9d1", "number": "INC0010001",
        "short_description": "Printer on fire", "description": "Smoke from the printer on floor 3",
        "urgency": "1", "impact": "1", "state": "2", "priority": "1", "category": "hardware",
        "subcategory": "printer", "assigned_to": {"email": "beth.anglin@example.com"},
        "caller_id": {"email": "abel.tuter@example.com"}, "business_service": "Printing",
        "opened_at": "2026-11-25 08:00:00", "comments": comments,
        "attachments": [{"sys_id": "a1", "file_name": "photo.jpg", "size_bytes": "20480"},
                        {"sys_id": "a2", "file_name": "log.txt", "size_bytes": "512"}],
    })
}

fn bench(c: &mut Criterion) {
    let entity = incident();
    let users = StaticUsers::default();
    let ctx = RunContext {
        limits: Limits::default(),
        lookup: &users,
    };
    let script = Script::compile("outgoing", GROOVY).expect("the benchmark script compiles");
    let replica = script
        .run_outgoing(&entity, &ctx)
        .expect("the benchmark script runs");
    assert_eq!(replica["comments"].as_array().map(Vec::len), Some(15));

    let mut engine = rhai::Engine::new();
    engine.set_max_expr_depths(64, 64);
    let ast = engine.compile(RHAI).expect("the Rhai script compiles");
    let dynamic_entity: rhai::Dynamic = rhai::serde::to_dynamic(&entity).expect("entity converts");
    let check = {
        let mut scope = rhai::Scope::new();
        scope.push("entity", dynamic_entity.clone());
        let out: rhai::Map = engine
            .eval_ast_with_scope(&mut scope, &ast)
            .expect("the Rhai script runs");
        out
    };
    assert_eq!(
        check["comments"].clone().into_array().map(|a| a.len()).ok(),
        Some(15)
    );

    let mut group = c.benchmark_group("outgoing incident, 20 comments");
    group.bench_function("twinsync compile", |b| {
        b.iter(|| Script::compile("outgoing", black_box(GROOVY)).expect("compiles"))
    });
    // What a node does: the record as the connector read it in, the replica's JSON bytes
    // (stored in the outbox and sent) out.
    group.bench_function("twinsync run", |b| {
        b.iter(|| {
            script
                .run_outgoing_bytes(black_box(&entity), &ctx)
                .expect("runs")
        })
    });
    group.bench_function("twinsync run, replica as a serde_json tree", |b| {
        b.iter(|| script.run_outgoing(black_box(&entity), &ctx).expect("runs"))
    });
    group.bench_function("twinsync JSON in and out only", |b| {
        b.iter(|| twinsync_rules::Value::from_json(black_box(&entity)).to_json())
    });
    group.bench_function("twinsync JSON in only", |b| {
        b.iter(|| twinsync_rules::Value::from_json(black_box(&entity)))
    });
    group.bench_function("rhai compile", |b| {
        b.iter(|| engine.compile(black_box(RHAI)).expect("compiles"))
    });
    group.bench_function("rhai run", |b| {
        b.iter(|| {
            let mut scope = rhai::Scope::new();
            scope.push("entity", dynamic_entity.clone());
            let out: rhai::Map = engine.eval_ast_with_scope(&mut scope, &ast).expect("runs");
            out
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
