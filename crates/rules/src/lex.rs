//! Splits a script into tokens with their positions. Newlines are tokens (they end
//! statements) except inside parentheses and brackets, as in Groovy.

use crate::error::{Pos, ScriptError};

/// A piece of a double-quoted string: literal text or an interpolated expression's source.
#[derive(Debug, Clone, PartialEq)]
pub enum StrPart {
    /// Literal text, escapes resolved.
    Lit(String),
    /// `${expr}` or `$name.path`: the expression's source and where it starts.
    Expr(String, Pos),
}

/// What a token is.
#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    /// A name or keyword.
    Ident(String),
    /// An integer literal.
    Int(i64),
    /// A decimal literal.
    Dec(f64),
    /// A string without interpolation.
    Str(String),
    /// A string with interpolation.
    GStr(Vec<StrPart>),
    /// An operator or punctuation mark.
    Sym(&'static str),
    /// A statement-ending newline.
    Newline,
    /// End of the script.
    End,
}

/// A token and where it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    /// The token.
    pub tok: Tok,
    /// Its position.
    pub pos: Pos,
}

/// Operators, longest first so that the lexer takes the longest match.
const SYMBOLS: &[&str] = &[
    "..<", "==~", "<=>", "**=", "?.", "*.", "?:", "->", "==", "!=", "<=", ">=", "&&", "||", "++",
    "--", "+=", "-=", "*=", "/=", "%=", "<<", "=~", "..", "**", "(", ")", "[", "]", "{", "}", ",",
    ";", ":", ".", "?", "=", "<", ">", "!", "+", "-", "*", "/", "%", "&", "|", "^", "~",
];

struct Lexer<'a> {
    src: &'a str,
    chars: Vec<(usize, char)>,
    i: usize,
    line: u32,
    col: u32,
    out: Vec<Token>,
    /// Open `(` and `[` (newlines inside them do not end statements); `{` pushes a barrier.
    nesting: Vec<char>,
}

/// Tokenises `src`; positions are 1-based lines and columns (in characters).
pub fn lex(src: &str) -> Result<Vec<Token>, ScriptError> {
    lex_at(src, Pos { line: 1, col: 1 })
}

/// Tokenises all of `src`, skipping past each lexical error to the end of its line, so that
/// the parser can still report the errors that follow.
pub fn lex_all(src: &str) -> (Vec<Token>, Vec<ScriptError>) {
    let mut lx = Lexer {
        src,
        chars: src.char_indices().collect(),
        i: 0,
        line: 1,
        col: 1,
        out: Vec::new(),
        nesting: Vec::new(),
    };
    let mut errors = Vec::new();
    while let Err(e) = lx.run() {
        errors.push(e);
        while lx.peek(0).is_some_and(|c| c != '\n') {
            lx.bump();
        }
    }
    let pos = lx.pos();
    lx.out.push(Token { tok: Tok::End, pos });
    (lx.out, errors)
}

/// Tokenises `src` as if it started at `start` (for interpolated expressions).
pub fn lex_at(src: &str, start: Pos) -> Result<Vec<Token>, ScriptError> {
    let mut lx = Lexer {
        src,
        chars: src.char_indices().collect(),
        i: 0,
        line: start.line,
        col: start.col,
        out: Vec::new(),
        nesting: Vec::new(),
    };
    lx.run()?;
    let pos = lx.pos();
    lx.out.push(Token { tok: Tok::End, pos });
    Ok(lx.out)
}

