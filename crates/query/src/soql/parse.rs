//! A recursive-descent parser for the SOQL subset twinsync supports.
//!
//! Unlike ServiceNow encoded queries, SOQL is strict: the first problem stops the parse with a
//! `MALFORMED_QUERY` at its row and column, as the platform does.

use super::ast::{
    CmpOp, Condition, DateLiteral, Literal, Name, OrderKey, Query, SelectItem, Value,
};
use super::error::{SoqlError, SoqlErrorCode};
use super::lex::{lex, Tok, Token};
use crate::Span;

/// The largest `OFFSET` the platform accepts.
pub const MAX_OFFSET: u64 = 2000;

/// Relative date literals and whether they take `:n`.
const DATE_LITERALS: &[(&str, bool)] = &[
    ("YESTERDAY", false),
    ("TODAY", false),
    ("TOMORROW", false),
    ("LAST_WEEK", false),
    ("THIS_WEEK", false),
    ("NEXT_WEEK", false),
    ("LAST_MONTH", false),
    ("THIS_MONTH", false),
    ("NEXT_MONTH", false),
    ("LAST_90_DAYS", false),
    ("NEXT_90_DAYS", false),
    ("THIS_YEAR", false),
    ("LAST_YEAR", false),
    ("NEXT_YEAR", false),
    ("LAST_N_DAYS", true),
    ("NEXT_N_DAYS", true),
    ("N_DAYS_AGO", true),
    ("LAST_N_WEEKS", true),
    ("NEXT_N_WEEKS", true),
    ("LAST_N_MONTHS", true),
    ("NEXT_N_MONTHS", true),
    ("LAST_N_YEARS", true),
    ("NEXT_N_YEARS", true),
];

/// Deepest nesting of parentheses and `NOT` accepted, far beyond any real filter, so that
/// hostile input is refused instead of exhausting the stack.
pub const MAX_DEPTH: usize = 100;

/// Words that end a clause and so can never be a field name where one is expected.
const RESERVED: &[&str] = &[
    "SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "IN", "LIKE", "ORDER", "BY", "LIMIT", "OFFSET",
    "NULL", "TRUE", "FALSE", "ASC", "DESC", "NULLS", "INCLUDES", "EXCLUDES",
];

/// Parses one SOQL query.
pub fn parse(text: &str) -> Result<Query, SoqlError> {
    let tokens = lex(text)?;
    let mut p = Parser {
        text,
        tokens,
        pos: 0,
        depth: 0,
    };
    let query = p.query(false)?;
    p.expect_end()?;
    Ok(query)
}

struct Parser<'a> {
    text: &'a str,
    tokens: Vec<Token>,
    pos: usize,
    depth: usize,
}

