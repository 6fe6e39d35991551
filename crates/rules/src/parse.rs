//! A recursive-descent parser for the Groovy dialect, with Groovy's operator precedence and
//! newline rules. It recovers at statement boundaries, so one compile reports every syntax
//! error, each with its line, column and what was expected.

use crate::ast::{BinOp, Case, ClosureDef, Expr, ExprKind, GPart, Stmt, StmtKind, Target, UnOp};
use crate::error::{Pos, ScriptError};
use crate::lex::{lex_all, lex_at, StrPart, Tok, Token};
use std::rc::Rc;

/// Deepest nesting of expressions and blocks accepted, so that hostile input is refused
/// instead of exhausting the stack.
pub const MAX_NESTING: usize = 200;

/// When less than this much stack is left, recursion continues on a fresh segment, so deep
/// (but limited) nesting never overflows a small thread stack.
pub(crate) const STACK_RED_ZONE: usize = 128 * 1024;
/// The size of each fresh stack segment.
pub(crate) const STACK_GROWTH: usize = 2 * 1024 * 1024;

/// Type names accepted in declarations (`String x = …`) besides capitalised names.
const PRIMITIVES: &[&str] = &[
    "def", "var", "int", "long", "short", "byte", "double", "float", "boolean", "char",
];

const KEYWORDS: &[&str] = &[
    "def",
    "if",
    "else",
    "for",
    "while",
    "do",
    "switch",
    "case",
    "default",
    "try",
    "catch",
    "finally",
    "throw",
    "return",
    "break",
    "continue",
    "new",
    "in",
    "as",
    "instanceof",
    "true",
    "false",
    "null",
];

/// Parses a whole script; every syntax error found, in order.
pub fn parse(src: &str) -> Result<Vec<Stmt>, Vec<ScriptError>> {
    let (tokens, lex_errors) = lex_all(src);
    let mut p = Parser {
        tokens,
        i: 0,
        errors: Vec::new(),
        depth: 0,
        names: Default::default(),
    };
    let stmts = p.statements(true);
    if p.errors.is_empty() && lex_errors.is_empty() {
        return Ok(stmts);
    }
    let mut errors = lex_errors;
    // A lexical error usually causes a parse error right after it on the same line: keep
    // the lexical one, which says what is really wrong.
    for e in p.errors {
        if !errors.iter().any(|l| l.pos.line == e.pos.line) {
            errors.push(e);
        }
    }
    errors.sort_by_key(|e| e.pos);
    Err(errors)
}

struct Parser {
    tokens: Vec<Token>,
    i: usize,
    errors: Vec<ScriptError>,
    depth: usize,
    /// One shared copy of each name, so that variable look-ups compare pointers.
    names: rustc_hash::FxHashSet<Rc<str>>,
}

type PResult<T> = Result<T, ScriptError>;

fn describe(tok: &Tok) -> String {
    match tok {
        Tok::Ident(s) => format!("`{s}`"),
        Tok::Int(n) => format!("`{n}`"),
        Tok::Dec(n) => format!("`{n}`"),
        Tok::Str(_) | Tok::GStr(_) => "a string".to_string(),
        Tok::Sym(s) => format!("`{s}`"),
        Tok::Newline => "the end of the line".to_string(),
        Tok::End => "the end of the script".to_string(),
    }
}

impl Parser {
    fn intern(&mut self, name: &str) -> Rc<str> {
        if let Some(n) = self.names.get(name) {
            return n.clone();
        }
        let n: Rc<str> = Rc::from(name);
        self.names.insert(n.clone());
        n
    }

    fn peek(&self) -> &Tok {
        &self.tokens[self.i.min(self.tokens.len() - 1)].tok
    }

    fn peek_at(&self, ahead: usize) -> &Tok {
        &self.tokens[(self.i + ahead).min(self.tokens.len() - 1)].tok
    }

    fn pos(&self) -> Pos {
        self.tokens[self.i.min(self.tokens.len() - 1)].pos
    }

    fn bump(&mut self) -> Token {
        let t = self.tokens[self.i.min(self.tokens.len() - 1)].clone();
        if self.i < self.tokens.len() - 1 {
            self.i += 1;
        }
        t
    }

    fn is_sym(&self, s: &str) -> bool {
        matches!(self.peek(), Tok::Sym(x) if *x == s)
    }

    fn is_word(&self, w: &str) -> bool {
        matches!(self.peek(), Tok::Ident(x) if x == w)
    }

    fn eat_sym(&mut self, s: &str) -> bool {
        if self.is_sym(s) {
            self.bump();
            true
        } else {
            false
        }
    }

    fn eat_word(&mut self, w: &str) -> bool {
        if self.is_word(w) {
            self.bump();
            true
        } else {
            false
        }
    }

    fn expected(&self, what: &str) -> ScriptError {
        ScriptError::syntax(
            self.pos(),
            format!("expected {what} but found {}", describe(self.peek())),
        )
    }

