//! Operators: arithmetic with Groovy's number rules, comparisons, membership, regex
//! matching, `<<`, ranges, and `as` conversions.

use crate::ast::BinOp;
use crate::error::Pos;
use crate::interp::{fail, Eval, Interp};
use crate::value::{format_decimal, Value};
use std::cmp::Ordering;

fn number_op(op: BinOp, a: &Value, b: &Value, pos: Pos) -> Eval {
    if let (Value::Int(x), Value::Int(y)) = (a, b) {
        let (x, y) = (*x, *y);
        let r = match op {
            BinOp::Add => x.checked_add(y),
            BinOp::Sub => x.checked_sub(y),
            BinOp::Mul => x.checked_mul(y),
            BinOp::Rem => {
                if y == 0 {
                    return fail(pos, "division by zero");
                }
                Some(x.wrapping_rem(y))
            }
            BinOp::Div => {
                if y == 0 {
                    return fail(pos, "division by zero");
                }
                // Groovy divides integers into a decimal; an exact quotient stays whole.
                if x.checked_rem(y) == Some(0) {
                    x.checked_div(y)
                } else {
                    return Ok(Value::Dec(x as f64 / y as f64));
                }
            }
            BinOp::Pow => {
                if (0..=u32::MAX as i64).contains(&y) {
                    x.checked_pow(y as u32)
                } else {
                    return Ok(Value::Dec((x as f64).powf(y as f64)));
                }
            }
            _ => None,
        };
        return r
            .map(Value::Int)
            .map_or_else(|| fail(pos, "integer overflow"), Ok);
    }
    let (Some(x), Some(y)) = (a.as_f64(), b.as_f64()) else {
        return fail(
            pos,
            format!(
                "cannot apply an arithmetic operator to a {} and a {}",
                a.type_name(),
                b.type_name()
            ),
        );
    };
    let r = match op {
        BinOp::Add => x + y,
        BinOp::Sub => x - y,
        BinOp::Mul => x * y,
        BinOp::Div | BinOp::Rem if y == 0.0 => return fail(pos, "division by zero"),
        BinOp::Div => x / y,
        BinOp::Rem => x % y,
        BinOp::Pow => x.powf(y),
        _ => return fail(pos, "not an arithmetic operator"),
    };
    // Keep decimals short, as BigDecimal arithmetic would (0.1 + 0.2 is 0.3).
    let rounded = (r * 1e10).round() / 1e10;
    Ok(Value::Dec(if (rounded - r).abs() < 1e-9 {
        rounded
    } else {
        r
    }))
}

