//! The syntax tree of a script.

use crate::error::Pos;
use std::rc::Rc;

/// A binary operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `%`
    Rem,
    /// `**`
    Pow,
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `<=>`
    Cmp,
    /// `&&`
    And,
    /// `||`
    Or,
    /// `in`
    In,
    /// `!in`
    NotIn,
    /// `=~`
    Find,
    /// `==~`
    Match,
    /// `<<`
    LeftShift,
    /// `..`
    Range,
    /// `..<`
    RangeExclusive,
}

/// A unary operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnOp {
    /// `!`
    Not,
    /// `-`
    Neg,
    /// `+`
    Plus,
}

/// An assignment target.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    /// A variable.
    Var(Rc<str>),
    /// `object.name` (or `object?.name`).
    Prop(Box<Expr>, Rc<str>),
    /// `object[index]`.
    Index(Box<Expr>, Box<Expr>),
}

/// An expression and where it is.
#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    /// What it is.
    pub kind: ExprKind,
    /// Where (its operator for binary expressions, its start otherwise).
    pub pos: Pos,
}

/// A closure literal.
#[derive(Debug, Clone, PartialEq)]
pub struct ClosureDef {
    /// Parameter names; just `it` with `implicit_it` for `{ … }`.
    pub params: Vec<Rc<str>>,
    /// True when the closure takes the implicit `it`.
    pub implicit_it: bool,
    /// The body.
    pub body: Vec<Stmt>,
}

/// The kinds of expression.
#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    /// `null`
    Null,
    /// `true` / `false`
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A decimal.
    Dec(f64),
    /// A plain string.
    Str(Rc<str>),
    /// An interpolated string: literal parts and expressions.
    GStr(Vec<GPart>),
    /// A variable.
    Var(Rc<str>),
    /// `[a, b]`
    List(Vec<Expr>),
    /// `[k: v]`, `[:]`
    Map(Vec<(Expr, Expr)>),
    /// `object.name`, `object?.name` (safe), `object*.name` (spread).
    Prop {
        /// The object.
        object: Box<Expr>,
        /// The property (interned: one allocation however often it is written).
        name: Rc<str>,
        /// `?.`
        safe: bool,
        /// `*.`
        spread: bool,
    },
    /// `object[index]`, `object?[index]`.
    Index(Box<Expr>, Box<Expr>),
    /// `object.name(args)` (also `?.` and `*.`).
    MethodCall {
        /// The receiver.
        object: Box<Expr>,
        /// The method.
        name: String,
        /// Arguments (a trailing closure is the last).
        args: Vec<Expr>,
        /// `?.`
        safe: bool,
        /// `*.`
        spread: bool,
    },
    /// `name(args)`: a closure variable or a global function.
    Call(String, Vec<Expr>),
    /// `callee(args)` where the callee is an expression (`(x)(1)`).
    CallValue(Box<Expr>, Vec<Expr>),
    /// A closure literal.
    Closure(Rc<ClosureDef>),
    /// A unary operation.
    Unary(UnOp, Box<Expr>),
    /// A binary operation.
    Binary(BinOp, Box<Expr>, Box<Expr>),
    /// `cond ? a : b`
    Ternary(Box<Expr>, Box<Expr>, Box<Expr>),
    /// `a ?: b`
    Elvis(Box<Expr>, Box<Expr>),
    /// `target = value`, or a compound `target op= value`.
    Assign(Target, Option<BinOp>, Box<Expr>),
    /// `++x`, `--x` (prefix: value after), `x++`, `x--` (postfix: value before).
    Step {
        /// The variable or property.
        target: Target,
        /// +1 or -1.
        delta: i64,
        /// True for prefix.
        prefix: bool,
    },
    /// `value as Type`
    As(Box<Expr>, String),
    /// `value instanceof Type`
    InstanceOf(Box<Expr>, String),
    /// `new Type(args)`
    New(String, Vec<Expr>),
}

/// A piece of an interpolated string.
#[derive(Debug, Clone, PartialEq)]
pub enum GPart {
    /// Literal text.
    Lit(String),
    /// An interpolated expression.
    Expr(Expr),
}

/// One `case` of a `switch`.
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    /// The values (empty for `default`).
    pub values: Vec<Expr>,
    /// True for `default:`.
    pub default: bool,
    /// The statements up to the next case.
    pub body: Vec<Stmt>,
}

/// A statement and where it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Stmt {
    /// What it is.
    pub kind: StmtKind,
    /// Where.
    pub pos: Pos,
}

/// The kinds of statement.
#[derive(Debug, Clone, PartialEq)]
pub enum StmtKind {
    /// An expression evaluated for its effect.
    Expr(Expr),
    /// `def x = …` / `String x = …` (value optional).
    Def(Rc<str>, Option<Expr>),
    /// `{ … }`
    Block(Vec<Stmt>),
    /// `if (…) … else …`
    If(Expr, Box<Stmt>, Option<Box<Stmt>>),
    /// `for (x in xs) …`
    ForIn(Rc<str>, Expr, Box<Stmt>),
    /// `for (init; cond; update) …`
    For(Option<Box<Stmt>>, Option<Expr>, Vec<Expr>, Box<Stmt>),
    /// `while (…) …`
    While(Expr, Box<Stmt>),
    /// `switch (…) { case …: … }`
    Switch(Expr, Vec<Case>),
    /// `try { … } catch (e) { … } finally { … }`
    Try(Vec<Stmt>, Option<(Rc<str>, Vec<Stmt>)>, Option<Vec<Stmt>>),
    /// `throw …`
    Throw(Expr),
    /// `return [value]`
    Return(Option<Expr>),
    /// `break`
    Break,
    /// `continue`
    Continue,
}
