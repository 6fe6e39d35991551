//! Inserts, updates and deletes as the platform performs them: input coercion, ACLs, the
//! business rules that integrations notice (numbering, priority lookup, state side effects,
//! the close-information data policy, journals, system fields) and no-op detection.
//!
//! Planning a write only reads the instance and returns the [`Op`]s to apply, so the caller
//! can persist them before anything changes in memory.

use super::db::{Db, Op, Record, Table};
use super::error::SnError;
use rand::Rng;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use twinsync_model::{FieldDef, FieldType};
use twinsync_query::servicenow::parse_datetime_value;

/// The authenticated user performing a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// The user's sys_id.
    pub sys_id: String,
    /// The user's `user_name` (what `sys_created_by` records).
    pub user_name: String,
    /// The user's roles.
    pub roles: Vec<String>,
}

impl Actor {
    /// True when the user has `role` or `admin`.
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r == role || r == "admin")
    }
}

/// Write parameters of the Table API.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriteOptions {
    /// `sysparm_input_display_value=true`: choice labels and reference display values in.
    pub input_display_value: bool,
    /// `sysparm_suppress_auto_sys_field=true`: system fields are not set automatically.
    pub suppress_auto_sys_field: bool,
}

/// The outcome of planning a write.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// The changes to apply, in order (empty for a no-op update).
    pub ops: Vec<Op>,
    /// The sys_id of the record written.
    pub sys_id: String,
}

/// A new random sys_id: 32 lowercase hex characters.
pub fn new_sys_id() -> String {
    let bytes: [u8; 16] = rand::rng().random();
    hex::encode(bytes)
}

fn is_sys_id(s: &str) -> bool {
    s.len() == 32
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Refuses writes the user's roles do not allow, with the platform's ACL answer.
pub fn check_write(table: &Table, actor: &Actor, operation: &str) -> Result<(), SnError> {
    let allowed = if table.def.is_task() {
        actor.has_role("itil")
    } else {
        actor.has_role("admin")
    };
    if allowed {
        Ok(())
    } else {
        Err(SnError::acl(operation))
    }
}

/// The value a JSON input stands for; `{"value": …}` objects (as read back with display
/// values) are accepted.
fn scalar(field: &str, v: &Value) -> Result<String, SnError> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        Value::Null => Ok(String::new()),
        Value::Object(m) if m.contains_key("value") => scalar(field, &m["value"]),
        _ => Err(SnError::unreadable(format!(
            "The value of field '{field}' must be a string, number, boolean or null"
        ))),
    }
}

fn choice_by_label(field: &FieldDef, raw: &str) -> Option<String> {
    field
        .choices
        .iter()
        .find(|c| c.label.eq_ignore_ascii_case(raw.trim()))
        .map(|c| c.value.clone())
}

fn invalid(field: &FieldDef, raw: &str, expected: &str) -> SnError {
    SnError::unreadable(format!(
        "Invalid value '{raw}' for field '{}': expected {expected}",
        field.name
    ))
}