/// Applies a binary operator (not `&&`/`||`, which short-circuit in the evaluator).
pub fn binary(it: &mut Interp, op: BinOp, a: Value, b: Value, pos: Pos) -> Eval {
    match op {
        BinOp::Eq => Ok(Value::Bool(a.equals(&b))),
        BinOp::Ne => Ok(Value::Bool(!a.equals(&b))),
        BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge | BinOp::Cmp => {
            let Some(ord) = a.compare(&b) else {
                return fail(
                    pos,
                    format!(
                        "cannot compare a {} with a {}",
                        a.type_name(),
                        b.type_name()
                    ),
                );
            };
            Ok(match op {
                BinOp::Lt => Value::Bool(ord == Ordering::Less),
                BinOp::Le => Value::Bool(ord != Ordering::Greater),
                BinOp::Gt => Value::Bool(ord == Ordering::Greater),
                BinOp::Ge => Value::Bool(ord != Ordering::Less),
                _ => Value::Int(ord as i64),
            })
        }
        BinOp::In | BinOp::NotIn => {
            let found = contains(&b, &a);
            Ok(Value::Bool(found == (op == BinOp::In)))
        }
        BinOp::Find | BinOp::Match => {
            let text = a.to_text();
            let pattern = b.to_text();
            let pattern = if op == BinOp::Find {
                pattern
            } else {
                format!("^(?:{pattern})$")
            };
            Ok(Value::Bool(
                crate::builtins::regex(&pattern, pos)?.is_match(&text),
            ))
        }
        BinOp::LeftShift => match &a {
            Value::List(l) => {
                it.check_size(l.borrow().len() + 1, pos)?;
                l.borrow_mut().push(b);
                Ok(a)
            }
            Value::Map(m) => match b {
                Value::Map(other) => {
                    let other = other.borrow().clone();
                    m.borrow_mut().extend(other.into_entries());
                    Ok(a)
                }
                _ => fail(pos, "`<<` on a map takes a map"),
            },
            Value::Int(x) => match b {
                Value::Int(y) if (0..64).contains(&y) => Ok(Value::Int(x.wrapping_shl(y as u32))),
                _ => fail(pos, "`<<` shifts by 0 to 63 bits"),
            },
            other => fail(pos, format!("cannot use `<<` on a {}", other.type_name())),
        },
        BinOp::Range | BinOp::RangeExclusive => match (&a, &b) {
            // `a..<a` is empty (a list, since a range always holds its ends).
            (Value::Int(x), Value::Int(y)) if op == BinOp::RangeExclusive && x == y => {
                Ok(Value::list(Vec::new()))
            }
            (Value::Int(x), Value::Int(y)) => {
                let end = if op == BinOp::RangeExclusive {
                    if y > x {
                        y.saturating_sub(1)
                    } else {
                        y.saturating_add(1)
                    }
                } else {
                    *y
                };
                // Ranges are materialised by list methods: keep them within the collection limit.
                let len = (end as i128 - *x as i128).unsigned_abs() + 1;
                if len > it.limits.max_collection as u128 {
                    return Err(crate::interp::Ctrl::Error(
                        crate::error::ScriptError::limit(
                            pos,
                            format!(
                                "collection size limit of {} elements reached (a range of {len})",
                                it.limits.max_collection
                            ),
                        ),
                    ));
                }
                Ok(Value::Range(*x, end))
            }
            _ => fail(pos, "ranges are between two integers"),
        },
        BinOp::Add => match (&a, &b) {
            (Value::Str(x), _) => {
                let s = format!("{x}{}", b.to_text());
                it.check_string(&s, pos)?;
                Ok(Value::str(&s))
            }
            (Value::List(x), Value::List(y)) => {
                let mut v = x.borrow().clone();
                v.extend(y.borrow().iter().cloned());
                it.check_size(v.len(), pos)?;
                Ok(Value::list(v))
            }
            (Value::List(x), other) => {
                let mut v = x.borrow().clone();
                v.push(other.clone());
                it.check_size(v.len(), pos)?;
                Ok(Value::list(v))
            }
            (Value::Map(x), Value::Map(y)) => {
                let mut m = x.borrow().clone();
                m.extend(y.borrow().iter().map(|(k, v)| (k.clone(), v.clone())));
                Ok(Value::map(m))
            }
            (_, Value::Str(y))
                if a.as_f64().is_some() || matches!(a, Value::Null | Value::Bool(_)) =>
            {
                if matches!(a, Value::Null) {
                    return fail(pos, "cannot add to null (the left side is null)");
                }
                let s = format!("{}{y}", a.to_text());
                it.check_string(&s, pos)?;
                Ok(Value::str(&s))
            }
            (Value::Null, _) | (_, Value::Null) => {
                fail(pos, "cannot add null (one side of `+` is null)")
            }
            _ => number_op(op, &a, &b, pos),
        },
        BinOp::Sub => match (&a, &b) {
            (Value::Str(x), _) => Ok(Value::str(&x.replacen(&b.to_text(), "", 1))),
            (Value::List(x), _) => {
                let remove = b.items().unwrap_or_else(|| vec![b.clone()]);
                Ok(Value::list(
                    x.borrow()
                        .iter()
                        .filter(|v| !remove.iter().any(|r| r.equals(v)))
                        .cloned()
                        .collect(),
                ))
            }
            _ => number_op(op, &a, &b, pos),
        },
        BinOp::Mul => match (&a, &b) {
            (Value::Str(x), Value::Int(n)) => {
                let n = (*n).max(0) as usize;
                if x.len().saturating_mul(n) > it.limits.max_string_bytes {
                    return Err(crate::interp::Ctrl::Error(
                        crate::error::ScriptError::limit(
                            pos,
                            format!(
                                "string size limit of {} bytes reached",
                                it.limits.max_string_bytes
                            ),
                        ),
                    ));
                }
                Ok(Value::str(&x.repeat(n)))
            }
            _ => number_op(op, &a, &b, pos),
        },
        _ => number_op(op, &a, &b, pos),
    }
}

