//! The tree-walking evaluator: scopes, control flow, operators, limits.

use crate::ast::{BinOp, ClosureDef, Expr, ExprKind, GPart, Stmt, StmtKind, Target, UnOp};
use crate::error::{ErrorKind, Pos, ScriptError};
use crate::host::NodeLookup;
use crate::limits::Limits;
use crate::value::{Closure, Entries, Host, Value};
use std::cell::RefCell;
use std::rc::Rc;
use std::time::Instant;

/// A chain of variable tables; closures keep the chain they were written in.
#[derive(Debug, Clone)]
pub struct Scope(Rc<ScopeFrame>);

/// One level of variables: a short list searched linearly, which beats hashing for the
/// handful of variables a block or closure declares.
#[derive(Debug)]
pub struct ScopeFrame {
    vars: RefCell<Vec<(Rc<str>, Value)>>,
    parent: Option<Scope>,
}

impl Scope {
    /// An outermost scope.
    pub fn root() -> Scope {
        Scope(Rc::new(ScopeFrame {
            vars: RefCell::new(Vec::new()),
            parent: None,
        }))
    }

    /// A nested scope.
    pub fn child(&self) -> Scope {
        Scope(Rc::new(ScopeFrame {
            vars: RefCell::new(Vec::new()),
            parent: Some(self.clone()),
        }))
    }

    /// Declares a variable here (the name is shared with the syntax tree, not copied).
    pub fn define(&self, name: &Rc<str>, v: Value) {
        let mut vars = self.0.vars.borrow_mut();
        match vars.iter_mut().find(|(n, _)| n == name) {
            Some(slot) => slot.1 = v,
            None => vars.push((name.clone(), v)),
        }
    }

    /// Declares a variable named by a string.
    pub fn define_str(&self, name: &str, v: Value) {
        self.define(&Rc::from(name), v);
    }

    /// Reads a variable by its interned name: pointer comparison first, text second.
    pub fn get_rc(&self, name: &Rc<str>) -> Option<Value> {
        let mut s = Some(self);
        while let Some(scope) = s {
            if let Some((_, v)) = scope
                .0
                .vars
                .borrow()
                .iter()
                .find(|(n, _)| Rc::ptr_eq(n, name) || **n == **name)
            {
                return Some(v.clone());
            }
            s = scope.0.parent.as_ref();
        }
        None
    }

    /// Reads a variable from the nearest scope that has it.
    pub fn get(&self, name: &str) -> Option<Value> {
        let mut s = Some(self);
        while let Some(scope) = s {
            if let Some((_, v)) = scope.0.vars.borrow().iter().find(|(n, _)| &**n == name) {
                return Some(v.clone());
            }
            s = scope.0.parent.as_ref();
        }
        None
    }

    /// Sets an existing variable; `false` when none is visible.
    fn set(&self, name: &str, v: Value) -> Result<(), Value> {
        let mut s = Some(self);
        while let Some(scope) = s {
            if let Some(slot) = scope
                .0
                .vars
                .borrow_mut()
                .iter_mut()
                .find(|(n, _)| &**n == name)
            {
                slot.1 = v;
                return Ok(());
            }
            s = scope.0.parent.as_ref();
        }
        Err(v)
    }
}

/// How evaluation leaves the normal path.
#[derive(Debug)]
pub enum Ctrl {
    /// `break`
    Break,
    /// `continue`
    Continue,
    /// `return` with its value.
    Return(Value),
    /// A thrown exception, its message and where it was thrown.
    Throw(Value, Pos),
    /// An error that stops the script.
    Error(ScriptError),
}

impl From<ScriptError> for Ctrl {
    fn from(e: ScriptError) -> Self {
        Ctrl::Error(e)
    }
}

/// The result of evaluating something.
pub type Eval<T = Value> = Result<T, Ctrl>;

/// A runtime error at `pos` as a control-flow value.
pub fn fail<T>(pos: Pos, message: impl Into<String>) -> Eval<T> {
    Err(Ctrl::Error(ScriptError::runtime(pos, message)))
}

/// Everything a run needs: limits, counters and the host's look-ups.
pub struct Interp<'h> {
    /// Limits of this run.
    pub limits: Limits,
    steps: u64,
    depth: usize,
    nesting: usize,
    started: Instant,
    /// The node's user look-ups (`nodeHelper`).
    pub lookup: &'h dyn NodeLookup,
    /// The replica and previous replica, for `syncHelper`.
    pub sync: (Value, Value),
}

