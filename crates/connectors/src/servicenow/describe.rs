//! Table schemas from the data dictionary (`sys_db_object` for the table's ancestry,
//! `sys_dictionary` for fields, `sys_choice` for choice lists), and trigger validation
//! against them: the instance itself silently ignores a term it cannot read, so a trigger
//! is checked here before it is saved.

use super::api::{Api, Call};
use super::records::{rows, table_path, text};
use crate::error::{ConnectorError, ErrorKind, Result};
use serde_json::Value;
use std::collections::HashMap;
use twinsync_model::{Choice, EntitySchema, FieldDef, FieldType, PlatformKind};
use twinsync_query::servicenow as encoded;

/// How many ancestors of a table are looked up (incident → task is one).
const MAX_ANCESTRY: usize = 5;

fn not_found(table: &str) -> ConnectorError {
    ConnectorError::new(
        ErrorKind::NotFound,
        PlatformKind::ServiceNow,
        format!("describe {table}"),
        format!("the instance has no table `{table}` (or the integration user cannot read sys_db_object)"),
    )
}

/// The schema of `table`, its inherited fields included: two calls.
pub async fn describe(api: &Api, table: &str) -> Result<EntitySchema> {
    let what = format!("describe {table}");
    // The table and its ancestors in one query, by dot-walking super_class.
    let mut walk = Vec::new();
    let mut prefix = String::new();
    for _ in 0..MAX_ANCESTRY {
        prefix.push_str("super_class.");
        walk.push(format!("{prefix}name"));
    }
    let fields = format!("name,label,{}", walk.join(","));
    let q = format!("name={table}");
    let (found, _) = api
        .result(
            &what,
            &Call::get(table_path(
                "sys_db_object",
                &[
                    ("sysparm_query", q.as_str()),
                    ("sysparm_fields", fields.as_str()),
                    ("sysparm_limit", "1"),
                ],
            )),
        )
        .await?;
    let found = rows(found, &what)?;
    let Some(Value::Object(object)) = found.first() else {
        return Err(not_found(table));
    };
    let label = text(object, "label").to_string();
    let mut lineage = vec![table.to_string()];
    lineage.extend(
        walk.iter()
            .map(|w| text(object, w).to_string())
            .take_while(|n| !n.is_empty()),
    );
    let names = lineage.join(",");
    let dictionary_q = format!("nameIN{names}^elementISNOTEMPTY^active=true");
    let choice_q = format!("nameIN{names}^inactive=false^ORDERBYsequence");
    let answers = api
        .batch(
            &what,
            &[
                Call::get(table_path(
                    "sys_dictionary",
                    &[
                        ("sysparm_query", dictionary_q.as_str()),
                        (
                            "sysparm_fields",
                            "name,element,column_label,internal_type,reference,read_only,display",
                        ),
                        ("sysparm_exclude_reference_link", "true"),
                        ("sysparm_limit", "10000"),
                    ],
                )),
                Call::get(table_path(
                    "sys_choice",
                    &[
                        ("sysparm_query", choice_q.as_str()),
                        ("sysparm_fields", "name,element,value,label,language"),
                        ("sysparm_limit", "10000"),
                    ],
                )),
            ],
        )
        .await?;
    let mut answers = answers.into_iter();
    let dictionary = rows(answers.next().expect("two answers").result(&what)?, &what)?;
    let choices = rows(answers.next().expect("two answers").result(&what)?, &what)?;

    // Choices by field, the nearest table's list winning (a table may override its
    // parent's), English only.
    let mut lists: HashMap<String, (usize, Vec<Choice>)> = HashMap::new();
    for c in choices.iter().filter_map(Value::as_object) {
        let language = text(c, "language");
        if !language.is_empty() && language != "en" {
            continue;
        }
        let depth = lineage
            .iter()
            .position(|t| t == text(c, "name"))
            .unwrap_or(usize::MAX);
        let entry = lists
            .entry(text(c, "element").to_string())
            .or_insert((depth, Vec::new()));
        if depth < entry.0 {
            *entry = (depth, Vec::new());
        }
        if depth == entry.0 {
            entry.1.push(Choice {
                value: text(c, "value").to_string(),
                label: text(c, "label").to_string(),
            });
        }
    }

    // Fields, a table's own definition winning over its ancestors'.
    let mut defs: Vec<(usize, FieldDef)> = Vec::new();
    let mut display_field = String::new();
    for d in dictionary.iter().filter_map(Value::as_object) {
        let depth = lineage
            .iter()
            .position(|t| t == text(d, "name"))
            .unwrap_or(usize::MAX);
        let name = text(d, "element").to_string();
        let ty = field_type(text(d, "internal_type"), text(d, "reference"));
        let mut def = FieldDef::new(&name, text(d, "column_label"), ty);
        def.read_only = text(d, "read_only") == "true";
        if let Some((_, list)) = lists.get(&name) {
            def.choices = list.clone();
        }
        if text(d, "display") == "true" && display_field.is_empty() {
            display_field = name.clone();
        }
        match defs.iter_mut().find(|(_, f)| f.name == name) {
            Some(slot) if depth < slot.0 => *slot = (depth, def),
            Some(_) => {}
            None => defs.push((depth, def)),
        }
    }
    // Ancestors' fields first, as the platform lists them.
    defs.sort_by_key(|(depth, _)| std::cmp::Reverse(*depth));
    Ok(EntitySchema {
        name: table.to_string(),
        label,
        display_field: if display_field.is_empty() {
            "number".into()
        } else {
            display_field
        },
        fields: defs.into_iter().map(|(_, f)| f).collect(),
    })
}

