//! `composite/sobjects` (up to 200 records created, updated, upserted by an external id, read
//! or deleted in one call, optionally all-or-none) and `composite` (up to 25 subrequests
//! chained with `@{referenceId.path}` references, optionally all-or-none).

use super::error::SfError;
use super::rest::{dispatch, json_response, not_allowed, Call, Reply};
use super::sobject_api::create;
use super::sobject_api::read_record;
use super::state::SfState;
use super::tx::{Access, Tx};
use super::writes::{plan_delete, plan_update, plan_upsert};
use bytes::Bytes;
use http::{Method, StatusCode};
use serde_json::{json, Map, Value};
use std::collections::HashMap;

/// Records per collections call.
const MAX_RECORDS: usize = 200;
/// Subrequests per composite call.
const MAX_SUBREQUESTS: usize = 25;

/// Runs `f` inside a transaction: a new one over the write-locked org, or the caller's.
fn in_tx(
    access: &mut Access,
    f: impl FnOnce(&mut Access) -> Result<Reply, SfError>,
) -> Result<Reply, SfError> {
    match access {
        Access::Shared(state) => {
            let state: &SfState = state;
            let mut db = state.db.write();
            let mut tx = Tx::new(&mut db);
            let reply = {
                let mut inner = Access::Tx(state, &mut tx);
                f(&mut inner)
            };
            match reply {
                Ok(r) => {
                    tx.commit(state)?;
                    Ok(r)
                }
                Err(e) => {
                    tx.rollback_to(0);
                    Err(e)
                }
            }
        }
        Access::Tx(..) => f(access),
    }
}

fn savepoint(access: &Access) -> usize {
    match access {
        Access::Tx(_, tx) => tx.savepoint(),
        Access::Shared(_) => 0,
    }
}

fn rollback(access: &mut Access, to: usize) {
    if let Access::Tx(_, tx) = access {
        tx.rollback_to(to);
    }
}

fn failure(id: Option<&str>, e: &SfError) -> Value {
    let mut v = json!({"success": false, "errors": [e.to_record_json()]});
    if let Some(id) = id {
        v["id"] = json!(id);
    }
    v
}

/// The `allOrNone` flag and the records of a collections body (at most `MAX_RECORDS`).
fn records_body(call: &Call) -> Result<(bool, Vec<Value>), SfError> {
    let body = call.json_object()?;
    let all_or_none = body
        .get("allOrNone")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let records = body
        .get("records")
        .and_then(Value::as_array)
        .cloned()
        .ok_or_else(|| SfError::json("records: expected an array of sObjects"))?;
    if records.len() > MAX_RECORDS {
        return Err(too_many());
    }
    Ok((all_or_none, records))
}

fn rolled_back() -> SfError {
    SfError::bad(
        "ALL_OR_NONE_OPERATION_ROLLED_BACK",
        "Record rolled back because not all records were valid and the request was using AllOrNone header",
    )
}

fn too_many() -> SfError {
    SfError::bad(
        "EXCEEDED_ID_LIMIT",
        format!(
            "record limit reached. cannot submit more than {MAX_RECORDS} records into this call"
        ),
    )
}