impl<'h> Interp<'h> {
    /// A fresh run with `limits`.
    pub fn new(limits: Limits, lookup: &'h dyn NodeLookup) -> Self {
        Interp {
            limits,
            steps: 0,
            depth: 0,
            nesting: 0,
            started: Instant::now(),
            lookup,
            sync: (Value::Null, Value::Null),
        }
    }

    /// Counts one step and checks the step and time limits.
    pub fn tick(&mut self, pos: Pos) -> Eval<()> {
        self.steps += 1;
        if self.steps > self.limits.max_steps {
            return Err(Ctrl::Error(ScriptError::limit(
                pos,
                format!(
                    "step limit of {} reached (an endless loop?); raise `max_steps` if the script really needs more",
                    self.limits.max_steps
                ),
            )));
        }
        if self.steps % 1024 == 0 && self.started.elapsed() > self.limits.max_time {
            return Err(Ctrl::Error(ScriptError::limit(
                pos,
                format!("time limit of {:?} reached", self.limits.max_time),
            )));
        }
        Ok(())
    }

    /// Checks a string's length against the limit.
    pub fn check_string(&self, s: &str, pos: Pos) -> Eval<()> {
        if s.len() > self.limits.max_string_bytes {
            return Err(Ctrl::Error(ScriptError::limit(
                pos,
                format!(
                    "string size limit of {} bytes reached",
                    self.limits.max_string_bytes
                ),
            )));
        }
        Ok(())
    }

    /// Checks a collection's size against the limit.
    pub fn check_size(&self, n: usize, pos: Pos) -> Eval<()> {
        if n > self.limits.max_collection {
            return Err(Ctrl::Error(ScriptError::limit(
                pos,
                format!(
                    "collection size limit of {} elements reached",
                    self.limits.max_collection
                ),
            )));
        }
        Ok(())
    }

    /// Runs statements in `scope`.
    pub fn block(&mut self, stmts: &[Stmt], scope: &Scope) -> Eval<()> {
        for s in stmts {
            self.stmt(s, scope)?;
        }
        Ok(())
    }

    fn stmt(&mut self, s: &Stmt, scope: &Scope) -> Eval<()> {
        self.nested(|me| me.stmt_inner(s, scope))
    }

    /// Runs `f` one level deeper; every few levels, makes sure enough stack is left (a fresh
    /// segment is used otherwise), so that deep but limited nesting never overflows.
    fn nested<T>(&mut self, f: impl FnOnce(&mut Self) -> T) -> T {
        self.nesting += 1;
        let r = if self.nesting % 8 == 0 {
            stacker::maybe_grow(
                crate::parse::STACK_RED_ZONE,
                crate::parse::STACK_GROWTH,
                || f(self),
            )
        } else {
            f(self)
        };
        self.nesting -= 1;
        r
    }