    fn expect_sym(&mut self, s: &str) -> PResult<Pos> {
        if self.is_sym(s) {
            Ok(self.bump().pos)
        } else {
            Err(self.expected(&format!("`{s}`")))
        }
    }

    fn skip_newlines(&mut self) {
        while matches!(self.peek(), Tok::Newline) || self.is_sym(";") {
            self.bump();
        }
    }

    fn skip_line_breaks(&mut self) {
        while matches!(self.peek(), Tok::Newline) {
            self.bump();
        }
    }

    fn enter(&mut self) -> PResult<()> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            return Err(ScriptError::syntax(
                self.pos(),
                format!("the script nests deeper than {MAX_NESTING} levels"),
            ));
        }
        Ok(())
    }

    fn name(&mut self, what: &str) -> PResult<String> {
        match self.peek().clone() {
            Tok::Ident(s) if !KEYWORDS.contains(&s.as_str()) => {
                self.bump();
                Ok(s)
            }
            _ => Err(self.expected(what)),
        }
    }

    /// Statements until `}` (or the end of the script at top level).
    fn statements(&mut self, top: bool) -> Vec<Stmt> {
        let mut out = Vec::new();
        loop {
            self.skip_newlines();
            match self.peek() {
                Tok::End => {
                    if !top {
                        self.errors.push(self.expected("`}`"));
                    }
                    return out;
                }
                Tok::Sym("}") if !top => return out,
                _ => {}
            }
            let before = self.i;
            match self.statement() {
                Ok(s) => {
                    out.push(s);
                    if !matches!(
                        self.peek(),
                        Tok::Newline | Tok::End | Tok::Sym(";") | Tok::Sym("}")
                    ) {
                        let e = self.expected("the end of the statement (a new line or `;`)");
                        self.errors.push(e);
                        self.recover(before);
                    }
                }
                Err(e) => {
                    self.errors.push(e);
                    self.recover(before);
                }
            }
            if self.errors.len() > 50 {
                return out;
            }
        }
    }

    /// Skips to the next statement boundary after an error.
    fn recover(&mut self, before: usize) {
        if self.i == before {
            self.bump();
        }
        let mut depth = 0i32;
        loop {
            match self.peek() {
                Tok::End => return,
                Tok::Newline | Tok::Sym(";") if depth <= 0 => return,
                Tok::Sym("{") | Tok::Sym("(") | Tok::Sym("[") => depth += 1,
                Tok::Sym("}") if depth <= 0 => return,
                Tok::Sym("}") | Tok::Sym(")") | Tok::Sym("]") => depth -= 1,
                _ => {}
            }
            self.bump();
        }
    }

    fn block_or_statement(&mut self) -> PResult<Stmt> {
        self.skip_line_breaks();
        if self.is_sym("{") {
            let pos = self.bump().pos;
            let body = self.statements(false);
            self.expect_sym("}")?;
            Ok(Stmt {
                kind: StmtKind::Block(body),
                pos,
            })
        } else {
            self.statement()
        }
    }

    fn block(&mut self) -> PResult<Vec<Stmt>> {
        self.skip_line_breaks();
        self.expect_sym("{")?;
        let body = self.statements(false);
        self.expect_sym("}")?;
        Ok(body)
    }

    /// True when the tokens ahead read `Type name` (a declaration with a type).
    fn typed_declaration_ahead(&self) -> bool {
        let Tok::Ident(ty) = self.peek() else {
            return false;
        };
        let type_like =
            PRIMITIVES.contains(&ty.as_str()) || ty.chars().next().is_some_and(char::is_uppercase);
        if !type_like {
            return false;
        }
        // `Type name`, `Type<…> name`, `Type[] name`.
        let mut k = 1;
        if matches!(self.peek_at(k), Tok::Sym("<")) {
            let mut depth = 0;
            loop {
                match self.peek_at(k) {
                    Tok::Sym("<") => depth += 1,
                    Tok::Sym(">") => {
                        depth -= 1;
                        if depth == 0 {
                            k += 1;
                            break;
                        }
                    }
                    Tok::End | Tok::Newline => return false,
                    _ => {}
                }
                k += 1;
            }
        }
        while matches!(self.peek_at(k), Tok::Sym("["))
            && matches!(self.peek_at(k + 1), Tok::Sym("]"))
        {
            k += 2;
        }
        matches!(self.peek_at(k), Tok::Ident(n) if !KEYWORDS.contains(&n.as_str()))
            && matches!(
                self.peek_at(k + 1),
                Tok::Sym("=") | Tok::Newline | Tok::End | Tok::Sym(";") | Tok::Sym("}")
            )
    }

    fn declaration(&mut self) -> PResult<Stmt> {
        let pos = self.pos();
        self.bump(); // the type or `def`
        if self.is_sym("<") {
            let mut depth = 0;
            loop {
                match self.bump().tok {
                    Tok::Sym("<") => depth += 1,
                    Tok::Sym(">") => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    _ => {}
                }
            }
        }
        while self.is_sym("[") && matches!(self.peek_at(1), Tok::Sym("]")) {
            self.bump();
            self.bump();
        }
        let name = self.name("a variable name")?;
        let value = if self.eat_sym("=") {
            self.skip_line_breaks();
            Some(self.expr()?)
        } else {
            None
        };
        Ok(Stmt {
            kind: StmtKind::Def(self.intern(&name), value),
            pos,
        })
    }

    fn statement(&mut self) -> PResult<Stmt> {
        self.enter()?;
        let r = stacker::maybe_grow(STACK_RED_ZONE, STACK_GROWTH, || self.statement_inner());
        self.depth -= 1;
        r
    }

    fn statement_inner(&mut self) -> PResult<Stmt> {
        let pos = self.pos();
        let word = match self.peek() {
            Tok::Ident(w) => Some(w.clone()),
            _ => None,
        };
        let kind = match word.as_deref() {
            Some("def") => return self.declaration(),
            Some(_) if self.typed_declaration_ahead() => return self.declaration(),
            Some("if") => {
                self.bump();
                self.expect_sym("(")?;
                let cond = self.expr()?;
                self.expect_sym(")")?;
                let then = self.block_or_statement()?;
                // `else` may follow on the next line.
                let save = self.i;
                self.skip_newlines();
                let otherwise = if self.eat_word("else") {
                    Some(Box::new(self.block_or_statement()?))
                } else {
                    self.i = save;
                    None
                };
                StmtKind::If(cond, Box::new(then), otherwise)
            }
            Some("for") => {
                self.bump();
                self.expect_sym("(")?;
                self.for_loop()?
            }
            Some("while") => {
                self.bump();
                self.expect_sym("(")?;
                let cond = self.expr()?;
                self.expect_sym(")")?;
                StmtKind::While(cond, Box::new(self.block_or_statement()?))
            }
            Some("switch") => {
                self.bump();
                self.switch()?
            }
            Some("try") => {
                self.bump();
                self.try_catch()?
            }
            Some("throw") => {
                self.bump();
                StmtKind::Throw(self.expr()?)
            }
            Some("return") => {
                self.bump();
                if matches!(
                    self.peek(),
                    Tok::Newline | Tok::End | Tok::Sym(";") | Tok::Sym("}")
                ) {
                    StmtKind::Return(None)
                } else {
                    StmtKind::Return(Some(self.expr()?))
                }
            }
            Some("break") => {
                self.bump();
                StmtKind::Break
            }
            Some("continue") => {
                self.bump();
                StmtKind::Continue
            }
            Some("else") => return Err(ScriptError::syntax(pos, "`else` without a matching `if`")),
            Some("catch") | Some("finally") => {
                return Err(ScriptError::syntax(
                    pos,
                    format!("`{}` without a matching `try`", word.unwrap_or_default()),
                ))
            }
            _ if self.is_sym("{") => {
                // A block statement (a closure at statement level would be useless).
                self.bump();
                let body = self.statements(false);
                self.expect_sym("}")?;
                StmtKind::Block(body)
            }
            _ => StmtKind::Expr(self.expr()?),
        };
        Ok(Stmt { kind, pos })
    }

    fn for_loop(&mut self) -> PResult<StmtKind> {
        // `for (x in xs)`, `for (def x in xs)`, `for (String x : xs)`.
        let save = self.i;
        let mut k = 0;
        if matches!(self.peek(), Tok::Ident(t) if PRIMITIVES.contains(&t.as_str()) || t.chars().next().is_some_and(char::is_uppercase))
            && matches!(self.peek_at(1), Tok::Ident(_))
        {
            k = 1;
        }
        if matches!(self.peek_at(k), Tok::Ident(n) if !KEYWORDS.contains(&n.as_str()))
            && (matches!(self.peek_at(k + 1), Tok::Ident(w) if w == "in")
                || matches!(self.peek_at(k + 1), Tok::Sym(":")))
        {
            for _ in 0..k {
                self.bump();
            }
            let var = self.name("a loop variable")?;
            self.bump(); // `in` or `:`
            let iterable = self.expr()?;
            self.expect_sym(")")?;
            let body = self.block_or_statement()?;
            return Ok(StmtKind::ForIn(
                Rc::from(var.as_str()),
                iterable,
                Box::new(body),
            ));
        }
        self.i = save;
        let init = if self.is_sym(";") {
            None
        } else if self.typed_declaration_ahead()
            || (self.is_word("def") && matches!(self.peek_at(1), Tok::Ident(_)))
        {
            Some(Box::new(self.declaration()?))
        } else {
            let pos = self.pos();
            Some(Box::new(Stmt {
                kind: StmtKind::Expr(self.expr()?),
                pos,
            }))
        };
        self.expect_sym(";")?;
        let cond = if self.is_sym(";") {
            None
        } else {
            Some(self.expr()?)
        };
        self.expect_sym(";")?;
        let mut update = Vec::new();
        if !self.is_sym(")") {
            update.push(self.expr()?);
            while self.eat_sym(",") {
                update.push(self.expr()?);
            }
        }
        self.expect_sym(")")?;
        let body = self.block_or_statement()?;
        Ok(StmtKind::For(init, cond, update, Box::new(body)))
    }

    fn switch(&mut self) -> PResult<StmtKind> {
        self.expect_sym("(")?;
        let subject = self.expr()?;
        self.expect_sym(")")?;
        self.skip_line_breaks();
        self.expect_sym("{")?;
        let mut cases: Vec<Case> = Vec::new();
        loop {
            self.skip_newlines();
            if self.eat_sym("}") {
                break;
            }
            let mut values = Vec::new();
            let mut default = false;
            // Several labels may share one body: `case 1: case 2: …`.
            loop {
                if self.eat_word("case") {
                    values.push(self.expr()?);
                    self.expect_sym(":")?;
                } else if self.eat_word("default") {
                    default = true;
                    self.expect_sym(":")?;
                } else {
                    break;
                }
                self.skip_newlines();
            }
            if values.is_empty() && !default {
                return Err(self.expected("`case`, `default` or `}`"));
            }
            let mut body = Vec::new();
            loop {
                self.skip_newlines();
                if self.is_word("case")
                    || self.is_word("default")
                    || self.is_sym("}")
                    || matches!(self.peek(), Tok::End)
                {
                    break;
                }
                body.push(self.statement()?);
            }
            cases.push(Case {
                values,
                default,
                body,
            });
        }
        Ok(StmtKind::Switch(subject, cases))
    }

    fn try_catch(&mut self) -> PResult<StmtKind> {
        let body = self.block()?;
        let save = self.i;
        self.skip_newlines();
        let catch = if self.eat_word("catch") {
            self.expect_sym("(")?;
            // `catch (e)`, `catch (Exception e)`, `catch (IOException | Exception e)`.
            let mut name = self.name("an exception variable")?;
            while !self.is_sym(")") {
                match self.bump().tok {
                    Tok::Ident(n) => name = n,
                    Tok::Sym("|") => {}
                    _ => return Err(self.expected("`)`")),
                }
            }
            self.expect_sym(")")?;
            Some((self.intern(&name), self.block()?))
        } else {
            self.i = save;
            None
        };
        let save = self.i;
        self.skip_newlines();
        let finally = if self.eat_word("finally") {
            Some(self.block()?)
        } else {
            self.i = save;
            None
        };
        if catch.is_none() && finally.is_none() {
            return Err(self.expected("`catch` or `finally`"));
        }
        Ok(StmtKind::Try(body, catch, finally))
    }

    // ---- expressions -------------------------------------------------------------------

    /// A full expression, including assignment.
    pub(crate) fn expr(&mut self) -> PResult<Expr> {
        self.enter()?;
        let r = stacker::maybe_grow(STACK_RED_ZONE, STACK_GROWTH, || self.assignment());
        self.depth -= 1;
        r
    }

    fn assignment(&mut self) -> PResult<Expr> {
        let left = self.ternary()?;
        let op = match self.peek() {
            Tok::Sym("=") => Some(None),
            Tok::Sym("+=") => Some(Some(BinOp::Add)),
            Tok::Sym("-=") => Some(Some(BinOp::Sub)),
            Tok::Sym("*=") => Some(Some(BinOp::Mul)),
            Tok::Sym("/=") => Some(Some(BinOp::Div)),
            Tok::Sym("%=") => Some(Some(BinOp::Rem)),
            Tok::Sym("**=") => Some(Some(BinOp::Pow)),
            _ => None,
        };
        let Some(op) = op else { return Ok(left) };
        let pos = self.bump().pos;
        let target = self.target(left, pos)?;
        self.skip_line_breaks();
        let value = self.expr()?;
        Ok(Expr {
            kind: ExprKind::Assign(target, op, Box::new(value)),
            pos,
        })
    }

    fn target(&self, e: Expr, pos: Pos) -> PResult<Target> {
        match e.kind {
            ExprKind::Var(n) => Ok(Target::Var(n)),
            ExprKind::Prop {
                object,
                name,
                spread: false,
                ..
            } => Ok(Target::Prop(object, name)),
            ExprKind::Index(o, i) => Ok(Target::Index(o, i)),
            _ => Err(ScriptError::syntax(
                pos,
                "the left of an assignment must be a variable, a property or an index",
            )),
        }
    }

    fn ternary(&mut self) -> PResult<Expr> {
        let cond = self.binary(0)?;
        if self.is_sym("?:") {
            let pos = self.bump().pos;
            self.skip_line_breaks();
            let other = self.ternary()?;
            return Ok(Expr {
                kind: ExprKind::Elvis(Box::new(cond), Box::new(other)),
                pos,
            });
        }
        if self.is_sym("?") {
            let pos = self.bump().pos;
            self.skip_line_breaks();
            let a = self.ternary()?;
            self.skip_line_breaks();
            self.expect_sym(":")?;
            self.skip_line_breaks();
            let b = self.ternary()?;
            return Ok(Expr {
                kind: ExprKind::Ternary(Box::new(cond), Box::new(a), Box::new(b)),
                pos,
            });
        }
        Ok(cond)
    }

    /// The binary operator at the cursor and its precedence level (higher binds tighter).
    fn binary_op(&self) -> Option<(BinOp, u8)> {
        let op = match self.peek() {
            Tok::Sym("||") => (BinOp::Or, 1),
            Tok::Sym("&&") => (BinOp::And, 2),
            Tok::Sym("==") => (BinOp::Eq, 3),
            Tok::Sym("!=") => (BinOp::Ne, 3),
            Tok::Sym("<=>") => (BinOp::Cmp, 3),
            Tok::Sym("=~") => (BinOp::Find, 3),
            Tok::Sym("==~") => (BinOp::Match, 3),
            Tok::Sym("<") => (BinOp::Lt, 4),
            Tok::Sym("<=") => (BinOp::Le, 4),
            Tok::Sym(">") => (BinOp::Gt, 4),
            Tok::Sym(">=") => (BinOp::Ge, 4),
            Tok::Ident(w) if w == "in" => (BinOp::In, 4),
            Tok::Sym("!") if matches!(self.peek_at(1), Tok::Ident(w) if w == "in") => {
                (BinOp::NotIn, 4)
            }
            Tok::Sym("<<") => (BinOp::LeftShift, 5),
            Tok::Sym("..") => (BinOp::Range, 5),
            Tok::Sym("..<") => (BinOp::RangeExclusive, 5),
            Tok::Sym("+") => (BinOp::Add, 6),
            Tok::Sym("-") => (BinOp::Sub, 6),
            Tok::Sym("*") => (BinOp::Mul, 7),
            Tok::Sym("/") => (BinOp::Div, 7),
            Tok::Sym("%") => (BinOp::Rem, 7),
            _ => return None,
        };
        Some(op)
    }

    /// Precedence climbing over the binary operators; `as` and `instanceof` sit at the
    /// relational level.
    fn binary(&mut self, min: u8) -> PResult<Expr> {
        let mut left = self.power()?;
        loop {
            if (self.is_word("as") || self.is_word("instanceof")) && min <= 4 {
                let word = self.bump();
                let ty = self.type_name()?;
                let kind = if matches!(&word.tok, Tok::Ident(w) if w == "as") {
                    ExprKind::As(Box::new(left), ty)
                } else {
                    ExprKind::InstanceOf(Box::new(left), ty)
                };
                left = Expr {
                    kind,
                    pos: word.pos,
                };
                continue;
            }
            let Some((op, level)) = self.binary_op() else {
                return Ok(left);
            };
            if level < min.max(1) {
                return Ok(left);
            }
            let pos = self.bump().pos;
            if op == BinOp::NotIn {
                self.bump();
            }
            self.skip_line_breaks();
            let right = self.enter().and_then(|_| self.binary(level + 1));
            self.depth -= 1;
            left = Expr {
                kind: ExprKind::Binary(op, Box::new(left), Box::new(right?)),
                pos,
            };
        }
    }

    fn type_name(&mut self) -> PResult<String> {
        let mut name = match self.bump().tok {
            Tok::Ident(n) => n,
            _ => return Err(self.expected("a type name")),
        };
        while self.is_sym(".") && matches!(self.peek_at(1), Tok::Ident(_)) {
            self.bump();
            if let Tok::Ident(n) = self.bump().tok {
                name = n;
            }
        }
        while self.is_sym("[") && matches!(self.peek_at(1), Tok::Sym("]")) {
            self.bump();
            self.bump();
            name.push_str("[]");
        }
        Ok(name)
    }

    fn power(&mut self) -> PResult<Expr> {
        let base = self.unary()?;
        if self.is_sym("**") {
            let pos = self.bump().pos;
            self.skip_line_breaks();
            self.enter()?;
            let exp = self.power();
            self.depth -= 1;
            return Ok(Expr {
                kind: ExprKind::Binary(BinOp::Pow, Box::new(base), Box::new(exp?)),
                pos,
            });
        }
        Ok(base)
    }

    fn unary(&mut self) -> PResult<Expr> {
        let pos = self.pos();
        let op = match self.peek() {
            Tok::Sym("!") => Some(UnOp::Not),
            Tok::Sym("-") => Some(UnOp::Neg),
            Tok::Sym("+") => Some(UnOp::Plus),
            _ => None,
        };
        if let Some(op) = op {
            self.bump();
            self.enter()?;
            let inner = self.unary();
            self.depth -= 1;
            let inner = inner?;
            // Fold negative literals so that `-1` is a literal.
            return Ok(match (op, inner.kind) {
                (UnOp::Neg, ExprKind::Int(n)) => Expr {
                    kind: ExprKind::Int(n.wrapping_neg()),
                    pos,
                },
                (UnOp::Neg, ExprKind::Dec(n)) => Expr {
                    kind: ExprKind::Dec(-n),
                    pos,
                },
                (op, kind) => Expr {
                    kind: ExprKind::Unary(
                        op,
                        Box::new(Expr {
                            kind,
                            pos: inner.pos,
                        }),
                    ),
                    pos,
                },
            });
        }
        if self.is_sym("++") || self.is_sym("--") {
            let delta = if self.is_sym("++") { 1 } else { -1 };
            self.bump();
            let operand = self.unary()?;
            let target = self.target(operand, pos)?;
            return Ok(Expr {
                kind: ExprKind::Step {
                    target,
                    delta,
                    prefix: true,
                },
                pos,
            });
        }
        self.postfix()
    }

    fn args(&mut self) -> PResult<Vec<Expr>> {
        // After `(`: expressions (named arguments `name: value` become one map) up to `)`.
        let mut args = Vec::new();
        let mut named: Vec<(Expr, Expr)> = Vec::new();
        loop {
            if self.eat_sym(")") {
                break;
            }
            if let (Tok::Ident(n), Tok::Sym(":")) = (self.peek().clone(), self.peek_at(1).clone()) {
                let pos = self.bump().pos;
                self.bump();
                let value = self.expr()?;
                named.push((
                    Expr {
                        kind: ExprKind::Str(Rc::from(n.as_str())),
                        pos,
                    },
                    value,
                ));
            } else {
                args.push(self.expr()?);
            }
            if !self.eat_sym(",") {
                self.expect_sym(")")?;
                break;
            }
        }
        if !named.is_empty() {
            let pos = named[0].0.pos;
            args.insert(
                0,
                Expr {
                    kind: ExprKind::Map(named),
                    pos,
                },
            );
        }
        Ok(args)
    }

    /// True when a `{` at the cursor opens a trailing closure (same line as the call).
    fn trailing_closure(&self) -> bool {
        self.is_sym("{")
    }

    fn postfix(&mut self) -> PResult<Expr> {
        let mut e = self.primary()?;
        loop {
            // A `.method()` chain may continue on the next line.
            let save = self.i;
            self.skip_line_breaks();
            let dotted = self.is_sym(".") || self.is_sym("?.") || self.is_sym("*.");
            if !dotted {
                self.i = save;
            }
            let pos = self.pos();
            if dotted {
                let op = self.bump();
                let safe = op.tok == Tok::Sym("?.");
                let spread = op.tok == Tok::Sym("*.");
                let name = match self.bump().tok {
                    Tok::Ident(n) => n,
                    Tok::Str(s) => s,
                    Tok::GStr(_) => {
                        return Err(ScriptError::syntax(
                            pos,
                            "interpolated property names are not supported",
                        ))
                    }
                    _ => {
                        return Err(ScriptError::syntax(
                            pos,
                            "expected a property or method name after the dot",
                        ));
                    }
                };
                if self.is_sym("(") {
                    self.bump();
                    let mut args = self.args()?;
                    if self.trailing_closure() {
                        args.push(self.closure()?);
                    }
                    e = Expr {
                        kind: ExprKind::MethodCall {
                            object: Box::new(e),
                            name,
                            args,
                            safe,
                            spread,
                        },
                        pos,
                    };
                } else if self.trailing_closure() {
                    let args = vec![self.closure()?];
                    e = Expr {
                        kind: ExprKind::MethodCall {
                            object: Box::new(e),
                            name,
                            args,
                            safe,
                            spread,
                        },
                        pos,
                    };
                } else {
                    e = Expr {
                        kind: ExprKind::Prop {
                            object: Box::new(e),
                            name: self.intern(&name),
                            safe,
                            spread,
                        },
                        pos,
                    };
                }
                continue;
            }
            if self.is_sym("[") {
                self.bump();
                let index = self.expr()?;
                self.expect_sym("]")?;
                e = Expr {
                    kind: ExprKind::Index(Box::new(e), Box::new(index)),
                    pos,
                };
                continue;
            }
            if self.is_sym("(") {
                self.bump();
                let mut args = self.args()?;
                if self.trailing_closure() {
                    args.push(self.closure()?);
                }
                e = match e.kind {
                    ExprKind::Var(name) => Expr {
                        kind: ExprKind::Call(name.to_string(), args),
                        pos: e.pos,
                    },
                    other => Expr {
                        kind: ExprKind::CallValue(
                            Box::new(Expr {
                                kind: other,
                                pos: e.pos,
                            }),
                            args,
                        ),
                        pos,
                    },
                };
                continue;
            }
            if matches!(e.kind, ExprKind::Var(_)) && self.trailing_closure() {
                // `name { … }`: a call with a closure argument.
                let ExprKind::Var(name) = e.kind else {
                    unreachable!()
                };
                let args = vec![self.closure()?];
                e = Expr {
                    kind: ExprKind::Call(name.to_string(), args),
                    pos: e.pos,
                };
                continue;
            }
            if self.is_sym("++") || self.is_sym("--") {
                let delta = if self.is_sym("++") { 1 } else { -1 };
                let pos = self.bump().pos;
                let target = self.target(e, pos)?;
                e = Expr {
                    kind: ExprKind::Step {
                        target,
                        delta,
                        prefix: false,
                    },
                    pos,
                };
                continue;
            }
            return Ok(e);
        }
    }

    fn closure(&mut self) -> PResult<Expr> {
        let pos = self.expect_sym("{")?;
        self.enter()?;
        // Parameters: `a, b ->`, `String a ->`, or `->`.
        let mut params = Vec::new();
        let mut k = 0;
        let mut has_arrow = false;
        loop {
            match self.peek_at(k) {
                Tok::Newline => k += 1,
                Tok::Sym("->") => {
                    has_arrow = true;
                    break;
                }
                Tok::Ident(_) | Tok::Sym(",") => k += 1,
                _ => break,
            }
        }
        if has_arrow {
            let mut last: Option<String> = None;
            while !self.is_sym("->") {
                match self.bump().tok {
                    Tok::Ident(n) => last = Some(n),
                    Tok::Sym(",") => {
                        if let Some(n) = last.take() {
                            params.push(self.intern(&n));
                        }
                    }
                    _ => {}
                }
            }
            if let Some(n) = last {
                params.push(self.intern(&n));
            }
            self.bump();
        } else {
            params.push(self.intern("it"));
        }
        let body = self.statements(false);
        self.expect_sym("}")?;
        self.depth -= 1;
        Ok(Expr {
            kind: ExprKind::Closure(Rc::new(ClosureDef {
                implicit_it: !has_arrow,
                params,
                body,
            })),
            pos,
        })
    }

    fn gstring(&mut self, parts: Vec<StrPart>, pos: Pos) -> PResult<Expr> {
        let mut out = Vec::new();
        for part in parts {
            match part {
                StrPart::Lit(s) => out.push(GPart::Lit(s)),
                StrPart::Expr(src, at) => {
                    let tokens = lex_at(&src, at)?;
                    let mut inner = Parser {
                        tokens,
                        i: 0,
                        errors: Vec::new(),
                        depth: self.depth,
                        names: std::mem::take(&mut self.names),
                    };
                    if matches!(inner.peek(), Tok::End) {
                        return Err(ScriptError::syntax(at, "empty `${}` in a string"));
                    }
                    let e = inner.expr();
                    self.names = std::mem::take(&mut inner.names);
                    let e = e?;
                    if !matches!(inner.peek(), Tok::End) {
                        return Err(inner.expected("`}` closing the `${` in the string"));
                    }
                    out.push(GPart::Expr(e));
                }
            }
        }
        Ok(Expr {
            kind: ExprKind::GStr(out),
            pos,
        })
    }

    fn primary(&mut self) -> PResult<Expr> {
        let start = self.i;
        let t = self.bump();
        let pos = t.pos;
        let kind = match t.tok {
            Tok::Int(n) => ExprKind::Int(n),
            Tok::Dec(n) => ExprKind::Dec(n),
            Tok::Str(s) => ExprKind::Str(Rc::from(s.as_str())),
            Tok::GStr(parts) => return self.gstring(parts, pos),
            Tok::Ident(w) => match w.as_str() {
                "null" => ExprKind::Null,
                "true" => ExprKind::Bool(true),
                "false" => ExprKind::Bool(false),
                "new" => {
                    let ty = self.type_name()?;
                    self.expect_sym("(")?;
                    let args = self.args()?;
                    ExprKind::New(ty, args)
                }
                w if KEYWORDS.contains(&w) => {
                    self.i = start;
                    return Err(self.expected("an expression"));
                }
                _ => ExprKind::Var(self.intern(&w)),
            },
            Tok::Sym("(") => {
                let inner = self.expr()?;
                self.expect_sym(")")?;
                return Ok(inner);
            }
            Tok::Sym("[") => return self.list_or_map(pos),
            Tok::Sym("{") => {
                self.i = start;
                return self.closure();
            }
            _ => {
                self.i = start;
                return Err(self.expected("an expression"));
            }
        };
        Ok(Expr { kind, pos })
    }

    fn list_or_map(&mut self, pos: Pos) -> PResult<Expr> {
        if self.eat_sym(":") {
            self.expect_sym("]")?;
            return Ok(Expr {
                kind: ExprKind::Map(Vec::new()),
                pos,
            });
        }
        if self.eat_sym("]") {
            return Ok(Expr {
                kind: ExprKind::List(Vec::new()),
                pos,
            });
        }
        let mut items = Vec::new();
        let mut entries = Vec::new();
        loop {
            // Map keys: bare words and strings are string keys; `(expr)` is a computed key.
            let is_entry = matches!(self.peek_at(1), Tok::Sym(":"))
                && matches!(
                    self.peek(),
                    Tok::Ident(_) | Tok::Str(_) | Tok::Int(_) | Tok::GStr(_)
                );
            if is_entry || (self.is_sym("(") && !entries.is_empty()) {
                let key = match self.peek().clone() {
                    Tok::Ident(n) => {
                        let p = self.bump().pos;
                        Expr {
                            kind: ExprKind::Str(Rc::from(n.as_str())),
                            pos: p,
                        }
                    }
                    _ => self.ternary()?,
                };
                self.expect_sym(":")?;
                let value = self.expr()?;
                entries.push((key, value));
            } else if !entries.is_empty() || (self.is_sym("(") && self.map_key_ahead()) {
                let key = self.ternary()?;
                self.expect_sym(":")?;
                let value = self.expr()?;
                entries.push((key, value));
            } else {
                let item = self.expr()?;
                if self.eat_sym(":") {
                    let value = self.expr()?;
                    entries.push((item, value));
                } else {
                    items.push(item);
                }
            }
            if !self.eat_sym(",") {
                self.expect_sym("]")?;
                break;
            }
            if self.eat_sym("]") {
                break;
            }
        }
        if !entries.is_empty() && !items.is_empty() {
            return Err(ScriptError::syntax(
                pos,
                "a literal mixes list items and map entries",
            ));
        }
        Ok(Expr {
            kind: if entries.is_empty() {
                ExprKind::List(items)
            } else {
                ExprKind::Map(entries)
            },
            pos,
        })
    }

    fn map_key_ahead(&self) -> bool {
        let mut depth = 0;
        let mut k = 0;
        loop {
            match self.peek_at(k) {
                Tok::Sym("(") => depth += 1,
                Tok::Sym(")") => {
                    depth -= 1;
                    if depth == 0 {
                        return matches!(self.peek_at(k + 1), Tok::Sym(":"));
                    }
                }
                Tok::End => return false,
                _ => {}
            }
            k += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(src: &str) -> Vec<Stmt> {
        parse(src).unwrap_or_else(|e| panic!("{src}: {e:?}"))
    }

    #[test]
    fn parses_the_task_example() {
        let s = ok(r#"if(entity.entityType == "Task") {
    replica.key        = entity.Id
    replica.summary    = entity.Subject
    replica.description = entity.Description
}"#);
        assert_eq!(s.len(), 1);
        let StmtKind::If(_, then, None) = &s[0].kind else {
            panic!()
        };
        let StmtKind::Block(body) = &then.kind else {
            panic!()
        };
        assert_eq!(body.len(), 3);
    }

    #[test]
    fn precedence_follows_groovy() {
        let s = ok("x = 1 + 2 * 3 == 7 && !y || z");
        let StmtKind::Expr(Expr {
            kind: ExprKind::Assign(_, None, v),
            ..
        }) = &s[0].kind
        else {
            panic!()
        };
        assert!(matches!(v.kind, ExprKind::Binary(BinOp::Or, _, _)));
        let s = ok("a = b ?: c ? d : e");
        assert_eq!(s.len(), 1);
    }

    #[test]
    fn closures_lists_maps_and_chains() {
        ok("def m = [High: 1, 'Low': 3, (k): 2]\ndef e = [:]\ndef l = [1, 2, 3]");
        ok("xs.collect { it * 2 }.findAll { x -> x > 2 }\n  .join(', ')");
        ok("xs.eachWithIndex { x, i -> println(x) }");
        ok("def c = { String a, b -> a + b }\nc('a', 'b')");
        ok("switch (x) {\n case 'a':\n case 'b': y = 1; break\n default: y = 2\n}");
        ok("try { x() } catch (Exception e) { y = e.message } finally { z = 1 }");
        ok("for (int i = 0; i < 3; i++) { s += i }\nfor (c in comments) { }");
        ok("if (a) b = 1\nelse if (c) b = 2\nelse { b = 3 }");
    }

    #[test]
    fn every_syntax_error_is_reported_with_its_position() {
        let errors = parse("x = ]\ny = 2\nz = )\nw = 3 +").unwrap_err();
        let at: Vec<(u32, u32)> = errors.iter().map(|e| (e.pos.line, e.pos.col)).collect();
        assert_eq!(at, [(1, 5), (3, 5), (4, 8)], "{errors:?}");
        let e = &parse("x = ]").unwrap_err()[0];
        assert_eq!((e.pos.line, e.pos.col), (1, 5));
        assert!(
            e.message.contains("expected an expression but found `]`"),
            "{}",
            e.message
        );
        let e = &parse("if (x) {\n y = 1\n").unwrap_err()[0];
        assert!(e.message.contains("expected `}`"), "{}", e.message);
        assert!(parse(&"(".repeat(5000)).is_err());
    }
}
