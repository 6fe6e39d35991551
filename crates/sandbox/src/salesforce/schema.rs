//! The org's objects and fields, with the attributes describe reports and writes enforce.

use super::config::CustomFieldSpec;
use serde_json::Value;
use twinsync_model::{FieldDef, FieldType};

/// A field with its Salesforce attributes.
#[derive(Debug, Clone)]
pub struct SfField {
    /// Name, label, storage type and picklist values.
    pub def: FieldDef,
    /// The describe type (`string`, `picklist`, `reference`, `datetime`, …).
    pub sf_type: &'static str,
    /// Maximum length for text.
    pub length: u32,
    /// May be null.
    pub nillable: bool,
    /// May be set on create.
    pub createable: bool,
    /// May be set on update.
    pub updateable: bool,
    /// An External ID (usable for upsert).
    pub external_id: bool,
    /// Values are unique.
    pub unique: bool,
    /// Values outside the picklist are refused.
    pub restricted: bool,
    /// Value given on create when none is sent.
    pub default: Option<Value>,
    /// Objects a reference may point to.
    pub reference_to: Vec<String>,
    /// Name of the parent relationship (`Account` for `AccountId`).
    pub relationship_name: Option<String>,
    /// Name of the child relationship on the parent (`CaseComments`).
    pub child_relationship: Option<String>,
    /// Computed by the platform.
    pub calculated: bool,
    /// An auto-number.
    pub auto_number: bool,
}

impl SfField {
    /// The field's API name.
    pub fn name(&self) -> &str {
        &self.def.name
    }

    /// True when a create must supply a value.
    pub fn required(&self) -> bool {
        !self.nillable && self.createable && self.default.is_none() && self.sf_type != "boolean"
    }

    fn new(name: &str, label: &str, sf_type: &'static str) -> Self {
        let ty = match sf_type {
            "id" => FieldType::Id,
            "boolean" => FieldType::Boolean,
            "datetime" => FieldType::DateTime,
            "date" => FieldType::Date,
            "double" | "currency" | "percent" => FieldType::Decimal,
            "int" => FieldType::Integer,
            _ => FieldType::String,
        };
        SfField {
            def: FieldDef::new(name, label, ty),
            sf_type,
            length: match sf_type {
                "string" | "picklist" | "email" | "phone" | "url" | "combobox" => 255,
                "textarea" => 32_000,
                "id" | "reference" => 18,
                _ => 0,
            },
            nillable: sf_type != "boolean" && sf_type != "id",
            createable: sf_type != "id",
            updateable: sf_type != "id",
            external_id: false,
            unique: false,
            restricted: false,
            default: if sf_type == "boolean" {
                Some(Value::Bool(false))
            } else {
                None
            },
            reference_to: Vec::new(),
            relationship_name: None,
            child_relationship: None,
            calculated: false,
            auto_number: false,
        }
    }

    fn system(mut self) -> Self {
        self.createable = false;
        self.updateable = false;
        self.def.read_only = true;
        self
    }

    fn required_field(mut self) -> Self {
        self.nillable = false;
        self
    }

    fn create_only(mut self) -> Self {
        self.updateable = false;
        self
    }

    fn len(mut self, n: u32) -> Self {
        self.length = n;
        self
    }

    fn default(mut self, v: Value) -> Self {
        self.default = Some(v);
        self
    }

    fn values(mut self, values: &[&str]) -> Self {
        let pairs: Vec<(&str, &str)> = values.iter().map(|v| (*v, *v)).collect();
        self.def = self.def.with_choices(&pairs);
        self
    }

    fn restricted(mut self) -> Self {
        self.restricted = true;
        self
    }

    fn reference(mut self, to: &[&str], relationship: &str, child: Option<&str>) -> Self {
        self.sf_type = "reference";
        self.length = 18;
        self.def.ty = FieldType::Reference {
            target: to[0].to_string(),
        };
        self.reference_to = to.iter().map(|s| s.to_string()).collect();
        self.relationship_name = Some(relationship.to_string());
        self.child_relationship = child.map(String::from);
        self
    }

    fn unique(mut self) -> Self {
        self.unique = true;
        self
    }

    fn calculated(mut self) -> Self {
        self.calculated = true;
        self.system()
    }
}

/// An object (`Case`) and its fields.
#[derive(Debug, Clone)]
pub struct ObjectDef {
    /// API name.
    pub name: String,
    /// Label.
    pub label: String,
    /// Plural label.
    pub label_plural: String,
    /// The 3-character id prefix.
    pub key_prefix: &'static str,
    /// Fields, in describe order.
    pub fields: Vec<SfField>,
    /// The field that names a record (`Name`, `CaseNumber`, `Subject`).
    pub name_field: &'static str,
    /// Whether the API may create, update and delete records of this object.
    pub createable: bool,
}

