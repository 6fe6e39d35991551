//! Seed data: the configured users, sample users and groups, and N incidents with comments,
//! plus a few problems, change requests and catalog tasks. Deterministic, so that tests and
//! demos see the same sys_ids every time; created through the same write path as the API.

use super::config::ServiceNowConfig;
use super::db::Db;
use super::schema::all_tables;
use super::writes::{plan_insert, plan_update, Actor, WriteOptions};
use chrono::{Duration, NaiveDateTime};
use rand::rngs::SmallRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use serde_json::{json, Map, Value};
use twinsync_query::servicenow::format_datetime;

const FIRST: &[&str] = &[
    "Abel", "Beth", "Charlie", "David", "Fred", "Bud", "Carol", "Don", "Jerrod", "Joe", "Kimberly",
    "Luke", "Miranda", "Natasha", "Rob", "Sam", "Tina", "Vera", "Wes", "Zane",
];
const LAST: &[&str] = &[
    "Tuter",
    "Anglin",
    "Whitherspoon",
    "Loo",
    "Luddy",
    "Richter",
    "Seehorn",
    "Goodliffe",
    "Bennett",
    "Employee",
    "Kind",
    "Wilson",
    "Morton",
    "Ellis",
    "Lopez",
    "Nguyen",
    "Park",
    "Quinn",
    "Ortiz",
    "Young",
];
const GROUPS: &[&str] = &[
    "Service Desk",
    "Network",
    "Database",
    "Hardware",
    "Software",
    "Application Development",
];

/// (short description, category, description)
const INCIDENTS: &[(&str, &str, &str)] = &[
    (
        "Email is not syncing on my phone",
        "software",
        "Mail stopped arriving on the mobile app since this morning.",
    ),
    (
        "VPN disconnects every hour",
        "network",
        "The VPN client drops the tunnel roughly every sixty minutes.",
    ),
    (
        "Printer on floor 3 jams",
        "hardware",
        "The shared printer near the kitchen jams on every second page.",
    ),
    (
        "Cannot log in to the HR portal",
        "software",
        "Login fails with 'invalid session' after entering credentials.",
    ),
    (
        "Database backups are failing",
        "database",
        "The nightly backup job reports a timeout writing to storage.",
    ),
    (
        "Laptop battery swells",
        "hardware",
        "The laptop lid does not close; the battery looks swollen.",
    ),
    (
        "Wi-Fi is slow in meeting room B",
        "network",
        "Video calls freeze in meeting room B; other rooms are fine.",
    ),
    (
        "Request for a new monitor",
        "hardware",
        "Second monitor needed for the new analyst starting Monday.",
    ),
    (
        "Expense app crashes on upload",
        "software",
        "Uploading a receipt photo closes the app without a message.",
    ),
    (
        "Shared drive is read-only",
        "network",
        "Since the weekend the team drive refuses every save.",
    ),
    (
        "Slow queries on the orders database",
        "database",
        "Order search takes over 30 seconds at peak time.",
    ),
    (
        "Password reset emails never arrive",
        "inquiry",
        "The self-service reset sends nothing to my inbox.",
    ),
];

const COMMENTS: &[&str] = &[
    "Thanks, I can reproduce this on my side.",
    "Could you send a screenshot of the error?",
    "Restarted the service; please check again.",
    "Still happening after the restart.",
    "Escalating to the second line team.",
    "Workaround: use the web client until the fix is deployed.",
    "Vendor ticket opened, waiting for their answer.",
    "Confirmed fixed on my machine, thank you!",
];

fn sys_id(rng: &mut SmallRng) -> String {
    let bytes: [u8; 16] = rng.random();
    hex::encode(bytes)
}

