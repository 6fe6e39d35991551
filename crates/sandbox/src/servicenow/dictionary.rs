//! The data dictionary an instance describes itself with: `sys_db_object` (tables and
//! what they extend), `sys_dictionary` (fields) and `sys_choice` (choice lists), generated
//! from the sandbox's own table definitions so that a connector's describe works here as on
//! an instance. Fields every task table shares are defined on `task`, as on the platform.

use super::schema::{TableDef, TASK_TABLES};
use serde_json::{json, Value};
use twinsync_model::{EntitySchema, FieldDef, FieldType};

/// The dictionary's name for a field type.
fn internal_type(ty: &FieldType) -> &'static str {
    match ty {
        FieldType::String => "string",
        FieldType::Integer => "integer",
        FieldType::Decimal => "decimal",
        FieldType::Boolean => "boolean",
        FieldType::DateTime => "glide_date_time",
        FieldType::Date => "glide_date",
        FieldType::Reference { .. } => "reference",
        FieldType::Journal => "journal_input",
        FieldType::Id => "GUID",
    }
}

/// The records describing `tables`: `(sys_db_object, sys_dictionary, sys_choice)` bodies.
/// `sys_db_object` bodies carry their `sys_id`; `super_class` names the parent's.
pub fn records(
    tables: &[TableDef],
    mut new_id: impl FnMut() -> String,
) -> (Vec<Value>, Vec<Value>, Vec<Value>) {
    let task_tables: Vec<&EntitySchema> = tables
        .iter()
        .filter(|t| TASK_TABLES.contains(&t.name()))
        .map(|t| &t.schema)
        .collect();
    // Fields every task table has alike (choices aside) belong to `task`.
    let task_fields: Vec<FieldDef> = task_tables
        .first()
        .map(|first| {
            first
                .fields
                .iter()
                .filter(|f| {
                    task_tables.iter().all(|t| {
                        t.field(&f.name)
                            .is_some_and(|g| g.ty == f.ty && g.label == f.label)
                    })
                })
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    let task_id = new_id();
    let mut objects = vec![json!({"sys_id": task_id, "name": "task", "label": "Task"})];
    let mut dictionary = Vec::new();
    let mut choices = Vec::new();
    let field_row = |table: &str, f: &FieldDef, display: bool, dictionary: &mut Vec<Value>| {
        dictionary.push(json!({
            "name": table,
            "element": f.name,
            "column_label": f.label,
            "internal_type": internal_type(&f.ty),
            "reference": f.ty.reference_target().unwrap_or(""),
            "max_length": if matches!(f.ty, FieldType::Journal) { 4000 } else { 255 },
            "mandatory": false,
            "read_only": f.read_only,
            "active": true,
            "display": display,
            "choice": if f.choices.is_empty() { 0 } else { 1 },
        }));
    };
    for f in &task_fields {
        field_row("task", f, f.name == "number", &mut dictionary);
    }
    for t in tables {
        let schema = &t.schema;
        let is_task = TASK_TABLES.contains(&t.name());
        let mut object = json!({"sys_id": new_id(), "name": schema.name, "label": schema.label});
        if is_task {
            object["super_class"] = json!(task_id);
        }
        objects.push(object);
        for f in &schema.fields {
            let inherited = is_task && task_fields.iter().any(|g| g.name == f.name);
            if !inherited {
                let display = f.name == schema.display_field;
                field_row(&schema.name, f, display, &mut dictionary);
            }
            for (i, c) in f.choices.iter().enumerate() {
                choices.push(json!({
                    "name": schema.name,
                    "element": f.name,
                    "value": c.value,
                    "label": c.label,
                    "sequence": i,
                    "inactive": false,
                    "language": "en",
                }));
            }
        }
    }
    (objects, dictionary, choices)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::servicenow::schema::all_tables;

    #[test]
    fn task_fields_are_shared_and_choices_stay_per_table() {
        let mut n = 0;
        let (objects, dictionary, choices) = records(&all_tables(), || {
            n += 1;
            format!("{n:032x}")
        });
        let incident = objects.iter().find(|o| o["name"] == "incident").unwrap();
        assert_eq!(incident["super_class"], objects[0]["sys_id"]);
        let on = |table: &str, element: &str| {
            dictionary
                .iter()
                .any(|d| d["name"] == table && d["element"] == element)
        };
        assert!(on("task", "short_description"));
        assert!(!on("incident", "short_description"));
        assert!(on("sys_user", "email"));
        assert!(choices
            .iter()
            .any(|c| c["name"] == "incident" && c["element"] == "state" && c["value"] == "6"));
    }
}
