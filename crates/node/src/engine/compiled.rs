//! Compiled rules, kept per thread: a rule's text is parsed once per worker thread rather
//! than for every record it runs on (a feed page, each apply and its read-back all run the
//! same live rule). Scripts are not `Send`, hence per thread; a few texts are kept at most.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use twinsync_rules::{Script, ScriptError};

/// Rule texts kept per thread and script name before the cache starts afresh.
const KEPT: usize = 16;

thread_local! {
    /// Script name (`incoming`, `outgoing`) → rule text → its compiled script.
    static SCRIPTS: RefCell<HashMap<String, HashMap<String, Rc<Script>>>> =
        RefCell::new(HashMap::new());
}

/// `source` compiled as the script `name`, from this thread's cache when it was seen
/// before; a rule that does not compile is not kept.
pub(crate) fn script(name: &str, source: &str) -> Result<Rc<Script>, ScriptError> {
    SCRIPTS.with(|cache| {
        if let Some(s) = cache.borrow().get(name).and_then(|m| m.get(source)) {
            return Ok(s.clone());
        }
        let script = Rc::new(Script::compile(name, source).map_err(first_error)?);
        let mut cache = cache.borrow_mut();
        let kept = cache.entry(name.to_string()).or_default();
        if kept.len() >= KEPT {
            kept.clear();
        }
        kept.insert(source.to_string(), script.clone());
        Ok(script)
    })
}

/// A rule that does not compile is never published; should one be met anyway, its first
/// error stands for all.
fn first_error(mut errors: Vec<ScriptError>) -> ScriptError {
    errors.remove(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_text_is_compiled_once_and_a_new_text_again() {
        let a = script("outgoing", "replica.summary = entity.summary").unwrap();
        let again = script("outgoing", "replica.summary = entity.summary").unwrap();
        assert!(Rc::ptr_eq(&a, &again));
        let other = script("outgoing", "replica.description = entity.description").unwrap();
        assert!(!Rc::ptr_eq(&a, &other));
        let incoming = script("incoming", "replica.summary = entity.summary").unwrap();
        assert_eq!(incoming.name(), "incoming");
        assert!(script("outgoing", "replica.summary = (").is_err());
    }
}