impl ObjectDef {
    /// A field's position by name, ignoring case as the API does.
    pub fn position(&self, name: &str) -> Option<usize> {
        self.fields
            .iter()
            .position(|f| f.name().eq_ignore_ascii_case(name))
    }

    /// A field by name, ignoring case.
    pub fn field(&self, name: &str) -> Option<&SfField> {
        self.position(name).map(|i| &self.fields[i])
    }

    /// Fields worth an index: the id, external ids, unique fields, references and the name.
    pub fn indexed(&self, column: usize) -> bool {
        let f = &self.fields[column];
        f.sf_type == "id"
            || f.sf_type == "reference"
            || f.external_id
            || f.unique
            || f.auto_number
            || f.name() == self.name_field
    }
}

fn f(name: &str, label: &str, sf_type: &'static str) -> SfField {
    SfField::new(name, label, sf_type)
}

/// The audit fields every object carries, after `Id`.
fn audit(owner: bool) -> Vec<SfField> {
    let mut v = vec![
        f("IsDeleted", "Deleted", "boolean").system(),
        f("CreatedDate", "Created Date", "datetime").system(),
        f("CreatedById", "Created By ID", "reference")
            .reference(&["User"], "CreatedBy", None)
            .system(),
        f("LastModifiedDate", "Last Modified Date", "datetime").system(),
        f("LastModifiedById", "Last Modified By ID", "reference")
            .reference(&["User"], "LastModifiedBy", None)
            .system(),
        f("SystemModstamp", "System Modstamp", "datetime").system(),
    ];
    for x in &mut v {
        x.nillable = false;
    }
    if owner {
        v.push(f("OwnerId", "Owner ID", "reference").reference(&["User"], "Owner", None));
    }
    v
}

fn object(
    name: &str,
    plural: &str,
    key_prefix: &'static str,
    name_field: &'static str,
    owner: bool,
    fields: Vec<SfField>,
) -> ObjectDef {
    let mut all = vec![f("Id", &format!("{name} ID"), "id").system()];
    all.extend(fields);
    all.extend(audit(owner));
    ObjectDef {
        name: name.to_string(),
        label: name.to_string(),
        label_plural: plural.to_string(),
        key_prefix,
        fields: all,
        name_field,
        createable: true,
    }
}

