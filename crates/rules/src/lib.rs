//! The sync-rule language: a sandboxed Groovy dialect, so that rules written for Exalate
//! paste in and run.
//!
//! [`Script::compile`] parses a script once (reporting every syntax error with its line and
//! column); [`Script::run_outgoing`] maps a local entity to a replica and
//! [`Script::run_incoming`] applies a received replica to a local entity, each within
//! [`Limits`] and with no file, network, process or environment access.

pub mod ast;
mod builtins;
pub mod entries;
pub mod error;
pub mod host;
mod interp;
pub mod lex;
pub mod limits;
mod ops;
pub mod parse;
pub mod value;

pub use error::{ErrorKind, Pos, ScriptError};
pub use host::{NodeLookup, StaticUsers, UserInfo};
pub use limits::Limits;
pub use value::Value;

use interp::{Ctrl, Interp, Scope};

/// What a run may use and call: its limits and the node's look-ups.
pub struct RunContext<'a> {
    /// Sandbox limits.
    pub limits: Limits,
    /// User look-ups for `nodeHelper`.
    pub lookup: &'a dyn NodeLookup,
}

/// The result of an incoming run.
#[derive(Debug, Clone, PartialEq)]
pub struct Applied {
    /// The entity after the script ran.
    pub entity: serde_json::Value,
    /// The fields the script changed, with their new values (`comments` and `attachments`
    /// included when they changed).
    pub changes: serde_json::Map<String, serde_json::Value>,
}

/// A compiled script, ready to run many times.
#[derive(Debug, Clone)]
pub struct Script {
    name: String,
    body: Vec<ast::Stmt>,
    source: std::rc::Rc<str>,
}

impl Script {
    /// Parses `source`; `name` (`outgoing`, `incoming`) is used in error messages.
    pub fn compile(name: &str, source: &str) -> Result<Script, Vec<ScriptError>> {
        parse::parse(source)
            .map(|body| Script {
                name: name.to_string(),
                body,
                source: std::rc::Rc::from(source),
            })
            .map_err(|errors| {
                errors
                    .into_iter()
                    .map(|e| e.in_script(name).with_source(source))
                    .collect()
            })
    }

    /// The script's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    fn run(&self, scope: &Scope, interp: &mut Interp) -> Result<(), ScriptError> {
        self.run_body(scope, interp)
            .map_err(|e| e.with_source(&self.source))
    }

    fn run_body(&self, scope: &Scope, interp: &mut Interp) -> Result<(), ScriptError> {
        match interp.block(&self.body, scope) {
            Ok(()) | Err(Ctrl::Return(_)) => Ok(()),
            Err(Ctrl::Error(e)) => Err(e.in_script(&self.name)),
            Err(Ctrl::Throw(v, pos)) => {
                let message = match v {
                    Value::Exception(m) => m.to_string(),
                    other => other.to_text(),
                };
                Err(ScriptError {
                    kind: ErrorKind::Thrown,
                    pos,
                    message,
                    script: Some(self.name.clone()),
                    excerpt: None,
                })
            }
            Err(Ctrl::Break) | Err(Ctrl::Continue) => Err(ScriptError::runtime(
                Pos::default(),
                "`break` or `continue` outside a loop",
            )
            .in_script(&self.name)),
        }
    }

    /// Runs an outgoing script on `entity`; the replica it builds, as JSON.
    pub fn run_outgoing(
        &self,
        entity: &serde_json::Value,
        ctx: &RunContext,
    ) -> Result<serde_json::Value, ScriptError> {
        self.run_outgoing_value(entity, ctx).map(|r| r.to_json())
    }

    /// Runs an outgoing script on `entity`; the replica as JSON bytes, ready to store and
    /// send. The fastest way out: no intermediate JSON tree is built.
    pub fn run_outgoing_bytes(
        &self,
        entity: &serde_json::Value,
        ctx: &RunContext,
    ) -> Result<Vec<u8>, ScriptError> {
        let replica = self.run_outgoing_value(entity, ctx)?;
        serde_json::to_vec(&replica).map_err(|e| {
            ScriptError::runtime(
                Pos::default(),
                format!("the replica cannot be written as JSON: {e}"),
            )
            .in_script(&self.name)
        })
    }

    /// Runs an outgoing script on `entity`; the replica as a script value, which serialises
    /// straight to JSON bytes (`serde_json::to_vec`) without an intermediate tree.
    pub fn run_outgoing_value(
        &self,
        entity: &serde_json::Value,
        ctx: &RunContext,
    ) -> Result<Value, ScriptError> {
        let scope = Scope::root();
        let entity = Value::from_json(entity);
        let replica = Value::map(Default::default());
        scope.define_str("entity", entity.clone());
        scope.define_str("issue", entity);
        scope.define_str("replica", replica.clone());
        let mut interp = Interp::new(ctx.limits, ctx.lookup);
        self.run(&scope, &mut interp)?;
        self.check_output("replica", &replica, ctx)?;
        Ok(replica)
    }

    /// Refuses a result that contains itself or is too large to write out.
    fn check_output(&self, what: &str, v: &Value, ctx: &RunContext) -> Result<(), ScriptError> {
        value::check_output(v, ctx.limits.max_collection.saturating_mul(10)).map_err(|why| {
            ScriptError::limit(Pos::default(), format!("the {what} {why}")).in_script(&self.name)
        })
    }

    /// Runs an incoming script: applies `replica` to `entity` (with `previous`, the replica
    /// received last time, and `first_sync` when no local twin exists yet).
    pub fn run_incoming(
        &self,
        entity: &serde_json::Value,
        replica: &serde_json::Value,
        previous: Option<&serde_json::Value>,
        first_sync: bool,
        ctx: &RunContext,
    ) -> Result<Applied, ScriptError> {
        let scope = Scope::root();
        let local = Value::from_json(entity);
        let replica = Value::from_json(replica);
        let previous = previous.map_or(Value::Null, Value::from_json);
        scope.define_str("entity", local.clone());
        scope.define_str("issue", local.clone());
        scope.define_str("replica", replica.clone());
        scope.define_str("previous", previous.clone());
        scope.define_str("firstSync", Value::Bool(first_sync));
        let mut interp = Interp::new(ctx.limits, ctx.lookup);
        interp.sync = (replica, previous);
        self.run(&scope, &mut interp)?;
        self.check_output("entity", &local, ctx)?;
        let after = local.to_json();
        let mut changes = serde_json::Map::new();
        if let (serde_json::Value::Object(new), Some(old)) = (&after, entity.as_object()) {
            for (k, v) in new {
                if old.get(k) != Some(v) {
                    changes.insert(k.clone(), v.clone());
                }
            }
        }
        Ok(Applied {
            entity: after,
            changes,
        })
    }
}