/// Coerces one input value to the stored form of its field.
fn normalize(
    db: &Db,
    field: &FieldDef,
    raw: String,
    opts: WriteOptions,
) -> Result<String, SnError> {
    if raw.trim().is_empty() {
        return Ok(match field.ty {
            FieldType::Boolean => "false".to_string(),
            _ => String::new(),
        });
    }
    if opts.input_display_value && !field.choices.is_empty() {
        if let Some(value) = choice_by_label(field, &raw) {
            return Ok(value);
        }
    }
    match &field.ty {
        FieldType::Integer => raw
            .trim()
            .parse::<i64>()
            .map(|n| n.to_string())
            .map_err(|_| invalid(field, &raw, "a whole number")),
        FieldType::Decimal => raw
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|n| n.is_finite())
            .map(|n| n.to_string())
            .ok_or_else(|| invalid(field, &raw, "a number")),
        FieldType::Boolean => match raw.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => Ok("true".to_string()),
            "false" | "0" | "no" => Ok("false".to_string()),
            _ => Err(invalid(field, &raw, "true or false")),
        },
        FieldType::DateTime | FieldType::Date => {
            if raw.trim_start().starts_with("javascript:") {
                return Err(invalid(field, &raw, "a date-time YYYY-MM-DD HH:MM:SS"));
            }
            let now = chrono::Utc::now().naive_utc();
            let t = parse_datetime_value(&raw, now)
                .map_err(|_| invalid(field, &raw, "a date-time YYYY-MM-DD HH:MM:SS"))?;
            Ok(match field.ty {
                FieldType::Date => t.format("%Y-%m-%d").to_string(),
                _ => twinsync_query::servicenow::format_datetime(t),
            })
        }
        FieldType::Reference { target } => Ok(resolve_reference(db, target, raw)),
        _ => Ok(raw),
    }
}

/// A reference input: a sys_id of the target, or else its display value (as the platform
/// resolves it); an unknown value is stored as given, a broken reference as on the platform.
fn resolve_reference(db: &Db, target: &str, raw: String) -> String {
    let Some(table) = db.table(target) else {
        return raw;
    };
    if table.get(&raw).is_some() {
        return raw;
    }
    let Some(display) = table.column(&table.def.schema.display_field) else {
        return raw;
    };
    let found = match table.lookup(display, &raw) {
        Some(hits) => hits.first().map(|r| r.get(0).to_string()),
        None => table
            .records()
            .find(|r| r.get(display).eq_ignore_ascii_case(&raw))
            .map(|r| r.get(0).to_string()),
    };
    found.unwrap_or(raw)
}

/// The fields an input sets, its journal entries, and a password if it sets one.
struct Input {
    values: Vec<(usize, String)>,
    journals: Vec<(String, String)>,
    password: Option<String>,
    sys_id: Option<String>,
}

fn read_input(
    db: &Db,
    table: &Table,
    input: &Map<String, Value>,
    opts: WriteOptions,
) -> Result<Input, SnError> {
    let mut out = Input {
        values: Vec::new(),
        journals: Vec::new(),
        password: None,
        sys_id: None,
    };
    for (name, value) in input {
        if table.name() == "sys_user" && name == "user_password" {
            out.password = Some(scalar(name, value)?);
            continue;
        }
        let Some(column) = table.column(name) else {
            continue; // The platform ignores fields the table does not have.
        };
        let field = &table.def.schema.fields[column];
        let raw = scalar(name, value)?;
        if name == "sys_id" {
            out.sys_id = Some(raw);
            continue;
        }
        if field.ty == FieldType::Journal {
            if !field.read_only && !raw.trim().is_empty() {
                out.journals.push((name.clone(), raw));
            }
            continue;
        }
        let system = name.starts_with("sys_");
        if field.read_only && !(system && opts.suppress_auto_sys_field) {
            continue;
        }
        let value = normalize(db, field, raw, opts)?;
        out.values.push((column, value));
    }
    Ok(out)
}

/// The standard impact × urgency → priority lookup.
pub fn priority_for(impact: &str, urgency: &str) -> Option<&'static str> {
    const MATRIX: [[&str; 3]; 3] = [["1", "2", "3"], ["2", "3", "4"], ["3", "4", "5"]];
    let i: usize = impact.parse().ok().filter(|v| (1..=3).contains(v))?;
    let u: usize = urgency.parse().ok().filter(|v| (1..=3).contains(v))?;
    Some(MATRIX[i - 1][u - 1])
}

/// Sets `field` if the table has it.
fn set(table: &Table, record: &mut Record, field: &str, value: impl Into<String>) {
    if let Some(c) = table.column(field) {
        record.values[c] = value.into();
    }
}

fn get<'r>(table: &Table, record: &'r Record, field: &str) -> &'r str {
    table.column(field).map_or("", |c| record.get(c))
}