/// `composite/sobjects`: POST creates, PATCH updates, DELETE `?ids=` deletes.
pub fn collections(access: &mut Access, call: &Call) -> Result<Reply, SfError> {
    let (all_or_none, items): (bool, Vec<(Option<String>, Value)>) = match call.method {
        Method::POST | Method::PATCH => {
            let (all, records) = records_body(call)?;
            (
                all,
                records
                    .into_iter()
                    .map(|r| {
                        let id = r
                            .get("id")
                            .or_else(|| r.get("Id"))
                            .and_then(Value::as_str)
                            .map(String::from);
                        (id, r)
                    })
                    .collect(),
            )
        }
        Method::DELETE => {
            let all = call.query.get("allOrNone").map(String::as_str) == Some("true");
            let ids: Vec<String> = call
                .query
                .get("ids")
                .map(|s| {
                    s.split(',')
                        .map(|x| x.trim().to_string())
                        .filter(|x| !x.is_empty())
                        .collect()
                })
                .unwrap_or_default();
            if ids.len() > MAX_RECORDS {
                return Err(too_many());
            }
            (
                all,
                ids.into_iter().map(|id| (Some(id), Value::Null)).collect(),
            )
        }
        _ => return Err(not_allowed(&call.method, "DELETE,PATCH,POST")),
    };
    let method = call.method.clone();
    in_tx(access, |access| {
        let start = savepoint(access);
        let mut results: Vec<Result<String, SfError>> = Vec::new();
        for (id, record) in &items {
            let r = match method {
                Method::POST => create_one(access, call, record),
                Method::PATCH => update_one(access, call, id.as_deref(), record),
                _ => delete_one(access, call, id.as_deref().unwrap_or_default()),
            };
            results.push(r);
        }
        let any_failed = results.iter().any(Result::is_err);
        if all_or_none && any_failed {
            rollback(access, start);
        }
        let out: Vec<Value> = results
            .iter()
            .zip(&items)
            .map(|(r, (given_id, _))| match r {
                Ok(id) if all_or_none && any_failed => {
                    let shown = if method == Method::POST {
                        None
                    } else {
                        Some(id.as_str())
                    };
                    failure(shown, &rolled_back())
                }
                Ok(id) => json!({"id": id, "success": true, "errors": []}),
                Err(e) => failure(
                    if method == Method::POST {
                        None
                    } else {
                        given_id.as_deref()
                    },
                    e,
                ),
            })
            .collect();
        Ok(json_response(StatusCode::OK, Value::Array(out)))
    })
}

fn object_of(access: &Access, record: &Value) -> Result<usize, SfError> {
    let ty = record
        .get("attributes")
        .and_then(|a| a.get("type"))
        .and_then(Value::as_str)
        .ok_or_else(|| SfError::bad("INVALID_TYPE", "Must send a concrete entity type."))?;
    access.read(|db| db.object(ty)).ok_or_else(|| {
        SfError::bad(
            "INVALID_TYPE",
            format!("sObject type '{ty}' is not supported."),
        )
    })
}

fn create_one(access: &mut Access, call: &Call, record: &Value) -> Result<String, SfError> {
    let object = object_of(access, record)?;
    let body = record.as_object().cloned().unwrap_or_default();
    create(access, call, object, &body)
}

fn update_one(
    access: &mut Access,
    call: &Call,
    id: Option<&str>,
    record: &Value,
) -> Result<String, SfError> {
    let id =
        id.ok_or_else(|| SfError::bad("MISSING_ARGUMENT", "Id not specified in an update call"))?;
    let object = object_of(access, record)?;
    let mut body: Map<String, Value> = record.as_object().cloned().unwrap_or_default();
    body.remove("id");
    body.remove("Id");
    access.write_as(&call.user, |db, ctx| {
        plan_update(db, object, id, &body, ctx).map(|p| (p.ops, p.id))
    })
}

fn delete_one(access: &mut Access, call: &Call, id: &str) -> Result<String, SfError> {
    let object = access
        .read(|db| twinsync_model::salesforce_id::normalize(id).and_then(|n| db.object_of_id(&n)))
        .ok_or_else(|| SfError::bad("MALFORMED_ID", format!("malformed id {id}")))?;
    access.write_as(&call.user, |db, ctx| {
        plan_delete(db, object, id, ctx).map(|p| (p.ops, p.id))
    })
}

