//! Built-in methods and properties of strings, numbers, lists, maps, closures and dates,
//! global functions, and constructors (`new Exception(…)`, `new Date()`). Anything that
//! would reach files, the network, processes or the environment is refused.

use crate::error::Pos;
use crate::interp::{fail, Ctrl, Eval, Interp};
use crate::ops::{binary, contains};
use crate::value::{Closure, Entries, Value};
use chrono::{NaiveDate, NaiveDateTime};
use std::cmp::Ordering;
use std::rc::Rc;

/// Methods that would escape the sandbox, with the reason given to the admin.
const FORBIDDEN: &[&str] = &[
    "execute",
    "getClass",
    "invokeMethod",
    "evaluate",
    "newInstance",
    "exec",
    "load",
    "getText",
    "withReader",
    "newReader",
];

/// Compiles a regex, failing with the script position when it is invalid.
pub fn regex(pattern: &str, pos: Pos) -> Eval<regex::Regex> {
    regex::RegexBuilder::new(pattern)
        .size_limit(1 << 20)
        .build()
        .map_err(|e| {
            Ctrl::Error(crate::error::ScriptError::runtime(
                pos,
                format!("invalid regular expression `{pattern}`: {e}"),
            ))
        })
}

fn closure_arg(args: &[Value], i: usize, method: &str, pos: Pos) -> Eval<Rc<Closure>> {
    match args.get(i) {
        Some(Value::Closure(c)) => Ok(c.clone()),
        _ => fail(
            pos,
            format!("`{method}` needs a closure, e.g. `{method} {{ it }}`"),
        ),
    }
}

fn int_arg(args: &[Value], i: usize, method: &str, pos: Pos) -> Eval<i64> {
    match args.get(i) {
        Some(Value::Int(n)) => Ok(*n),
        Some(Value::Dec(n)) => Ok(*n as i64),
        _ => fail(pos, format!("`{method}` needs a whole number argument")),
    }
}

fn text_arg(args: &[Value], i: usize) -> String {
    args.get(i).map(Value::to_text).unwrap_or_default()
}

/// The error for a string that would pass the size limit.
fn string_limit(it: &Interp, pos: Pos) -> Eval {
    Err(Ctrl::Error(crate::error::ScriptError::limit(
        pos,
        format!(
            "string size limit of {} bytes reached",
            it.limits.max_string_bytes
        ),
    )))
}

/// `object.name`, or `object?.name` when `safe`.
pub fn property(it: &mut Interp, o: &Value, name: &str, safe: bool, pos: Pos) -> Eval {
    match o {
        Value::Null if safe => Ok(Value::Null),
        Value::Null => fail(pos, format!("cannot read property `{name}` of null (use `?.{name}` when the value may be missing)")),
        Value::Map(m) => Ok(m.borrow().get(name).cloned().unwrap_or(Value::Null)),
        Value::List(l) => {
            // Groovy spreads a property over a list's elements.
            if name == "size" || name == "length" {
                return Ok(Value::Int(l.borrow().len() as i64));
            }
            let items = l.borrow().clone();
            let mut out = Vec::new();
            for i in items {
                out.push(property(it, &i, name, true, pos)?);
            }
            Ok(Value::list(out))
        }
        Value::Exception(m) if name == "message" => Ok(Value::Str(m.clone())),
        Value::Str(s) if name == "length" || name == "size" => Ok(Value::Int(s.chars().count() as i64)),
        Value::Date(d) => Ok(match name {
            "time" => Value::Int(d.and_utc().timestamp_millis()),
            _ => return fail(pos, format!("a Date has no property `{name}`")),
        }),
        Value::Host(_) => fail(pos, format!("helpers have no property `{name}`; call one of their methods")),
        other => {
            // `x.foo` on a value without properties: a getter method (`s.empty`)?
            let mut chars = name.chars();
            let Some(first) = chars.next() else {
                return fail(pos, "a property name cannot be empty");
            };
            let getter = format!("is{}{}", first.to_uppercase(), chars.as_str());
            match method(it, other, &getter, Vec::new(), pos) {
                Ok(v) => Ok(v),
                Err(_) => fail(pos, format!("a {} has no property `{name}`", other.type_name())),
            }
        }
    }
}

/// `object.name = v`.
pub fn set_property(_it: &mut Interp, o: &Value, name: &Rc<str>, v: Value, pos: Pos) -> Eval<()> {
    match o {
        Value::Map(m) => {
            m.borrow_mut().insert(name.clone(), v);
            Ok(())
        }
        Value::Null => fail(pos, format!("cannot set property `{name}` of null")),
        other => fail(
            pos,
            format!("cannot set property `{name}` of a {}", other.type_name()),
        ),
    }
}

fn list_index(len: usize, i: i64) -> Option<usize> {
    let idx = if i < 0 { len as i64 + i } else { i };
    (0..len as i64).contains(&idx).then_some(idx as usize)
}

