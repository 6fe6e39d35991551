//! What an org says about an object (`sobjects/{Object}/describe`): its fields as an
//! [`EntitySchema`], which of them a query may select, its parent and child relationships,
//! and a SOQL catalog over described objects so that a trigger query is checked before it is
//! saved.

use crate::error::{ConnectorError, ErrorKind, Result};
use serde_json::Value;
use std::collections::HashMap;
use twinsync_model::{Choice, EntitySchema, FieldDef, FieldType, PlatformKind};
use twinsync_query::soql::{Relationship, SoqlCatalog};

/// One described object.
#[derive(Debug, Clone)]
pub struct Described {
    /// Fields, types and picklist values.
    pub schema: EntitySchema,
    /// Fields a query can select (not compound or binary ones).
    pub selectable: Vec<String>,
    /// Parent relationships: `(relationship name, reference field, target objects)`.
    pub parents: Vec<(String, String, Vec<String>)>,
    /// Child relationships: `(relationship name, child object, its reference field)`.
    pub children: Vec<(String, String, String)>,
    /// Fields marked as external ids.
    pub external_ids: Vec<String>,
    /// The first three characters of its record ids.
    pub key_prefix: Option<String>,
}

impl Described {
    /// The child relationship named `name`, if the object has it.
    pub fn child(&self, name: &str) -> Option<&(String, String, String)> {
        self.children
            .iter()
            .find(|(r, _, _)| r.eq_ignore_ascii_case(name))
    }
}

fn field_type(ty: &str, reference_to: &[String]) -> FieldType {
    match ty {
        "id" => FieldType::Id,
        "boolean" => FieldType::Boolean,
        "int" => FieldType::Integer,
        "double" | "currency" | "percent" => FieldType::Decimal,
        "date" => FieldType::Date,
        "datetime" => FieldType::DateTime,
        "reference" => FieldType::Reference {
            target: reference_to.first().cloned().unwrap_or_default(),
        },
        _ => FieldType::String,
    }
}