/// `composite/sobjects/{Object}/{ExternalIdField}` (PATCH, v46+): upserts each record by the
/// value of its external id field, in order; answers 200 with one `UpsertResult`
/// (`id`, `success`, `errors`, `created`) per record.
pub fn upsert(access: &mut Access, call: &Call, name: &str, field: &str) -> Result<Reply, SfError> {
    if call.method != Method::PATCH {
        return Err(not_allowed(&call.method, "PATCH"));
    }
    let object = access
        .read(|db| db.object(name))
        .ok_or_else(SfError::not_found)?;
    // Only External ID fields: the platform refuses record ids here.
    let (column, field_name) = access.read(|db| {
        let def = &db.stores[object].def;
        def.position(field)
            .filter(|c| def.fields[*c].external_id)
            .map(|c| (c, def.fields[c].name().to_string()))
            .ok_or_else(|| SfError::no_external_field(field))
    })?;
    let (all_or_none, records) = records_body(call)?;
    in_tx(access, |access| {
        let start = savepoint(access);
        let results: Vec<Result<(String, bool), SfError>> = records
            .iter()
            .map(|r| upsert_one(access, call, object, column, &field_name, r))
            .collect();
        let any_failed = results.iter().any(Result::is_err);
        if all_or_none && any_failed {
            rollback(access, start);
        }
        let out: Vec<Value> = results
            .iter()
            .map(|r| match r {
                Ok((id, created)) if all_or_none && any_failed => {
                    failure((!created).then_some(id.as_str()), &rolled_back())
                }
                Ok((id, created)) => {
                    json!({"id": id, "success": true, "errors": [], "created": created})
                }
                Err(e) => failure(None, e),
            })
            .collect();
        Ok(json_response(StatusCode::OK, Value::Array(out)))
    })
}

/// Upserts one record of a collection by its external id: `(id, created)`.
fn upsert_one(
    access: &mut Access,
    call: &Call,
    object: usize,
    column: usize,
    field_name: &str,
    record: &Value,
) -> Result<(String, bool), SfError> {
    if object_of(access, record)? != object {
        return Err(SfError::bad(
            "INVALID_TYPE",
            "The list can contain objects only of the type indicated in the request URI.",
        ));
    }
    let mut body: Map<String, Value> = record.as_object().cloned().unwrap_or_default();
    let key = body
        .keys()
        .find(|k| k.eq_ignore_ascii_case(field_name))
        .cloned();
    let value = match key.as_ref().and_then(|k| body.get(k)) {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => {
            return Err(
                SfError::bad("MISSING_ARGUMENT", format!("{field_name} not specified"))
                    .with_fields(vec![field_name.to_string()]),
            )
        }
    };
    if let Some(k) = key {
        body.remove(&k);
    }
    access
        .write_as(&call.user, |db, ctx| {
            plan_upsert(db, object, column, &value, &body, ctx)
        })
        .map_err(|e| {
            if e.status == StatusCode::MULTIPLE_CHOICES {
                SfError::bad("DUPLICATE_EXTERNAL_ID", e.message)
            } else {
                e
            }
        })
}

/// `composite/sobjects/{Object}`: read many records by id (POST body or GET query).
pub fn retrieve(access: &mut Access, call: &Call, name: &str) -> Result<Reply, SfError> {
    let object = access
        .read(|db| db.object(name))
        .ok_or_else(SfError::not_found)?;
    let (ids, fields): (Vec<String>, Vec<String>) = match call.method {
        Method::POST => {
            let body = call.json_object()?;
            let list = |k: &str| {
                body.get(k)
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .filter_map(|v| v.as_str().map(String::from))
                            .collect()
                    })
                    .unwrap_or_default()
            };
            (list("ids"), list("fields"))
        }
        Method::GET => {
            let list = |k: &str| -> Vec<String> {
                call.query
                    .get(k)
                    .map(|s| {
                        s.split(',')
                            .map(|x| x.trim().to_string())
                            .filter(|x| !x.is_empty())
                            .collect()
                    })
                    .unwrap_or_default()
            };
            (list("ids"), list("fields"))
        }
        _ => return Err(not_allowed(&call.method, "GET,POST")),
    };
    if ids.len() > 2000 {
        return Err(too_many());
    }
    if fields.is_empty() {
        return Err(SfError::bad("MISSING_ARGUMENT", "fields not specified"));
    }
    let fields = fields.join(",");
    let out = access.read(|db| {
        ids.iter()
            .map(
                |id| match read_record(db, object, id, Some(&fields), &call.version) {
                    Ok(v) => Ok(v),
                    Err(e) if e.code == "INVALID_FIELD" => Err(e),
                    Err(_) => Ok(Value::Null),
                },
            )
            .collect::<Result<Vec<_>, _>>()
    })?;
    Ok(json_response(StatusCode::OK, Value::Array(out)))
}

