//! The tables the ServiceNow sandbox serves, with their fields as the platform defines them.

use twinsync_model::{EntitySchema, FieldDef, FieldType};

/// Task tables share these behaviours: numbering, journals, the `itil` role for writes.
pub const TASK_TABLES: &[&str] = &["incident", "problem", "change_request", "sc_task"];

/// A table: its schema plus what the sandbox needs to run it.
#[derive(Debug, Clone)]
pub struct TableDef {
    /// Fields and display field.
    pub schema: EntitySchema,
    /// Prefix of generated numbers (`INC`), for tables that number their records.
    pub number_prefix: Option<&'static str>,
    /// First generated number (`10001` gives `INC0010001`).
    pub first_number: u64,
    /// Columns with an equality index (lowercased keys).
    pub indexed: Vec<&'static str>,
}

impl TableDef {
    /// The table name.
    pub fn name(&self) -> &str {
        &self.schema.name
    }

    /// True for incident, problem, change_request and sc_task.
    pub fn is_task(&self) -> bool {
        TASK_TABLES.contains(&self.name())
    }
}

fn f(name: &str, label: &str, ty: FieldType) -> FieldDef {
    FieldDef::new(name, label, ty)
}

fn s(name: &str, label: &str) -> FieldDef {
    f(name, label, FieldType::String)
}

fn int(name: &str, label: &str) -> FieldDef {
    f(name, label, FieldType::Integer)
}

fn boolean(name: &str, label: &str) -> FieldDef {
    f(name, label, FieldType::Boolean)
}

fn dt(name: &str, label: &str) -> FieldDef {
    f(name, label, FieldType::DateTime)
}

fn reference(name: &str, label: &str, target: &str) -> FieldDef {
    f(
        name,
        label,
        FieldType::Reference {
            target: target.to_string(),
        },
    )
}

fn system_fields() -> Vec<FieldDef> {
    vec![
        dt("sys_created_on", "Created").read_only(),
        s("sys_created_by", "Created by").read_only(),
        dt("sys_updated_on", "Updated").read_only(),
        s("sys_updated_by", "Updated by").read_only(),
        int("sys_mod_count", "Updates").read_only(),
    ]
}

const IMPACT: &[(&str, &str)] = &[("1", "1 - High"), ("2", "2 - Medium"), ("3", "3 - Low")];
const PRIORITY: &[(&str, &str)] = &[
    ("1", "1 - Critical"),
    ("2", "2 - High"),
    ("3", "3 - Moderate"),
    ("4", "4 - Low"),
    ("5", "5 - Planning"),
];

/// Fields every task table has, with the table's own state choices.
fn task_fields(state: &[(&str, &str)]) -> Vec<FieldDef> {
    let mut fields = vec![
        f("sys_id", "Sys ID", FieldType::Id).read_only(),
        s("number", "Number"),
        s("short_description", "Short description"),
        s("description", "Description"),
        int("state", "State").with_choices(state),
        boolean("active", "Active"),
        int("impact", "Impact").with_choices(IMPACT),
        int("urgency", "Urgency").with_choices(IMPACT),
        int("priority", "Priority").with_choices(PRIORITY),
        reference("assigned_to", "Assigned to", "sys_user"),
        reference("assignment_group", "Assignment group", "sys_user_group"),
        reference("opened_by", "Opened by", "sys_user"),
        dt("opened_at", "Opened"),
        reference("closed_by", "Closed by", "sys_user"),
        dt("closed_at", "Closed"),
        s("close_notes", "Resolution notes"),
        dt("due_date", "Due date"),
        s("correlation_id", "Correlation ID"),
        s("correlation_display", "Correlation display"),
        f("comments", "Additional comments", FieldType::Journal),
        f("work_notes", "Work notes", FieldType::Journal),
        f(
            "comments_and_work_notes",
            "Comments and Work notes",
            FieldType::Journal,
        )
        .read_only(),
        s("watch_list", "Watch list"),
        s("work_notes_list", "Work notes list"),
        s("approval", "Approval").with_choices(&[
            ("not requested", "Not Yet Requested"),
            ("requested", "Requested"),
            ("approved", "Approved"),
            ("rejected", "Rejected"),
        ]),
        boolean("knowledge", "Knowledge"),
        boolean("made_sla", "Made SLA"),
        s("sys_class_name", "Task type").read_only(),
    ];
    fields.extend(system_fields());
    fields
}

