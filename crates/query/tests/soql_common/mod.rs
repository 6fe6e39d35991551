//! A tiny in-memory Salesforce org (Case, Account, User, CaseComment) with a SOQL catalog,
//! for evaluating SOQL in tests.
#![allow(dead_code)]

use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use twinsync_model::{salesforce_id, FieldDef, FieldType};
use twinsync_query::soql::{
    format_sf_datetime, parse_sf_datetime, validate, BoundSoql, Relationship, Selected,
    SoqlCatalog, SoqlError, SoqlRows,
};

pub const CASE: usize = 0;
pub const ACCOUNT: usize = 1;
pub const USER: usize = 2;
pub const COMMENT: usize = 3;

/// Case columns.
pub const C_ID: usize = 0;
pub const C_NUMBER: usize = 1;
pub const C_SUBJECT: usize = 2;
pub const C_STATUS: usize = 3;
pub const C_PRIORITY: usize = 4;
pub const C_CLOSED: usize = 5;
pub const C_ACCOUNT: usize = 6;
pub const C_OWNER: usize = 7;
pub const C_CREATED: usize = 8;
pub const C_DUE: usize = 9;
pub const C_AMOUNT: usize = 10;

/// One object: its schema, the column shown by [`run`], and its records.
pub struct Object {
    pub name: &'static str,
    pub fields: Vec<FieldDef>,
    /// The column `run` reports for each matching record.
    pub label: usize,
    pub rows: Vec<Vec<Value>>,
}

/// A child relationship: `name` on `parent` lists the records of `child` whose `column`
/// points at the parent.
pub struct ChildRel {
    pub parent: usize,
    pub name: &'static str,
    pub child: usize,
    pub column: usize,
}

/// The catalog and the data in one place.
pub struct Org {
    pub objects: Vec<Object>,
    pub children: Vec<ChildRel>,
}

/// The 18-character form of a 15-character id.
pub fn id(id15: &str) -> String {
    salesforce_id::normalize(id15).unwrap_or_else(|| panic!("not an id: {id15}"))
}

/// 2026-11-25 12:00:00 UTC, a Wednesday.
pub fn now() -> DateTime<Utc> {
    parse_sf_datetime("2026-11-25T12:00:00Z").unwrap()
}

/// A datetime in the canonical stored form.
pub fn dt(text: &str) -> Value {
    json!(format_sf_datetime(parse_sf_datetime(text).unwrap()))
}

pub const CASE_IDS: [&str; 6] = [
    "500000000000001",
    "500000000000002",
    "5000X00000abCD3",
    "500000000000004",
    "500000000000005",
    "500000000000006",
];
pub const ACCOUNT_IDS: [&str; 3] = ["001000000000001", "001000000000002", "001000000000003"];
pub const USER_IDS: [&str; 3] = ["005000000000001", "005000000000002", "005000000000003"];

/// The CaseNumber of the n-th case (1-based).
pub fn case_number(n: usize) -> String {
    format!("0000100{n}")
}

fn reference(target: &str) -> FieldType {
    FieldType::Reference {
        target: target.into(),
    }
}

fn f(name: &str, ty: FieldType) -> FieldDef {
    FieldDef::new(name, name, ty)
}

