//! The rules Basic mode runs (and Script mode starts from): summary and description,
//! status and priority mapped both ways through a neutral vocabulary (`new`, `in progress`,
//! `on hold`, `resolved`, `closed`, `canceled`; `high`, `medium`, `low`), public comments and
//! files. ServiceNow incident, problem and change request ↔ Salesforce case and task.

use twinsync_model::{PlatformKind, RuleDirection};

const SERVICENOW_OUTGOING: &str = r#"// Default outgoing rule (ServiceNow)
replica.key         = entity.key
replica.number      = entity.number
replica.type        = entity.entityType
replica.summary     = entity.short_description
replica.description = entity.description
def states = [
    incident:       ["1": "new", "2": "in progress", "3": "on hold", "6": "resolved", "7": "closed", "8": "canceled"],
    problem:        ["101": "new", "102": "in progress", "103": "in progress", "104": "in progress", "106": "resolved", "107": "closed"],
    change_request: ["-5": "new", "-4": "in progress", "-3": "in progress", "-2": "in progress", "-1": "in progress", "0": "resolved", "3": "closed", "4": "canceled"]
]
replica.status   = states[entity.entityType]?.get(entity.state) ?: "new"
def urgencies    = ["1": "high", "2": "medium", "3": "low"]
replica.priority = urgencies[entity.urgency] ?: "medium"
replica.comments    = entity.comments.findAll { !it.internal }
replica.attachments = entity.attachments
"#;

const SERVICENOW_INCOMING: &str = r#"// Default incoming rule (ServiceNow)
if (firstSync) {
    entity.entityType = replica.type == "Task" ? "problem" : "incident"
}
// A field the other side stops sharing is left as it is here.
if (replica.containsKey("summary")) {
    entity.short_description = replica.summary
}
if (replica.containsKey("description")) {
    entity.description = replica.description
}
def urgencies = [high: "1", medium: "2", low: "3"]
if (urgencies[replica.priority]) {
    entity.urgency = urgencies[replica.priority]
}
if (entity.entityType == "incident") {
    def states = [new: "1", "in progress": "2", "on hold": "3", resolved: "6", closed: "7", canceled: "8"]
    def target = states[replica.status]
    if (target && target != entity.state) {
        if ((target == "6" || target == "7") && !entity.close_code) {
            entity.close_code  = "Solution provided"
            entity.close_notes = "Closed on the other side of the connection"
        }
        entity.state = target
    }
}
entity.comments    = commentHelper.mergeComments(entity, replica)
entity.attachments = attachmentHelper.mergeAttachments(entity, replica)
"#;

const SALESFORCE_OUTGOING: &str = r#"// Default outgoing rule (Salesforce)
replica.key         = entity.key
replica.number      = entity.number
replica.type        = entity.entityType
replica.summary     = entity.Subject
replica.description = entity.Description
def states = [
    Case: [New: "new", Working: "in progress", Escalated: "in progress", Closed: "closed"],
    Task: ["Not Started": "new", "In Progress": "in progress", Waiting: "on hold", Deferred: "on hold", Completed: "closed"]
]
replica.status   = states[entity.entityType]?.get(entity.Status) ?: "new"
def priorities   = [High: "high", Medium: "medium", Normal: "medium", Low: "low"]
replica.priority = priorities[entity.Priority] ?: "medium"
replica.comments    = entity.comments.findAll { !it.internal }
replica.attachments = entity.attachments
"#;

const SALESFORCE_INCOMING: &str = r#"// Default incoming rule (Salesforce)
if (firstSync) {
    entity.entityType = replica.type == "problem" ? "Task" : "Case"
}
// A field the other side stops sharing is left as it is here.
if (replica.containsKey("summary")) {
    entity.Subject = replica.summary
}
if (replica.containsKey("description")) {
    entity.Description = replica.description
}
if (entity.entityType == "Case") {
    def states = [new: "New", "in progress": "Working", "on hold": "Working", resolved: "Closed", closed: "Closed", canceled: "Closed"]
    if (states[replica.status]) {
        entity.Status = states[replica.status]
    }
    def priorities = [high: "High", medium: "Medium", low: "Low"]
    if (priorities[replica.priority]) {
        entity.Priority = priorities[replica.priority]
    }
} else {
    def states = [new: "Not Started", "in progress": "In Progress", "on hold": "Waiting", resolved: "Completed", closed: "Completed", canceled: "Completed"]
    if (states[replica.status]) {
        entity.Status = states[replica.status]
    }
    def priorities = [high: "High", medium: "Normal", low: "Low"]
    if (priorities[replica.priority]) {
        entity.Priority = priorities[replica.priority]
    }
}
entity.comments    = commentHelper.mergeComments(entity, replica)
if (entity.entityType == "Case") {
    entity.attachments = attachmentHelper.mergeAttachments(entity, replica)
}
"#;