fn with_extra(mut fields: Vec<FieldDef>, extra: Vec<FieldDef>) -> Vec<FieldDef> {
    // Table-specific fields go before the system fields, as a describe would list them.
    let at = fields
        .iter()
        .position(|f| f.name == "sys_created_on")
        .unwrap_or(fields.len());
    fields.splice(at..at, extra);
    fields
}

fn table(name: &str, label: &str, display: &str, fields: Vec<FieldDef>) -> EntitySchema {
    EntitySchema {
        name: name.to_string(),
        label: label.to_string(),
        display_field: display.to_string(),
        fields,
    }
}

/// Incident state choices.
pub const INCIDENT_STATES: &[(&str, &str)] = &[
    ("1", "New"),
    ("2", "In Progress"),
    ("3", "On Hold"),
    ("6", "Resolved"),
    ("7", "Closed"),
    ("8", "Canceled"),
];

fn incident() -> TableDef {
    let fields = with_extra(
        task_fields(INCIDENT_STATES),
        vec![
            reference("caller_id", "Caller", "sys_user"),
            s("category", "Category").with_choices(&[
                ("inquiry", "Inquiry / Help"),
                ("software", "Software"),
                ("hardware", "Hardware"),
                ("network", "Network"),
                ("database", "Database"),
            ]),
            s("subcategory", "Subcategory"),
            s("contact_type", "Channel").with_choices(&[
                ("email", "Email"),
                ("phone", "Phone"),
                ("self-service", "Self-service"),
                ("virtual_agent", "Virtual Agent"),
                ("walk-in", "Walk-in"),
            ]),
            int("incident_state", "Incident state")
                .with_choices(INCIDENT_STATES)
                .read_only(),
            int("hold_reason", "On hold reason").with_choices(&[
                ("1", "Awaiting Caller"),
                ("5", "Awaiting Change"),
                ("3", "Awaiting Problem"),
                ("4", "Awaiting Vendor"),
            ]),
            s("close_code", "Resolution code").with_choices(&[
                ("Duplicate", "Duplicate"),
                ("Known error", "Known error"),
                ("No resolution provided", "No resolution provided"),
                ("Resolved by caller", "Resolved by caller"),
                ("Resolved by change", "Resolved by change"),
                ("Resolved by problem", "Resolved by problem"),
                ("Resolved by request", "Resolved by request"),
                ("Solution provided", "Solution provided"),
                ("Workaround provided", "Workaround provided"),
                ("User error", "User error"),
            ]),
            reference("resolved_by", "Resolved by", "sys_user"),
            dt("resolved_at", "Resolved"),
            reference("problem_id", "Problem", "problem"),
            reference("caused_by", "Caused by Change", "change_request"),
            int("severity", "Severity").with_choices(IMPACT),
            int("reopen_count", "Reopen count"),
        ],
    );
    TableDef {
        schema: table("incident", "Incident", "number", fields),
        number_prefix: Some("INC"),
        first_number: 10001,
        indexed: vec!["number", "correlation_id", "caller_id", "assigned_to"],
    }
}

fn problem() -> TableDef {
    let fields = with_extra(
        task_fields(&[
            ("101", "New"),
            ("102", "Assess"),
            ("103", "Root Cause Analysis"),
            ("104", "Fix in Progress"),
            ("106", "Resolved"),
            ("107", "Closed"),
        ]),
        vec![
            s("category", "Category"),
            s("cause_notes", "Cause notes"),
            s("fix_notes", "Fix notes"),
            s("workaround", "Workaround"),
            boolean("known_error", "Known error"),
            s("resolution_code", "Resolution code").with_choices(&[
                ("fix_applied", "Fix Applied"),
                ("risk_accepted", "Risk Accepted"),
                ("canceled", "Canceled"),
                ("duplicate", "Duplicate"),
            ]),
            reference("resolved_by", "Resolved by", "sys_user"),
            dt("resolved_at", "Resolved"),
        ],
    );
    TableDef {
        schema: table("problem", "Problem", "number", fields),
        number_prefix: Some("PRB"),
        first_number: 40001,
        indexed: vec!["number", "correlation_id", "assigned_to"],
    }
}