/// Every object of the org, standard ones first, then `custom` fields added.
pub fn all_objects(custom: &[CustomFieldSpec]) -> Result<Vec<ObjectDef>, String> {
    let mut objects = vec![
        object(
            "User",
            "Users",
            "005",
            "Name",
            false,
            vec![
                f("Username", "Username", "string")
                    .required_field()
                    .unique()
                    .len(80),
                f("LastName", "Last Name", "string")
                    .required_field()
                    .len(80),
                f("FirstName", "First Name", "string").len(40),
                f("Name", "Full Name", "string").calculated().len(121),
                f("Email", "Email", "email").required_field().len(128),
                f("Alias", "Alias", "string").len(8),
                f("IsActive", "Active", "boolean").default(Value::Bool(true)),
            ],
        ),
        object(
            "Account",
            "Accounts",
            "001",
            "Name",
            true,
            vec![
                f("Name", "Account Name", "string").required_field(),
                f("Type", "Account Type", "picklist").values(&[
                    "Prospect",
                    "Customer - Direct",
                    "Customer - Channel",
                    "Partner",
                    "Other",
                ]),
                f("Industry", "Industry", "picklist").values(&[
                    "Agriculture",
                    "Banking",
                    "Energy",
                    "Healthcare",
                    "Manufacturing",
                    "Retail",
                    "Technology",
                    "Other",
                ]),
                f("Phone", "Account Phone", "phone").len(40),
                f("Website", "Website", "url"),
                f("Description", "Account Description", "textarea"),
            ],
        ),
        object(
            "Contact",
            "Contacts",
            "003",
            "Name",
            true,
            vec![
                f("AccountId", "Account ID", "reference").reference(
                    &["Account"],
                    "Account",
                    Some("Contacts"),
                ),
                f("LastName", "Last Name", "string")
                    .required_field()
                    .len(80),
                f("FirstName", "First Name", "string").len(40),
                f("Name", "Full Name", "string").calculated().len(121),
                f("Email", "Email", "email").len(80),
                f("Phone", "Business Phone", "phone").len(40),
                f("Title", "Title", "string").len(128),
            ],
        ),
        object(
            "Case",
            "Cases",
            "500",
            "CaseNumber",
            true,
            vec![
                {
                    let mut n = f("CaseNumber", "Case Number", "string").system().len(30);
                    n.auto_number = true;
                    n.nillable = false;
                    n
                },
                f("ContactId", "Contact ID", "reference").reference(
                    &["Contact"],
                    "Contact",
                    Some("Cases"),
                ),
                f("AccountId", "Account ID", "reference").reference(
                    &["Account"],
                    "Account",
                    Some("Cases"),
                ),
                f("ParentId", "Parent Case ID", "reference").reference(
                    &["Case"],
                    "Parent",
                    Some("Cases"),
                ),
                f("SuppliedName", "Name", "string").len(80),
                f("SuppliedEmail", "Email Address", "email").len(80),
                f("Type", "Case Type", "picklist").values(&[
                    "Mechanical",
                    "Electrical",
                    "Electronic",
                    "Structural",
                    "Other",
                ]),
                f("Status", "Status", "picklist")
                    .values(&["New", "Working", "Escalated", "Closed"])
                    .restricted()
                    .default(Value::from("New")),
                f("Reason", "Case Reason", "picklist").values(&[
                    "Installation",
                    "Equipment Complexity",
                    "Performance",
                    "Breakdown",
                    "Equipment Design",
                    "Feedback",
                    "Other",
                ]),
                f("Origin", "Case Origin", "picklist").values(&["Phone", "Email", "Web"]),
                f("Subject", "Subject", "string"),
                f("Priority", "Priority", "picklist")
                    .values(&["High", "Medium", "Low"])
                    .restricted()
                    .default(Value::from("Medium")),
                f("Description", "Description", "textarea"),
                f("IsClosed", "Closed", "boolean").calculated(),
                f("ClosedDate", "Closed Date", "datetime").calculated(),
                f("IsEscalated", "Escalated", "boolean"),
            ],
        ),
        {
            let mut o = object(
                "CaseComment",
                "Case Comments",
                "00a",
                "Id",
                false,
                vec![
                    f("ParentId", "Parent ID", "reference")
                        .reference(&["Case"], "Parent", Some("CaseComments"))
                        .required_field()
                        .create_only(),
                    f("IsPublished", "Published", "boolean"),
                    f("CommentBody", "Body", "textarea").len(4000),
                ],
            );
            o.label = "Case Comment".into();
            o
        },
        object(
            "Task",
            "Tasks",
            "00T",
            "Subject",
            true,
            vec![
                f("WhoId", "Name ID", "reference").reference(&["Contact"], "Who", Some("Tasks")),
                f("WhatId", "Related To ID", "reference").reference(
                    &["Account", "Opportunity", "Case"],
                    "What",
                    Some("Tasks"),
                ),
                f("Subject", "Subject", "combobox"),
                f("ActivityDate", "Due Date Only", "date"),
                f("Status", "Status", "picklist")
                    .values(&[
                        "Not Started",
                        "In Progress",
                        "Completed",
                        "Waiting on someone else",
                        "Deferred",
                    ])
                    .restricted()
                    .default(Value::from("Not Started")),
                f("Priority", "Priority", "picklist")
                    .values(&["High", "Normal", "Low"])
                    .restricted()
                    .default(Value::from("Normal")),
                f("Description", "Description", "textarea"),
                f("IsClosed", "Closed", "boolean").calculated(),
            ],
        ),
        object(
            "Opportunity",
            "Opportunities",
            "006",
            "Name",
            true,
            vec![
                f("AccountId", "Account ID", "reference").reference(
                    &["Account"],
                    "Account",
                    Some("Opportunities"),
                ),
                f("Name", "Name", "string").required_field().len(120),
                f("Description", "Description", "textarea"),
                f("StageName", "Stage", "picklist")
                    .values(&[
                        "Prospecting",
                        "Qualification",
                        "Needs Analysis",
                        "Value Proposition",
                        "Id. Decision Makers",
                        "Perception Analysis",
                        "Proposal/Price Quote",
                        "Negotiation/Review",
                        "Closed Won",
                        "Closed Lost",
                    ])
                    .restricted()
                    .required_field(),
                f("Amount", "Amount", "currency"),
                f("Probability", "Probability (%)", "percent"),
                f("CloseDate", "Close Date", "date").required_field(),
                f("IsClosed", "Closed", "boolean").calculated(),
                f("IsWon", "Won", "boolean").calculated(),
                f("ForecastCategoryName", "Forecast Category", "picklist").values(&[
                    "Omitted",
                    "Pipeline",
                    "Best Case",
                    "Commit",
                    "Closed",
                ]),
            ],
        ),
        object(
            "Product2",
            "Products",
            "01t",
            "Name",
            false,
            vec![
                f("Name", "Product Name", "string").required_field(),
                f("ProductCode", "Product Code", "string"),
                f("Description", "Product Description", "textarea").len(4000),
                f("IsActive", "Active", "boolean"),
                f("Family", "Product Family", "picklist").values(&["None"]),
            ],
        ),
        object(
            "ContentDocument",
            "Content Documents",
            "069",
            "Title",
            true,
            vec![
                f("Title", "Title", "string"),
                f(
                    "LatestPublishedVersionId",
                    "Latest Published Version ID",
                    "reference",
                )
                .reference(&["ContentVersion"], "LatestPublishedVersion", None)
                .system(),
                f("FileType", "File Type", "string").system().len(20),
                f("FileExtension", "File Extension", "string")
                    .system()
                    .len(40),
                f("ContentSize", "Size", "int").system(),
            ],
        ),
        object(
            "ContentVersion",
            "Content Versions",
            "068",
            "Title",
            true,
            vec![
                f("ContentDocumentId", "ContentDocument ID", "reference")
                    .reference(
                        &["ContentDocument"],
                        "ContentDocument",
                        Some("ContentVersions"),
                    )
                    .create_only(),
                f("IsLatest", "Is Latest", "boolean").system(),
                f("Title", "Title", "string"),
                f("Description", "Description", "textarea").len(1000),
                f("PathOnClient", "Path On Client", "string")
                    .len(500)
                    .required_field()
                    .create_only(),
                f("VersionData", "Version Data", "base64").create_only(),
                f("VersionNumber", "Version Number", "string")
                    .system()
                    .len(20),
                f("ContentSize", "Size", "int").system(),
                f("FileType", "File Type", "string").system().len(20),
                f("FileExtension", "File Extension", "string")
                    .system()
                    .len(40),
                f(
                    "FirstPublishLocationId",
                    "First Publish Location ID",
                    "reference",
                )
                .reference(&["Case", "Account", "User"], "FirstPublishLocation", None)
                .create_only(),
            ],
        ),
        {
            let mut o = object(
                "ContentDocumentLink",
                "Content Document Links",
                "06A",
                "Id",
                false,
                vec![
                    f("LinkedEntityId", "Linked Entity ID", "reference")
                        .reference(
                            &["Case", "Account", "Contact", "Opportunity", "User", "Task"],
                            "LinkedEntity",
                            Some("ContentDocumentLinks"),
                        )
                        .required_field()
                        .create_only(),
                    f("ContentDocumentId", "ContentDocument ID", "reference")
                        .reference(
                            &["ContentDocument"],
                            "ContentDocument",
                            Some("ContentDocumentLinks"),
                        )
                        .required_field()
                        .create_only(),
                    f("ShareType", "Share Type", "picklist")
                        .values(&["V", "C", "I"])
                        .restricted()
                        .default(Value::from("V")),
                    f("Visibility", "Visibility", "picklist")
                        .values(&["AllUsers", "InternalUsers", "SharedUsers"])
                        .restricted()
                        .default(Value::from("AllUsers")),
                ],
            );
            o.label = "Content Document Link".into();
            o
        },
    ];
    for spec in custom {
        add_custom(&mut objects, spec)?;
    }
    Ok(objects)
}

