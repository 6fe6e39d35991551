//! `sobjects/{Object}/…`: create, read (with `?fields=`), update, delete, upsert by external
//! id, file content, and the replication calls `updated` / `deleted`.

use super::db::Db;
use super::describe;
use super::error::SfError;
use super::render;
use super::rest::{json_response, not_allowed, Call, Reply, ReplyBody};
use super::tx::Access;
use super::writes::{
    live_row, matching, plan_create, plan_delete, plan_update, plan_upsert, Counters,
};
use chrono::{DateTime, Duration, DurationRound, Utc};
use http::{Method, StatusCode};
use serde_json::{json, Value};
use twinsync_query::soql::{format_sf_datetime, parse_sf_datetime};

fn object_index(access: &Access, name: &str) -> Result<usize, SfError> {
    access
        .read(|db| db.object(name))
        .ok_or_else(SfError::not_found)
}

/// Creates a record of `object` from a JSON body; `(id, ops committed)`.
pub fn create(
    access: &mut Access,
    call: &Call,
    object: usize,
    body: &serde_json::Map<String, Value>,
) -> Result<String, SfError> {
    access.write_as(&call.user, |db, ctx| {
        let mut counters = Counters::default();
        let planned = plan_create(db, object, body, ctx, &mut counters)?;
        let mut ops = planned.ops;
        ops.extend(counters.ops());
        Ok((ops, planned.id))
    })
}

/// `sobjects/{Object}`: GET the object's summary, POST a new record.
pub fn collection(access: &mut Access, call: &Call, name: &str) -> Result<Reply, SfError> {
    let object = object_index(access, name)?;
    match call.method {
        Method::GET => Ok(json_response(
            StatusCode::OK,
            access.read(|db| describe::metadata(db, object, &call.version)),
        )),
        Method::POST => {
            let body = call.json_object()?;
            let id = create(access, call, object, &body)?;
            let mut r = json_response(
                StatusCode::CREATED,
                json!({"id": id, "success": true, "errors": []}),
            );
            r.location = Some(format!(
                "/services/data/v{}/sobjects/{}/{id}",
                call.version,
                access.read(|db| db.stores[object].def.name.clone())
            ));
            Ok(r)
        }
        _ => Err(not_allowed(&call.method, "GET,HEAD,POST")),
    }
}

/// The columns `?fields=A,B` names, or every column.
fn field_columns(
    db: &Db,
    object: usize,
    fields: Option<&String>,
) -> Result<Option<Vec<usize>>, SfError> {
    let Some(list) = fields else { return Ok(None) };
    let def = &db.stores[object].def;
    let mut columns = Vec::new();
    for name in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let c = def.position(name).ok_or_else(|| {
            SfError::bad(
                "INVALID_FIELD",
                format!(
                    "No such column '{name}' on entity '{}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.",
                    def.name
                ),
            )
        })?;
        columns.push(c);
    }
    if columns.first() != Some(&0) && !columns.contains(&0) {
        columns.insert(0, 0);
    }
    Ok(Some(columns))
}

/// Reads one record as the API renders it.
pub fn read_record(
    db: &Db,
    object: usize,
    id: &str,
    fields: Option<&String>,
    version: &str,
) -> Result<Value, SfError> {
    let columns = field_columns(db, object, fields)?;
    let (key, _) = live_row(db, object, id)?;
    Ok(render::record(
        db,
        (object, key),
        columns.as_deref(),
        version,
    ))
}

/// `sobjects/{Object}/{id}`: GET, PATCH, DELETE.
pub fn record(access: &mut Access, call: &Call, name: &str, id: &str) -> Result<Reply, SfError> {
    let object = object_index(access, name)?;
    match call.method {
        Method::GET => {
            let body = access
                .read(|db| read_record(db, object, id, call.query.get("fields"), &call.version))?;
            Ok(json_response(StatusCode::OK, body))
        }
        Method::PATCH => {
            let body = call.json_object()?;
            access.write_as(&call.user, |db, ctx| {
                plan_update(db, object, id, &body, ctx).map(|p| (p.ops, ()))
            })?;
            Ok(Reply::empty(StatusCode::NO_CONTENT))
        }
        Method::DELETE => {
            access.write_as(&call.user, |db, ctx| {
                plan_delete(db, object, id, ctx).map(|p| (p.ops, ()))
            })?;
            Ok(Reply::empty(StatusCode::NO_CONTENT))
        }
        // POST sobjects/{Object}/Id creates with `Id` as the external id (v37+): not offered.
        _ => Err(not_allowed(&call.method, "GET,PATCH,DELETE,HEAD")),
    }
}

