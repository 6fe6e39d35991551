//! Describe answers: the global object list and one object's fields, picklists,
//! relationships and flags, in the platform's shape.

use super::db::Db;
use super::schema::{ObjectDef, SfField};
use serde_json::{json, Value};

fn urls(v: &str, name: &str) -> Value {
    let base = format!("/services/data/v{v}/sobjects/{name}");
    json!({
        "compactLayouts": format!("{base}/describe/compactLayouts"),
        "rowTemplate": format!("{base}/{{ID}}"),
        "approvalLayouts": format!("{base}/describe/approvalLayouts"),
        "defaultValues": format!("{base}/defaultValues?recordTypeId&fields"),
        "describe": format!("{base}/describe"),
        "quickActions": format!("{base}/quickActions"),
        "layouts": format!("{base}/describe/layouts"),
        "sobject": base,
    })
}

/// The describe-global entry of an object.
fn summary(def: &ObjectDef, v: &str) -> Value {
    let writable = def.createable && def.name != "ContentDocument";
    json!({
        "activateable": false,
        "createable": writable,
        "custom": false,
        "customSetting": false,
        "deletable": def.name != "ContentVersion",
        "deprecatedAndHidden": false,
        "feedEnabled": false,
        "hasSubtypes": false,
        "isSubtype": false,
        "keyPrefix": def.key_prefix,
        "label": def.label,
        "labelPlural": def.label_plural,
        "layoutable": true,
        "mergeable": false,
        "mruEnabled": true,
        "name": def.name,
        "queryable": true,
        "replicateable": true,
        "retrieveable": true,
        "searchable": true,
        "triggerable": true,
        "undeletable": true,
        "updateable": writable,
        "urls": urls(v, &def.name),
    })
}

/// `GET sobjects`.
pub fn global(db: &Db, v: &str) -> Value {
    json!({
        "encoding": "UTF-8",
        "maxBatchSize": 200,
        "sobjects": db.stores.iter().map(|s| summary(&s.def, v)).collect::<Vec<_>>(),
    })
}

/// `GET sobjects/{Object}`: the summary plus recent items (none are tracked).
pub fn metadata(db: &Db, object: usize, v: &str) -> Value {
    json!({"objectDescribe": summary(&db.stores[object].def, v), "recentItems": []})
}

fn soap_type(f: &SfField) -> &'static str {
    match f.sf_type {
        "id" | "reference" => "tns:ID",
        "boolean" => "xsd:boolean",
        "int" => "xsd:int",
        "double" | "currency" | "percent" => "xsd:double",
        "date" => "xsd:date",
        "datetime" => "xsd:dateTime",
        "base64" => "xsd:base64Binary",
        _ => "xsd:string",
    }
}

fn field(def: &ObjectDef, f: &SfField) -> Value {
    let picklist: Vec<Value> = f
        .def
        .choices
        .iter()
        .map(|c| {
            json!({
                "active": true,
                "defaultValue": f.default.as_ref().and_then(Value::as_str) == Some(c.value.as_str()),
                "label": c.label,
                "validFor": null,
                "value": c.value,
            })
        })
        .collect();
    let text = matches!(
        f.sf_type,
        "string"
            | "textarea"
            | "picklist"
            | "email"
            | "phone"
            | "url"
            | "combobox"
            | "id"
            | "reference"
    );
    json!({
        "aggregatable": f.sf_type != "textarea" && f.sf_type != "base64",
        "autoNumber": f.auto_number,
        "byteLength": if text { f.length * 3 } else { 0 },
        "calculated": f.calculated,
        "calculatedFormula": null,
        "cascadeDelete": false,
        "caseSensitive": false,
        "controllerName": null,
        "createable": f.createable,
        "custom": f.name().ends_with("__c"),
        "defaultValue": f.default.clone().unwrap_or(Value::Null),
        "defaultValueFormula": null,
        "defaultedOnCreate": f.default.is_some() || f.sf_type == "id" || f.auto_number || def.fields[0].name() == f.name(),
        "dependentPicklist": false,
        "deprecatedAndHidden": false,
        "digits": if f.sf_type == "int" { 9 } else { 0 },
        "externalId": f.external_id,
        "filterable": f.sf_type != "textarea" && f.sf_type != "base64",
        "groupable": text,
        "htmlFormatted": false,
        "idLookup": f.sf_type == "id" || f.external_id || (f.name() == def.name_field && def.name_field != "Id"),
        "inlineHelpText": null,
        "label": f.def.label,
        "length": if text { f.length } else { 0 },
        "name": f.name(),
        "nameField": f.name() == def.name_field,
        "namePointing": f.reference_to.len() > 1,
        "nillable": f.nillable,
        "picklistValues": picklist,
        "polymorphicForeignKey": f.reference_to.len() > 1,
        "precision": if matches!(f.sf_type, "double" | "currency" | "percent") { 18 } else { 0 },
        "referenceTargetField": null,
        "referenceTo": f.reference_to,
        "relationshipName": f.relationship_name,
        "relationshipOrder": null,
        "restrictedDelete": false,
        "restrictedPicklist": f.restricted,
        "scale": if matches!(f.sf_type, "double" | "currency" | "percent") { 2 } else { 0 },
        "soapType": soap_type(f),
        "sortable": f.sf_type != "textarea" && f.sf_type != "base64",
        "type": f.sf_type,
        "unique": f.unique,
        "updateable": f.updateable,
    })
}

/// `GET sobjects/{Object}/describe`.
pub fn object(db: &Db, object: usize, v: &str) -> Value {
    let def = &db.stores[object].def;
    let mut out = summary(def, v);
    out["fields"] = Value::Array(def.fields.iter().map(|f| field(def, f)).collect());
    let children: Vec<Value> = db
        .stores
        .iter()
        .flat_map(|s| {
            s.def
                .fields
                .iter()
                .filter(|f| f.reference_to.contains(&def.name))
                .map(|f| {
                    json!({
                        "cascadeDelete": matches!((def.name.as_str(), s.def.name.as_str()), ("Case", "CaseComment")),
                        "childSObject": s.def.name,
                        "deprecatedAndHidden": false,
                        "field": f.name(),
                        "junctionIdListNames": [],
                        "junctionReferenceTo": [],
                        "relationshipName": f.child_relationship,
                        "restrictedDelete": false,
                    })
                })
        })
        .collect();
    out["childRelationships"] = Value::Array(children);
    out["recordTypeInfos"] = json!([{
        "active": true, "available": true, "defaultRecordTypeMapping": true,
        "developerName": "Master", "master": true, "name": "Master",
        "recordTypeId": "012000000000000AAA",
        "urls": {"layout": format!("/services/data/v{v}/sobjects/{}/describe/layouts/012000000000000AAA", def.name)},
    }]);
    out["searchLayoutable"] = json!(true);
    out["compactLayoutable"] = json!(true);
    out["listviewable"] = json!(null);
    out["lookupLayoutable"] = json!(null);
    out["namedLayoutInfos"] = json!([]);
    out["networkScopeFieldName"] = json!(null);
    out["supportedScopes"] = json!([{"label": "All", "name": "everything"}]);
    out["actionOverrides"] = json!([]);
    out
}