/// `object[index]`.
pub fn index(_it: &mut Interp, o: &Value, i: &Value, pos: Pos) -> Eval {
    match (o, i) {
        (Value::Null, _) => fail(pos, "cannot index null"),
        (Value::Map(m), Value::Str(k)) => Ok(m.borrow().get(k).cloned().unwrap_or(Value::Null)),
        (Value::Map(m), k) => Ok(m
            .borrow()
            .get(k.to_text().as_str())
            .cloned()
            .unwrap_or(Value::Null)),
        (Value::List(l), Value::Int(n)) => {
            let l = l.borrow();
            Ok(list_index(l.len(), *n).map_or(Value::Null, |i| l[i].clone()))
        }
        (Value::List(l), Value::Range(a, b)) => {
            let l = l.borrow();
            let (Some(a), Some(b)) = (list_index(l.len(), *a), list_index(l.len(), *b)) else {
                return fail(pos, "range index outside the list");
            };
            Ok(Value::list(if a <= b {
                l[a..=b].to_vec()
            } else {
                l[b..=a].iter().rev().cloned().collect()
            }))
        }
        (Value::Str(s), Value::Int(n)) => {
            let chars: Vec<char> = s.chars().collect();
            match list_index(chars.len(), *n) {
                Some(i) => Ok(Value::str(&chars[i].to_string())),
                None => fail(
                    pos,
                    format!("string index {n} out of range (length {})", chars.len()),
                ),
            }
        }
        (Value::Str(s), Value::Range(a, b)) => {
            let chars: Vec<char> = s.chars().collect();
            let (Some(a), Some(b)) = (list_index(chars.len(), *a), list_index(chars.len(), *b))
            else {
                return fail(pos, "range index outside the string");
            };
            Ok(Value::str(&if a <= b {
                chars[a..=b].iter().collect::<String>()
            } else {
                chars[b..=a].iter().rev().collect()
            }))
        }
        (Value::Range(..), Value::Int(n)) => {
            let items = o.items().unwrap_or_default();
            Ok(list_index(items.len(), *n).map_or(Value::Null, |i| items[i].clone()))
        }
        (other, i) => fail(
            pos,
            format!(
                "cannot index a {} with a {}",
                other.type_name(),
                i.type_name()
            ),
        ),
    }
}

/// `object[index] = v`.
pub fn set_index(it: &mut Interp, o: &Value, i: &Value, v: Value, pos: Pos) -> Eval<()> {
    match (o, i) {
        (Value::Map(m), k) => {
            let k = crate::value::key(k);
            m.borrow_mut().insert(k, v);
            it.check_size(m.borrow().len(), pos)
        }
        (Value::List(l), Value::Int(n)) => {
            let mut l = l.borrow_mut();
            let len = l.len();
            if *n >= 0 && *n as usize >= len {
                // Groovy grows the list, filling with nulls.
                it.check_size(*n as usize + 1, pos)?;
                l.resize(*n as usize, Value::Null);
                l.push(v);
                return Ok(());
            }
            match list_index(len, *n) {
                Some(idx) => {
                    l[idx] = v;
                    Ok(())
                }
                None => fail(pos, format!("list index {n} out of range (size {len})")),
            }
        }
        (other, _) => fail(
            pos,
            format!("cannot assign an index of a {}", other.type_name()),
        ),
    }
}

/// A global function call `name(args)` that is not a closure variable.
pub fn global(name: &str, pos: Pos) -> Eval {
    match name {
        "println" | "print" | "printf" => Ok(Value::Null),
        "sleep" | "exit" | "evaluate" | "load" => {
            fail(pos, format!("`{name}` is not available in sync rules"))
        }
        _ => fail(pos, format!("unknown function `{name}`")),
    }
}

/// `new Type(args)`.
pub fn construct(ty: &str, args: Vec<Value>, pos: Pos) -> Eval {
    let arg = |i: usize| args.get(i).cloned().unwrap_or(Value::Null);
    match ty {
        "Exception"
        | "RuntimeException"
        | "IllegalStateException"
        | "IllegalArgumentException"
        | "Throwable" => Ok(Value::Exception(Rc::from(arg(0).to_text().as_str()))),
        "ArrayList" | "LinkedList" | "HashSet" | "LinkedHashSet" => {
            Ok(Value::list(arg(0).items().unwrap_or_default()))
        }
        "HashMap" | "LinkedHashMap" | "TreeMap" => Ok(Value::map(Entries::default())),
        "Date" => match arg(0) {
            Value::Int(ms) => chrono::DateTime::from_timestamp_millis(ms)
                .map(|d| Value::Date(d.naive_utc()))
                .map_or_else(|| fail(pos, "date out of range"), Ok),
            _ => Ok(Value::Date(chrono::Utc::now().naive_utc())),
        },
        "String" => Ok(Value::str(&arg(0).to_text())),
        "StringBuilder" | "StringBuffer" => Ok(Value::str(&match arg(0) {
            Value::Null => String::new(),
            v => v.to_text(),
        })),
        "File" | "URL" | "Socket" | "ProcessBuilder" | "Thread" | "FileWriter" | "FileReader"
        | "GroovyShell" => fail(
            pos,
            format!(
                "`new {ty}` is not available in sync rules (no file, network or process access)"
            ),
        ),
        other => fail(pos, format!("unknown type `{other}`")),
    }
}

/// Converts a Java date pattern (`yyyy-MM-dd HH:mm:ss`) to chrono's.
fn java_format(pattern: &str) -> String {
    let mut out = String::new();
    let chars: Vec<char> = pattern.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' {
            i += 1;
            while i < chars.len() && chars[i] != '\'' {
                if chars[i] == '%' {
                    out.push_str("%%");
                } else {
                    out.push(chars[i]);
                }
                i += 1;
            }
            i += 1;
            continue;
        }
        let mut n = 1;
        while i + n < chars.len() && chars[i + n] == c {
            n += 1;
        }
        let spec = match (c, n) {
            ('y', 2) => "%y",
            ('y', _) => "%Y",
            ('M', 1) => "%-m",
            ('M', 2) => "%m",
            ('M', 3) => "%b",
            ('M', _) => "%B",
            ('d', 1) => "%-d",
            ('d', _) => "%d",
            ('H', 1) => "%-H",
            ('H', _) => "%H",
            ('h', _) => "%I",
            ('m', 1) => "%-M",
            ('m', _) => "%M",
            ('s', 1) => "%-S",
            ('s', _) => "%S",
            ('S', _) => "%3f",
            ('a', _) => "%p",
            ('E', 1..=3) => "%a",
            ('E', _) => "%A",
            // Dates are UTC: the offset is a constant.
            ('Z', _) => "+0000",
            ('X', _) => "Z",
            ('z', _) => "UTC",
            _ => {
                for _ in 0..n {
                    if c == '%' {
                        out.push_str("%%");
                    } else {
                        out.push(c);
                    }
                }
                i += n;
                continue;
            }
        };
        out.push_str(spec);
        i += n;
    }
    out
}