fn change_request() -> TableDef {
    let fields = with_extra(
        task_fields(&[
            ("-5", "New"),
            ("-4", "Assess"),
            ("-3", "Authorize"),
            ("-2", "Scheduled"),
            ("-1", "Implement"),
            ("0", "Review"),
            ("3", "Closed"),
            ("4", "Canceled"),
        ]),
        vec![
            s("type", "Type").with_choices(&[
                ("normal", "Normal"),
                ("standard", "Standard"),
                ("emergency", "Emergency"),
            ]),
            int("risk", "Risk").with_choices(&[
                ("1", "Very High"),
                ("2", "High"),
                ("3", "Moderate"),
                ("4", "Low"),
            ]),
            s("category", "Category"),
            reference("requested_by", "Requested by", "sys_user"),
            dt("start_date", "Planned start date"),
            dt("end_date", "Planned end date"),
            s("justification", "Justification"),
            s("implementation_plan", "Implementation plan"),
            s("backout_plan", "Backout plan"),
            s("test_plan", "Test plan"),
            boolean("on_hold", "On hold"),
            s("close_code", "Close code").with_choices(&[
                ("successful", "Successful"),
                ("successful_issues", "Successful with issues"),
                ("unsuccessful", "Unsuccessful"),
            ]),
        ],
    );
    TableDef {
        schema: table("change_request", "Change Request", "number", fields),
        number_prefix: Some("CHG"),
        first_number: 30001,
        indexed: vec!["number", "correlation_id", "assigned_to"],
    }
}

fn sc_task() -> TableDef {
    let fields = with_extra(
        task_fields(&[
            ("-5", "Pending"),
            ("1", "Open"),
            ("2", "Work in Progress"),
            ("3", "Closed Complete"),
            ("4", "Closed Incomplete"),
            ("7", "Closed Skipped"),
        ]),
        vec![s("request_item", "Request item"), s("request", "Request")],
    );
    TableDef {
        schema: table("sc_task", "Catalog Task", "number", fields),
        number_prefix: Some("SCTASK"),
        first_number: 10001,
        indexed: vec!["number", "correlation_id", "assigned_to"],
    }
}

fn sys_user() -> TableDef {
    let mut fields = vec![
        f("sys_id", "Sys ID", FieldType::Id).read_only(),
        s("user_name", "User ID"),
        s("first_name", "First name"),
        s("last_name", "Last name"),
        s("name", "Name").read_only(),
        s("email", "Email"),
        s("title", "Title"),
        s("department", "Department"),
        s("phone", "Business phone"),
        s("mobile_phone", "Mobile phone"),
        reference("manager", "Manager", "sys_user"),
        boolean("active", "Active"),
        boolean("locked_out", "Locked out"),
        s("time_zone", "Time zone"),
        s("roles", "Roles"),
    ];
    fields.extend(system_fields());
    TableDef {
        schema: table("sys_user", "User", "name", fields),
        number_prefix: None,
        first_number: 0,
        indexed: vec!["user_name", "email", "name"],
    }
}

fn sys_user_group() -> TableDef {
    let mut fields = vec![
        f("sys_id", "Sys ID", FieldType::Id).read_only(),
        s("name", "Name"),
        s("description", "Description"),
        s("email", "Group email"),
        reference("manager", "Manager", "sys_user"),
        boolean("active", "Active"),
        s("type", "Type"),
    ];
    fields.extend(system_fields());
    TableDef {
        schema: table("sys_user_group", "Group", "name", fields),
        number_prefix: None,
        first_number: 0,
        indexed: vec!["name"],
    }
}

fn sys_journal_field() -> TableDef {
    let fields = vec![
        f("sys_id", "Sys ID", FieldType::Id).read_only(),
        s("element", "Element"),
        s("element_id", "Element ID"),
        s("name", "Table name"),
        s("value", "Value"),
        dt("sys_created_on", "Created").read_only(),
        s("sys_created_by", "Created by").read_only(),
    ];
    TableDef {
        schema: table("sys_journal_field", "Journal Entry", "value", fields),
        number_prefix: None,
        first_number: 0,
        indexed: vec!["element_id"],
    }
}