/// Six cases covering nulls, mixed case, relationships (including a broken chain) and every
/// field type; three accounts, three users and five comments.
///
/// | case | Subject               | Status    | Priority | Closed | Account | Owner | Created (UTC)       | Due        | Amount |
/// |------|-----------------------|-----------|----------|--------|---------|-------|---------------------|------------|--------|
/// | 1    | Printer on fire       | New       | High     | false  | Acme    | Abel  | 2026-11-25 09:00:00 | 2026-11-30 | 100    |
/// | 2    | VPN drops             | Working   | Medium   | false  | Globex  | Beth  | 2026-11-24 23:59:59 | 2026-11-25 | 250.5  |
/// | 3    | 100% CPU              | Closed    | Low      | true   | Acme    | Beth  | 2026-10-01 00:00:00 | 2026-10-02 | -3.5   |
/// | 4    | null                  | New       | null     | false  | null    | Carl  | 2026-11-20 12:00:00 | null       | null   |
/// | 5    | email QUOTA_exceeded  | Escalated | High     | false  | Initech | Abel  | 2025-01-01 00:00:00 | 2026-12-01 | 0      |
/// | 6    | Laptop broken         | Closed    | medium   | true   | Globex  | null  | 2026-11-26 08:00:00 | 2026-11-27 | 1000   |
///
/// Acme and Globex are owned by Abel and Beth; Initech has no owner. Carl has no email.
pub fn sample() -> Org {
    let case_fields = vec![
        f("Id", FieldType::Id),
        f("CaseNumber", FieldType::String),
        f("Subject", FieldType::String),
        f("Status", FieldType::String).with_choices(&[
            ("New", "New"),
            ("Working", "Working"),
            ("Escalated", "Escalated"),
            ("Closed", "Closed"),
        ]),
        f("Priority", FieldType::String),
        f("IsClosed", FieldType::Boolean),
        f("AccountId", reference("Account")),
        f("OwnerId", reference("User")),
        f("CreatedDate", FieldType::DateTime),
        f("Due__c", FieldType::Date),
        f("Amount__c", FieldType::Decimal),
    ];
    let a = |i: usize| json!(id(ACCOUNT_IDS[i - 1]));
    let u = |i: usize| json!(id(USER_IDS[i - 1]));
    let n = Value::Null;
    #[rustfmt::skip]
    let cases = vec![
        vec![json!(id(CASE_IDS[0])), json!(case_number(1)), json!("Printer on fire"), json!("New"), json!("High"), json!(false), a(1), u(1), dt("2026-11-25T09:00:00Z"), json!("2026-11-30"), json!(100)],
        vec![json!(id(CASE_IDS[1])), json!(case_number(2)), json!("VPN drops"), json!("Working"), json!("Medium"), json!(false), a(2), u(2), dt("2026-11-24T23:59:59Z"), json!("2026-11-25"), json!(250.5)],
        vec![json!(id(CASE_IDS[2])), json!(case_number(3)), json!("100% CPU"), json!("Closed"), json!("Low"), json!(true), a(1), u(2), dt("2026-10-01T00:00:00Z"), json!("2026-10-02"), json!(-3.5)],
        vec![json!(id(CASE_IDS[3])), json!(case_number(4)), n.clone(), json!("New"), n.clone(), json!(false), n.clone(), u(3), dt("2026-11-20T12:00:00Z"), n.clone(), n.clone()],
        vec![json!(id(CASE_IDS[4])), json!(case_number(5)), json!("email QUOTA_exceeded"), json!("Escalated"), json!("High"), json!(false), a(3), u(1), dt("2025-01-01T00:00:00Z"), json!("2026-12-01"), json!(0)],
        vec![json!(id(CASE_IDS[5])), json!(case_number(6)), json!("Laptop broken"), json!("Closed"), json!("medium"), json!(true), a(2), n.clone(), dt("2026-11-26T08:00:00Z"), json!("2026-11-27"), json!(1000)],
    ];
    let accounts = vec![
        vec![a(1), json!("Acme"), u(1)],
        vec![a(2), json!("Globex"), u(2)],
        vec![a(3), json!("Initech"), n.clone()],
    ];
    let users = vec![
        vec![u(1), json!("Abel Tuter"), json!("abel@example.com")],
        vec![u(2), json!("Beth Anglin"), json!("BETH@example.com")],
        vec![u(3), json!("Carl Null"), n.clone()],
    ];
    let c = |i: usize| json!(id(CASE_IDS[i - 1]));
    let cc = |i: usize| json!(id(&format!("00a00000000000{i}")));
    #[rustfmt::skip]
    let comments = vec![
        vec![cc(1), c(1), json!("First"), json!(true), dt("2026-11-25T10:00:00Z")],
        vec![cc(2), c(1), json!("Hidden"), json!(false), dt("2026-11-25T13:00:00Z")],
        vec![cc(3), c(1), json!("Third"), json!(true), dt("2026-11-25T11:00:00Z")],
        vec![cc(4), c(2), json!("Other case"), json!(true), dt("2026-11-24T10:00:00Z")],
        vec![cc(5), c(1), json!("Latest"), json!(true), dt("2026-11-25T12:00:00Z")],
    ];
    Org {
        objects: vec![
            Object {
                name: "Case",
                fields: case_fields,
                label: C_NUMBER,
                rows: cases,
            },
            Object {
                name: "Account",
                fields: vec![
                    f("Id", FieldType::Id),
                    f("Name", FieldType::String),
                    f("OwnerId", reference("User")),
                ],
                label: 1,
                rows: accounts,
            },
            Object {
                name: "User",
                fields: vec![
                    f("Id", FieldType::Id),
                    f("Name", FieldType::String),
                    f("Email", FieldType::String),
                ],
                label: 1,
                rows: users,
            },
            Object {
                name: "CaseComment",
                fields: vec![
                    f("Id", FieldType::Id),
                    f("ParentId", reference("Case")),
                    f("CommentBody", FieldType::String),
                    f("IsPublished", FieldType::Boolean),
                    f("CreatedDate", FieldType::DateTime),
                ],
                label: 2,
                rows: comments,
            },
        ],
        children: vec![ChildRel {
            parent: CASE,
            name: "CaseComments",
            child: COMMENT,
            column: 1,
        }],
    }
}

