//! Runtime values, with Groovy's truthiness, equality, ordering and string forms, and the
//! conversions to and from JSON that entities and replicas travel in.

use crate::ast::ClosureDef;
use crate::interp::Scope;
use chrono::NaiveDateTime;
use std::cell::RefCell;
use std::cmp::Ordering;
use std::fmt::Write as _;
use std::rc::Rc;

/// A list shared by reference, as Groovy lists are.
pub type List = Rc<Cell<Vec<Value>>>;
pub use crate::entries::Entries;

/// A map with string keys in insertion order, shared by reference.
pub type Map = Rc<Cell<Entries>>;

/// The shared cell of a list or map. Dropping it releases nested collections with a work
/// list instead of recursion, so a list nested a million deep cannot overflow the stack.
#[derive(Debug, Default)]
pub struct Cell<T: Drain>(RefCell<T>);

/// Collections whose values can be taken out for an iterative drop.
pub trait Drain: Default {
    /// Moves every value out into `into`.
    fn drain_into(&mut self, into: &mut Vec<Value>);
}

impl Drain for Vec<Value> {
    fn drain_into(&mut self, into: &mut Vec<Value>) {
        into.append(self);
    }
}

impl Drain for Entries {
    fn drain_into(&mut self, into: &mut Vec<Value>) {
        into.extend(self.take_all().into_iter().map(|(_, v)| v));
    }
}

impl<T: Drain> Cell<T> {
    /// A cell holding `v`.
    pub fn new(v: T) -> Self {
        Cell(RefCell::new(v))
    }
}

impl<T: Drain> std::ops::Deref for Cell<T> {
    type Target = RefCell<T>;

    fn deref(&self) -> &RefCell<T> {
        &self.0
    }
}

thread_local! {
    /// How many collection drops are in progress on this thread.
    static DROP_DEPTH: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

impl<T: Drain> Drop for Cell<T> {
    fn drop(&mut self) {
        // Shallow structures drop recursively (fast); past 64 nested levels the rest is
        // released with a work list, so no nesting depth can overflow the stack.
        let depth = DROP_DEPTH.with(|d| d.get());
        if depth < 64 {
            DROP_DEPTH.with(|d| d.set(depth + 1));
            drop(std::mem::take(self.0.get_mut()));
            DROP_DEPTH.with(|d| d.set(depth));
            return;
        }
        let mut pending = Vec::new();
        self.0.get_mut().drain_into(&mut pending);
        while let Some(v) = pending.pop() {
            match v {
                Value::List(rc) => {
                    if let Ok(mut inner) = Rc::try_unwrap(rc) {
                        inner.0.get_mut().drain_into(&mut pending);
                    }
                }
                Value::Map(rc) => {
                    if let Ok(mut inner) = Rc::try_unwrap(rc) {
                        inner.0.get_mut().drain_into(&mut pending);
                    }
                }
                other => drop(other),
            }
        }
    }
}

/// A closure: its definition and the scope it closes over.
#[derive(Debug)]
pub struct Closure {
    /// Parameters and body.
    pub def: Rc<ClosureDef>,
    /// The variables visible where it was written.
    pub scope: Scope,
}

/// Objects the host provides (helpers), dispatched by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Host {
    /// `commentHelper`
    CommentHelper,
    /// `attachmentHelper`
    AttachmentHelper,
    /// `nodeHelper`
    NodeHelper,
    /// `syncHelper`
    SyncHelper,
    /// The `Date` class (`Date.parse`).
    DateClass,
    /// `Math`
    MathClass,
}

/// A value.
#[derive(Debug, Clone)]
pub enum Value {
    /// `null`
    Null,
    /// A boolean.
    Bool(bool),
    /// A whole number.
    Int(i64),
    /// A decimal number.
    Dec(f64),
    /// Text.
    Str(Rc<str>),
    /// A list.
    List(List),
    /// A map.
    Map(Map),
    /// A closure.
    Closure(Rc<Closure>),
    /// An integer range, both ends included.
    Range(i64, i64),
    /// A date and time (UTC).
    Date(NaiveDateTime),
    /// A thrown exception: its message.
    Exception(Rc<str>),
    /// A host object.
    Host(Host),
}