/// The default rule of a side on `platform` for `direction`.
pub fn rule(platform: PlatformKind, direction: RuleDirection) -> &'static str {
    match (platform, direction) {
        (PlatformKind::ServiceNow, RuleDirection::Outgoing) => SERVICENOW_OUTGOING,
        (PlatformKind::ServiceNow, RuleDirection::Incoming) => SERVICENOW_INCOMING,
        (PlatformKind::Salesforce, RuleDirection::Outgoing) => SALESFORCE_OUTGOING,
        (PlatformKind::Salesforce, RuleDirection::Incoming) => SALESFORCE_INCOMING,
    }
}

/// The entity type a first sync creates when the rule does not say.
pub fn default_type(platform: PlatformKind) -> &'static str {
    match platform {
        PlatformKind::ServiceNow => "incident",
        PlatformKind::Salesforce => "Case",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use twinsync_rules::{Limits, RunContext, Script, StaticUsers};

    fn run_out(platform: PlatformKind, entity: serde_json::Value) -> serde_json::Value {
        let users = StaticUsers::default();
        let ctx = RunContext {
            limits: Limits::default(),
            lookup: &users,
        };
        Script::compile("outgoing", rule(platform, RuleDirection::Outgoing))
            .unwrap()
            .run_outgoing(&entity, &ctx)
            .unwrap()
    }

    fn run_in(
        platform: PlatformKind,
        entity: serde_json::Value,
        replica: serde_json::Value,
        first: bool,
    ) -> serde_json::Map<String, serde_json::Value> {
        let users = StaticUsers::default();
        let ctx = RunContext {
            limits: Limits::default(),
            lookup: &users,
        };
        Script::compile("incoming", rule(platform, RuleDirection::Incoming))
            .unwrap()
            .run_incoming(&entity, &replica, None, first, &ctx)
            .unwrap()
            .changes
    }

    #[test]
    fn an_incident_maps_to_a_case_and_back() {
        let replica = run_out(
            PlatformKind::ServiceNow,
            json!({"entityType": "incident", "key": "k", "number": "INC1", "short_description": "s",
                   "description": "d", "state": "2", "urgency": "1",
                   "comments": [{"id": "c1", "body": "hi", "internal": false}, {"id": "c2", "body": "note", "internal": true}],
                   "attachments": []}),
        );
        assert_eq!(replica["status"], "in progress");
        assert_eq!(replica["priority"], "high");
        assert_eq!(replica["comments"].as_array().unwrap().len(), 1);
        let case = run_in(
            PlatformKind::Salesforce,
            json!({"entityType": "Case", "comments": [], "attachments": []}),
            replica,
            true,
        );
        assert_eq!(case["Status"], "Working");
        assert_eq!(case["Priority"], "High");
        assert_eq!(case["Subject"], "s");
        assert_eq!(case["comments"][0]["body"], "hi");

        let back = run_out(
            PlatformKind::Salesforce,
            json!({"entityType": "Case", "Subject": "s", "Description": "d", "Status": "Closed",
                   "Priority": "Low", "comments": [], "attachments": []}),
        );
        assert_eq!(back["status"], "closed");
        let incident = run_in(
            PlatformKind::ServiceNow,
            json!({"entityType": "incident", "state": "2", "urgency": "1", "short_description": "s",
                   "description": "d", "close_code": "", "comments": [], "attachments": []}),
            back,
            false,
        );
        assert_eq!(incident["state"], "7");
        assert_eq!(incident["urgency"], "3");
        assert_eq!(incident["close_code"], "Solution provided");
        assert!(
            !incident.contains_key("short_description"),
            "unchanged fields are not written"
        );
    }

    #[test]
    fn a_field_no_longer_shared_is_left_alone() {
        let case = run_in(
            PlatformKind::Salesforce,
            json!({"entityType": "Case", "Subject": "s", "Description": "keep", "comments": [], "attachments": []}),
            json!({"summary": "new"}),
            false,
        );
        assert_eq!(case["Subject"], "new");
        assert!(!case.contains_key("Description"));
        let cleared = run_in(
            PlatformKind::Salesforce,
            json!({"entityType": "Case", "Subject": "s", "Description": "old", "comments": [], "attachments": []}),
            json!({"summary": "s", "description": null}),
            false,
        );
        assert_eq!(
            cleared["Description"],
            serde_json::Value::Null,
            "a cleared field is cleared"
        );
    }

    #[test]
    fn tasks_and_problems_map_to_each_other() {
        let replica = run_out(
            PlatformKind::Salesforce,
            json!({"entityType": "Task", "Subject": "call", "Status": "Waiting", "Priority": "Normal",
                   "comments": [], "attachments": []}),
        );
        assert_eq!(replica["status"], "on hold");
        let problem = run_in(
            PlatformKind::ServiceNow,
            json!({"entityType": "incident", "comments": [], "attachments": []}),
            replica,
            true,
        );
        assert_eq!(problem["entityType"], "problem");
        assert_eq!(problem["urgency"], "2");
    }
}