impl SoqlCatalog for Org {
    fn object(&self, name: &str) -> Option<usize> {
        self.objects
            .iter()
            .position(|o| o.name.eq_ignore_ascii_case(name))
    }

    fn object_name(&self, object: usize) -> &str {
        self.objects[object].name
    }

    fn field(&self, object: usize, name: &str) -> Option<(usize, &FieldDef)> {
        let fields = &self.objects[object].fields;
        fields
            .iter()
            .position(|f| f.name.eq_ignore_ascii_case(name))
            .map(|i| (i, &fields[i]))
    }

    /// `AccountId` gives the relationship `Account`, `OwnerId` gives `Owner`.
    fn parent(&self, object: usize, name: &str) -> Option<Relationship> {
        self.objects[object]
            .fields
            .iter()
            .enumerate()
            .find_map(|(column, f)| {
                let target = f.ty.reference_target()?;
                let rel = f.name.strip_suffix("Id")?;
                rel.eq_ignore_ascii_case(name).then(|| Relationship {
                    object: self.object(target).expect("reference target exists"),
                    column,
                    name: rel.to_string(),
                })
            })
    }

    fn child(&self, object: usize, name: &str) -> Option<Relationship> {
        self.children
            .iter()
            .find(|c| c.parent == object && c.name.eq_ignore_ascii_case(name))
            .map(|c| Relationship {
                object: c.child,
                column: c.column,
                name: c.name.to_string(),
            })
    }
}

impl SoqlRows for Org {
    /// (object, index)
    type Row = (usize, usize);

    fn value(&self, row: (usize, usize), column: usize) -> &Value {
        &self.objects[row.0].rows[row.1][column]
    }

    fn parent(&self, row: (usize, usize), column: usize, object: usize) -> Option<(usize, usize)> {
        let target = self.value(row, column).as_str()?;
        self.objects[object]
            .rows
            .iter()
            .position(|r| r[0].as_str() == Some(target))
            .map(|i| (object, i))
    }
}

/// Parses and binds `q` against the sample catalog.
pub fn bound(q: &str) -> Result<BoundSoql, SoqlError> {
    validate(q, &sample(), now())
}

/// The records of the queried object matching `bound`, sorted, with OFFSET and LIMIT
/// applied. The sort is stable, so ties keep storage order.
pub fn select_rows(org: &Org, bound: &BoundSoql) -> Vec<(usize, usize)> {
    let object = bound.object;
    let mut rows: Vec<(usize, usize)> = (0..org.objects[object].rows.len())
        .map(|i| (object, i))
        .filter(|r| bound.matches(org, *r))
        .collect();
    rows.sort_by(|a, b| bound.compare(org, *a, *b));
    let offset = bound.offset.unwrap_or(0) as usize;
    let limit = bound.limit.map_or(usize::MAX, |l| l as usize);
    rows.into_iter().skip(offset).take(limit).collect()
}

/// The child records of `parent` for each child subquery of `bound`, filtered, sorted and
/// limited by the subquery.
pub fn children_of(
    org: &Org,
    bound: &BoundSoql,
    parent: (usize, usize),
) -> Vec<Vec<(usize, usize)>> {
    let parent_id = org.value(parent, 0).as_str().unwrap().to_string();
    bound
        .select
        .iter()
        .filter_map(|s| match s {
            Selected::Children(c) => Some(c),
            Selected::Field(_) => None,
        })
        .map(|c| {
            let object = c.relationship.object;
            let mut rows: Vec<(usize, usize)> = (0..org.objects[object].rows.len())
                .map(|i| (object, i))
                .filter(|r| org.value(*r, c.relationship.column).as_str() == Some(&parent_id))
                .filter(|r| c.filter.as_ref().is_none_or(|f| f.matches(org, *r)))
                .collect();
            rows.sort_by(|a, b| twinsync_query::soql::compare_rows(org, &c.order, *a, *b));
            rows.truncate(c.limit.map_or(usize::MAX, |l| l as usize));
            rows
        })
        .collect()
}

/// The label column (CaseNumber for cases, Name for accounts and users, CommentBody for
/// comments) of the rows `q` returns, in order, from `org`.
pub fn run_on(org: &Org, q: &str) -> Vec<String> {
    let bound = validate(q, org, now()).unwrap_or_else(|e| panic!("{q}:{}", e.message()));
    select_rows(org, &bound)
        .into_iter()
        .map(|r| {
            let label = org.objects[r.0].label;
            org.value(r, label).as_str().unwrap_or("<null>").to_string()
        })
        .collect()
}

/// [`run_on`] against the sample org.
pub fn run(q: &str) -> Vec<String> {
    run_on(&sample(), q)
}