/// Defaults a new record gets before the input is applied.
fn defaults(table: &Table, record: &mut Record, actor: &Actor, now: &str) {
    if table.def.is_task() {
        let state = match table.name() {
            "problem" => "101",
            "change_request" => "-5",
            _ => "1",
        };
        for (field, value) in [
            ("state", state),
            ("active", "true"),
            ("impact", "3"),
            ("urgency", "3"),
            ("priority", "4"),
            ("opened_at", now),
            ("opened_by", actor.sys_id.as_str()),
            ("approval", "not requested"),
            ("knowledge", "false"),
            ("made_sla", "true"),
            ("sys_class_name", table.name()),
        ] {
            set(table, record, field, value);
        }
    }
    match table.name() {
        "incident" => {
            set(table, record, "severity", "3");
            set(table, record, "reopen_count", "0");
        }
        "change_request" => {
            set(table, record, "type", "normal");
            set(table, record, "risk", "3");
        }
        "sys_user" | "sys_user_group" => set(table, record, "active", "true"),
        _ => {}
    }
    if table.name() == "sys_user" {
        set(table, record, "locked_out", "false");
    }
}

/// The business rules that derive fields from others.
fn derive(table: &Table, before: Option<&Record>, record: &mut Record, actor: &Actor, now: &str) {
    let name = table.name();
    if name == "incident" || name == "problem" {
        if let Some(p) = priority_for(get(table, record, "impact"), get(table, record, "urgency")) {
            set(table, record, "priority", p);
        }
    }
    if name == "sys_user" {
        let full = format!(
            "{} {}",
            get(table, record, "first_name"),
            get(table, record, "last_name")
        );
        let full = full.trim().to_string();
        if !full.is_empty() {
            set(table, record, "name", full);
        }
    }
    let state = get(table, record, "state").to_string();
    let was = before.map(|b| get(table, b, "state").to_string());
    let closed: &[&str] = match name {
        "incident" => &["7", "8"],
        "problem" => &["107"],
        "change_request" => &["3", "4"],
        "sc_task" => &["3", "4", "7"],
        _ => &[],
    };
    if table.def.is_task() {
        let active = if closed.contains(&state.as_str()) {
            "false"
        } else {
            "true"
        };
        set(table, record, "active", active);
        if closed.contains(&state.as_str()) && get(table, record, "closed_at").is_empty() {
            set(table, record, "closed_at", now);
            set(table, record, "closed_by", actor.sys_id.as_str());
        }
    }
    let resolved = match name {
        "incident" => Some("6"),
        "problem" => Some("106"),
        _ => None,
    };
    if let Some(resolved) = resolved {
        let resolving = state == resolved || closed.first() == Some(&state.as_str());
        if resolving && get(table, record, "resolved_at").is_empty() {
            set(table, record, "resolved_at", now);
            set(table, record, "resolved_by", actor.sys_id.as_str());
        }
    }
    // Reopening: from any resolved or closed state back to an open one clears the
    // resolution and closure stamps (fields a table lacks are skipped by `set`).
    let done = |s: &str| Some(s) == resolved || closed.contains(&s);
    if table.def.is_task() && was.as_deref().is_some_and(done) && !done(&state) {
        for field in ["resolved_at", "resolved_by", "closed_at", "closed_by"] {
            set(table, record, field, "");
        }
        if name == "incident" {
            let count: i64 = get(table, record, "reopen_count").parse().unwrap_or(0);
            set(
                table,
                record,
                "reopen_count",
                count.saturating_add(1).to_string(),
            );
        }
    }
    if name == "incident" {
        set(table, record, "incident_state", state);
    }
}