/// `Date.parse(pattern, text)`.
pub fn date_parse(pattern: &str, text: &str, pos: Pos) -> Eval {
    let f = java_format(pattern);
    if let Ok(d) = NaiveDateTime::parse_from_str(text, &f) {
        return Ok(Value::Date(d));
    }
    if let Ok(d) = chrono::DateTime::parse_from_str(text, &f) {
        return Ok(Value::Date(d.naive_utc()));
    }
    if let Ok(d) = NaiveDate::parse_from_str(text, &f) {
        return Ok(Value::Date(d.and_hms_opt(0, 0, 0).unwrap_or_default()));
    }
    fail(
        pos,
        format!("`{text}` does not match the date pattern `{pattern}`"),
    )
}

fn sort_values(
    it: &mut Interp,
    items: &mut [Value],
    by: Option<&Rc<Closure>>,
    pos: Pos,
) -> Eval<()> {
    // Sort with a fallible comparator: collect keys first for one-argument closures.
    let mut error: Option<Ctrl> = None;
    match by {
        None => items.sort_by(|a, b| a.sort_cmp(b)),
        Some(c) if c.def.params.len() == 2 => {
            let mut v: Vec<Value> = items.to_vec();
            // Insertion sort keeps the number of closure calls reasonable and errors simple.
            for i in 1..v.len() {
                let mut j = i;
                while j > 0 {
                    let r = it.call_closure(c, vec![v[j - 1].clone(), v[j].clone()], pos);
                    match r {
                        Ok(Value::Int(n)) if n > 0 => {
                            v.swap(j - 1, j);
                            j -= 1;
                        }
                        Ok(_) => break,
                        Err(e) => {
                            error = Some(e);
                            break;
                        }
                    }
                }
                if error.is_some() {
                    break;
                }
            }
            items.clone_from_slice(&v);
        }
        Some(c) => {
            let mut keyed = Vec::with_capacity(items.len());
            for v in items.iter() {
                keyed.push((it.call_closure(c, vec![v.clone()], pos)?, v.clone()));
            }
            keyed.sort_by(|a, b| a.0.sort_cmp(&b.0));
            for (slot, (_, v)) in items.iter_mut().zip(keyed) {
                *slot = v;
            }
        }
    }
    match error {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// `object.name(args)`.
pub fn method(it: &mut Interp, o: &Value, name: &str, args: Vec<Value>, pos: Pos) -> Eval {
    if FORBIDDEN.contains(&name) {
        return fail(pos, format!("`{name}` is not available in sync rules (no file, network, process or reflection access)"));
    }
    // Methods every value has.
    match name {
        "toString" => return Ok(Value::str(&crate::ops::number_text(o))),
        "equals" => return Ok(Value::Bool(o.equals(args.first().unwrap_or(&Value::Null)))),
        "is" => {
            // Identity for collections and closures, as in Groovy; values for the rest.
            let other = args.first().unwrap_or(&Value::Null);
            return Ok(Value::Bool(match (o, other) {
                (Value::List(a), Value::List(b)) => Rc::ptr_eq(a, b),
                (Value::Map(a), Value::Map(b)) => Rc::ptr_eq(a, b),
                (Value::Closure(a), Value::Closure(b)) => Rc::ptr_eq(a, b),
                (Value::List(_) | Value::Map(_) | Value::Closure(_), _) => false,
                _ => o.equals(other),
            }));
        }
        "asBoolean" => return Ok(Value::Bool(o.truthy())),
        "hashCode" => return Ok(Value::Int(o.to_text().len() as i64)),
        _ => {}
    }
    match o {
        Value::Null => fail(
            pos,
            format!(
                "cannot call `{name}()` on null (use `?.{name}()` when the value may be missing)"
            ),
        ),
        Value::Host(h) => crate::host::call(it, *h, name, args, pos),
        Value::Str(s) => string_method(it, s, name, &args, pos),
        Value::Int(n) if name == "times" => {
            let c = closure_arg(&args, 0, name, pos)?;
            it.check_size((*n).max(0) as usize, pos)?;
            for i in 0..(*n).max(0) {
                it.call_closure(&c, vec![Value::Int(i)], pos)?;
            }
            Ok(Value::Null)
        }
        Value::Int(_) | Value::Dec(_) => number_method(o, name, &args, pos),
        Value::Bool(_) => fail(pos, format!("a Boolean has no method `{name}`")),
        Value::List(_) | Value::Range(..) => list_method(it, o, name, args, pos),
        Value::Map(m) => {
            let v = map_method(it, o, m, name, args, pos);
            sized(it, v, Some(o), pos)
        }
        Value::Closure(c) => match name {
            "call" => it.call_closure(c, args, pos),
            _ => fail(pos, format!("a Closure has no method `{name}`")),
        },
        Value::Date(d) => match name {
            "format" => {
                use std::fmt::Write as _;
                let mut out = String::new();
                let pattern = text_arg(&args, 0);
                match write!(out, "{}", d.format(&java_format(&pattern))) {
                    Ok(()) => Ok(Value::str(&out)),
                    Err(_) => fail(
                        pos,
                        format!("`{pattern}` is not a date pattern this runtime can format"),
                    ),
                }
            }
            "getTime" => Ok(Value::Int(d.and_utc().timestamp_millis())),
            "before" => Ok(Value::Bool(
                matches!(args.first(), Some(Value::Date(x)) if d < x),
            )),
            "after" => Ok(Value::Bool(
                matches!(args.first(), Some(Value::Date(x)) if d > x),
            )),
            "plus" | "minus" => {
                let days = int_arg(&args, 0, name, pos)?.clamp(-1_000_000, 1_000_000);
                let days = if name == "minus" { -days } else { days };
                d.checked_add_signed(chrono::Duration::days(days))
                    .map(Value::Date)
                    .map_or_else(|| fail(pos, "the date is out of range"), Ok)
            }
            _ => fail(pos, format!("a Date has no method `{name}`")),
        },
        Value::Exception(m) => match name {
            "getMessage" => Ok(Value::Str(m.clone())),
            _ => fail(pos, format!("an Exception has no method `{name}`")),
        },
    }
}

/// Checks a method's result (and a map it changed) against the collection limit.
fn sized(it: &Interp, v: Eval, receiver: Option<&Value>, pos: Pos) -> Eval {
    let v = v?;
    for x in [Some(&v), receiver].into_iter().flatten() {
        match x {
            Value::List(l) => it.check_size(l.borrow().len(), pos)?,
            Value::Map(m) => it.check_size(m.borrow().len(), pos)?,
            _ => {}
        }
    }
    Ok(v)
}

fn string_method(it: &mut Interp, s: &Rc<str>, name: &str, args: &[Value], pos: Pos) -> Eval {
    let v = string_method_inner(it, s, name, args, pos);
    sized(it, v, None, pos)
}

fn string_method_inner(it: &mut Interp, s: &Rc<str>, name: &str, args: &[Value], pos: Pos) -> Eval {
    let text = |i: usize| text_arg(args, i);
    let chars = || s.chars().collect::<Vec<char>>();
    Ok(match name {
        "trim" | "strip" => Value::str(s.trim()),
        "toLowerCase" => Value::str(&s.to_lowercase()),
        "toUpperCase" => Value::str(&s.to_uppercase()),
        "contains" => Value::Bool(s.contains(&text(0))),
        "startsWith" => Value::Bool(s.starts_with(&text(0))),
        "endsWith" => Value::Bool(s.ends_with(&text(0))),
        "equalsIgnoreCase" => Value::Bool(s.to_lowercase() == text(0).to_lowercase()),
        "replace" => {
            let (from, to) = (text(0), text(1));
            // Refuse before building: the size of the result is known in advance.
            let count = if from.is_empty() {
                s.chars().count() + 1
            } else {
                s.matches(from.as_str()).count()
            };
            let size = s.len().saturating_add(count.saturating_mul(to.len()));
            if size > it.limits.max_string_bytes {
                return string_limit(it, pos);
            }
            Value::str(&s.replace(&from, &to))
        }
        "replaceAll" | "replaceFirst" => {
            let re = regex(&text(0), pos)?;
            let replacement = java_replacement(&text(1));
            // An upper bound of the result: each match becomes the replacement with every
            // group reference as long as the longest match.
            let (mut count, mut longest) = (0usize, 0usize);
            for m in re.find_iter(s) {
                count += 1;
                longest = longest.max(m.len());
                if name == "replaceFirst" {
                    break;
                }
            }
            let refs = replacement.matches("${").count();
            let per_match = replacement
                .len()
                .saturating_add(refs.saturating_mul(longest));
            if s.len().saturating_add(count.saturating_mul(per_match)) > it.limits.max_string_bytes
            {
                return string_limit(it, pos);
            }
            let r = if name == "replaceAll" {
                re.replace_all(s, replacement.as_str()).into_owned()
            } else {
                re.replace(s, replacement.as_str()).into_owned()
            };
            it.check_string(&r, pos)?;
            Value::str(&r)
        }
        "split" => {
            let parts: Vec<Value> = if args.is_empty() {
                s.split_whitespace().map(Value::str).collect()
            } else {
                let re = regex(&text(0), pos)?;
                let mut v: Vec<Value> = re.split(s).map(Value::str).collect();
                // Java drops trailing empty strings.
                while matches!(v.last(), Some(Value::Str(x)) if x.is_empty()) {
                    v.pop();
                }
                v
            };
            Value::list(parts)
        }
        "tokenize" => {
            let seps = if args.is_empty() {
                " \t\n\r".to_string()
            } else {
                text(0)
            };
            Value::list(
                s.split(|c| seps.contains(c))
                    .filter(|p| !p.is_empty())
                    .map(Value::str)
                    .collect(),
            )
        }
        "substring" => {
            let c = chars();
            let a = int_arg(args, 0, name, pos)?;
            let b = if args.len() > 1 {
                int_arg(args, 1, name, pos)?
            } else {
                c.len() as i64
            };
            if a < 0 || b < a || b as usize > c.len() {
                return fail(
                    pos,
                    format!(
                        "substring({a}, {b}) is outside the string (length {})",
                        c.len()
                    ),
                );
            }
            Value::str(&c[a as usize..b as usize].iter().collect::<String>())
        }
        "size" | "length" => Value::Int(s.chars().count() as i64),
        "isEmpty" => Value::Bool(s.is_empty()),
        "isBlank" => Value::Bool(s.trim().is_empty()),
        "take" => Value::str(
            &s.chars()
                .take(int_arg(args, 0, name, pos)?.max(0) as usize)
                .collect::<String>(),
        ),
        "drop" => Value::str(
            &s.chars()
                .skip(int_arg(args, 0, name, pos)?.max(0) as usize)
                .collect::<String>(),
        ),
        "padLeft" | "padRight" => {
            let width =
                int_arg(args, 0, name, pos)?.clamp(0, it.limits.max_string_bytes as i64) as usize;
            let fill = if args.len() > 1 {
                text(1)
            } else {
                " ".to_string()
            };
            let len = s.chars().count();
            if len >= width || fill.is_empty() {
                Value::Str(s.clone())
            } else {
                let widest = fill.chars().map(char::len_utf8).max().unwrap_or(1);
                if (width - len).saturating_mul(widest).saturating_add(s.len())
                    > it.limits.max_string_bytes
                {
                    return string_limit(it, pos);
                }
                let pad: String = fill.chars().cycle().take(width - len).collect();
                Value::str(&if name == "padLeft" {
                    format!("{pad}{s}")
                } else {
                    format!("{s}{pad}")
                })
            }
        }
        "toInteger" | "toLong" | "asInteger" => match s.trim().parse::<i64>() {
            Ok(n) => Value::Int(n),
            Err(_) => return fail(pos, format!("`{s}` is not an integer")),
        },
        "toBigDecimal" | "toDouble" | "toFloat" => match s.trim().parse::<f64>() {
            Ok(n) => Value::Dec(n),
            Err(_) => return fail(pos, format!("`{s}` is not a number")),
        },
        "isNumber" | "isBigDecimal" | "isDouble" => Value::Bool(s.trim().parse::<f64>().is_ok()),
        "isInteger" | "isLong" => Value::Bool(s.trim().parse::<i64>().is_ok()),
        "capitalize" => {
            let mut c = s.chars();
            Value::str(&match c.next() {
                Some(f) => f.to_uppercase().chain(c).collect::<String>(),
                None => String::new(),
            })
        }
        "uncapitalize" => {
            let mut c = s.chars();
            Value::str(&match c.next() {
                Some(f) => f.to_lowercase().chain(c).collect::<String>(),
                None => String::new(),
            })
        }
        "indexOf" => Value::Int(
            s.find(&text(0))
                .map_or(-1, |b| s[..b].chars().count() as i64),
        ),
        "lastIndexOf" => Value::Int(
            s.rfind(&text(0))
                .map_or(-1, |b| s[..b].chars().count() as i64),
        ),
        "charAt" => {
            let c = chars();
            let i = int_arg(args, 0, name, pos)?;
            match list_index(c.len(), i) {
                Some(i) => Value::str(&c[i].to_string()),
                _ => return fail(pos, format!("charAt({i}) is outside the string")),
            }
        }
        "reverse" => Value::str(&s.chars().rev().collect::<String>()),
        "matches" => Value::Bool(regex(&format!("^(?:{})$", text(0)), pos)?.is_match(s)),
        "find" => regex(&text(0), pos)?
            .find(s)
            .map_or(Value::Null, |m| Value::str(m.as_str())),
        "findAll" => Value::list(
            regex(&text(0), pos)?
                .find_iter(s)
                .map(|m| Value::str(m.as_str()))
                .collect(),
        ),
        "count" => Value::Int(if text(0).is_empty() {
            0
        } else {
            s.matches(&text(0)).count() as i64
        }),
        "multiply" => {
            return binary(
                it,
                crate::ast::BinOp::Mul,
                Value::Str(s.clone()),
                args.first().cloned().unwrap_or(Value::Null),
                pos,
            )
        }
        "plus" | "concat" => {
            return binary(
                it,
                crate::ast::BinOp::Add,
                Value::Str(s.clone()),
                args.first().cloned().unwrap_or(Value::Null),
                pos,
            )
        }
        "readLines" | "lines" => Value::list(s.lines().map(Value::str).collect()),
        "toList" | "chars" => Value::list(s.chars().map(|c| Value::str(&c.to_string())).collect()),
        "each" => {
            let c = closure_arg(args, 0, name, pos)?;
            for ch in s.chars() {
                it.call_closure(&c, vec![Value::str(&ch.to_string())], pos)?;
            }
            Value::Str(s.clone())
        }
        "format" => Value::Str(s.clone()),
        _ => return fail(pos, format!("a String has no method `{name}`")),
    })
}

/// Java `$1` group references to the regex crate's `${1}`.
fn java_replacement(r: &str) -> String {
    let mut out = String::new();
    let mut chars = r.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(n) = chars.next() {
                    if n == '$' {
                        out.push_str("$$");
                    } else {
                        out.push(n);
                    }
                }
            }
            '$' => {
                let mut digits = String::new();
                while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                    digits.push(*d);
                    chars.next();
                }
                if digits.is_empty() {
                    out.push_str("$$");
                } else {
                    out.push_str(&format!("${{{digits}}}"));
                }
            }
            c => out.push(c),
        }
    }
    out
}