impl Value {
    /// A string value.
    pub fn str(s: &str) -> Value {
        Value::Str(Rc::from(s))
    }

    /// A new list value.
    pub fn list(items: Vec<Value>) -> Value {
        Value::List(Rc::new(Cell::new(items)))
    }

    /// A new map value.
    pub fn map(entries: Entries) -> Value {
        Value::Map(Rc::new(Cell::new(entries)))
    }

    /// Groovy truth: null, false, 0, "", empty collections are false.
    pub fn truthy(&self) -> bool {
        match self {
            Value::Null => false,
            Value::Bool(b) => *b,
            Value::Int(n) => *n != 0,
            Value::Dec(n) => *n != 0.0,
            Value::Str(s) => !s.is_empty(),
            Value::List(l) => !l.borrow().is_empty(),
            Value::Map(m) => !m.borrow().is_empty(),
            Value::Range(..) | Value::Closure(_) | Value::Date(_) | Value::Host(_) => true,
            Value::Exception(_) => true,
        }
    }

    /// The type name used in error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "Boolean",
            Value::Int(_) => "Integer",
            Value::Dec(_) => "BigDecimal",
            Value::Str(_) => "String",
            Value::List(_) => "List",
            Value::Map(_) => "Map",
            Value::Closure(_) => "Closure",
            Value::Range(..) => "Range",
            Value::Date(_) => "Date",
            Value::Exception(_) => "Exception",
            Value::Host(_) => "helper",
        }
    }

    /// A number as f64, if it is one.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(n) => Some(*n as f64),
            Value::Dec(n) => Some(*n),
            _ => None,
        }
    }

    /// The elements of a list or range (a copy), for iteration.
    pub fn items(&self) -> Option<Vec<Value>> {
        match self {
            Value::List(l) => Some(l.borrow().clone()),
            Value::Range(a, b) => Some(range_items(*a, *b)),
            _ => None,
        }
    }

    /// Groovy `==`: numbers by value, collections element by element.
    pub fn equals(&self, other: &Value) -> bool {
        let mut budget = EQUALS_BUDGET;
        self.equals_depth(other, 0, &mut budget)
    }

    /// `equals` that gives up (unequal) past 64 levels or after `EQUALS_BUDGET` element
    /// comparisons, so that self-containing or hugely shared structures cannot hang a run.
    fn equals_depth(&self, other: &Value, depth: usize, budget: &mut usize) -> bool {
        if depth > 64 || *budget == 0 {
            return false;
        }
        *budget -= 1;
        match (self, other) {
            (Value::Null, Value::Null) => true,
            (Value::Null, _) | (_, Value::Null) => false,
            (Value::Int(a), Value::Int(b)) => a == b,
            (a, b) if a.as_f64().is_some() && b.as_f64().is_some() => a.as_f64() == b.as_f64(),
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::Str(a), Value::Str(b)) => a == b,
            (Value::List(a), Value::List(b)) => {
                Rc::ptr_eq(a, b) || {
                    let (a, b) = (a.borrow(), b.borrow());
                    a.len() == b.len()
                        && a.iter()
                            .zip(b.iter())
                            .all(|(x, y)| x.equals_depth(y, depth + 1, budget))
                }
            }
            (Value::Map(a), Value::Map(b)) => {
                Rc::ptr_eq(a, b) || {
                    let (a, b) = (a.borrow(), b.borrow());
                    a.len() == b.len()
                        && a.iter().all(|(k, v)| {
                            b.get(k)
                                .is_some_and(|w| v.equals_depth(w, depth + 1, budget))
                        })
                }
            }
            (Value::Range(a, b), Value::Range(c, d)) => a == c && b == d,
            (Value::Range(..), Value::List(_)) | (Value::List(_), Value::Range(..)) => {
                self.items().zip(other.items()).is_some_and(|(x, y)| {
                    x.len() == y.len()
                        && x.iter()
                            .zip(y.iter())
                            .all(|(a, b)| a.equals_depth(b, depth + 1, budget))
                })
            }
            (Value::Date(a), Value::Date(b)) => a == b,
            (Value::Exception(a), Value::Exception(b)) => a == b,
            (Value::Host(a), Value::Host(b)) => a == b,
            (Value::Closure(a), Value::Closure(b)) => Rc::ptr_eq(a, b),
            _ => false,
        }
    }

    /// Groovy ordering for `<`, `<=>` and sorting; `None` when the values do not compare.
    pub fn compare(&self, other: &Value) -> Option<Ordering> {
        match (self, other) {
            (Value::Null, Value::Null) => Some(Ordering::Equal),
            (Value::Null, _) => Some(Ordering::Less),
            (_, Value::Null) => Some(Ordering::Greater),
            (Value::Int(a), Value::Int(b)) => Some(a.cmp(b)),
            (a, b) if a.as_f64().is_some() && b.as_f64().is_some() => {
                a.as_f64()?.partial_cmp(&b.as_f64()?)
            }
            (Value::Str(a), Value::Str(b)) => Some(a.cmp(b)),
            (Value::Bool(a), Value::Bool(b)) => Some(a.cmp(b)),
            (Value::Date(a), Value::Date(b)) => Some(a.cmp(b)),
            _ => None,
        }
    }

    /// A total order for sorting: by kind first (null, booleans, numbers, strings, dates,
    /// then anything else), then by value; NaN sorts after every other number.
    pub fn sort_cmp(&self, other: &Value) -> Ordering {
        fn rank(v: &Value) -> u8 {
            match v {
                Value::Null => 0,
                Value::Bool(_) => 1,
                Value::Int(_) | Value::Dec(_) => 2,
                Value::Str(_) => 3,
                Value::Date(_) => 4,
                _ => 5,
            }
        }
        match rank(self).cmp(&rank(other)) {
            Ordering::Equal => {}
            o => return o,
        }
        match (self, other) {
            (Value::Int(a), Value::Int(b)) => a.cmp(b),
            (a, b) if a.as_f64().is_some() && b.as_f64().is_some() => a
                .as_f64()
                .unwrap_or(0.0)
                .total_cmp(&b.as_f64().unwrap_or(0.0)),
            (Value::Bool(a), Value::Bool(b)) => a.cmp(b),
            (Value::Str(a), Value::Str(b)) => a.cmp(b),
            (Value::Date(a), Value::Date(b)) => a.cmp(b),
            _ => Ordering::Equal,
        }
    }

    /// The value as Groovy's `toString()` writes it.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        self.write_text(&mut out, 0);
        out
    }

    fn write_text(&self, out: &mut String, depth: usize) {
        // Bounded in depth and in size, so that shared or self-containing collections cannot
        // make the text grow without end (each element writes at least one character).
        if depth > 20 || out.len() > TEXT_BUDGET {
            out.push_str("...");
            return;
        }
        match self {
            Value::Null => out.push_str("null"),
            Value::Bool(b) => {
                let _ = write!(out, "{b}");
            }
            Value::Int(n) => {
                let _ = write!(out, "{n}");
            }
            Value::Dec(n) => out.push_str(&format_decimal(*n)),
            Value::Str(s) => out.push_str(s),
            Value::List(l) => {
                out.push('[');
                for (i, v) in l.borrow().iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    if matches!(v, Value::List(inner) if Rc::ptr_eq(inner, l)) {
                        out.push_str("(this Collection)");
                    } else {
                        v.write_text(out, depth + 1);
                    }
                    if out.len() > TEXT_BUDGET {
                        out.push_str(", ...");
                        break;
                    }
                }
                out.push(']');
            }
            Value::Map(m_rc) => {
                out.push('[');
                let m = m_rc.borrow();
                if m.is_empty() {
                    out.push(':');
                }
                for (i, (k, v)) in m.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    out.push_str(k);
                    out.push(':');
                    if matches!(v, Value::Map(inner) if Rc::ptr_eq(inner, m_rc)) {
                        out.push_str("(this Map)");
                    } else {
                        v.write_text(out, depth + 1);
                    }
                    if out.len() > TEXT_BUDGET {
                        out.push_str(", ...");
                        break;
                    }
                }
                out.push(']');
            }
            Value::Range(a, b) => {
                let _ = write!(out, "{a}..{b}");
            }
            Value::Closure(_) => out.push_str("Closure"),
            Value::Date(d) => {
                let _ = write!(out, "{}", d.format("%a %b %d %H:%M:%S UTC %Y"));
            }
            Value::Exception(m) => {
                let _ = write!(out, "java.lang.Exception: {m}");
            }
            Value::Host(h) => {
                let _ = write!(out, "{h:?}");
            }
        }
    }

    /// Converts JSON (an entity, a replica) into a value.
    pub fn from_json(v: &serde_json::Value) -> Value {
        match v {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => match n.as_i64() {
                Some(i) => Value::Int(i),
                None => Value::Dec(n.as_f64().unwrap_or(0.0)),
            },
            serde_json::Value::String(s) => Value::str(s),
            serde_json::Value::Array(a) => {
                // Records in a list (comments, attachments) tend to share their keys in the
                // same order: each reuses its predecessor's key text where it matches.
                let mut keys: Vec<Rc<str>> = Vec::new();
                Value::list(
                    a.iter()
                        .map(|item| match item {
                            serde_json::Value::Object(o) => Value::object_from_json(o, &mut keys),
                            other => Value::from_json(other),
                        })
                        .collect(),
                )
            }
            serde_json::Value::Object(o) => Value::object_from_json(o, &mut Vec::new()),
        }
    }

    /// Converts a JSON object, taking key text from `keys` (a sibling's keys) where it
    /// matches, and leaving this object's keys there for the next sibling.
    fn object_from_json(
        o: &serde_json::Map<String, serde_json::Value>,
        keys: &mut Vec<Rc<str>>,
    ) -> Value {
        let mut entries = Entries::with_capacity(o.len());
        for (i, (k, v)) in o.iter().enumerate() {
            let key = match keys.get(i) {
                Some(same) if **same == **k => same.clone(),
                _ => {
                    let fresh: Rc<str> = Rc::from(k.as_str());
                    match keys.get_mut(i) {
                        Some(slot) => *slot = fresh.clone(),
                        None => keys.push(fresh.clone()),
                    }
                    fresh
                }
            };
            // JSON object keys are unique already.
            entries.push_unique(key, Value::from_json(v));
        }
        Value::map(entries)
    }

    /// Converts a value to JSON; closures and helpers become their names, dates ISO text.
    pub fn to_json(&self) -> serde_json::Value {
        self.to_json_depth(0)
    }

    fn to_json_depth(&self, depth: usize) -> serde_json::Value {
        use serde_json::Value as J;
        if depth > 64 {
            return J::Null;
        }
        match self {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Int(n) => J::from(*n),
            Value::Dec(n) => serde_json::Number::from_f64(*n).map_or(J::Null, J::Number),
            Value::Str(s) => J::String(s.to_string()),
            Value::List(l) => J::Array(
                l.borrow()
                    .iter()
                    .map(|v| v.to_json_depth(depth + 1))
                    .collect(),
            ),
            Value::Range(a, b) => J::Array(
                range_items(*a, *b)
                    .iter()
                    .map(|v| v.to_json_depth(depth + 1))
                    .collect(),
            ),
            Value::Map(m) => {
                let m = m.borrow();
                let mut out = serde_json::Map::with_capacity(m.len());
                for (k, v) in m.iter() {
                    out.insert(k.to_string(), v.to_json_depth(depth + 1));
                }
                J::Object(out)
            }
            Value::Date(d) => J::String(d.format("%Y-%m-%dT%H:%M:%SZ").to_string()),
            other => J::String(other.to_text()),
        }
    }
}

