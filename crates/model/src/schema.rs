//! Entity schemas: the entity types of a platform and the typed fields they carry.
//!
//! A schema is what a platform's "describe" answers. Query validators use it to reject a
//! trigger that names an unknown field; sandboxes use it to store, coerce and render records.

use serde::{Deserialize, Serialize};

/// The storage type of a field, which decides how values compare and render.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FieldType {
    /// Free text.
    String,
    /// A whole number (ServiceNow `integer`, and integer-valued choice lists).
    Integer,
    /// A decimal number.
    Decimal,
    /// `true` / `false`.
    Boolean,
    /// A UTC date and time (`YYYY-MM-DD HH:MM:SS` on ServiceNow).
    DateTime,
    /// A calendar date (`YYYY-MM-DD`).
    Date,
    /// A link to a record of another entity type, stored as that record's id.
    Reference {
        /// The entity type the reference points to.
        target: String,
    },
    /// An append-only journal (ServiceNow `comments` / `work_notes`): writes add entries.
    Journal,
    /// A platform-generated record identifier.
    Id,
}

impl FieldType {
    /// The entity type a reference points to, if this is a reference.
    pub fn reference_target(&self) -> Option<&str> {
        match self {
            FieldType::Reference { target } => Some(target),
            _ => None,
        }
    }

    /// True when values of this type compare as numbers.
    pub fn is_numeric(&self) -> bool {
        matches!(self, FieldType::Integer | FieldType::Decimal)
    }

    /// True when values of this type compare as points in time.
    pub fn is_temporal(&self) -> bool {
        matches!(self, FieldType::DateTime | FieldType::Date)
    }
}

/// One allowed value of a choice (picklist) field, with the label users see.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Choice {
    /// The stored value (`"1"`, `"High"`).
    pub value: String,
    /// The label shown to users (`"1 - Critical"`).
    pub label: String,
}

/// A field of an entity type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldDef {
    /// The field's API name (`short_description`, `Subject`).
    pub name: String,
    /// The label users see.
    pub label: String,
    /// The storage type.
    #[serde(flatten)]
    pub ty: FieldType,
    /// The allowed values, when the field is a choice list; empty otherwise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub choices: Vec<Choice>,
    /// True when the platform computes the field and ignores writes to it.
    #[serde(default)]
    pub read_only: bool,
}

impl FieldDef {
    /// A writable field with no choice list.
    pub fn new(name: &str, label: &str, ty: FieldType) -> Self {
        FieldDef {
            name: name.to_string(),
            label: label.to_string(),
            ty,
            choices: Vec::new(),
            read_only: false,
        }
    }

    /// This field, restricted to the given `(value, label)` choices.
    pub fn with_choices(mut self, choices: &[(&str, &str)]) -> Self {
        self.choices = choices
            .iter()
            .map(|(value, label)| Choice {
                value: value.to_string(),
                label: label.to_string(),
            })
            .collect();
        self
    }

    /// This field, marked as computed by the platform.
    pub fn read_only(mut self) -> Self {
        self.read_only = true;
        self
    }

    /// The label of a stored choice value, if the field has one for it.
    pub fn choice_label(&self, value: &str) -> Option<&str> {
        self.choices
            .iter()
            .find(|c| c.value == value)
            .map(|c| c.label.as_str())
    }
}

/// An entity type (a ServiceNow table, a Salesforce object) and its fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntitySchema {
    /// The API name (`incident`, `Case`).
    pub name: String,
    /// The label users see.
    pub label: String,
    /// The field whose value stands for a record in references and display values.
    pub display_field: String,
    /// The fields, in the platform's order.
    pub fields: Vec<FieldDef>,
}

impl EntitySchema {
    /// The position of a field by name.
    pub fn position(&self, name: &str) -> Option<usize> {
        self.fields.iter().position(|f| f.name == name)
    }

    /// A field by name.
    pub fn field(&self, name: &str) -> Option<&FieldDef> {
        self.fields.iter().find(|f| f.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_type_serialises_with_a_tag() {
        let f = FieldDef::new(
            "caller_id",
            "Caller",
            FieldType::Reference {
                target: "sys_user".into(),
            },
        );
        let json = serde_json::to_value(&f).unwrap();
        assert_eq!(json["type"], "reference");
        assert_eq!(json["target"], "sys_user");
        let back: FieldDef = serde_json::from_value(json).unwrap();
        assert_eq!(back, f);
    }

    #[test]
    fn choice_labels_are_found_by_value() {
        let f = FieldDef::new("state", "State", FieldType::Integer)
            .with_choices(&[("1", "New"), ("2", "In Progress")]);
        assert_eq!(f.choice_label("2"), Some("In Progress"));
        assert_eq!(f.choice_label("9"), None);
    }
}