/// `sobjects/ContentVersion/{id}/VersionData`: the file's bytes.
pub fn version_data(
    access: &mut Access,
    call: &Call,
    name: &str,
    id: &str,
) -> Result<Reply, SfError> {
    let object = object_index(access, name)?;
    if call.method != Method::GET {
        return Err(not_allowed(&call.method, "GET,HEAD"));
    }
    let data = access.read(|db| {
        if db.stores[object].def.name != "ContentVersion" {
            return Err(SfError::not_found());
        }
        let (key, values) = live_row(db, object, id)?;
        let _ = key;
        let id18 = values[0].as_str().unwrap_or_default();
        db.blobs.get(id18).cloned().ok_or_else(SfError::not_found)
    })?;
    Ok(Reply {
        status: StatusCode::OK,
        body: ReplyBody::Bytes(data, "application/octetstream"),
        location: None,
    })
}

/// `300 Multiple Choices` with the URLs of the records an external id matched.
fn multiple(ids: &[String], object_name: &str, call: &Call) -> Reply {
    let urls: Vec<String> = ids
        .iter()
        .map(|id| {
            format!(
                "/services/data/v{}/sobjects/{object_name}/{id}",
                call.version
            )
        })
        .collect();
    json_response(StatusCode::MULTIPLE_CHOICES, json!(urls))
}

/// The answer to an upsert: 201 when created; 200 with `created:false` from v46, 204 before.
fn upsert_reply(id: &str, created: bool, new_style: bool) -> Reply {
    let mut out = json!({"id": id, "success": true, "errors": []});
    if new_style {
        out["created"] = json!(created);
    }
    match (created, new_style) {
        (true, _) => json_response(StatusCode::CREATED, out),
        (false, true) => json_response(StatusCode::OK, out),
        (false, false) => Reply::empty(StatusCode::NO_CONTENT),
    }
}

/// `sobjects/{Object}/{ExternalField}/{value}`: GET by external id, PATCH to upsert,
/// DELETE by external id.
pub fn by_external_id(
    access: &mut Access,
    call: &Call,
    name: &str,
    field: &str,
    value: &str,
) -> Result<Reply, SfError> {
    let object = object_index(access, name)?;
    let (column, field_name, object_name) = access.read(|db| {
        let def = &db.stores[object].def;
        def.position(field)
            .filter(|c| def.fields[*c].external_id || *c == 0)
            .map(|c| (c, def.fields[c].name().to_string(), def.name.clone()))
            .ok_or_else(|| SfError::no_external_field(field))
    })?;
    let found = access.read(|db| {
        if column == 0 {
            twinsync_model::salesforce_id::normalize(value)
                .and_then(|id| db.find(&id).filter(|(_, r)| !r.deleted).map(|_| vec![id]))
                .unwrap_or_default()
        } else {
            matching(db, object, column, value)
        }
    });
    if found.len() > 1 {
        return Ok(multiple(&found, &object_name, call));
    }
    match call.method {
        Method::GET => match found.first() {
            Some(id) => {
                let body = access.read(|db| {
                    read_record(db, object, id, call.query.get("fields"), &call.version)
                })?;
                Ok(json_response(StatusCode::OK, body))
            }
            None => Err(SfError::not_found()),
        },
        Method::DELETE => match found.first() {
            Some(id) => {
                access.write_as(&call.user, |db, ctx| {
                    plan_delete(db, object, id, ctx).map(|p| (p.ops, ()))
                })?;
                Ok(Reply::empty(StatusCode::NO_CONTENT))
            }
            None => Err(SfError::not_found()),
        },
        Method::PATCH => {
            let mut body = call.json_object()?;
            // The URL's value wins; the same field in the body must agree.
            if let Some((k, v)) = body
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(&field_name))
                .map(|(k, v)| (k.clone(), v.clone()))
            {
                if v.as_str().is_some_and(|s| s != value) {
                    return Err(SfError::bad(
                        "INVALID_FIELD",
                        format!("The value of the external ID field in the body ({v}) does not match the value in the URL"),
                    ));
                }
                body.remove(&k);
            }
            let new_style = call
                .version
                .split('.')
                .next()
                .and_then(|m| m.parse::<u32>().ok())
                .is_some_and(|m| m >= 46);
            if column == 0 {
                // By record id: only an existing record can be updated.
                let Some(id) = found.first().cloned() else {
                    return Err(SfError::not_found());
                };
                access.write_as(&call.user, |db, ctx| {
                    plan_update(db, object, &id, &body, ctx).map(|p| (p.ops, ()))
                })?;
                return Ok(upsert_reply(&id, false, new_style));
            }
            if found.is_empty() && call.query.get("updateOnly").map(String::as_str) == Some("true")
            {
                return Err(SfError::not_found());
            }
            // Look-up and write under one lock, so concurrent upserts of a new key make one record.
            let result = access.write_as(&call.user, |db, ctx| {
                plan_upsert(db, object, column, value, &body, ctx)
            });
            match result {
                Ok((id, created)) => Ok(upsert_reply(&id, created, new_style)),
                Err(e) if e.status == StatusCode::MULTIPLE_CHOICES => {
                    Ok(multiple(&e.fields, &object_name, call))
                }
                Err(e) => Err(e),
            }
        }
        _ => Err(not_allowed(&call.method, "GET,PATCH,DELETE,HEAD")),
    }
}