fn add_custom(objects: &mut [ObjectDef], spec: &CustomFieldSpec) -> Result<(), String> {
    let obj = objects
        .iter_mut()
        .find(|o| o.name.eq_ignore_ascii_case(&spec.object))
        .ok_or_else(|| format!("custom field {}: no object {}", spec.name, spec.object))?;
    if !spec.name.ends_with("__c")
        || spec.name.len() < 4
        || !spec
            .name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        return Err(format!(
            "custom field {}: API names are letters, digits and _ and end in __c",
            spec.name
        ));
    }
    if obj.position(&spec.name).is_some() {
        return Err(format!(
            "custom field {}.{} is defined twice",
            obj.name, spec.name
        ));
    }
    let sf_type: &'static str = match spec.ty.as_str() {
        "string" | "text" => "string",
        "textarea" => "textarea",
        "double" | "number" => "double",
        "int" | "integer" => "int",
        "boolean" | "checkbox" => "boolean",
        "date" => "date",
        "datetime" => "datetime",
        "picklist" => "picklist",
        "email" => "email",
        "url" => "url",
        "phone" => "phone",
        other => return Err(format!("custom field {}: unknown type {other}", spec.name)),
    };
    let label = spec
        .label
        .clone()
        .unwrap_or_else(|| spec.name.trim_end_matches("__c").replace('_', " "));
    let mut field = SfField::new(&spec.name, &label, sf_type);
    if let Some(n) = spec.length {
        field.length = n;
    }
    field.external_id = spec.external_id;
    field.unique = spec.unique;
    if !spec.values.is_empty() {
        let values: Vec<&str> = spec.values.iter().map(String::as_str).collect();
        field = field.values(&values);
    }
    field.restricted = spec.restricted;
    // Custom fields sit before the audit fields, as describe lists them.
    let at = obj.position("IsDeleted").unwrap_or(obj.fields.len());
    obj.fields.insert(at, field);
    Ok(())
}