/// The close-information data policy on incidents: resolving or closing needs a
/// resolution code and notes.
fn data_policy(table: &Table, record: &Record) -> Result<(), SnError> {
    if table.name() != "incident" || !matches!(get(table, record, "state"), "6" | "7") {
        return Ok(());
    }
    let missing: Vec<&str> = ["close_code", "close_notes"]
        .iter()
        .filter(|f| get(table, record, f).trim().is_empty())
        .filter_map(|f| table.def.schema.field(f).map(|d| d.label.as_str()))
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(SnError::data_policy(&missing))
    }
}

/// The ops that follow writing a record: its new password (users), then its journal entries.
fn follow_up_ops(
    db: &Db,
    table: &Table,
    sys_id: &str,
    input: &Input,
    actor: &Actor,
    now: &str,
) -> Vec<Op> {
    let mut ops = Vec::new();
    if let Some(password) = &input.password {
        ops.push(Op::Password {
            user: sys_id.to_string(),
            password: password.clone(),
        });
    }
    ops.extend(journal_ops(db, table, sys_id, input, actor, now));
    ops
}

fn journal_ops(
    db: &Db,
    table: &Table,
    sys_id: &str,
    input: &Input,
    actor: &Actor,
    now: &str,
) -> Vec<Op> {
    let Some(journal) = db.table("sys_journal_field") else {
        return Vec::new();
    };
    input
        .journals
        .iter()
        .map(|(element, value)| {
            let mut record = BTreeMap::new();
            record.insert("sys_id".to_string(), new_sys_id());
            record.insert("element".to_string(), element.clone());
            record.insert("element_id".to_string(), sys_id.to_string());
            record.insert("name".to_string(), table.name().to_string());
            record.insert("value".to_string(), value.clone());
            record.insert("sys_created_on".to_string(), now.to_string());
            record.insert("sys_created_by".to_string(), actor.user_name.clone());
            Op::Put {
                table: journal.name().to_string(),
                record,
            }
        })
        .collect()
}

fn stamp(
    table: &Table,
    record: &mut Record,
    before: Option<&Record>,
    actor: &Actor,
    now: &str,
    opts: WriteOptions,
) {
    if opts.suppress_auto_sys_field {
        return;
    }
    if before.is_none() {
        set(table, record, "sys_created_on", now);
        set(table, record, "sys_created_by", actor.user_name.as_str());
        set(table, record, "sys_mod_count", "0");
    } else {
        let count: i64 = get(table, record, "sys_mod_count").parse().unwrap_or(0);
        set(
            table,
            record,
            "sys_mod_count",
            count.saturating_add(1).to_string(),
        );
    }
    set(table, record, "sys_updated_on", now);
    set(table, record, "sys_updated_by", actor.user_name.as_str());
}

/// Plans an insert into table `t`.
pub fn plan_insert(
    db: &Db,
    t: usize,
    input: &Map<String, Value>,
    actor: &Actor,
    now: &str,
    opts: WriteOptions,
) -> Result<Plan, SnError> {
    let table = &db.tables[t];
    check_write(table, actor, "Insert")?;
    let input = read_input(db, table, input, opts)?;
    let sys_id = match input.sys_id.as_deref().map(str::trim) {
        Some(id) if is_sys_id(id) => {
            if table.get(id).is_some() {
                return Err(SnError::new(
                    http::StatusCode::FORBIDDEN,
                    "Operation Failed",
                    Some(format!("Error during insert of {} ({id})", table.name())),
                ));
            }
            id.to_string()
        }
        _ => new_sys_id(),
    };
    let mut record = Record {
        values: vec![String::new(); table.def.schema.fields.len()],
    };
    record.values[0] = sys_id.clone();
    defaults(table, &mut record, actor, now);
    for (column, value) in &input.values {
        record.values[*column] = value.clone();
    }
    derive(table, None, &mut record, actor, now);
    data_policy(table, &record)?;
    let mut ops = Vec::new();
    if let Some(prefix) = table.def.number_prefix {
        if get(table, &record, "number").is_empty() {
            let n = table.next_number;
            set(table, &mut record, "number", format!("{prefix}{n:07}"));
            ops.push(Op::Counter {
                table: table.name().to_string(),
                next: n + 1,
            });
        }
    }
    stamp(table, &mut record, None, actor, now, opts);
    ops.push(Op::Put {
        table: table.name().to_string(),
        record: table.fields_of(&record),
    });
    ops.extend(follow_up_ops(db, table, &sys_id, &input, actor, now));
    Ok(Plan { ops, sys_id })
}

