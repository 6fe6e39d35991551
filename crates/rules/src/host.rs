//! Host objects: the helpers scripts call (`commentHelper`, `attachmentHelper`,
//! `nodeHelper`, `syncHelper`) and the look-up trait the node implements for `nodeHelper`.

use crate::error::Pos;
use crate::interp::{fail, Eval, Interp};
use crate::value::{Entries, Host, Value};
use std::rc::Rc;

/// A platform user as `nodeHelper` returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserInfo {
    /// The platform's id for the user.
    pub id: String,
    /// Email.
    pub email: String,
    /// Display name.
    pub name: String,
}

/// User look-ups against the local platform, implemented by the node (through its
/// connector) and by test doubles.
pub trait NodeLookup {
    /// The user with this email, if any.
    fn user_by_email(&self, email: &str) -> Option<UserInfo>;
    /// The user with this platform id, if any.
    fn user_by_id(&self, id: &str) -> Option<UserInfo>;
}

/// A fixed list of users: the look-up for tests and dry runs.
#[derive(Debug, Clone, Default)]
pub struct StaticUsers(pub Vec<UserInfo>);

impl NodeLookup for StaticUsers {
    fn user_by_email(&self, email: &str) -> Option<UserInfo> {
        self.0
            .iter()
            .find(|u| u.email.eq_ignore_ascii_case(email))
            .cloned()
    }

    fn user_by_id(&self, id: &str) -> Option<UserInfo> {
        self.0.iter().find(|u| u.id == id).cloned()
    }
}

fn user_value(u: Option<UserInfo>) -> Value {
    match u {
        None => Value::Null,
        Some(u) => {
            let mut m = Entries::default();
            m.insert(Rc::from("id"), Value::str(&u.id));
            m.insert(Rc::from("email"), Value::str(&u.email));
            m.insert(Rc::from("name"), Value::str(&u.name));
            m.insert(Rc::from("displayName"), Value::str(&u.name));
            Value::map(m)
        }
    }
}

fn field(v: &Value, name: &str) -> Value {
    match v {
        Value::Map(m) => m.borrow().get(name).cloned().unwrap_or(Value::Null),
        _ => Value::Null,
    }
}

fn list_of(v: &Value) -> Vec<Value> {
    v.items().unwrap_or_default()
}

/// Merges the replica's items into the entity's by their remote id: new ones appended as
/// `keep` fields plus `remoteId`, changed ones (by `compare`) updated, none duplicated.
fn merge(entity: &Value, replica: &Value, list: &str, keep: &[&str], compare: &str) -> Value {
    let mut local: Vec<Value> = list_of(&field(entity, list))
        .into_iter()
        .map(|v| match v {
            Value::Map(m) => Value::map(m.borrow().clone()),
            other => other,
        })
        .collect();
    for remote in list_of(&field(replica, list)) {
        let remote_id = field(&remote, "id");
        let existing = local.iter().find(|l| {
            let rid = field(l, "remoteId");
            !matches!(rid, Value::Null) && rid.equals(&remote_id)
        });
        match existing {
            Some(Value::Map(m)) => {
                let new = field(&remote, compare);
                if !m.borrow().get(compare).is_some_and(|v| v.equals(&new)) {
                    m.borrow_mut().insert(Rc::from(compare), new);
                }
            }
            Some(_) => {}
            None => {
                let mut m = Entries::default();
                for k in keep {
                    m.insert(Rc::from(*k), field(&remote, k));
                }
                m.insert(Rc::from("remoteId"), remote_id);
                local.push(Value::map(m));
            }
        }
    }
    Value::list(local)
}

/// Calls `helper.name(args)`.
pub fn call(it: &mut Interp, helper: Host, name: &str, args: Vec<Value>, pos: Pos) -> Eval {
    let arg = |i: usize| args.get(i).cloned().unwrap_or(Value::Null);
    match (helper, name) {
        (Host::CommentHelper, "mergeComments") => Ok(merge(
            &arg(0),
            &arg(1),
            "comments",
            &["body", "author"],
            "body",
        )),
        (Host::AttachmentHelper, "mergeAttachments") => Ok(merge(
            &arg(0),
            &arg(1),
            "attachments",
            &["filename", "size"],
            "filename",
        )),
        (Host::NodeHelper, "getUserByEmail") => {
            Ok(user_value(it.lookup.user_by_email(&arg(0).to_text())))
        }
        (Host::NodeHelper, "getUser" | "getUserById") => {
            Ok(user_value(it.lookup.user_by_id(&arg(0).to_text())))
        }
        (Host::SyncHelper, "changed" | "isChanged") => {
            // True when the replica's field differs from the previous replica's (always on
            // the first sync, when there is no previous).
            let f = arg(0).to_text();
            let (replica, previous) = it.sync.clone();
            Ok(Value::Bool(match previous {
                Value::Null => true,
                p => !field(&replica, &f).equals(&field(&p, &f)),
            }))
        }
        (Host::SyncHelper, "changedFields") => {
            let (replica, previous) = it.sync.clone();
            let Value::Map(r) = replica else {
                return Ok(Value::list(Vec::new()));
            };
            let names = r
                .borrow()
                .iter()
                .filter(|(k, v)| !v.equals(&field(&previous, k)))
                .map(|(k, _)| Value::str(k))
                .collect();
            Ok(Value::list(names))
        }
        (Host::DateClass, "parse") => {
            crate::builtins::date_parse(&arg(0).to_text(), &arg(1).to_text(), pos)
        }
        (Host::MathClass, "max" | "min") => {
            let (a, b) = (arg(0), arg(1));
            let ord = a.compare(&b);
            Ok(match (name, ord) {
                ("max", Some(std::cmp::Ordering::Less))
                | ("min", Some(std::cmp::Ordering::Greater)) => b,
                _ => a,
            })
        }
        (Host::MathClass, "abs") => Ok(match arg(0) {
            Value::Int(n) => Value::Int(n.wrapping_abs()),
            Value::Dec(n) => Value::Dec(n.abs()),
            other => other,
        }),
        (Host::MathClass, "round") => Ok(match arg(0) {
            Value::Dec(n) => Value::Int(n.round() as i64),
            other => other,
        }),
        _ => fail(pos, format!("{helper:?} has no method `{name}`")),
    }
}