fn object(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// The actor seed writes run as: the named user (by sys_id once it exists), with admin
/// rights so that every seed write is allowed.
fn seeder(db: &Db, user_name: &str) -> Actor {
    let sys_id = db
        .table("sys_user")
        .and_then(|t| {
            let c = t.column("user_name")?;
            t.lookup(c, user_name)?
                .first()
                .map(|r| r.get(0).to_string())
        })
        .unwrap_or_default();
    Actor {
        sys_id,
        user_name: user_name.to_string(),
        roles: vec!["admin".to_string()],
    }
}

/// Runs planned writes against `db`; seed data is built from valid input, so a refusal is a
/// bug in this module and is logged rather than hidden.
fn write(
    db: &mut Db,
    table: &str,
    id: Option<&str>,
    body: Value,
    actor: &Actor,
    at: NaiveDateTime,
) {
    let Some(t) = db.table_index(table) else {
        return;
    };
    let now = format_datetime(at);
    let opts = WriteOptions::default();
    let plan = match id {
        None => plan_insert(db, t, &object(body), actor, &now, opts),
        Some(id) => plan_update(db, t, id, &object(body), actor, &now, opts),
    };
    match plan {
        Ok(plan) => {
            for op in &plan.ops {
                db.apply(op);
            }
        }
        Err(e) => tracing::error!(table, error = ?e, "seed write refused"),
    }
}

/// A fresh instance holding the seed data for `config`, with timestamps before `now`.
pub fn seeded(config: &ServiceNowConfig, now: NaiveDateTime) -> Db {
    let mut db = Db::new(all_tables());
    let mut rng = SmallRng::seed_from_u64(20_261_125);
    let start = now - Duration::days(30);
    let mut admin = seeder(&db, "admin");

    let mut user_ids = Vec::new();
    for spec in &config.users {
        let id = sys_id(&mut rng);
        let body = json!({
            "sys_id": id,
            "user_name": spec.user_name,
            "first_name": spec.first_name.clone().unwrap_or_else(|| spec.user_name.clone()),
            "last_name": spec.last_name.clone().unwrap_or_default(),
            "email": spec.email.clone().unwrap_or_else(|| format!("{}@example.com", spec.user_name)),
            "roles": spec.roles.join(","),
            "time_zone": "GMT",
            "user_password": spec.password,
        });
        write(&mut db, "sys_user", None, body, &admin, start);
    }
    for (i, (first, last)) in FIRST.iter().zip(LAST).enumerate() {
        let id = sys_id(&mut rng);
        let user_name = format!("{}.{}", first.to_lowercase(), last.to_lowercase());
        let body = json!({
            "sys_id": id,
            "user_name": user_name,
            "first_name": first,
            "last_name": last,
            "email": format!("{user_name}@example.com"),
            "title": if i % 4 == 0 { "Service Desk Analyst" } else { "Employee" },
            "department": (["Sales", "Finance", "IT", "HR", "Engineering"][i % 5]),
            "roles": if i % 4 == 0 { "itil" } else { "" },
            "time_zone": "GMT",
            "manager": user_ids.first().cloned().unwrap_or_default(),
        });
        write(&mut db, "sys_user", None, body, &admin, start);
        user_ids.push(id);
    }
    let agents: Vec<String> = user_ids.iter().step_by(4).cloned().collect();
    admin = seeder(&db, "admin");

    let mut group_ids = Vec::new();
    for name in GROUPS {
        let id = sys_id(&mut rng);
        let body = json!({
            "sys_id": id,
            "name": name,
            "description": format!("{name} team"),
            "email": format!("{}@example.com", name.to_lowercase().replace(' ', "-")),
            "manager": agents.choose(&mut rng).cloned().unwrap_or_default(),
            "type": "itil",
        });
        write(&mut db, "sys_user_group", None, body, &admin, start);
        group_ids.push(id);
    }

    // The data dictionary, from its own random stream so the seed records stay as they were.
    let mut dictionary_rng = SmallRng::seed_from_u64(1_000_000_007);
    let (objects, dictionary, choices) =
        super::dictionary::records(&all_tables(), || sys_id(&mut dictionary_rng));
    for (table, bodies) in [
        ("sys_db_object", objects),
        ("sys_dictionary", dictionary),
        ("sys_choice", choices),
    ] {
        for body in bodies {
            write(&mut db, table, None, body, &admin, start);
        }
    }

    let span_secs = (now - start).num_seconds().max(1);
    for i in 0..config.seed_incidents {
        let (short, category, description) = INCIDENTS[i % INCIDENTS.len()];
        let id = sys_id(&mut rng);
        let created = start + Duration::seconds(rng.random_range(0..span_secs));
        let caller = user_ids.choose(&mut rng).cloned().unwrap_or_default();
        let state_roll: u32 = rng.random_range(0..100);
        let mut body = json!({
            "sys_id": id,
            "short_description": short,
            "description": description,
            "category": category,
            "caller_id": caller,
            "impact": rng.random_range(1..=3),
            "urgency": rng.random_range(1..=3),
            "contact_type": (["email", "phone", "self-service"][i % 3]),
            "assignment_group": group_ids.choose(&mut rng).cloned().unwrap_or_default(),
        });
        if state_roll >= 40 {
            body["assigned_to"] = json!(agents.choose(&mut rng).cloned().unwrap_or_default());
        }
        let caller_name = user_name_of(&db, &caller);
        let actor = seeder(&db, &caller_name);
        write(&mut db, "incident", None, body, &actor, created);

        let mut at = created;
        let left = (now - created).num_seconds().max(4);
        let comments = rng.random_range(0..=3);
        for c in 0..comments {
            at += Duration::seconds(rng.random_range(1..=left / 4));
            let element = if c % 2 == 0 { "comments" } else { "work_notes" };
            let text = COMMENTS.choose(&mut rng).copied().unwrap_or_default();
            let by = if c % 2 == 0 {
                caller_name.clone()
            } else {
                "itil".to_string()
            };
            let actor = seeder(&db, &by);
            write(
                &mut db,
                "incident",
                Some(&id),
                json!({ element: text }),
                &actor,
                at,
            );
        }
        let update = match state_roll {
            0..=39 => None,
            40..=64 => Some(json!({"state": "2"})),
            65..=74 => Some(json!({"state": "3", "hold_reason": "1"})),
            75..=89 => Some(
                json!({"state": "6", "close_code": "Solution provided", "close_notes": "Fixed by the service desk."}),
            ),
            _ => Some(
                json!({"state": "7", "close_code": "Solution provided", "close_notes": "Fixed and confirmed by the caller."}),
            ),
        };
        if let Some(update) = update {
            at += Duration::seconds(rng.random_range(1..=left / 4));
            let actor = seeder(&db, "itil");
            write(&mut db, "incident", Some(&id), update, &actor, at);
        }
    }

    if config.seed_incidents > 0 {
        for i in 0..5 {
            let at = start + Duration::hours(i * 24 + 3);
            let agent = agents[i as usize % agents.len()].clone();
            let problem = json!({"sys_id": sys_id(&mut rng), "short_description": format!("Recurring outage #{}", i + 1), "assigned_to": agent, "impact": 2, "urgency": 2});
            write(&mut db, "problem", None, problem, &admin, at);
            let change = json!({"sys_id": sys_id(&mut rng), "short_description": format!("Patch servers, wave {}", i + 1), "assigned_to": agent, "type": (["normal", "standard", "emergency"][i as usize % 3])});
            write(&mut db, "change_request", None, change, &admin, at);
            let task = json!({"sys_id": sys_id(&mut rng), "short_description": format!("Prepare laptop for new hire #{}", i + 1), "assigned_to": agent});
            write(&mut db, "sc_task", None, task, &admin, at);
        }
    }
    db
}

fn user_name_of(db: &Db, sys_id: &str) -> String {
    db.table("sys_user")
        .and_then(|t| {
            let c = t.column("user_name")?;
            t.get(sys_id).map(|r| r.get(c).to_string())
        })
        .unwrap_or_else(|| "admin".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> NaiveDateTime {
        NaiveDateTime::parse_from_str("2026-11-25 12:00:00", "%Y-%m-%d %H:%M:%S").unwrap()
    }

    #[test]
    fn seeding_is_deterministic_and_complete() {
        let config = ServiceNowConfig {
            seed_incidents: 40,
            ..Default::default()
        };
        let a = seeded(&config, now());
        let b = seeded(&config, now());
        let ids = |db: &Db, t: &str| -> Vec<String> {
            db.table(t)
                .unwrap()
                .records()
                .map(|r| r.get(0).to_string())
                .collect()
        };
        assert_eq!(ids(&a, "incident"), ids(&b, "incident"));
        assert_eq!(ids(&a, "sys_user"), ids(&b, "sys_user"));
        assert_eq!(a.table("incident").unwrap().len(), 40);
        assert_eq!(a.table("sys_user").unwrap().len(), 22);
        assert_eq!(a.table("sys_user_group").unwrap().len(), 6);
        assert_eq!(a.table("problem").unwrap().len(), 5);
        assert!(a.table("sys_journal_field").unwrap().len() > 20);
        let inc = a.table("incident").unwrap();
        let numbers: Vec<_> = inc
            .records()
            .map(|r| r.get(inc.column("number").unwrap()).to_string())
            .collect();
        assert_eq!(numbers[0], "INC0010001");
        assert_eq!(numbers[39], "INC0010040");
        let updated = inc.column("sys_updated_on").unwrap();
        assert!(inc
            .records()
            .all(|r| r.get(updated) <= "2026-11-25 12:00:00"));
        assert!(a.passwords.values().any(|p| p == "admin"));
    }
}