/// The most element comparisons one `==` makes.
const EQUALS_BUDGET: usize = 1_000_000;

/// The most text `toString` writes for one value (beyond it, `...`).
const TEXT_BUDGET: usize = 1 << 20;

/// Checks that a result tree can be written out: no collection contains itself, and at most
/// `budget` values in all (shared sub-collections count each time they appear).
pub fn check_output(v: &Value, budget: usize) -> Result<(), String> {
    fn walk(v: &Value, path: &mut Vec<*const ()>, left: &mut usize) -> Result<(), String> {
        if *left == 0 {
            return Err("is too large to write out (raise the collection limit?)".to_string());
        }
        *left -= 1;
        let ptr: *const () = match v {
            Value::List(l) => Rc::as_ptr(l) as *const (),
            Value::Map(m) => Rc::as_ptr(m) as *const (),
            Value::Range(a, b) => {
                let len = (*b as i128 - *a as i128).unsigned_abs() + 1;
                if len > *left as u128 {
                    return Err(
                        "is too large to write out (raise the collection limit?)".to_string()
                    );
                }
                *left -= len as usize;
                return Ok(());
            }
            _ => return Ok(()),
        };
        if path.contains(&ptr) {
            return Err("contains itself and cannot be written out".to_string());
        }
        if path.len() >= 64 {
            return Err("nests deeper than 64 levels and cannot be written out".to_string());
        }
        path.push(ptr);
        match v {
            Value::List(l) => {
                for c in l.borrow().iter() {
                    walk(c, path, left)?;
                }
            }
            Value::Map(m) => {
                for c in m.borrow().values() {
                    walk(c, path, left)?;
                }
            }
            _ => {}
        }
        path.pop();
        Ok(())
    }
    let mut left = budget;
    walk(v, &mut Vec::new(), &mut left)
}