fn number_method(o: &Value, name: &str, args: &[Value], pos: Pos) -> Eval {
    let x = o.as_f64().unwrap_or(0.0);
    Ok(match name {
        "intValue" | "toInteger" | "longValue" | "toLong" => Value::Int(x.trunc() as i64),
        "doubleValue" | "toBigDecimal" | "toDouble" => Value::Dec(x),
        "abs" => match o {
            Value::Int(n) => Value::Int(n.wrapping_abs()),
            _ => Value::Dec(x.abs()),
        },
        "round" => Value::Int(x.round() as i64),
        "intdiv" => {
            let (Value::Int(a), Value::Int(b)) = (o, args.first().unwrap_or(&Value::Null)) else {
                return fail(pos, "`intdiv` divides two whole numbers");
            };
            if *b == 0 {
                return fail(pos, "division by zero");
            }
            Value::Int(a.wrapping_div(*b))
        }
        "max" => match args.first() {
            Some(y) if y.compare(o) == Some(Ordering::Greater) => y.clone(),
            _ => o.clone(),
        },
        "min" => match args.first() {
            Some(y) if y.compare(o) == Some(Ordering::Less) => y.clone(),
            _ => o.clone(),
        },
        _ => return fail(pos, format!("a {} has no method `{name}`", o.type_name())),
    })
}