/// Reads a describe answer.
pub fn parse(object: &str, body: &Value) -> Result<Described> {
    let bad = |m: &str| {
        ConnectorError::new(
            ErrorKind::Protocol,
            PlatformKind::Salesforce,
            format!("describe {object}"),
            m.to_string(),
        )
    };
    let fields = body["fields"]
        .as_array()
        .ok_or_else(|| bad("the describe answer has no `fields`"))?;
    let mut out = Described {
        schema: EntitySchema {
            name: body["name"].as_str().unwrap_or(object).to_string(),
            label: body["label"].as_str().unwrap_or(object).to_string(),
            display_field: String::new(),
            fields: Vec::with_capacity(fields.len()),
        },
        selectable: Vec::new(),
        parents: Vec::new(),
        children: Vec::new(),
        external_ids: Vec::new(),
        key_prefix: body["keyPrefix"].as_str().map(String::from),
    };
    for f in fields {
        let name = f["name"].as_str().unwrap_or_default().to_string();
        let ty = f["type"].as_str().unwrap_or("string");
        let reference_to: Vec<String> = f["referenceTo"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        let choices = f["picklistValues"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter(|p| p["active"].as_bool().unwrap_or(true))
                    .map(|p| Choice {
                        value: p["value"].as_str().unwrap_or_default().to_string(),
                        label: p["label"]
                            .as_str()
                            .or_else(|| p["value"].as_str())
                            .unwrap_or_default()
                            .to_string(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        if f["nameField"].as_bool() == Some(true) && out.schema.display_field.is_empty() {
            out.schema.display_field = name.clone();
        }
        if !matches!(ty, "base64" | "address" | "location" | "anyType") {
            out.selectable.push(name.clone());
        }
        if f["externalId"].as_bool() == Some(true) {
            out.external_ids.push(name.clone());
        }
        if let Some(rel) = f["relationshipName"].as_str() {
            out.parents
                .push((rel.to_string(), name.clone(), reference_to.clone()));
        }
        let writable =
            f["createable"].as_bool() == Some(true) || f["updateable"].as_bool() == Some(true);
        out.schema.fields.push(FieldDef {
            label: f["label"].as_str().unwrap_or(&name).to_string(),
            ty: field_type(ty, &reference_to),
            choices,
            read_only: !writable,
            name,
        });
    }
    if out.schema.display_field.is_empty() {
        out.schema.display_field = "Id".into();
    }
    for c in body["childRelationships"].as_array().into_iter().flatten() {
        if let (Some(rel), Some(child), Some(field)) = (
            c["relationshipName"].as_str(),
            c["childSObject"].as_str(),
            c["field"].as_str(),
        ) {
            out.children
                .push((rel.to_string(), child.to_string(), field.to_string()));
        }
    }
    Ok(out)
}

/// Objects the words of `query` reach through relationships of the objects already known,
/// and not yet described.
pub fn reached(known: &HashMap<String, Described>, query: &str) -> Vec<String> {
    let words: Vec<String> = query
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'))
        .flat_map(|w| w.split('.'))
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase)
        .collect();
    let mut out: Vec<String> = Vec::new();
    let mut want = |object: &str| {
        let lower = object.to_ascii_lowercase();
        if !known.contains_key(&lower) && !out.iter().any(|o| o.eq_ignore_ascii_case(object)) {
            out.push(object.to_string());
        }
    };
    for d in known.values() {
        for (rel, _, targets) in &d.parents {
            if words.contains(&rel.to_ascii_lowercase()) {
                targets.iter().for_each(|t| want(t));
            }
        }
        for (rel, child, _) in &d.children {
            if words.contains(&rel.to_ascii_lowercase()) {
                want(child);
            }
        }
    }
    out
}

/// A SOQL catalog over described objects (keyed by lower-case name).
pub struct Catalog<'a> {
    objects: Vec<&'a Described>,
}

impl<'a> Catalog<'a> {
    /// A catalog of `known`.
    pub fn new(known: &'a HashMap<String, Described>) -> Self {
        Catalog {
            objects: known.values().collect(),
        }
    }

    fn index(&self, name: &str) -> Option<usize> {
        self.objects
            .iter()
            .position(|d| d.schema.name.eq_ignore_ascii_case(name))
    }
}

impl SoqlCatalog for Catalog<'_> {
    fn object(&self, name: &str) -> Option<usize> {
        self.index(name)
    }

    fn object_name(&self, object: usize) -> &str {
        &self.objects[object].schema.name
    }

    fn field(&self, object: usize, name: &str) -> Option<(usize, &FieldDef)> {
        self.objects[object]
            .schema
            .fields
            .iter()
            .enumerate()
            .find(|(_, f)| f.name.eq_ignore_ascii_case(name))
    }

    fn parent(&self, object: usize, name: &str) -> Option<Relationship> {
        let d = self.objects[object];
        let (rel, field, targets) = d
            .parents
            .iter()
            .find(|(r, _, _)| r.eq_ignore_ascii_case(name))?;
        let target = targets.iter().find_map(|t| self.index(t))?;
        Some(Relationship {
            object: target,
            column: d.schema.position(field)?,
            name: rel.clone(),
        })
    }

    fn child(&self, object: usize, name: &str) -> Option<Relationship> {
        let (rel, child, field) = self.objects[object].child(name)?;
        let c = self.index(child)?;
        Some(Relationship {
            object: c,
            column: self.objects[c].schema.position(field)?,
            name: rel.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_fields_relationships_and_picklists() {
        let body = json!({
            "name": "Case", "label": "Case",
            "fields": [
                {"name": "Id", "label": "Case ID", "type": "id", "createable": false, "updateable": false},
                {"name": "CaseNumber", "label": "Case Number", "type": "string", "nameField": true},
                {"name": "Priority", "label": "Priority", "type": "picklist", "createable": true,
                 "picklistValues": [{"value": "High", "label": "High", "active": true},
                                    {"value": "Old", "label": "Old", "active": false}]},
                {"name": "AccountId", "label": "Account ID", "type": "reference", "createable": true,
                 "referenceTo": ["Account"], "relationshipName": "Account"},
                {"name": "Key__c", "label": "Key", "type": "string", "externalId": true, "createable": true},
                {"name": "Address__c", "label": "Where", "type": "address"}
            ],
            "childRelationships": [{"childSObject": "CaseComment", "field": "ParentId", "relationshipName": "CaseComments"},
                                   {"childSObject": "X", "field": "Y", "relationshipName": null}]
        });
        let d = parse("Case", &body).unwrap();
        assert_eq!(d.schema.display_field, "CaseNumber");
        let p = d.schema.field("Priority").unwrap();
        assert_eq!(p.choices.len(), 1);
        assert!(d.schema.field("Id").unwrap().read_only);
        assert_eq!(
            d.schema.field("AccountId").unwrap().ty,
            FieldType::Reference {
                target: "Account".into()
            }
        );
        assert_eq!(d.external_ids, ["Key__c"]);
        assert!(!d.selectable.contains(&"Address__c".to_string()));
        assert_eq!(d.children.len(), 1);
        let mut known = HashMap::new();
        known.insert("case".to_string(), d);
        assert_eq!(
            reached(&known, "SELECT Id FROM Case WHERE Account.Name = 'x'"),
            ["Account"]
        );
        assert_eq!(
            reached(&known, "SELECT Id, (SELECT Id FROM CaseComments) FROM Case"),
            ["CaseComment"]
        );
    }
}