/// Reads `ref.path[0].field` from earlier subresponse bodies.
fn lookup(bodies: &HashMap<String, Value>, reference: &str) -> Option<String> {
    let mut parts = reference.split('.');
    let first = parts.next()?;
    let (name, idx) = split_index(first);
    let mut v = bodies.get(name)?;
    if let Some(i) = idx {
        v = v.get(i)?;
    }
    for part in parts {
        let (key, idx) = split_index(part);
        v = v.get(key)?;
        if let Some(i) = idx {
            v = v.get(i)?;
        }
    }
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

fn split_index(part: &str) -> (&str, Option<usize>) {
    match part.split_once('[') {
        Some((k, rest)) => (k, rest.trim_end_matches(']').parse().ok()),
        None => (part, None),
    }
}

/// Replaces every `@{ref.path}` in `text`; `Err(reference)` for one that does not resolve.
fn resolve(text: &str, bodies: &HashMap<String, Value>) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("@{") {
        out.push_str(&rest[..at]);
        let tail = &rest[at + 2..];
        let Some(end) = tail.find('}') else {
            out.push_str(&rest[at..]);
            return Ok(out);
        };
        let reference = &tail[..end];
        out.push_str(&lookup(bodies, reference).ok_or_else(|| reference.to_string())?);
        rest = &tail[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

fn resolve_value(v: &Value, bodies: &HashMap<String, Value>) -> Result<Value, String> {
    Ok(match v {
        Value::String(s) => Value::String(resolve(s, bodies)?),
        Value::Array(a) => Value::Array(
            a.iter()
                .map(|x| resolve_value(x, bodies))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, x)| Ok((k.clone(), resolve_value(x, bodies)?)))
                .collect::<Result<_, String>>()?,
        ),
        other => other.clone(),
    })
}

fn halted() -> Value {
    json!([{"errorCode": "PROCESSING_HALTED", "message": "The transaction was rolled back since another operation in the same transaction failed."}])
}

fn sub_result(reply: &Reply, reference_id: &str) -> Value {
    let mut headers = Map::new();
    if let Some(l) = &reply.location {
        headers.insert("Location".into(), json!(l));
    }
    json!({
        "body": reply.json(),
        "httpHeaders": headers,
        "httpStatusCode": reply.status.as_u16(),
        "referenceId": reference_id,
    })
}

/// One subrequest as a [`Call`].
fn sub_call(call: &Call, method: &str, url: &str, body: Option<&Value>) -> Result<Call, SfError> {
    let method = Method::from_bytes(method.to_ascii_uppercase().as_bytes())
        .map_err(|_| SfError::bad("INVALID_FIELD", format!("unknown method {method}")))?;
    let (path, query) = url.split_once('?').unwrap_or((url, ""));
    let rest = path.strip_prefix("/services/data/").ok_or_else(|| {
        SfError::bad(
            "INVALID_FIELD",
            format!("The url must start with /services/data/: {url}"),
        )
    })?;
    let mut parts = rest.split('/');
    let version = parts
        .next()
        .and_then(super::versions::parse)
        .ok_or_else(SfError::not_found)?;
    Ok(Call {
        method,
        version,
        segments: parts
            .filter(|s| !s.is_empty())
            .map(super::rest::decode)
            .collect(),
        query: url::form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect(),
        headers: call.headers.clone(),
        body: body.map_or_else(Bytes::new, |b| Bytes::from(b.to_string())),
        user: call.user.clone(),
    })
}

/// `POST composite`.
pub fn composite(access: &mut Access, call: &Call) -> Result<Reply, SfError> {
    if call.method != Method::POST {
        return Err(not_allowed(&call.method, "POST"));
    }
    let body = call.json_object()?;
    let all_or_none = body
        .get("allOrNone")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let requests = body
        .get("compositeRequest")
        .and_then(Value::as_array)
        .cloned()
        .ok_or_else(|| SfError::json("compositeRequest: expected an array of subrequests"))?;
    if requests.is_empty() || requests.len() > MAX_SUBREQUESTS {
        return Err(SfError::bad(
            "INVALID_INPUT",
            format!("compositeRequest must contain between 1 and {MAX_SUBREQUESTS} subrequests"),
        ));
    }
    let mut ids = std::collections::HashSet::new();
    for r in &requests {
        let id = r.get("referenceId").and_then(Value::as_str).unwrap_or("");
        if id.is_empty() || !ids.insert(id.to_string()) {
            return Err(SfError::bad(
                "INVALID_INPUT",
                format!("Each subrequest needs a unique referenceId: `{id}`"),
            ));
        }
    }
    in_tx(access, |access| {
        let start = savepoint(access);
        let mut bodies: HashMap<String, Value> = HashMap::new();
        let mut results: Vec<Value> = Vec::new();
        let mut failed_at: Option<usize> = None;
        for (i, r) in requests.iter().enumerate() {
            let reference_id = r
                .get("referenceId")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            let method = r.get("method").and_then(Value::as_str).unwrap_or("GET");
            let url = r.get("url").and_then(Value::as_str).unwrap_or("");
            let resolved = resolve(url, &bodies).and_then(|u| {
                r.get("body")
                    .map(|b| resolve_value(b, &bodies))
                    .transpose()
                    .map(|b| (u, b))
            });
            let reply = match resolved {
                Err(reference) => {
                    let name = reference.split(['.', '[']).next().unwrap_or("").to_string();
                    json_response(
                        StatusCode::BAD_REQUEST,
                        json!([{"errorCode": "PROCESSING_HALTED", "message": format!("Invalid reference specified. No value for {reference} found in {name}. Provided referenceId ({name}) must be the referenceId of a previous subrequest.")}]),
                    )
                }
                Ok((url, body)) => match sub_call(call, method, &url, body.as_ref()) {
                    Ok(sub) => {
                        let sp = savepoint(access);
                        match dispatch(access, &sub) {
                            Ok(reply) => reply,
                            Err(e) => {
                                rollback(access, sp);
                                Reply::error(&e)
                            }
                        }
                    }
                    Err(e) => Reply::error(&e),
                },
            };
            if reply.status.as_u16() < 300 {
                bodies.insert(reference_id.clone(), reply.json());
            }
            let failed = reply.status.as_u16() >= 400;
            results.push(sub_result(&reply, &reference_id));
            if failed && failed_at.is_none() {
                failed_at = Some(i);
                if all_or_none {
                    break;
                }
            }
        }
        if let (true, Some(bad)) = (all_or_none, failed_at) {
            rollback(access, start);
            let mut out = Vec::new();
            for (i, r) in requests.iter().enumerate() {
                let reference_id = r.get("referenceId").and_then(Value::as_str).unwrap_or("");
                if i == bad {
                    out.push(results[bad].clone());
                } else {
                    out.push(json!({"body": halted(), "httpHeaders": {}, "httpStatusCode": 400, "referenceId": reference_id}));
                }
            }
            results = out;
        }
        Ok(json_response(
            StatusCode::OK,
            json!({"compositeResponse": results}),
        ))
    })
}