fn list_method(it: &mut Interp, o: &Value, name: &str, args: Vec<Value>, pos: Pos) -> Eval {
    let items = o.items().unwrap_or_default();
    let list = match o {
        Value::List(l) => Some(l.clone()),
        _ => None,
    };
    let call1 =
        |it: &mut Interp, c: &Rc<Closure>, v: &Value| it.call_closure(c, vec![v.clone()], pos);
    Ok(match name {
        "size" => Value::Int(items.len() as i64),
        "isEmpty" => Value::Bool(items.is_empty()),
        "each" => {
            let c = closure_arg(&args, 0, name, pos)?;
            for v in &items {
                call1(it, &c, v)?;
            }
            o.clone()
        }
        "eachWithIndex" => {
            let c = closure_arg(&args, 0, name, pos)?;
            for (i, v) in items.iter().enumerate() {
                it.call_closure(&c, vec![v.clone(), Value::Int(i as i64)], pos)?;
            }
            o.clone()
        }
        "collect" => {
            let c = closure_arg(&args, 0, name, pos)?;
            let mut out = Vec::with_capacity(items.len());
            for v in &items {
                out.push(call1(it, &c, v)?);
            }
            Value::list(out)
        }
        "collectEntries" => {
            let c = closure_arg(&args, 0, name, pos)?;
            let mut out = Entries::default();
            for v in &items {
                match call1(it, &c, v)? {
                    Value::List(pair) if pair.borrow().len() == 2 => {
                        let p = pair.borrow();
                        out.insert(crate::value::key(&p[0]), p[1].clone());
                    }
                    Value::Map(m) => {
                        out.extend(m.borrow().iter().map(|(k, v)| (k.clone(), v.clone())))
                    }
                    _ => {
                        return fail(
                            pos,
                            "`collectEntries` closures return [key, value] or a map",
                        )
                    }
                }
            }
            Value::map(out)
        }
        "find" => {
            let c = closure_arg(&args, 0, name, pos)?;
            for v in &items {
                if call1(it, &c, v)?.truthy() {
                    return Ok(v.clone());
                }
            }
            Value::Null
        }
        "findAll" | "grep" => {
            let mut out = Vec::new();
            match args.first() {
                Some(Value::Closure(c)) => {
                    let c = c.clone();
                    for v in &items {
                        if call1(it, &c, v)?.truthy() {
                            out.push(v.clone());
                        }
                    }
                }
                None => out = items.iter().filter(|v| v.truthy()).cloned().collect(),
                Some(other) => out = items.iter().filter(|v| v.equals(other)).cloned().collect(),
            }
            Value::list(out)
        }
        "findIndexOf" => {
            let c = closure_arg(&args, 0, name, pos)?;
            for (i, v) in items.iter().enumerate() {
                if call1(it, &c, v)?.truthy() {
                    return Ok(Value::Int(i as i64));
                }
            }
            Value::Int(-1)
        }
        "any" | "every" => {
            let c = match args.first() {
                Some(Value::Closure(c)) => Some(c.clone()),
                _ => None,
            };
            let want_any = name == "any";
            for v in &items {
                let t = match &c {
                    Some(c) => call1(it, c, v)?.truthy(),
                    None => v.truthy(),
                };
                if t == want_any {
                    return Ok(Value::Bool(want_any));
                }
            }
            Value::Bool(!want_any)
        }
        "count" => match args.first() {
            Some(Value::Closure(c)) => {
                let c = c.clone();
                let mut n = 0;
                for v in &items {
                    if call1(it, &c, v)?.truthy() {
                        n += 1;
                    }
                }
                Value::Int(n)
            }
            Some(x) => Value::Int(items.iter().filter(|v| v.equals(x)).count() as i64),
            None => Value::Int(items.len() as i64),
        },
        "join" => {
            let sep = if args.is_empty() {
                String::new()
            } else {
                text_arg(&args, 0)
            };
            let mut s = String::new();
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    s.push_str(&sep);
                }
                s.push_str(&v.to_text());
                if s.len() > it.limits.max_string_bytes {
                    return string_limit(it, pos);
                }
            }
            it.check_string(&s, pos)?;
            Value::str(&s)
        }
        "contains" => Value::Bool(contains(o, args.first().unwrap_or(&Value::Null))),
        "indexOf" => Value::Int(
            items
                .iter()
                .position(|v| v.equals(args.first().unwrap_or(&Value::Null)))
                .map_or(-1, |i| i as i64),
        ),
        "add" | "push" | "leftShift" => {
            let Some(l) = list else {
                return fail(pos, "a range cannot change");
            };
            it.check_size(l.borrow().len() + 1, pos)?;
            if args.len() == 2 {
                let i = int_arg(&args, 0, name, pos)?;
                let len = l.borrow().len();
                if i < 0 || i as usize > len {
                    return fail(pos, format!("add({i}, …) is outside the list (size {len})"));
                }
                l.borrow_mut().insert(i as usize, args[1].clone());
            } else {
                l.borrow_mut()
                    .push(args.first().cloned().unwrap_or(Value::Null));
            }
            Value::Bool(true)
        }
        "addAll" => {
            let Some(l) = list else {
                return fail(pos, "a range cannot change");
            };
            let more = args.first().and_then(Value::items).unwrap_or_default();
            it.check_size(l.borrow().len() + more.len(), pos)?;
            l.borrow_mut().extend(more);
            Value::Bool(true)
        }
        "remove" => {
            let Some(l) = list else {
                return fail(pos, "a range cannot change");
            };
            match args.first() {
                Some(Value::Int(i)) => {
                    let len = l.borrow().len();
                    match list_index(len, *i) {
                        Some(idx) => l.borrow_mut().remove(idx),
                        None => {
                            return fail(
                                pos,
                                format!("remove({i}) is outside the list (size {len})"),
                            )
                        }
                    }
                }
                Some(x) => {
                    let idx = l.borrow().iter().position(|v| v.equals(x));
                    match idx {
                        Some(i) => {
                            l.borrow_mut().remove(i);
                            Value::Bool(true)
                        }
                        None => Value::Bool(false),
                    }
                }
                None => return fail(pos, "`remove` needs an index or a value"),
            }
        }
        "removeAll" => {
            let Some(l) = list else {
                return fail(pos, "a range cannot change");
            };
            let before = l.borrow().len();
            match args.first() {
                Some(Value::Closure(c)) => {
                    let c = c.clone();
                    let mut keep = Vec::new();
                    for v in l.borrow().clone() {
                        if !call1(it, &c, &v)?.truthy() {
                            keep.push(v);
                        }
                    }
                    *l.borrow_mut() = keep;
                }
                Some(x) => {
                    let remove = x.items().unwrap_or_default();
                    // Decide outside the borrow: `remove` may contain this very list.
                    let keep: Vec<Value> = l
                        .borrow()
                        .clone()
                        .into_iter()
                        .filter(|v| !remove.iter().any(|r| r.equals(v)))
                        .collect();
                    *l.borrow_mut() = keep;
                }
                None => {}
            }
            let after = l.borrow().len();
            Value::Bool(after != before)
        }
        "clear" => {
            if let Some(l) = list {
                l.borrow_mut().clear();
            }
            Value::Null
        }
        "sort" | "toSorted" => {
            let mut v = items.clone();
            let by = match args.first() {
                Some(Value::Closure(c)) => Some(c.clone()),
                _ => None,
            };
            sort_values(it, &mut v, by.as_ref(), pos)?;
            // `sort` sorts the list itself (and returns it), as in Groovy.
            if let (Some(l), "sort") = (&list, name) {
                *l.borrow_mut() = v;
                o.clone()
            } else {
                Value::list(v)
            }
        }
        "unique" | "toUnique" | "toSet" => {
            let mut out: Vec<Value> = Vec::new();
            for v in &items {
                if !out.iter().any(|x| x.equals(v)) {
                    out.push(v.clone());
                }
            }
            if let (Some(l), "unique") = (&list, name) {
                *l.borrow_mut() = out;
                o.clone()
            } else {
                Value::list(out)
            }
        }
        "first" | "head" => match items.first() {
            Some(v) => v.clone(),
            None => return fail(pos, "`first()` on an empty list"),
        },
        "last" => match items.last() {
            Some(v) => v.clone(),
            None => return fail(pos, "`last()` on an empty list"),
        },
        "tail" => Value::list(items.iter().skip(1).cloned().collect()),
        "take" => Value::list(
            items
                .iter()
                .take(int_arg(&args, 0, name, pos)?.max(0) as usize)
                .cloned()
                .collect(),
        ),
        "drop" => Value::list(
            items
                .iter()
                .skip(int_arg(&args, 0, name, pos)?.max(0) as usize)
                .cloned()
                .collect(),
        ),
        "reverse" => Value::list(items.iter().rev().cloned().collect()),
        "flatten" => {
            fn flat(v: &[Value], out: &mut Vec<Value>, depth: usize, max: usize) -> bool {
                for x in v {
                    match x.items() {
                        Some(inner) if depth < 64 => {
                            if !flat(&inner, out, depth + 1, max) {
                                return false;
                            }
                        }
                        _ => out.push(x.clone()),
                    }
                    if out.len() > max {
                        return false;
                    }
                }
                true
            }
            let mut out = Vec::new();
            if !flat(&items, &mut out, 0, it.limits.max_collection) {
                it.check_size(out.len(), pos)?;
            }
            Value::list(out)
        }
        "sum" => {
            let mut acc = if args.is_empty() {
                None
            } else {
                Some(args[0].clone())
            };
            let c = match args.last() {
                Some(Value::Closure(c)) => Some(c.clone()),
                _ => None,
            };
            if c.is_some() {
                acc = None;
            }
            for v in &items {
                let v = match &c {
                    Some(c) => call1(it, c, v)?,
                    None => v.clone(),
                };
                acc = Some(match acc {
                    None => v,
                    Some(a) => binary(it, crate::ast::BinOp::Add, a, v, pos)?,
                });
            }
            acc.unwrap_or(Value::Null)
        }
        "max" | "min" => {
            let c = match args.first() {
                Some(Value::Closure(c)) => Some(c.clone()),
                _ => None,
            };
            let mut best: Option<(Value, Value)> = None;
            for v in &items {
                let key = match &c {
                    Some(c) => call1(it, c, v)?,
                    None => v.clone(),
                };
                let better = match &best {
                    None => true,
                    Some((k, _)) => {
                        let ord = key.compare(k).unwrap_or(Ordering::Equal);
                        (name == "max" && ord == Ordering::Greater)
                            || (name == "min" && ord == Ordering::Less)
                    }
                };
                if better {
                    best = Some((key, v.clone()));
                }
            }
            best.map_or(Value::Null, |(_, v)| v)
        }
        "groupBy" | "countBy" => {
            let c = closure_arg(&args, 0, name, pos)?;
            let mut out: Entries = Entries::default();
            for v in &items {
                let key = crate::value::key(&call1(it, &c, v)?);
                if name == "groupBy" {
                    if let Value::List(l) = out.get_or_insert_with(key, || Value::list(Vec::new()))
                    {
                        l.borrow_mut().push(v.clone());
                    }
                } else {
                    let e = out.get_or_insert_with(key, || Value::Int(0));
                    if let Value::Int(n) = e {
                        *n += 1;
                    }
                }
            }
            Value::map(out)
        }
        "inject" => {
            let (mut acc, c) = match (args.first(), args.get(1)) {
                (Some(init), Some(Value::Closure(c))) => (init.clone(), c.clone()),
                (Some(Value::Closure(c)), None) => {
                    let Some(first) = items.first() else {
                        return Ok(Value::Null);
                    };
                    let c = c.clone();
                    let mut acc = first.clone();
                    for v in items.iter().skip(1) {
                        acc = it.call_closure(&c, vec![acc, v.clone()], pos)?;
                    }
                    return Ok(acc);
                }
                _ => return fail(pos, "`inject` takes an initial value and a closure"),
            };
            for v in &items {
                acc = it.call_closure(&c, vec![acc, v.clone()], pos)?;
            }
            acc
        }
        "plus" => {
            return binary(
                it,
                crate::ast::BinOp::Add,
                o.clone(),
                args.first().cloned().unwrap_or(Value::Null),
                pos,
            )
        }
        "minus" => {
            return binary(
                it,
                crate::ast::BinOp::Sub,
                o.clone(),
                args.first().cloned().unwrap_or(Value::Null),
                pos,
            )
        }
        "get" | "getAt" => index(it, o, args.first().unwrap_or(&Value::Null), pos)?,
        "toList" | "asList" => Value::list(items),
        "intersect" => {
            let other = args.first().and_then(Value::items).unwrap_or_default();
            Value::list(
                items
                    .into_iter()
                    .filter(|v| other.iter().any(|x| x.equals(v)))
                    .collect(),
            )
        }
        "subList" => {
            let a = int_arg(&args, 0, name, pos)?;
            let b = int_arg(&args, 1, name, pos)?;
            if a < 0 || b < a || b as usize > items.len() {
                return fail(
                    pos,
                    format!(
                        "subList({a}, {b}) is outside the list (size {})",
                        items.len()
                    ),
                );
            }
            Value::list(items[a as usize..b as usize].to_vec())
        }
        _ => return fail(pos, format!("a {} has no method `{name}`", o.type_name())),
    })
}

