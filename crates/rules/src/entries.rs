//! The entries of a script map: string keys in insertion order, as Groovy's `LinkedHashMap`.
//!
//! Records, replicas, comments and the look-up maps rules build have a handful to a few dozen
//! keys, so entries live in one vector searched linearly: one allocation per map and no
//! hashing, which measured faster than a hash map for such sizes. A map that grows past
//! [`INDEX_FROM`] keys gets a hash index, so large look-up tables stay O(1).

use crate::value::Value;
use rustc_hash::FxHashMap;
use std::rc::Rc;

/// From this many keys on, a map keeps a hash index beside its entries.
pub const INDEX_FROM: usize = 24;

/// Map entries in insertion order.
#[derive(Debug, Default, Clone)]
pub struct Entries {
    items: Vec<(Rc<str>, Value)>,
    /// Key → position, present only while the map has at least [`INDEX_FROM`] keys.
    index: Option<FxHashMap<Rc<str>, usize>>,
}

impl Entries {
    /// An empty map with room for `n` entries.
    pub fn with_capacity(n: usize) -> Self {
        Entries {
            items: Vec::with_capacity(n),
            index: None,
        }
    }

    /// How many entries there are.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    fn position(&self, key: &str) -> Option<usize> {
        match &self.index {
            Some(index) => index.get(key).copied(),
            None => self
                .items
                .iter()
                .position(|(k, _)| k.len() == key.len() && **k == *key),
        }
    }

    /// The value under `key`.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.position(key).map(|i| &self.items[i].1)
    }

    /// Whether `key` is present.
    pub fn contains_key(&self, key: &str) -> bool {
        self.position(key).is_some()
    }

    /// Sets `key` to `value`: in place when present (its position kept), at the end
    /// otherwise. The previous value, if any.
    pub fn insert(&mut self, key: Rc<str>, value: Value) -> Option<Value> {
        if let Some(i) = self.position(&key) {
            return Some(std::mem::replace(&mut self.items[i].1, value));
        }
        self.push_new(key, value);
        None
    }

    /// Appends a key known not to be present (a JSON object's keys, say), without the
    /// look-up [`Entries::insert`] makes.
    pub(crate) fn push_unique(&mut self, key: Rc<str>, value: Value) {
        debug_assert!(!self.contains_key(&key), "duplicate key {key}");
        self.push_new(key, value);
    }

    fn push_new(&mut self, key: Rc<str>, value: Value) -> usize {
        let i = self.items.len();
        match &mut self.index {
            Some(index) => {
                index.insert(key.clone(), i);
            }
            None if i + 1 >= INDEX_FROM => {
                let mut index = FxHashMap::default();
                index.reserve(i + 1);
                for (n, (k, _)) in self.items.iter().enumerate() {
                    index.insert(k.clone(), n);
                }
                index.insert(key.clone(), i);
                self.index = Some(index);
            }
            None => {}
        }
        self.items.push((key, value));
        i
    }

    /// The value under `key`, inserting `make()` first when it is missing.
    pub fn get_or_insert_with(&mut self, key: Rc<str>, make: impl FnOnce() -> Value) -> &mut Value {
        let i = match self.position(&key) {
            Some(i) => i,
            None => self.push_new(key, make()),
        };
        &mut self.items[i].1
    }

    /// Removes `key`, keeping the order of the others; its value, if it was present.
    pub fn shift_remove(&mut self, key: &str) -> Option<Value> {
        let i = self.position(key)?;
        let (_, v) = self.items.remove(i);
        if let Some(index) = &mut self.index {
            index.remove(key);
            for (k, _) in &self.items[i..] {
                if let Some(p) = index.get_mut(&**k) {
                    *p -= 1;
                }
            }
        }
        Some(v)
    }

    /// Removes every entry.
    pub fn clear(&mut self) {
        self.items.clear();
        self.index = None;
    }

    /// The entries in order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (&Rc<str>, &Value)> + ExactSizeIterator {
        self.items.iter().map(|(k, v)| (k, v))
    }

    /// The keys in order.
    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &Rc<str>> + ExactSizeIterator {
        self.items.iter().map(|(k, _)| k)
    }

    /// The values in order.
    pub fn values(&self) -> impl DoubleEndedIterator<Item = &Value> + ExactSizeIterator {
        self.items.iter().map(|(_, v)| v)
    }

    /// The entries, in order, by value.
    pub fn into_entries(self) -> Vec<(Rc<str>, Value)> {
        self.items
    }

    /// Takes every entry out, in order.
    pub fn take_all(&mut self) -> Vec<(Rc<str>, Value)> {
        self.index = None;
        std::mem::take(&mut self.items)
    }
}

