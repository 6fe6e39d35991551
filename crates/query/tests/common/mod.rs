//! A tiny in-memory dataset with a catalog, for evaluating encoded queries in tests.
#![allow(dead_code)]

use chrono::NaiveDateTime;
use twinsync_model::FieldType;
use twinsync_query::servicenow::{Catalog, Rows};

pub struct Table {
    pub name: &'static str,
    pub fields: Vec<(&'static str, FieldType)>,
    pub display: &'static str,
    pub rows: Vec<Vec<String>>,
}

pub struct Db {
    pub tables: Vec<Table>,
}

fn reference(t: &str) -> FieldType {
    FieldType::Reference { target: t.into() }
}

pub fn now() -> NaiveDateTime {
    NaiveDateTime::parse_from_str("2026-11-25 12:00:00", "%Y-%m-%d %H:%M:%S").unwrap()
}

/// Users u1..u3 and six incidents covering empty values, references and dates.
pub fn sample() -> Db {
    let users = Table {
        name: "sys_user",
        display: "name",
        fields: vec![
            ("sys_id", FieldType::Id),
            ("name", FieldType::String),
            ("email", FieldType::String),
            ("manager", reference("sys_user")),
        ],
        rows: vec![
            vec![
                "u1".into(),
                "Abel Tuter".into(),
                "abel@example.com".into(),
                "u3".into(),
            ],
            vec![
                "u2".into(),
                "Beth Anglin".into(),
                "beth@example.com".into(),
                "u3".into(),
            ],
            vec!["u3".into(), "Ólafur Boss".into(), "".into(), "".into()],
        ],
    };
    let incident_fields = vec![
        ("sys_id", FieldType::Id),
        ("number", FieldType::String),
        ("short_description", FieldType::String),
        ("priority", FieldType::Integer),
        ("active", FieldType::Boolean),
        ("caller_id", reference("sys_user")),
        ("assigned_to", reference("sys_user")),
        ("sys_updated_on", FieldType::DateTime),
        ("due", FieldType::Date),
    ];
    let row = |id: &str,
               num: &str,
               sd: &str,
               p: &str,
               a: &str,
               c: &str,
               at: &str,
               up: &str,
               due: &str| {
        [id, num, sd, p, a, c, at, up, due]
            .iter()
            .map(|s| s.to_string())
            .collect()
    };
    let incidents = Table {
        name: "incident",
        display: "number",
        fields: incident_fields,
        rows: vec![
            row(
                "i1",
                "INC0010001",
                "Email is down",
                "1",
                "true",
                "u1",
                "u2",
                "2026-11-25 09:00:00",
                "2026-11-30",
            ),
            row(
                "i2",
                "INC0010002",
                "VPN drops",
                "3",
                "true",
                "u2",
                "",
                "2026-11-24 23:59:59",
                "",
            ),
            row(
                "i3",
                "INC0010003",
                "Printer jam ^ again",
                "5",
                "false",
                "u1",
                "u1",
                "2026-10-01 00:00:00",
                "2026-10-02",
            ),
            row(
                "i4",
                "INC0010004",
                "",
                "2",
                "true",
                "",
                "u2",
                "2026-11-25 11:30:00",
                "",
            ),
            row(
                "i5",
                "INC0010005",
                "email QUOTA",
                "",
                "true",
                "u3",
                "",
                "2025-01-01 00:00:00",
                "",
            ),
            row(
                "i6",
                "INC0010006",
                "Laptop broken",
                "4",
                "false",
                "u9",
                "",
                "",
                "",
            ),
        ],
    };
    Db {
        tables: vec![incidents, users],
    }
}

impl Catalog for Db {
    fn table_id(&self, name: &str) -> Option<usize> {
        self.tables.iter().position(|t| t.name == name)
    }
    fn table_name(&self, table: usize) -> &str {
        self.tables[table].name
    }
    fn field(&self, table: usize, name: &str) -> Option<(usize, &FieldType)> {
        let t = &self.tables[table];
        t.fields
            .iter()
            .position(|(f, _)| *f == name)
            .map(|i| (i, &t.fields[i].1))
    }
    fn display_column(&self, table: usize) -> Option<usize> {
        let t = &self.tables[table];
        t.fields.iter().position(|(f, _)| *f == t.display)
    }
}

impl Rows for Db {
    type Row = (usize, usize);
    fn value(&self, row: (usize, usize), column: usize) -> &str {
        &self.tables[row.0].rows[row.1][column]
    }
    fn follow(&self, table: usize, sys_id: &str) -> Option<(usize, usize)> {
        self.tables[table]
            .rows
            .iter()
            .position(|r| r[0] == sys_id)
            .map(|i| (table, i))
    }
}