/// A map key for a value: strings are shared as they are, other values use their text.
pub fn key(v: &Value) -> Rc<str> {
    match v {
        Value::Str(s) => s.clone(),
        other => Rc::from(other.to_text().as_str()),
    }
}

/// Decimals as Groovy prints them: `3.5`, and `3.0` rather than `3`.
pub fn format_decimal(n: f64) -> String {
    if n.is_finite() && n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{n:.1}")
    } else {
        format!("{n}")
    }
}

/// The integers of a range, either direction (capped by the caller's size limit).
pub fn range_items(a: i64, b: i64) -> Vec<Value> {
    if a <= b {
        (a..=b).map(Value::Int).collect()
    } else {
        (b..=a).rev().map(Value::Int).collect()
    }
}

/// Values serialise straight to JSON (the same shape as [`Value::to_json`]) without building
/// an intermediate `serde_json::Value`, for writing replicas to the wire or the outbox.
impl serde::Serialize for Value {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        Nested(self, 0).serialize(s)
    }
}

/// A value at a nesting depth: past 64 levels (a list containing itself) it serialises as
/// `null`, as [`Value::to_json`] does.
struct Nested<'a>(&'a Value, usize);

impl serde::Serialize for Nested<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeSeq};
        let Nested(value, depth) = *self;
        if depth > 64 {
            return s.serialize_unit();
        }
        match value {
            Value::Null => s.serialize_unit(),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Int(n) => s.serialize_i64(*n),
            Value::Dec(n) if n.is_finite() => s.serialize_f64(*n),
            Value::Dec(_) => s.serialize_unit(),
            Value::Str(v) => s.serialize_str(v),
            Value::List(l) => {
                let l = l.borrow();
                let mut seq = s.serialize_seq(Some(l.len()))?;
                for v in l.iter() {
                    seq.serialize_element(&Nested(v, depth + 1))?;
                }
                seq.end()
            }
            Value::Range(a, b) => {
                let items = range_items(*a, *b);
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for v in &items {
                    seq.serialize_element(&Nested(v, depth + 1))?;
                }
                seq.end()
            }
            Value::Map(m) => {
                let m = m.borrow();
                let mut map = s.serialize_map(Some(m.len()))?;
                for (k, v) in m.iter() {
                    map.serialize_entry(&**k, &Nested(v, depth + 1))?;
                }
                map.end()
            }
            Value::Date(d) => s.serialize_str(&d.format("%Y-%m-%dT%H:%M:%SZ").to_string()),
            other => s.serialize_str(&other.to_text()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Value;
    use serde_json::json;

    #[test]
    fn serialising_matches_the_json_conversion() {
        let j = json!({"a": [1, 2.5, "x", null, true], "b": {"c": {"d": []}}, "e": {}});
        let v = Value::from_json(&j);
        assert_eq!(serde_json::to_value(&v).unwrap(), v.to_json());
        assert_eq!(v.to_json(), j);
        assert_eq!(
            serde_json::to_value(Value::Range(3, 1)).unwrap(),
            json!([3, 2, 1])
        );
    }
}