    fn stmt_inner(&mut self, s: &Stmt, scope: &Scope) -> Eval<()> {
        self.tick(s.pos)?;
        match &s.kind {
            StmtKind::Expr(e) => {
                self.expr(e, scope)?;
            }
            StmtKind::Def(name, value) => {
                let v = match value {
                    Some(e) => self.expr(e, scope)?,
                    None => Value::Null,
                };
                scope.define(name, v);
            }
            StmtKind::Block(body) => self.block(body, &scope.child())?,
            StmtKind::If(cond, then, otherwise) => {
                if self.expr(cond, scope)?.truthy() {
                    self.stmt(then, &scope.child())?;
                } else if let Some(o) = otherwise {
                    self.stmt(o, &scope.child())?;
                }
            }
            StmtKind::While(cond, body) => {
                while self.expr(cond, scope)?.truthy() {
                    match self.stmt(body, &scope.child()) {
                        Err(Ctrl::Break) => break,
                        Err(Ctrl::Continue) | Ok(()) => {}
                        Err(other) => return Err(other),
                    }
                }
            }
            StmtKind::For(init, cond, update, body) => {
                let outer = scope.child();
                if let Some(i) = init {
                    self.stmt(i, &outer)?;
                }
                loop {
                    if let Some(c) = cond {
                        if !self.expr(c, &outer)?.truthy() {
                            break;
                        }
                    }
                    match self.stmt(body, &outer.child()) {
                        Err(Ctrl::Break) => break,
                        Err(Ctrl::Continue) | Ok(()) => {}
                        Err(other) => return Err(other),
                    }
                    for u in update {
                        self.expr(u, &outer)?;
                    }
                }
            }
            StmtKind::ForIn(var, iterable, body) => {
                let v = self.expr(iterable, scope)?;
                let items = self.iterate(&v, iterable.pos)?;
                for item in items {
                    self.tick(s.pos)?;
                    let inner = scope.child();
                    inner.define(var, item);
                    match self.stmt(body, &inner) {
                        Err(Ctrl::Break) => break,
                        Err(Ctrl::Continue) | Ok(()) => {}
                        Err(other) => return Err(other),
                    }
                }
            }
            StmtKind::Switch(subject, cases) => {
                let v = self.expr(subject, scope)?;
                let inner = scope.child();
                let mut matched = false;
                'cases: for pass in 0..2 {
                    for case in cases {
                        if !matched {
                            if pass == 0 {
                                for value in &case.values {
                                    let c = self.expr(value, &inner)?;
                                    if self.case_matches(&v, &c, value.pos)? {
                                        matched = true;
                                        break;
                                    }
                                }
                            } else if case.default {
                                matched = true;
                            }
                        }
                        if matched {
                            match self.block(&case.body, &inner) {
                                Err(Ctrl::Break) => break 'cases,
                                Err(other) => return Err(other),
                                Ok(()) => {}
                            }
                        }
                    }
                    if matched {
                        break;
                    }
                }
            }
            StmtKind::Try(body, catch, finally) => {
                let result = self.block(body, &scope.child());
                let result = match (result, catch) {
                    (Err(Ctrl::Throw(v, _)), Some((name, handler))) => {
                        let inner = scope.child();
                        inner.define(name, v);
                        self.block(handler, &inner)
                    }
                    (Err(Ctrl::Error(e)), Some((name, handler)))
                        if e.kind == ErrorKind::Runtime =>
                    {
                        // Script errors can be caught like exceptions; limits cannot.
                        let inner = scope.child();
                        inner.define(name, Value::Exception(Rc::from(e.message.as_str())));
                        self.block(handler, &inner)
                    }
                    (r, _) => r,
                };
                if let Some(f) = finally {
                    self.block(f, &scope.child())?;
                }
                result?;
            }
            StmtKind::Throw(e) => {
                let v = self.expr(e, scope)?;
                let v = match v {
                    Value::Exception(_) => v,
                    other => Value::Exception(Rc::from(other.to_text().as_str())),
                };
                return Err(Ctrl::Throw(v, s.pos));
            }
            StmtKind::Return(e) => {
                let v = match e {
                    Some(e) => self.expr(e, scope)?,
                    None => Value::Null,
                };
                return Err(Ctrl::Return(v));
            }
            StmtKind::Break => return Err(Ctrl::Break),
            StmtKind::Continue => return Err(Ctrl::Continue),
        }
        Ok(())
    }

    fn case_matches(&mut self, subject: &Value, case: &Value, pos: Pos) -> Eval<bool> {
        Ok(match case {
            Value::List(l) => l.borrow().iter().any(|c| subject.equals(c)),
            Value::Range(a, b) => subject
                .as_f64()
                .is_some_and(|n| n >= *a.min(b) as f64 && n <= *a.max(b) as f64),
            Value::Closure(c) => {
                let c = c.clone();
                self.call_closure(&c, vec![subject.clone()], pos)?.truthy()
            }
            other => subject.equals(other),
        })
    }

    /// The elements a `for (x in …)` visits.
    pub fn iterate(&mut self, v: &Value, pos: Pos) -> Eval<Vec<Value>> {
        Ok(match v {
            Value::List(l) => l.borrow().clone(),
            Value::Range(a, b) => {
                self.check_size(
                    ((*b as i128 - *a as i128).unsigned_abs() + 1).min(usize::MAX as u128) as usize,
                    pos,
                )?;
                crate::value::range_items(*a, *b)
            }
            Value::Map(m) => m
                .borrow()
                .iter()
                .map(|(k, v)| {
                    let mut e = Entries::default();
                    e.insert(Rc::from("key"), Value::str(k));
                    e.insert(Rc::from("value"), v.clone());
                    Value::map(e)
                })
                .collect(),
            Value::Str(s) => s.chars().map(|c| Value::str(&c.to_string())).collect(),
            Value::Null => Vec::new(),
            other => return fail(pos, format!("cannot iterate over a {}", other.type_name())),
        })
    }

    /// Calls a closure with `args` (one argument spread over several parameters when it is
    /// a list of the right size, as Groovy does for map entries and pairs).
    pub fn call_closure(&mut self, c: &Closure, args: Vec<Value>, pos: Pos) -> Eval {
        self.depth += 1;
        if self.depth > self.limits.max_depth {
            self.depth -= 1;
            return Err(Ctrl::Error(ScriptError::limit(
                pos,
                format!("recursion depth limit of {} reached", self.limits.max_depth),
            )));
        }
        let scope = c.scope.child();
        bind_params(&c.def, &scope, args);
        // Closure calls are where recursion happens: make sure there is stack for it.
        let r = match stacker::maybe_grow(
            crate::parse::STACK_RED_ZONE,
            crate::parse::STACK_GROWTH,
            || self.block_value(&c.def.body, &scope),
        ) {
            Ok(v) => Ok(v),
            Err(Ctrl::Return(v)) => Ok(v),
            Err(e) => Err(e),
        };
        self.depth -= 1;
        r
    }

    /// Runs statements and gives the value of the last one, as a closure returns it.
    pub fn block_value(&mut self, stmts: &[Stmt], scope: &Scope) -> Eval {
        let Some((last, rest)) = stmts.split_last() else {
            return Ok(Value::Null);
        };
        self.block(rest, scope)?;
        self.stmt_value(last, scope)
    }

    fn stmt_value(&mut self, s: &Stmt, scope: &Scope) -> Eval {
        match &s.kind {
            StmtKind::Expr(e) => {
                self.tick(s.pos)?;
                self.expr(e, scope)
            }
            StmtKind::Block(body) => self.block_value(body, &scope.child()),
            StmtKind::If(cond, then, otherwise) => {
                self.tick(s.pos)?;
                if self.expr(cond, scope)?.truthy() {
                    self.stmt_value(then, &scope.child())
                } else if let Some(o) = otherwise {
                    self.stmt_value(o, &scope.child())
                } else {
                    Ok(Value::Null)
                }
            }
            _ => {
                self.stmt(s, scope)?;
                Ok(Value::Null)
            }
        }
    }

    /// Evaluates an expression.
    pub fn expr(&mut self, e: &Expr, scope: &Scope) -> Eval {
        self.nested(|me| me.expr_inner(e, scope))
    }

    fn expr_inner(&mut self, e: &Expr, scope: &Scope) -> Eval {
        self.tick(e.pos)?;
        let pos = e.pos;
        match &e.kind {
            ExprKind::Null => Ok(Value::Null),
            ExprKind::Bool(b) => Ok(Value::Bool(*b)),
            ExprKind::Int(n) => Ok(Value::Int(*n)),
            ExprKind::Dec(n) => Ok(Value::Dec(*n)),
            ExprKind::Str(s) => Ok(Value::Str(s.clone())),
            ExprKind::GStr(parts) => {
                let mut out = String::new();
                for p in parts {
                    match p {
                        GPart::Lit(s) => out.push_str(s),
                        GPart::Expr(e) => out.push_str(&self.expr(e, scope)?.to_text()),
                    }
                    self.check_string(&out, pos)?;
                }
                Ok(Value::str(&out))
            }
            ExprKind::Var(name) => match scope.get_rc(name) {
                Some(v) => Ok(v),
                None => self.variable(name, scope, pos),
            },
            ExprKind::List(items) => {
                let mut out = Vec::with_capacity(items.len());
                for i in items {
                    out.push(self.expr(i, scope)?);
                }
                Ok(Value::list(out))
            }
            ExprKind::Map(entries) => {
                let mut out = Entries::with_capacity(entries.len());
                for (k, v) in entries {
                    let key = crate::value::key(&self.expr(k, scope)?);
                    let value = self.expr(v, scope)?;
                    out.insert(key, value);
                }
                Ok(Value::map(out))
            }
            ExprKind::Closure(def) => Ok(Value::Closure(Rc::new(Closure {
                def: def.clone(),
                scope: scope.clone(),
            }))),
            ExprKind::Prop {
                object,
                name,
                safe,
                spread,
            } => {
                let o = self.expr(object, scope)?;
                if *spread {
                    let items = self.iterate(&o, pos)?;
                    let mut out = Vec::new();
                    for i in items {
                        out.push(crate::builtins::property(self, &i, name, true, pos)?);
                    }
                    return Ok(Value::list(out));
                }
                crate::builtins::property(self, &o, name, *safe, pos)
            }
            ExprKind::Index(object, index) => {
                let o = self.expr(object, scope)?;
                let i = self.expr(index, scope)?;
                crate::builtins::index(self, &o, &i, pos)
            }
            ExprKind::MethodCall {
                object,
                name,
                args,
                safe,
                spread,
            } => {
                let o = self.expr(object, scope)?;
                let mut values = Vec::with_capacity(args.len());
                for a in args {
                    values.push(self.expr(a, scope)?);
                }
                if *spread {
                    let items = self.iterate(&o, pos)?;
                    let mut out = Vec::new();
                    for i in items {
                        out.push(crate::builtins::method(
                            self,
                            &i,
                            name,
                            values.clone(),
                            pos,
                        )?);
                    }
                    return Ok(Value::list(out));
                }
                if *safe && matches!(o, Value::Null) {
                    return Ok(Value::Null);
                }
                crate::builtins::method(self, &o, name, values, pos)
            }
            ExprKind::Call(name, args) => {
                let mut values = Vec::with_capacity(args.len());
                for a in args {
                    values.push(self.expr(a, scope)?);
                }
                match scope.get(name) {
                    Some(Value::Closure(c)) => self.call_closure(&c, values, pos),
                    Some(other) => fail(
                        pos,
                        format!("`{name}` is a {}, not a closure", other.type_name()),
                    ),
                    None => crate::builtins::global(name, pos),
                }
            }
            ExprKind::CallValue(callee, args) => {
                let c = self.expr(callee, scope)?;
                let mut values = Vec::with_capacity(args.len());
                for a in args {
                    values.push(self.expr(a, scope)?);
                }
                match c {
                    Value::Closure(c) => self.call_closure(&c, values, pos),
                    other => fail(pos, format!("a {} cannot be called", other.type_name())),
                }
            }
            ExprKind::Unary(op, inner) => {
                let v = self.expr(inner, scope)?;
                match op {
                    UnOp::Not => Ok(Value::Bool(!v.truthy())),
                    UnOp::Plus => Ok(v),
                    UnOp::Neg => match v {
                        Value::Int(n) => n
                            .checked_neg()
                            .map(Value::Int)
                            .map_or_else(|| fail(pos, "integer overflow"), Ok),
                        Value::Dec(n) => Ok(Value::Dec(-n)),
                        other => fail(pos, format!("cannot negate a {}", other.type_name())),
                    },
                }
            }
            ExprKind::Binary(BinOp::And, a, b) => Ok(Value::Bool(
                self.expr(a, scope)?.truthy() && self.expr(b, scope)?.truthy(),
            )),
            ExprKind::Binary(BinOp::Or, a, b) => Ok(Value::Bool(
                self.expr(a, scope)?.truthy() || self.expr(b, scope)?.truthy(),
            )),
            ExprKind::Binary(op, a, b) => {
                let x = self.expr(a, scope)?;
                let y = self.expr(b, scope)?;
                crate::ops::binary(self, *op, x, y, pos)
            }
            ExprKind::Ternary(c, a, b) => {
                if self.expr(c, scope)?.truthy() {
                    self.expr(a, scope)
                } else {
                    self.expr(b, scope)
                }
            }
            ExprKind::Elvis(a, b) => {
                let v = self.expr(a, scope)?;
                if v.truthy() {
                    Ok(v)
                } else {
                    self.expr(b, scope)
                }
            }
            ExprKind::Assign(target, op, value) => {
                // Left to right, as in Java: the target's object and index, then the value.
                let place = self.place(target, scope)?;
                let v = match op {
                    None => self.expr(value, scope)?,
                    Some(op) => {
                        let current = self.read_place(&place, scope, pos)?;
                        let rhs = self.expr(value, scope)?;
                        crate::ops::binary(self, *op, current, rhs, pos)?
                    }
                };
                self.write_place(&place, v.clone(), scope, pos)?;
                Ok(v)
            }
            ExprKind::Step {
                target,
                delta,
                prefix,
            } => {
                let place = self.place(target, scope)?;
                let current = self.read_place(&place, scope, pos)?;
                let next =
                    crate::ops::binary(self, BinOp::Add, current.clone(), Value::Int(*delta), pos)?;
                self.write_place(&place, next.clone(), scope, pos)?;
                Ok(if *prefix { next } else { current })
            }
            ExprKind::As(v, ty) => {
                let v = self.expr(v, scope)?;
                crate::ops::cast(v, ty, pos)
            }
            ExprKind::InstanceOf(v, ty) => {
                let v = self.expr(v, scope)?;
                Ok(Value::Bool(crate::ops::instance_of(&v, ty)))
            }
            ExprKind::New(ty, args) => {
                let mut values = Vec::with_capacity(args.len());
                for a in args {
                    values.push(self.expr(a, scope)?);
                }
                crate::builtins::construct(ty, values, pos)
            }
        }
    }

    fn variable(&mut self, name: &str, scope: &Scope, pos: Pos) -> Eval {
        if let Some(v) = scope.get(name) {
            return Ok(v);
        }
        Ok(match name {
            "commentHelper" => Value::Host(Host::CommentHelper),
            "attachmentHelper" => Value::Host(Host::AttachmentHelper),
            "nodeHelper" => Value::Host(Host::NodeHelper),
            "syncHelper" => Value::Host(Host::SyncHelper),
            "Date" => Value::Host(Host::DateClass),
            "Math" => Value::Host(Host::MathClass),
            "System" | "Runtime" | "File" | "Thread" | "ProcessBuilder" | "URL" | "Class" | "Eval"
            | "GroovyShell" => {
                return fail(pos, format!("`{name}` is not available in sync rules (no file, network, process or environment access)"))
            }
            _ => return fail(pos, format!("unknown variable `{name}` (declare it with `def {name} = …`)")),
        })
    }

    /// Evaluates a target's object and index once, for a read followed by a write.
    fn place(&mut self, t: &Target, scope: &Scope) -> Eval<Place> {
        Ok(match t {
            Target::Var(n) => Place::Var(n.clone()),
            Target::Prop(o, name) => Place::Prop(self.expr(o, scope)?, name.clone()),
            Target::Index(o, i) => {
                let o = self.expr(o, scope)?;
                Place::Index(o, self.expr(i, scope)?)
            }
        })
    }

    fn read_place(&mut self, p: &Place, scope: &Scope, pos: Pos) -> Eval {
        match p {
            Place::Var(n) => self.variable(n, scope, pos),
            Place::Prop(o, name) => crate::builtins::property(self, o, name, false, pos),
            Place::Index(o, i) => crate::builtins::index(self, o, i, pos),
        }
    }

    fn write_place(&mut self, p: &Place, v: Value, scope: &Scope, pos: Pos) -> Eval<()> {
        match p {
            Place::Var(n) => {
                if let Err(v) = scope.set(n, v) {
                    // Groovy scripts may assign undeclared variables: they become globals.
                    let mut root = scope.clone();
                    while let Some(p) = root.0.parent.clone() {
                        root = p;
                    }
                    root.define(n, v);
                }
                Ok(())
            }
            Place::Prop(o, name) => crate::builtins::set_property(self, o, name, v, pos),
            Place::Index(o, i) => crate::builtins::set_index(self, o, i, v, pos),
        }
    }
}

/// An assignment target with its object and index already evaluated.
enum Place {
    Var(Rc<str>),
    Prop(Value, Rc<str>),
    Index(Value, Value),
}

/// Binds closure parameters: `it` for `{ … }`, named ones otherwise; a single list argument
/// is spread over several parameters.
fn bind_params(def: &ClosureDef, scope: &Scope, mut args: Vec<Value>) {
    if def.implicit_it {
        if let Some(it) = def.params.first() {
            scope.define(it, args.into_iter().next().unwrap_or(Value::Null));
        }
        return;
    }
    if def.params.len() > 1 && args.len() == 1 {
        if let Some(items) = args[0].items() {
            if items.len() == def.params.len() {
                args = items;
            }
        }
    }
    let mut it = args.into_iter();
    for p in &def.params {
        scope.define(p, it.next().unwrap_or(Value::Null));
    }
}