impl Parser<'_> {
    fn peek(&self) -> &Token {
        &self.tokens[self.pos.min(self.tokens.len() - 1)]
    }

    fn bump(&mut self) -> Token {
        let t = self.peek().clone();
        if self.pos < self.tokens.len() - 1 {
            self.pos += 1;
        }
        t
    }

    fn unexpected(&self) -> SoqlError {
        let t = self.peek();
        SoqlError::malformed(
            self.text,
            t.span,
            format!("unexpected token: {}", t.tok.describe(self.text, t.span)),
        )
    }

    fn is_keyword(&self, word: &str) -> bool {
        matches!(&self.peek().tok, Tok::Ident(s) if s.eq_ignore_ascii_case(word))
    }

    fn eat_keyword(&mut self, word: &str) -> bool {
        if self.is_keyword(word) {
            self.bump();
            true
        } else {
            false
        }
    }

    fn keyword(&mut self, word: &str) -> Result<Span, SoqlError> {
        if self.is_keyword(word) {
            Ok(self.bump().span)
        } else {
            Err(self.unexpected())
        }
    }

    fn eat(&mut self, tok: &Tok) -> bool {
        if &self.peek().tok == tok {
            self.bump();
            true
        } else {
            false
        }
    }

    fn expect(&mut self, tok: &Tok) -> Result<Span, SoqlError> {
        if &self.peek().tok == tok {
            Ok(self.bump().span)
        } else {
            Err(self.unexpected())
        }
    }

    fn expect_end(&self) -> Result<(), SoqlError> {
        if self.peek().tok == Tok::End {
            Ok(())
        } else {
            Err(self.unexpected())
        }
    }

    fn name(&mut self) -> Result<Name, SoqlError> {
        match &self.peek().tok {
            Tok::Ident(s)
                if !RESERVED.iter().any(|r| r.eq_ignore_ascii_case(s))
                    && !s.starts_with('.')
                    && !s.ends_with('.')
                    && !s.contains("..") =>
            {
                let text = s.clone();
                let span = self.bump().span;
                Ok(Name { text, span })
            }
            _ => Err(self.unexpected()),
        }
    }

    fn query(&mut self, nested: bool) -> Result<Query, SoqlError> {
        self.keyword("SELECT")?;
        let select = self.select_list(nested)?;
        self.keyword("FROM")?;
        let from = self.name()?;
        if from.text.contains('.') && !nested {
            return Err(SoqlError::malformed(
                self.text,
                from.span,
                format!("unexpected token: '{}'", from.text),
            ));
        }
        // `FROM Contact c`: an alias, which field paths may then start with.
        let alias = match &self.peek().tok {
            Tok::Ident(s)
                if !RESERVED.iter().any(|r| r.eq_ignore_ascii_case(s)) && !s.contains('.') =>
            {
                let s = s.clone();
                self.bump();
                Some(s)
            }
            _ => None,
        };
        let filter = if self.eat_keyword("WHERE") {
            Some(self.condition()?)
        } else {
            None
        };
        let mut order_by = Vec::new();
        if self.eat_keyword("ORDER") {
            self.keyword("BY")?;
            loop {
                order_by.push(self.order_key()?);
                if !self.eat(&Tok::Comma) {
                    break;
                }
            }
        }
        let limit = if self.eat_keyword("LIMIT") {
            Some(self.count()?)
        } else {
            None
        };
        let offset = if self.eat_keyword("OFFSET") {
            let (n, span) = self.count()?;
            if n > MAX_OFFSET {
                return Err(SoqlError::new(
                    SoqlErrorCode::NumberOutsideValidRange,
                    self.text,
                    span,
                    format!("Maximum SOQL offset allowed is {MAX_OFFSET}"),
                ));
            }
            Some((n, span))
        } else {
            None
        };
        Ok(Query {
            select,
            from,
            alias,
            filter,
            order_by,
            limit,
            offset,
        })
    }

    fn select_list(&mut self, nested: bool) -> Result<Vec<SelectItem>, SoqlError> {
        let mut items = Vec::new();
        loop {
            let item = if self.is_keyword("COUNT")
                && self.tokens.get(self.pos + 1).map(|t| &t.tok) == Some(&Tok::Open)
            {
                let start = self.bump().span;
                self.expect(&Tok::Open)?;
                let end = self.expect(&Tok::Close)?;
                SelectItem::Count(Span::new(start.start, end.end))
            } else if !nested && self.peek().tok == Tok::Open {
                self.bump();
                let sub = self.query(true)?;
                self.expect(&Tok::Close)?;
                SelectItem::Subquery(Box::new(sub))
            } else {
                SelectItem::Field(self.name()?)
            };
            items.push(item);
            if !self.eat(&Tok::Comma) {
                break;
            }
        }
        let counts: Vec<Span> = items
            .iter()
            .filter_map(|i| match i {
                SelectItem::Count(s) => Some(*s),
                _ => None,
            })
            .collect();
        if let Some(span) = counts.first() {
            if items.len() > 1 {
                return Err(SoqlError::malformed(
                    self.text,
                    *span,
                    "COUNT() must be the only element in the SELECT list.".to_string(),
                ));
            }
        }
        Ok(items)
    }

    fn count(&mut self) -> Result<(u64, Span), SoqlError> {
        let t = self.peek().clone();
        match &t.tok {
            Tok::Number(n) => match n.parse::<u64>() {
                Ok(v) => {
                    self.bump();
                    Ok((v, t.span))
                }
                Err(_) => Err(self.unexpected()),
            },
            _ => Err(self.unexpected()),
        }
    }

    fn order_key(&mut self) -> Result<OrderKey, SoqlError> {
        let field = self.name()?;
        let descending = if self.eat_keyword("DESC") {
            true
        } else {
            self.eat_keyword("ASC");
            false
        };
        let nulls_first = if self.eat_keyword("NULLS") {
            if self.eat_keyword("FIRST") {
                Some(true)
            } else if self.eat_keyword("LAST") {
                Some(false)
            } else {
                return Err(self.unexpected());
            }
        } else {
            None
        };
        Ok(OrderKey {
            field,
            descending,
            nulls_first,
        })
    }

    /// `a AND b AND c` or `a OR b OR c`; mixing needs parentheses, as on the platform.
    fn condition(&mut self) -> Result<Condition, SoqlError> {
        let first = self.unary()?;
        let joiner = if self.is_keyword("AND") {
            "AND"
        } else if self.is_keyword("OR") {
            "OR"
        } else {
            return Ok(first);
        };
        let mut parts = vec![first];
        while self.eat_keyword(joiner) {
            parts.push(self.unary()?);
        }
        let other = if joiner == "AND" { "OR" } else { "AND" };
        if self.is_keyword(other) {
            return Err(self.unexpected());
        }
        Ok(if joiner == "AND" {
            Condition::And(parts)
        } else {
            Condition::Or(parts)
        })
    }

    fn unary(&mut self) -> Result<Condition, SoqlError> {
        self.depth += 1;
        let result = if self.depth > MAX_DEPTH {
            let t = self.peek();
            Err(SoqlError::malformed(
                self.text,
                t.span,
                format!("the condition nests deeper than {MAX_DEPTH} levels"),
            ))
        } else {
            self.unary_inner()
        };
        self.depth -= 1;
        result
    }

    fn unary_inner(&mut self) -> Result<Condition, SoqlError> {
        if self.eat_keyword("NOT") {
            return Ok(Condition::Not(Box::new(self.unary()?)));
        }
        if self.eat(&Tok::Open) {
            let inner = self.condition()?;
            self.expect(&Tok::Close)?;
            return Ok(inner);
        }
        let field = self.name()?;
        if self.eat_keyword("NOT") {
            self.keyword("IN")?;
            let values = self.value_list()?;
            return Ok(Condition::In {
                field,
                values,
                negated: true,
            });
        }
        if self.eat_keyword("IN") || self.eat_keyword("INCLUDES") {
            let values = self.value_list()?;
            return Ok(Condition::In {
                field,
                values,
                negated: false,
            });
        }
        if self.eat_keyword("EXCLUDES") {
            let values = self.value_list()?;
            return Ok(Condition::In {
                field,
                values,
                negated: true,
            });
        }
        let op = if self.eat_keyword("LIKE") {
            CmpOp::Like
        } else {
            match self.peek().tok {
                Tok::Op(op) => {
                    self.bump();
                    match op {
                        "=" => CmpOp::Eq,
                        "!=" => CmpOp::Ne,
                        "<" => CmpOp::Lt,
                        "<=" => CmpOp::Le,
                        ">" => CmpOp::Gt,
                        _ => CmpOp::Ge,
                    }
                }
                _ => return Err(self.unexpected()),
            }
        };
        let value = self.value()?;
        Ok(Condition::Compare { field, op, value })
    }

    fn value_list(&mut self) -> Result<Vec<Value>, SoqlError> {
        self.expect(&Tok::Open)?;
        let mut values = vec![self.value()?];
        while self.eat(&Tok::Comma) {
            values.push(self.value()?);
        }
        self.expect(&Tok::Close)?;
        Ok(values)
    }

    fn value(&mut self) -> Result<Value, SoqlError> {
        let t = self.peek().clone();
        let literal = match &t.tok {
            Tok::Str(s) => Literal::Str(s.clone()),
            Tok::Number(n) => Literal::Number(n.clone()),
            Tok::Temporal(d) => Literal::Temporal(d.clone()),
            Tok::Ident(word) => {
                let upper = word.to_ascii_uppercase();
                match upper.as_str() {
                    "NULL" => Literal::Null,
                    "TRUE" => Literal::Bool(true),
                    "FALSE" => Literal::Bool(false),
                    _ => return self.date_literal(&upper, t.span),
                }
            }
            _ => return Err(self.unexpected()),
        };
        self.bump();
        Ok(Value {
            literal,
            span: t.span,
        })
    }

    fn date_literal(&mut self, upper: &str, span: Span) -> Result<Value, SoqlError> {
        let Some((name, takes_n)) = DATE_LITERALS.iter().find(|(n, _)| *n == upper) else {
            return Err(self.unexpected());
        };
        self.bump();
        let mut end = span.end;
        let n = if *takes_n {
            if !self.eat(&Tok::Colon) {
                return Err(self.unexpected());
            }
            let (n, nspan) = self.count()?;
            end = nspan.end;
            Some(i64::try_from(n).unwrap_or(i64::MAX).min(100_000))
        } else {
            None
        };
        Ok(Value {
            literal: Literal::Relative(DateLiteral { name, n }),
            span: Span::new(span.start, end),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_full_query() {
        let q = parse(
            "SELECT Id, Account.Name, (SELECT CommentBody FROM CaseComments ORDER BY CreatedDate) \
             FROM Case WHERE (Status = 'New' OR Priority IN ('High','Medium')) AND NOT IsClosed = true \
             AND CreatedDate = LAST_N_DAYS:7 ORDER BY CaseNumber DESC NULLS LAST, Id LIMIT 10 OFFSET 5",
        )
        .unwrap();
        assert_eq!(q.select.len(), 3);
        assert_eq!(q.from.text, "Case");
        assert!(matches!(q.filter, Some(Condition::And(ref v)) if v.len() == 3));
        assert_eq!(q.order_by.len(), 2);
        assert_eq!(q.order_by[0].nulls_first, Some(false));
        assert_eq!(q.limit.map(|l| l.0), Some(10));
        assert_eq!(q.offset.map(|l| l.0), Some(5));
    }

    #[test]
    fn mixing_and_or_without_parentheses_is_refused() {
        let e = parse("SELECT Id FROM Case WHERE A = 1 AND B = 2 OR C = 3").unwrap_err();
        assert_eq!(e.code, SoqlErrorCode::MalformedQuery);
        assert_eq!(e.detail, "unexpected token: 'OR'");
        assert_eq!(e.column, 43);
    }

    #[test]
    fn reports_the_position_of_the_first_problem() {
        let e = parse("SELECT Id FROM").unwrap_err();
        assert_eq!(e.detail, "unexpected token: <EOF>");
        assert_eq!((e.row, e.column), (1, 15));
        let e = parse("SELECT Id, FROM Case").unwrap_err();
        assert_eq!(e.detail, "unexpected token: 'FROM'");
        let e = parse("SELECT Id FROM Case OFFSET 2001").unwrap_err();
        assert_eq!(e.code, SoqlErrorCode::NumberOutsideValidRange);
        let e = parse("SELECT Id, COUNT() FROM Case").unwrap_err();
        assert_eq!(e.code, SoqlErrorCode::MalformedQuery);
        assert!(parse("SELECT Id FROM Case WHERE CreatedDate = LAST_N_DAYS").is_err());
        assert!(parse("SELECT Id FROM Case LIMIT").is_err());
        assert!(parse("SELECT Id FROM Case WHERE").is_err());
        assert!(parse("SELECT Id FROM Case c extra").is_err());
        assert_eq!(
            parse("SELECT c.Id FROM Case c").unwrap().alias.as_deref(),
            Some("c")
        );
    }
}