fn sys_attachment() -> TableDef {
    let mut fields = vec![
        f("sys_id", "Sys ID", FieldType::Id).read_only(),
        s("file_name", "File name"),
        s("content_type", "Content type"),
        int("size_bytes", "Size bytes"),
        int("size_compressed", "Compressed size"),
        boolean("compressed", "Compressed"),
        s("table_name", "Table name"),
        s("table_sys_id", "Table sys ID"),
        s("hash", "Hash"),
        s("state", "State"),
        s("chunk_size_bytes", "Chunk size bytes"),
        s("average_image_color", "Average image color"),
        int("image_width", "Image width"),
        int("image_height", "Image height"),
        s("sys_tags", "Tags"),
    ];
    fields.extend(system_fields());
    TableDef {
        schema: table("sys_attachment", "Attachment", "file_name", fields),
        number_prefix: None,
        first_number: 0,
        indexed: vec!["table_sys_id"],
    }
}

fn plain(name: &str, label: &str, display: &str, mut fields: Vec<FieldDef>) -> TableDef {
    fields.insert(0, f("sys_id", "Sys ID", FieldType::Id).read_only());
    fields.extend(system_fields());
    TableDef {
        schema: table(name, label, display, fields),
        number_prefix: None,
        first_number: 0,
        indexed: vec!["name"],
    }
}

/// `sys_db_object`: the tables, and the table each extends.
fn sys_db_object() -> TableDef {
    plain(
        "sys_db_object",
        "Table",
        "label",
        vec![
            s("name", "Name"),
            s("label", "Label"),
            reference("super_class", "Extends table", "sys_db_object"),
        ],
    )
}

/// `sys_dictionary`: the fields of every table.
fn sys_dictionary() -> TableDef {
    plain(
        "sys_dictionary",
        "Dictionary Entry",
        "column_label",
        vec![
            s("name", "Table"),
            s("element", "Column name"),
            s("column_label", "Column label"),
            s("internal_type", "Type"),
            s("reference", "Reference"),
            int("max_length", "Max length"),
            boolean("mandatory", "Mandatory"),
            boolean("read_only", "Read only"),
            boolean("active", "Active"),
            boolean("display", "Display"),
            int("choice", "Choice"),
        ],
    )
}

/// `sys_choice`: the values of every choice list.
fn sys_choice() -> TableDef {
    plain(
        "sys_choice",
        "Choices",
        "label",
        vec![
            s("name", "Table"),
            s("element", "Element"),
            s("value", "Value"),
            s("label", "Label"),
            int("sequence", "Sequence"),
            boolean("inactive", "Inactive"),
            s("language", "Language"),
        ],
    )
}

/// Every table the sandbox serves.
pub fn all_tables() -> Vec<TableDef> {
    vec![
        incident(),
        problem(),
        change_request(),
        sc_task(),
        sys_user(),
        sys_user_group(),
        sys_journal_field(),
        sys_attachment(),
        sys_db_object(),
        sys_dictionary(),
        sys_choice(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_has_sys_id_and_system_fields_and_known_indexes() {
        for t in all_tables() {
            assert_eq!(t.schema.fields[0].name, "sys_id", "{}", t.name());
            assert!(t.schema.field("sys_created_on").is_some(), "{}", t.name());
            assert!(
                t.schema.field(&t.schema.display_field).is_some(),
                "{}",
                t.name()
            );
            for column in &t.indexed {
                assert!(t.schema.field(column).is_some(), "{}.{column}", t.name());
            }
            let mut names: Vec<_> = t.schema.fields.iter().map(|f| &f.name).collect();
            names.sort();
            names.dedup();
            assert_eq!(
                names.len(),
                t.schema.fields.len(),
                "duplicate field in {}",
                t.name()
            );
        }
    }

    #[test]
    fn references_point_at_served_tables() {
        let tables = all_tables();
        for t in &tables {
            for field in &t.schema.fields {
                if let Some(target) = field.ty.reference_target() {
                    assert!(
                        tables.iter().any(|o| o.name() == target),
                        "{}.{}",
                        t.name(),
                        field.name
                    );
                }
            }
        }
    }
}