fn map_method(
    it: &mut Interp,
    o: &Value,
    m: &crate::value::Map,
    name: &str,
    args: Vec<Value>,
    pos: Pos,
) -> Eval {
    let arg = |i: usize| args.get(i).cloned().unwrap_or(Value::Null);
    let entries: Vec<(Rc<str>, Value)> = m
        .borrow()
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let call_kv = |it: &mut Interp, c: &Rc<Closure>, k: &str, v: &Value| {
        if c.def.params.len() >= 2 {
            it.call_closure(c, vec![Value::str(k), v.clone()], pos)
        } else {
            let mut e = Entries::default();
            e.insert(Rc::from("key"), Value::str(k));
            e.insert(Rc::from("value"), v.clone());
            it.call_closure(c, vec![Value::map(e)], pos)
        }
    };
    Ok(match name {
        "get" | "getAt" => {
            let v = m.borrow().get(arg(0).to_text().as_str()).cloned();
            v.unwrap_or_else(|| arg(1))
        }
        "getOrDefault" => m
            .borrow()
            .get(arg(0).to_text().as_str())
            .cloned()
            .unwrap_or_else(|| arg(1)),
        "put" | "putAt" => {
            let k = crate::value::key(&arg(0));
            let old = m.borrow_mut().insert(k, arg(1));
            it.check_size(m.borrow().len(), pos)?;
            old.unwrap_or(Value::Null)
        }
        "putAll" => {
            if let Value::Map(other) = arg(0) {
                let other = other.borrow().clone();
                m.borrow_mut().extend(other.into_entries());
            }
            Value::Null
        }
        "containsKey" => Value::Bool(m.borrow().contains_key(arg(0).to_text().as_str())),
        "containsValue" => Value::Bool(m.borrow().values().any(|v| v.equals(&arg(0)))),
        "keySet" | "keys" => Value::list(entries.iter().map(|(k, _)| Value::str(k)).collect()),
        "values" => Value::list(entries.iter().map(|(_, v)| v.clone()).collect()),
        "size" => Value::Int(entries.len() as i64),
        "isEmpty" => Value::Bool(entries.is_empty()),
        "remove" => {
            let k = arg(0).to_text();
            let removed = m.borrow_mut().shift_remove(k.as_str());
            removed.unwrap_or(Value::Null)
        }
        "clear" => {
            m.borrow_mut().clear();
            Value::Null
        }
        "each" => {
            let c = closure_arg(&args, 0, name, pos)?;
            for (k, v) in &entries {
                call_kv(it, &c, k, v)?;
            }
            o.clone()
        }
        "collect" => {
            let c = closure_arg(&args, 0, name, pos)?;
            let mut out = Vec::new();
            for (k, v) in &entries {
                out.push(call_kv(it, &c, k, v)?);
            }
            Value::list(out)
        }
        "collectEntries" => {
            let c = closure_arg(&args, 0, name, pos)?;
            let mut out = Entries::default();
            for (k, v) in &entries {
                match call_kv(it, &c, k, v)? {
                    Value::List(pair) if pair.borrow().len() == 2 => {
                        let p = pair.borrow();
                        out.insert(crate::value::key(&p[0]), p[1].clone());
                    }
                    Value::Map(mm) => {
                        out.extend(mm.borrow().iter().map(|(k, v)| (k.clone(), v.clone())))
                    }
                    _ => {
                        return fail(
                            pos,
                            "`collectEntries` closures return [key, value] or a map",
                        )
                    }
                }
            }
            Value::map(out)
        }
        "findAll" => {
            let c = closure_arg(&args, 0, name, pos)?;
            let mut out = Entries::default();
            for (k, v) in &entries {
                if call_kv(it, &c, k, v)?.truthy() {
                    out.insert(k.clone(), v.clone());
                }
            }
            Value::map(out)
        }
        "find" => {
            let c = closure_arg(&args, 0, name, pos)?;
            for (k, v) in &entries {
                if call_kv(it, &c, k, v)?.truthy() {
                    let mut e = Entries::default();
                    e.insert(Rc::from("key"), Value::str(k));
                    e.insert(Rc::from("value"), v.clone());
                    return Ok(Value::map(e));
                }
            }
            Value::Null
        }
        "any" | "every" => {
            let c = closure_arg(&args, 0, name, pos)?;
            let want_any = name == "any";
            for (k, v) in &entries {
                if call_kv(it, &c, k, v)?.truthy() == want_any {
                    return Ok(Value::Bool(want_any));
                }
            }
            Value::Bool(!want_any)
        }
        "plus" => return binary(it, crate::ast::BinOp::Add, o.clone(), arg(0), pos),
        "entrySet" => Value::list(
            entries
                .iter()
                .map(|(k, v)| {
                    let mut e = Entries::default();
                    e.insert(Rc::from("key"), Value::str(k));
                    e.insert(Rc::from("value"), v.clone());
                    Value::map(e)
                })
                .collect(),
        ),
        _ => return fail(pos, format!("a Map has no method `{name}`")),
    })
}