/// The `start`/`end` window of a replication call, to the minute as the platform uses it.
fn window(call: &Call, max_days: i64) -> Result<(DateTime<Utc>, DateTime<Utc>), SfError> {
    let read = |name: &str| {
        let text = call.query.get(name).ok_or_else(|| {
            SfError::bad(
                "MISSING_ARGUMENT",
                format!("{name} parameter not specified"),
            )
        })?;
        parse_sf_datetime(text).ok_or_else(|| {
            SfError::bad(
                "INVALID_REPLICATION_DATE",
                format!("{name}: invalid date/time: {text}"),
            )
        })
    };
    let minute = |t: DateTime<Utc>| t.duration_trunc(Duration::minutes(1)).unwrap_or(t);
    // Nothing after the current minute is covered yet: a client that continues from
    // `latestDateCovered` must not skip changes still to come.
    let (start, end) = (minute(read("start")?), minute(read("end")?.min(Utc::now())));
    if end <= start {
        return Err(SfError::bad(
            "INVALID_REPLICATION_DATE",
            "end date must be after start date",
        ));
    }
    if start < Utc::now() - Duration::days(max_days) {
        return Err(SfError::bad(
            "INVALID_REPLICATION_DATE",
            format!("startDate cannot be more than {max_days} days ago"),
        ));
    }
    Ok((start, end))
}

/// `sobjects/{Object}/updated/?start=&end=`: ids changed in the window.
pub fn updated(access: &mut Access, call: &Call, name: &str) -> Result<Reply, SfError> {
    let object = object_index(access, name)?;
    if call.method != Method::GET {
        return Err(not_allowed(&call.method, "GET,HEAD"));
    }
    let (start, end) = window(call, 30)?;
    let (from, to) = (format_sf_datetime(start), format_sf_datetime(end));
    let ids = access.read(|db| {
        let store = &db.stores[object];
        let stamp = store.def.position("SystemModstamp").unwrap_or(0);
        store
            .rows()
            .filter(|(_, r)| !r.deleted)
            .filter(|(_, r)| {
                r.values[stamp]
                    .as_str()
                    .is_some_and(|s| s >= from.as_str() && s < to.as_str())
            })
            .filter_map(|(_, r)| r.values[0].as_str().map(String::from))
            .collect::<Vec<_>>()
    });
    if ids.len() > 600_000 {
        return Err(SfError::bad(
            "EXCEEDED_ID_LIMIT",
            "too many ids; narrow the window",
        ));
    }
    Ok(json_response(
        StatusCode::OK,
        json!({"ids": ids, "latestDateCovered": to}),
    ))
}

/// `sobjects/{Object}/deleted/?start=&end=`: records deleted in the window.
pub fn deleted(access: &mut Access, call: &Call, name: &str) -> Result<Reply, SfError> {
    let object = object_index(access, name)?;
    if call.method != Method::GET {
        return Err(not_allowed(&call.method, "GET,HEAD"));
    }
    let (start, end) = window(call, 15)?;
    let (from, to) = (format_sf_datetime(start), format_sf_datetime(end));
    let (records, earliest) = access.read(|db| {
        let store = &db.stores[object];
        let mut earliest: Option<String> = None;
        let records: Vec<Value> = store
            .rows()
            .filter_map(|(_, r)| {
                let at = r.deleted_at.as_deref()?;
                if earliest.as_deref().is_none_or(|e| at < e) {
                    earliest = Some(at.to_string());
                }
                (at >= from.as_str() && at < to.as_str())
                    .then(|| json!({"id": r.values[0], "deletedDate": at}))
            })
            .collect();
        (records, earliest)
    });
    // Nothing is ever purged from this recycle bin, so everything since the start is there.
    let earliest = earliest
        .filter(|e| e.as_str() < from.as_str())
        .unwrap_or(from);
    Ok(json_response(
        StatusCode::OK,
        json!({"deletedRecords": records, "earliestDateAvailable": earliest, "latestDateCovered": to}),
    ))
}