/// Plans an update of record `sys_id` of table `t`; an update that changes nothing plans
/// no operation, as the platform skips such updates.
pub fn plan_update(
    db: &Db,
    t: usize,
    sys_id: &str,
    input: &Map<String, Value>,
    actor: &Actor,
    now: &str,
    opts: WriteOptions,
) -> Result<Plan, SnError> {
    let table = &db.tables[t];
    let before = table.get(sys_id).ok_or_else(SnError::not_found)?;
    check_write(table, actor, "Update")?;
    let input = read_input(db, table, input, opts)?;
    let mut record = before.clone();
    for (column, value) in &input.values {
        record.values[*column] = value.clone();
    }
    derive(table, Some(before), &mut record, actor, now);
    data_policy(table, &record)?;
    if record == *before && input.journals.is_empty() && input.password.is_none() {
        return Ok(Plan {
            ops: Vec::new(),
            sys_id: sys_id.to_string(),
        });
    }
    stamp(table, &mut record, Some(before), actor, now, opts);
    let mut ops = vec![Op::Put {
        table: table.name().to_string(),
        record: table.fields_of(&record),
    }];
    ops.extend(follow_up_ops(db, table, sys_id, &input, actor, now));
    Ok(Plan {
        ops,
        sys_id: sys_id.to_string(),
    })
}