impl Extend<(Rc<str>, Value)> for Entries {
    fn extend<I: IntoIterator<Item = (Rc<str>, Value)>>(&mut self, iter: I) {
        for (k, v) in iter {
            self.insert(k, v);
        }
    }
}

impl FromIterator<(Rc<str>, Value)> for Entries {
    fn from_iter<I: IntoIterator<Item = (Rc<str>, Value)>>(iter: I) -> Self {
        let mut e = Entries::default();
        e.extend(iter);
        e
    }
}

impl<'a> IntoIterator for &'a Entries {
    type Item = (&'a Rc<str>, &'a Value);
    type IntoIter = std::iter::Map<
        std::slice::Iter<'a, (Rc<str>, Value)>,
        fn(&'a (Rc<str>, Value)) -> (&'a Rc<str>, &'a Value),
    >;

    fn into_iter(self) -> Self::IntoIter {
        self.items.iter().map(|(k, v)| (k, v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(s: &str) -> Rc<str> {
        Rc::from(s)
    }

    fn ints(e: &Entries) -> Vec<(String, i64)> {
        e.iter()
            .map(|(k, v)| {
                let Value::Int(n) = v else {
                    panic!("not an int")
                };
                (k.to_string(), *n)
            })
            .collect()
    }

    #[test]
    fn insert_keeps_the_first_position_and_replaces_the_value() {
        let mut e = Entries::default();
        assert!(e.insert(key("b"), Value::Int(1)).is_none());
        e.insert(key("a"), Value::Int(2));
        assert!(matches!(
            e.insert(key("b"), Value::Int(3)),
            Some(Value::Int(1))
        ));
        assert_eq!(ints(&e), [("b".into(), 3), ("a".into(), 2)]);
    }

    /// Small and indexed maps answer alike, through growth and removals that renumber.
    #[test]
    fn indexed_and_linear_maps_agree() {
        let mut e = Entries::default();
        let mut model: Vec<(String, i64)> = Vec::new();
        for round in 0..3 {
            for i in 0..60 {
                let k = format!("k{}", (i * 7 + round) % 50);
                match model.iter_mut().find(|(m, _)| *m == k) {
                    Some(slot) => slot.1 = i,
                    None => model.push((k.clone(), i)),
                }
                e.insert(key(&k), Value::Int(i));
                if i % 5 == 4 {
                    let gone = format!("k{}", (i * 3) % 50);
                    let expected = model.iter().position(|(m, _)| *m == gone);
                    let removed = e.shift_remove(&gone);
                    assert_eq!(removed.is_some(), expected.is_some());
                    if let Some(p) = expected {
                        model.remove(p);
                    }
                }
                assert_eq!(ints(&e), model);
                for (k, v) in &model {
                    assert!(matches!(e.get(k), Some(Value::Int(n)) if n == v), "{k}");
                }
                assert!(e.get("missing").is_none());
            }
        }
        assert!(e.index.is_some(), "a map of {} keys is indexed", e.len());
    }

    #[test]
    fn get_or_insert_with_adds_once() {
        let mut e = Entries::default();
        for _ in 0..3 {
            let v = e.get_or_insert_with(key("n"), || Value::Int(0));
            let Value::Int(n) = v else { panic!() };
            *n += 1;
        }
        assert_eq!(ints(&e), [("n".into(), 3)]);
    }
}