/// `needle in haystack`.
pub fn contains(haystack: &Value, needle: &Value) -> bool {
    match haystack {
        Value::List(l) => l.borrow().iter().any(|v| v.equals(needle)),
        Value::Map(m) => m.borrow().contains_key(needle.to_text().as_str()),
        Value::Str(s) => s.contains(&needle.to_text()),
        Value::Range(a, b) => needle
            .as_f64()
            .is_some_and(|n| n >= (*a.min(b)) as f64 && n <= (*a.max(b)) as f64),
        _ => false,
    }
}

/// `value as Type`.
pub fn cast(v: Value, ty: &str, pos: Pos) -> Eval {
    Ok(match ty {
        "String" => match v {
            Value::Null => Value::Null,
            other => Value::str(&other.to_text()),
        },
        "Integer" | "int" | "Long" | "long" | "Short" | "short" | "BigInteger" => match &v {
            Value::Null => Value::Null,
            Value::Int(_) => v,
            Value::Dec(n) => Value::Int(n.trunc() as i64),
            Value::Str(s) => match s.trim().parse::<i64>() {
                Ok(n) => Value::Int(n),
                Err(_) => return fail(pos, format!("`{s}` is not an integer")),
            },
            Value::Bool(b) => Value::Int(i64::from(*b)),
            other => {
                return fail(
                    pos,
                    format!("cannot convert a {} to Integer", other.type_name()),
                )
            }
        },
        "BigDecimal" | "Double" | "double" | "Float" | "float" | "Number" => match &v {
            Value::Null => Value::Null,
            Value::Int(n) => Value::Dec(*n as f64),
            Value::Dec(_) => v,
            Value::Str(s) => match s.trim().parse::<f64>() {
                Ok(n) => Value::Dec(n),
                Err(_) => return fail(pos, format!("`{s}` is not a number")),
            },
            other => {
                return fail(
                    pos,
                    format!("cannot convert a {} to a number", other.type_name()),
                )
            }
        },
        "Boolean" | "boolean" => Value::Bool(v.truthy()),
        "List" | "ArrayList" | "Collection" | "Set" | "HashSet" => match &v {
            Value::Null => Value::Null,
            Value::List(_) => v,
            Value::Range(..) => Value::list(v.items().unwrap_or_default()),
            Value::Map(m) => Value::list(m.borrow().values().cloned().collect()),
            other => Value::list(vec![other.clone()]),
        },
        "Map" | "HashMap" | "LinkedHashMap" => match v {
            Value::Map(_) | Value::Null => v,
            other => {
                return fail(
                    pos,
                    format!("cannot convert a {} to Map", other.type_name()),
                )
            }
        },
        "Object" | "def" => v,
        other => return fail(pos, format!("unknown type `{other}` for `as`")),
    })
}

/// `value instanceof Type`.
pub fn instance_of(v: &Value, ty: &str) -> bool {
    match (v, ty) {
        (Value::Null, _) => false,
        (_, "Object") => true,
        (Value::Str(_), "String" | "CharSequence" | "GString") => true,
        (Value::Int(_), "Integer" | "Long" | "Number" | "int" | "long") => true,
        (Value::Dec(_), "BigDecimal" | "Double" | "Number" | "Float") => true,
        (Value::Bool(_), "Boolean") => true,
        (Value::List(_) | Value::Range(..), "List" | "Collection" | "ArrayList" | "Iterable") => {
            true
        }
        (Value::Map(_), "Map" | "HashMap" | "LinkedHashMap") => true,
        (Value::Closure(_), "Closure") => true,
        (Value::Date(_), "Date") => true,
        (Value::Exception(_), "Exception" | "Throwable" | "RuntimeException") => true,
        _ => false,
    }
}

/// A number as Groovy prints it (used by `toString` of numbers).
pub fn number_text(v: &Value) -> String {
    match v {
        Value::Dec(n) => format_decimal(*n),
        other => other.to_text(),
    }
}