/// Plans deleting record `sys_id` of table `t`, with its attachments.
pub fn plan_delete(db: &Db, t: usize, sys_id: &str, actor: &Actor) -> Result<Plan, SnError> {
    let table = &db.tables[t];
    table.get(sys_id).ok_or_else(SnError::not_found)?;
    check_write(table, actor, "Delete")?;
    let mut ops = vec![Op::Delete {
        table: table.name().to_string(),
        sys_id: sys_id.to_string(),
    }];
    // What belongs to the record goes with it: a user's password, an attachment's bytes.
    match table.name() {
        "sys_user" if db.passwords.contains_key(sys_id) => ops.push(Op::DropPassword {
            user: sys_id.to_string(),
        }),
        "sys_attachment" => ops.push(Op::DropBlob {
            sys_id: sys_id.to_string(),
        }),
        _ => {}
    }
    if let Some(attachments) = db.table("sys_attachment") {
        let by_record = attachments.column("table_sys_id").unwrap_or(0);
        let table_name = attachments.column("table_name").unwrap_or(0);
        for a in attachments.lookup(by_record, sys_id).unwrap_or_default() {
            if a.get(table_name) == table.name() {
                ops.push(Op::Delete {
                    table: "sys_attachment".to_string(),
                    sys_id: a.get(0).to_string(),
                });
                ops.push(Op::DropBlob {
                    sys_id: a.get(0).to_string(),
                });
            }
        }
    }
    Ok(Plan {
        ops,
        sys_id: sys_id.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::super::schema::all_tables;
    use super::*;
    use serde_json::json;

    fn itil() -> Actor {
        Actor {
            sys_id: "6816f79cc0a8016401c5a33be04be441".into(),
            user_name: "itil".into(),
            roles: vec!["itil".into()],
        }
    }

    fn insert(db: &mut Db, table: &str, body: Value) -> Result<String, SnError> {
        let t = db.table_index(table).unwrap();
        let plan = plan_insert(
            db,
            t,
            body.as_object().unwrap(),
            &itil(),
            "2026-11-25 10:00:00",
            WriteOptions::default(),
        )?;
        for op in &plan.ops {
            db.apply(op);
        }
        Ok(plan.sys_id)
    }

    fn update(db: &mut Db, table: &str, id: &str, body: Value) -> Result<usize, SnError> {
        let t = db.table_index(table).unwrap();
        let plan = plan_update(
            db,
            t,
            id,
            body.as_object().unwrap(),
            &itil(),
            "2026-11-25 11:00:00",
            WriteOptions::default(),
        )?;
        for op in &plan.ops {
            db.apply(op);
        }
        Ok(plan.ops.len())
    }

    fn field(db: &Db, table: &str, id: &str, f: &str) -> String {
        let t = db.table(table).unwrap();
        t.get(id).unwrap().get(t.column(f).unwrap()).to_string()
    }

    #[test]
    fn priority_follows_the_standard_matrix() {
        let expected = [
            ("1", "1", "1"),
            ("1", "2", "2"),
            ("1", "3", "3"),
            ("2", "1", "2"),
            ("2", "2", "3"),
            ("2", "3", "4"),
            ("3", "1", "3"),
            ("3", "2", "4"),
            ("3", "3", "5"),
        ];
        for (i, u, p) in expected {
            assert_eq!(priority_for(i, u), Some(p));
        }
        assert_eq!(priority_for("4", "1"), None);
    }

    #[test]
    fn inserts_number_stamp_and_derive() {
        let mut db = Db::new(all_tables());
        let id = insert(
            &mut db,
            "incident",
            json!({"short_description": "x", "impact": 1, "urgency": "2", "priority": "5"}),
        )
        .unwrap();
        assert_eq!(field(&db, "incident", &id, "number"), "INC0010001");
        assert_eq!(field(&db, "incident", &id, "priority"), "2");
        assert_eq!(field(&db, "incident", &id, "state"), "1");
        assert_eq!(field(&db, "incident", &id, "sys_created_by"), "itil");
        assert_eq!(field(&db, "incident", &id, "sys_mod_count"), "0");
        let id2 = insert(&mut db, "incident", json!({})).unwrap();
        assert_eq!(field(&db, "incident", &id2, "number"), "INC0010002");
        assert_eq!(field(&db, "incident", &id2, "priority"), "5");
        let p = insert(&mut db, "problem", json!({})).unwrap();
        assert_eq!(field(&db, "problem", &p, "number"), "PRB0040001");
        assert_eq!(field(&db, "problem", &p, "state"), "101");
    }

    #[test]
    fn an_update_that_changes_nothing_is_skipped() {
        let mut db = Db::new(all_tables());
        let id = insert(&mut db, "incident", json!({"short_description": "x"})).unwrap();
        assert_eq!(
            update(&mut db, "incident", &id, json!({"short_description": "x"})).unwrap(),
            0
        );
        assert_eq!(field(&db, "incident", &id, "sys_mod_count"), "0");
        assert_eq!(
            update(&mut db, "incident", &id, json!({"short_description": "y"})).unwrap(),
            1
        );
        assert_eq!(field(&db, "incident", &id, "sys_mod_count"), "1");
        assert_eq!(
            field(&db, "incident", &id, "sys_updated_on"),
            "2026-11-25 11:00:00"
        );
    }

    #[test]
    fn comments_append_journal_entries_and_count_as_updates() {
        let mut db = Db::new(all_tables());
        let id = insert(&mut db, "incident", json!({"comments": "first"})).unwrap();
        assert_eq!(
            update(&mut db, "incident", &id, json!({"work_notes": "second"})).unwrap(),
            2
        );
        let journal = db.table("sys_journal_field").unwrap();
        let values: Vec<_> = journal
            .records()
            .map(|r| r.get(journal.column("value").unwrap()).to_string())
            .collect();
        assert_eq!(values, ["first", "second"]);
        assert_eq!(field(&db, "incident", &id, "comments"), "");
        assert_eq!(field(&db, "incident", &id, "sys_mod_count"), "1");
    }

    #[test]
    fn resolving_needs_close_information_and_sets_resolution_fields() {
        let mut db = Db::new(all_tables());
        let id = insert(&mut db, "incident", json!({})).unwrap();
        let err = update(&mut db, "incident", &id, json!({"state": "6"})).unwrap_err();
        assert_eq!(err.status, http::StatusCode::FORBIDDEN);
        assert_eq!(
            err.detail.as_deref(),
            Some("Data Policy Exception: \n\tThe following fields are mandatory: Resolution code, Resolution notes")
        );
        update(
            &mut db,
            "incident",
            &id,
            json!({"state": 6, "close_code": "Solution provided", "close_notes": "done"}),
        )
        .unwrap();
        assert_eq!(
            field(&db, "incident", &id, "resolved_at"),
            "2026-11-25 11:00:00"
        );
        assert_eq!(field(&db, "incident", &id, "active"), "true");
        update(&mut db, "incident", &id, json!({"state": "7"})).unwrap();
        assert_eq!(field(&db, "incident", &id, "active"), "false");
        assert_eq!(field(&db, "incident", &id, "incident_state"), "7");
        update(&mut db, "incident", &id, json!({"state": "2"})).unwrap();
        assert_eq!(field(&db, "incident", &id, "resolved_at"), "");
        assert_eq!(field(&db, "incident", &id, "reopen_count"), "1");
    }

    #[test]
    fn inputs_are_coerced_or_refused_by_type() {
        let mut db = Db::new(all_tables());
        let id = insert(
            &mut db,
            "incident",
            json!({"active": "0", "due_date": "2026-12-01", "unknown_field": "ignored"}),
        )
        .unwrap();
        assert_eq!(
            field(&db, "incident", &id, "active"),
            "true",
            "derived from state"
        );
        assert_eq!(
            field(&db, "incident", &id, "due_date"),
            "2026-12-01 00:00:00"
        );
        let err = insert(&mut db, "incident", json!({"impact": "high"})).unwrap_err();
        assert_eq!(err.status, http::StatusCode::BAD_REQUEST);
        assert!(err.detail.unwrap().contains("'impact'"));
        let err = insert(&mut db, "incident", json!({"short_description": ["a"]})).unwrap_err();
        assert!(err.detail.unwrap().contains("must be a string"));
    }

    #[test]
    fn references_resolve_display_values() {
        let mut db = Db::new(all_tables());
        let t = db.table_index("sys_user").unwrap();
        let admin = Actor {
            roles: vec!["admin".into()],
            ..itil()
        };
        let plan = plan_insert(
            &db,
            t,
            json!({"user_name": "beth", "first_name": "Beth", "last_name": "Anglin"})
                .as_object()
                .unwrap(),
            &admin,
            "2026-11-25 10:00:00",
            WriteOptions::default(),
        )
        .unwrap();
        for op in &plan.ops {
            db.apply(op);
        }
        let id = insert(
            &mut db,
            "incident",
            json!({"caller_id": "beth anglin", "assigned_to": "nobody"}),
        )
        .unwrap();
        assert_eq!(field(&db, "incident", &id, "caller_id"), plan.sys_id);
        assert_eq!(field(&db, "incident", &id, "assigned_to"), "nobody");
    }

    #[test]
    fn roles_gate_writes() {
        let db = Db::new(all_tables());
        let nobody = Actor {
            roles: vec![],
            ..itil()
        };
        let t = db.table_index("incident").unwrap();
        let err =
            plan_insert(&db, t, &Map::new(), &nobody, "now", WriteOptions::default()).unwrap_err();
        assert_eq!(err, SnError::acl("Insert"));
        let users = db.table_index("sys_user").unwrap();
        assert!(plan_insert(
            &db,
            users,
            &Map::new(),
            &itil(),
            "now",
            WriteOptions::default()
        )
        .is_err());
    }

    #[test]
    fn counters_at_the_top_of_their_range_saturate() {
        let mut db = Db::new(all_tables());
        let id = insert(&mut db, "incident", json!({"reopen_count": i64::MAX})).unwrap();
        update(
            &mut db,
            "incident",
            &id,
            json!({"state": 6, "close_code": "Duplicate", "close_notes": "x"}),
        )
        .unwrap();
        update(&mut db, "incident", &id, json!({"state": 2})).unwrap();
        assert_eq!(
            field(&db, "incident", &id, "reopen_count"),
            i64::MAX.to_string()
        );

        let t = db.table_index("incident").unwrap();
        let opts = WriteOptions {
            suppress_auto_sys_field: true,
            ..Default::default()
        };
        let plan = plan_update(
            &db,
            t,
            &id,
            json!({"sys_mod_count": i64::MAX}).as_object().unwrap(),
            &itil(),
            "now",
            opts,
        )
        .unwrap();
        for op in &plan.ops {
            db.apply(op);
        }
        update(
            &mut db,
            "incident",
            &id,
            json!({"short_description": "again"}),
        )
        .unwrap();
        assert_eq!(
            field(&db, "incident", &id, "sys_mod_count"),
            i64::MAX.to_string()
        );
    }

    #[test]
    fn deleting_a_user_or_an_attachment_record_takes_its_secrets_and_bytes_along() {
        let mut db = Db::new(all_tables());
        let admin = Actor {
            roles: vec!["admin".into()],
            ..itil()
        };
        let users = db.table_index("sys_user").unwrap();
        let plan = plan_insert(
            &db,
            users,
            json!({"user_name": "gone", "user_password": "pw"})
                .as_object()
                .unwrap(),
            &admin,
            "now",
            WriteOptions::default(),
        )
        .unwrap();
        for op in &plan.ops {
            db.apply(op);
        }
        assert!(db.passwords.contains_key(&plan.sys_id));
        for op in plan_delete(&db, users, &plan.sys_id, &admin).unwrap().ops {
            db.apply(&op);
        }
        assert!(!db.passwords.contains_key(&plan.sys_id));

        db.apply(&Op::Blob {
            sys_id: "a1".into(),
            data: bytes::Bytes::from_static(b"x"),
        });
        db.apply(&Op::Put {
            table: "sys_attachment".into(),
            record: [("sys_id".to_string(), "a1".to_string())].into(),
        });
        let attachments = db.table_index("sys_attachment").unwrap();
        for op in plan_delete(&db, attachments, "a1", &admin).unwrap().ops {
            db.apply(&op);
        }
        assert!(db.blobs.is_empty());
    }

    #[test]
    fn reopening_from_any_closed_state_clears_the_closure_stamps() {
        let mut db = Db::new(all_tables());
        let inc = insert(&mut db, "incident", json!({})).unwrap();
        update(&mut db, "incident", &inc, json!({"state": "8"})).unwrap();
        assert_eq!(
            field(&db, "incident", &inc, "closed_at"),
            "2026-11-25 11:00:00"
        );
        update(&mut db, "incident", &inc, json!({"state": "2"})).unwrap();
        assert_eq!(field(&db, "incident", &inc, "closed_at"), "");
        assert_eq!(field(&db, "incident", &inc, "reopen_count"), "1");

        let chg = insert(&mut db, "change_request", json!({})).unwrap();
        update(&mut db, "change_request", &chg, json!({"state": "3"})).unwrap();
        assert_eq!(field(&db, "change_request", &chg, "active"), "false");
        update(&mut db, "change_request", &chg, json!({"state": "-1"})).unwrap();
        assert_eq!(field(&db, "change_request", &chg, "active"), "true");
        assert_eq!(field(&db, "change_request", &chg, "closed_at"), "");
        assert_eq!(field(&db, "change_request", &chg, "closed_by"), "");
    }
}