/// A field's type from its dictionary `internal_type`.
fn field_type(internal: &str, reference: &str) -> FieldType {
    match internal {
        "integer" | "longint" => FieldType::Integer,
        "decimal" | "float" | "currency" | "price" | "percent_complete" => FieldType::Decimal,
        "boolean" => FieldType::Boolean,
        "glide_date_time" | "due_date" | "date_time" => FieldType::DateTime,
        "glide_date" | "date" => FieldType::Date,
        "journal" | "journal_input" | "journal_list" => FieldType::Journal,
        "GUID" | "sys_id" => FieldType::Id,
        "reference" if !reference.is_empty() => FieldType::Reference {
            target: reference.to_string(),
        },
        _ => FieldType::String,
    }
}

/// The tables a query walks into: `caller_id.email` on incident needs `sys_user`.
pub fn referenced_tables(
    schemas: &HashMap<String, EntitySchema>,
    table: &str,
    query: &str,
) -> Vec<String> {
    let parsed = encoded::parse(query);
    let mut needed = Vec::new();
    let fields = parsed
        .query
        .groups
        .iter()
        .flat_map(|g| g.clauses.iter())
        .flat_map(|c| c.terms.iter())
        .map(|t| t.field.as_str())
        .chain(parsed.query.order_by.iter().map(|o| o.field.as_str()));
    for field in fields {
        let mut current = table.to_string();
        let hops: Vec<&str> = field.split('.').collect();
        for hop in &hops[..hops.len().saturating_sub(1)] {
            let Some(schema) = schemas.get(&current) else {
                if !needed.contains(&current) {
                    needed.push(current.clone());
                }
                break;
            };
            match schema.field(hop).and_then(|f| f.ty.reference_target()) {
                Some(target) => current = target.to_string(),
                None => break,
            }
        }
        if !schemas.contains_key(&current) && !needed.contains(&current) && hops.len() > 1 {
            needed.push(current);
        }
    }
    needed
}

/// A catalog over described schemas, for binding a query.
struct Described<'a> {
    schemas: Vec<&'a EntitySchema>,
}

impl encoded::Catalog for Described<'_> {
    fn table_id(&self, name: &str) -> Option<usize> {
        self.schemas.iter().position(|s| s.name == name)
    }

    fn table_name(&self, table: usize) -> &str {
        &self.schemas[table].name
    }

    fn field(&self, table: usize, name: &str) -> Option<(usize, &FieldType)> {
        let s = self.schemas[table];
        s.position(name).map(|i| (i, &s.fields[i].ty))
    }

    fn display_column(&self, table: usize) -> Option<usize> {
        let s = self.schemas[table];
        s.position(&s.display_field)
    }
}

/// Checks `query` on `table` against the schemas; a `Validation` error lists every
/// problem with its column.
pub fn validate(schemas: &HashMap<String, EntitySchema>, table: &str, query: &str) -> Result<()> {
    let catalog = Described {
        schemas: schemas.values().collect(),
    };
    let now = chrono::Utc::now().naive_utc();
    match encoded::validate(query, table, &catalog, now) {
        Ok(_) => Ok(()),
        Err(problems) => Err(ConnectorError::new(
            ErrorKind::Validation,
            PlatformKind::ServiceNow,
            format!("check the {table} query"),
            problems
                .iter()
                .map(|p| p.describe(query))
                .collect::<Vec<_>>()
                .join("; "),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dictionary_types() {
        assert_eq!(field_type("integer", ""), FieldType::Integer);
        assert_eq!(
            field_type("reference", "sys_user"),
            FieldType::Reference {
                target: "sys_user".into()
            }
        );
        assert_eq!(field_type("glide_date_time", ""), FieldType::DateTime);
        assert_eq!(field_type("journal_input", ""), FieldType::Journal);
        assert_eq!(field_type("html", ""), FieldType::String);
    }
}