impl Lexer<'_> {
    fn pos(&self) -> Pos {
        Pos {
            line: self.line,
            col: self.col,
        }
    }

    fn peek(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.i + ahead).map(|(_, c)| *c)
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek(0)?;
        self.i += 1;
        if c == '\n' {
            self.line += 1;
            self.col = 1;
        } else {
            self.col += 1;
        }
        Some(c)
    }

    fn push(&mut self, tok: Tok, pos: Pos) {
        self.out.push(Token { tok, pos });
    }

    fn error(&self, pos: Pos, message: impl Into<String>) -> ScriptError {
        ScriptError::syntax(pos, message)
    }

    fn run(&mut self) -> Result<(), ScriptError> {
        while let Some(c) = self.peek(0) {
            let pos = self.pos();
            match c {
                '\n' => {
                    self.bump();
                    let inside = matches!(self.nesting.last(), Some('(') | Some('['));
                    if !inside
                        && !matches!(self.out.last().map(|t| &t.tok), Some(Tok::Newline) | None)
                    {
                        self.push(Tok::Newline, pos);
                    }
                }
                c if c.is_whitespace() => {
                    self.bump();
                }
                '/' if self.peek(1) == Some('/') => {
                    while self.peek(0).is_some_and(|c| c != '\n') {
                        self.bump();
                    }
                }
                '/' if self.peek(1) == Some('*') => {
                    self.bump();
                    self.bump();
                    loop {
                        match self.peek(0) {
                            None => {
                                return Err(self
                                    .error(pos, "unterminated comment: `/*` has no closing `*/`"))
                            }
                            Some('*') if self.peek(1) == Some('/') => {
                                self.bump();
                                self.bump();
                                break;
                            }
                            Some(_) => {
                                self.bump();
                            }
                        }
                    }
                }
                '\\' if self.peek(1) == Some('\n') => {
                    // A line continuation.
                    self.bump();
                    self.bump();
                }
                '\'' | '"' => self.string(pos)?,
                c if c.is_ascii_digit() => self.number(pos)?,
                c if c.is_alphabetic() || c == '_' || c == '$' => {
                    let mut name = String::new();
                    while let Some(c) = self
                        .peek(0)
                        .filter(|c| c.is_alphanumeric() || *c == '_' || *c == '$')
                    {
                        name.push(c);
                        self.bump();
                    }
                    self.push(Tok::Ident(name), pos);
                }
                _ => self.symbol(pos)?,
            }
        }
        Ok(())
    }

    fn symbol(&mut self, pos: Pos) -> Result<(), ScriptError> {
        let rest = &self.src[self.chars[self.i].0..];
        let Some(sym) = SYMBOLS.iter().find(|s| rest.starts_with(**s)) else {
            let c = self.peek(0).unwrap_or('?');
            return Err(self.error(pos, format!("unexpected character `{c}`")));
        };
        for _ in 0..sym.chars().count() {
            self.bump();
        }
        match *sym {
            "(" | "[" => self.nesting.push(sym.chars().next().unwrap_or('(')),
            "{" => self.nesting.push('{'),
            ")" | "]" | "}" => {
                self.nesting.pop();
            }
            _ => {}
        }
        self.push(Tok::Sym(sym), pos);
        Ok(())
    }

    fn number(&mut self, pos: Pos) -> Result<(), ScriptError> {
        let mut text = String::new();
        while let Some(c) = self.peek(0).filter(|c| c.is_ascii_digit() || *c == '_') {
            if c != '_' {
                text.push(c);
            }
            self.bump();
        }
        let mut decimal = false;
        if self.peek(0) == Some('.') && self.peek(1).is_some_and(|c| c.is_ascii_digit()) {
            decimal = true;
            text.push('.');
            self.bump();
            while let Some(c) = self.peek(0).filter(|c| c.is_ascii_digit()) {
                text.push(c);
                self.bump();
            }
        }
        if matches!(self.peek(0), Some('e') | Some('E'))
            && self
                .peek(1)
                .is_some_and(|c| c.is_ascii_digit() || c == '-' || c == '+')
        {
            decimal = true;
            text.push('e');
            self.bump();
            if let Some(sign) = self.peek(0).filter(|c| *c == '-' || *c == '+') {
                text.push(sign);
                self.bump();
            }
            while let Some(c) = self.peek(0).filter(|c| c.is_ascii_digit()) {
                text.push(c);
                self.bump();
            }
        }
        // Type suffixes: L, G (BigInteger), D, F, G for decimals.
        let suffix = self
            .peek(0)
            .filter(|c| matches!(c, 'L' | 'l' | 'G' | 'g' | 'D' | 'd' | 'F' | 'f'));
        if let Some(s) = suffix {
            self.bump();
            if matches!(s, 'D' | 'd' | 'F' | 'f') {
                decimal = true;
            }
        }
        if self.peek(0).is_some_and(|c| c.is_alphabetic() || c == '_') {
            return Err(self.error(
                pos,
                format!("malformed number `{text}{}`", self.peek(0).unwrap_or(' ')),
            ));
        }
        let tok = if decimal {
            Tok::Dec(
                text.parse()
                    .map_err(|_| self.error(pos, format!("malformed number `{text}`")))?,
            )
        } else {
            match text.parse::<i64>() {
                Ok(n) => Tok::Int(n),
                Err(_) => Tok::Dec(
                    text.parse()
                        .map_err(|_| self.error(pos, format!("malformed number `{text}`")))?,
                ),
            }
        };
        self.push(tok, pos);
        Ok(())
    }

    fn escape(&mut self, pos: Pos) -> Result<char, ScriptError> {
        let Some(c) = self.bump() else {
            return Err(self.error(pos, "unterminated string"));
        };
        Ok(match c {
            'n' => '\n',
            'r' => '\r',
            't' => '\t',
            'b' => '\u{8}',
            'f' => '\u{c}',
            '0' => '\0',
            '\\' | '\'' | '"' | '$' => c,
            'u' => {
                let mut hex = String::new();
                for _ in 0..4 {
                    match self.bump() {
                        Some(h) if h.is_ascii_hexdigit() => hex.push(h),
                        _ => {
                            return Err(self.error(pos, "`\\u` must be followed by four hex digits"))
                        }
                    }
                }
                u32::from_str_radix(&hex, 16)
                    .ok()
                    .and_then(char::from_u32)
                    .ok_or_else(|| self.error(pos, format!("`\\u{hex}` is not a character")))?
            }
            other => return Err(self.error(pos, format!("unknown escape `\\{other}` in a string"))),
        })
    }

    fn string(&mut self, pos: Pos) -> Result<(), ScriptError> {
        let quote = self.peek(0).unwrap_or('"');
        let triple = self.peek(1) == Some(quote) && self.peek(2) == Some(quote);
        let count = if triple { 3 } else { 1 };
        for _ in 0..count {
            self.bump();
        }
        let interpolate = quote == '"';
        let mut parts: Vec<StrPart> = Vec::new();
        let mut lit = String::new();
        loop {
            let Some(c) = self.peek(0) else {
                return Err(self.error(pos, "unterminated string: it has no closing quote"));
            };
            if c == quote
                && (!triple || (self.peek(1) == Some(quote) && self.peek(2) == Some(quote)))
            {
                for _ in 0..count {
                    self.bump();
                }
                break;
            }
            if c == '\n' && !triple {
                return Err(self.error(
                    pos,
                    "unterminated string: it has no closing quote on its line",
                ));
            }
            if c == '\\' {
                let at = self.pos();
                self.bump();
                lit.push(self.escape(at)?);
                continue;
            }
            if interpolate && c == '$' {
                let at = self.pos();
                if self.peek(1) == Some('{') {
                    self.bump();
                    self.bump();
                    let start = self.pos();
                    let mut depth = 1;
                    let mut expr = String::new();
                    loop {
                        let Some(c) = self.bump() else {
                            return Err(self.error(at, "unterminated `${` in a string"));
                        };
                        match c {
                            '{' => depth += 1,
                            '}' => {
                                depth -= 1;
                                if depth == 0 {
                                    break;
                                }
                            }
                            _ => {}
                        }
                        expr.push(c);
                    }
                    if !lit.is_empty() {
                        parts.push(StrPart::Lit(std::mem::take(&mut lit)));
                    }
                    parts.push(StrPart::Expr(expr, start));
                    continue;
                }
                if self.peek(1).is_some_and(|c| c.is_alphabetic() || c == '_') {
                    self.bump();
                    let start = self.pos();
                    let mut expr = String::new();
                    loop {
                        while let Some(c) =
                            self.peek(0).filter(|c| c.is_alphanumeric() || *c == '_')
                        {
                            expr.push(c);
                            self.bump();
                        }
                        // `$name.path` takes dotted names, not a trailing dot.
                        if self.peek(0) == Some('.')
                            && self.peek(1).is_some_and(|c| c.is_alphabetic() || c == '_')
                        {
                            expr.push('.');
                            self.bump();
                            continue;
                        }
                        break;
                    }
                    if !lit.is_empty() {
                        parts.push(StrPart::Lit(std::mem::take(&mut lit)));
                    }
                    parts.push(StrPart::Expr(expr, start));
                    continue;
                }
            }
            lit.push(c);
            self.bump();
        }
        if parts.is_empty() {
            self.push(Tok::Str(lit), pos);
        } else {
            if !lit.is_empty() {
                parts.push(StrPart::Lit(lit));
            }
            self.push(Tok::GStr(parts), pos);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(src: &str) -> Vec<Tok> {
        lex(src).unwrap().into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn newlines_end_statements_except_inside_parentheses() {
        assert_eq!(
            toks("a = f(1,\n 2)\nb"),
            vec![
                Tok::Ident("a".into()),
                Tok::Sym("="),
                Tok::Ident("f".into()),
                Tok::Sym("("),
                Tok::Int(1),
                Tok::Sym(","),
                Tok::Int(2),
                Tok::Sym(")"),
                Tok::Newline,
                Tok::Ident("b".into()),
                Tok::End
            ]
        );
    }

    #[test]
    fn strings_interpolate_only_in_double_quotes() {
        assert_eq!(toks("'a$b'"), vec![Tok::Str("a$b".into()), Tok::End]);
        let t = toks("\"x ${a + 1} $b.c!\"");
        let Tok::GStr(parts) = &t[0] else {
            panic!("{t:?}")
        };
        assert_eq!(parts[0], StrPart::Lit("x ".into()));
        assert!(matches!(&parts[1], StrPart::Expr(e, _) if e == "a + 1"));
        assert!(matches!(&parts[3], StrPart::Expr(e, _) if e == "b.c"));
        assert_eq!(parts[4], StrPart::Lit("!".into()));
        assert_eq!(toks("'''a\nb'''"), vec![Tok::Str("a\nb".into()), Tok::End]);
    }

    #[test]
    fn numbers_and_positions() {
        let t = lex("x = 1.5\n  y = 10").unwrap();
        assert_eq!(t[2].tok, Tok::Dec(1.5));
        assert_eq!((t[4].pos.line, t[4].pos.col), (2, 3));
        assert!(lex("'open").is_err());
        assert!(lex("/* open").is_err());
        assert!(lex("a # b").is_err());
    }
}
