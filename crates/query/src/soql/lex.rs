//! Splits SOQL text into tokens with their byte spans.

use super::error::SoqlError;
use crate::Span;

/// What a token is.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    /// A name or keyword, dots included (`Account.Name`, `SELECT`, `LAST_N_DAYS`).
    Ident(String),
    /// A single-quoted string, escapes resolved.
    Str(String),
    /// An unquoted number as written.
    Number(String),
    /// An unquoted date or datetime as written (`2024-01-01`, `2024-01-01T00:00:00Z`).
    Temporal(String),
    /// `,`
    Comma,
    /// `(`
    Open,
    /// `)`
    Close,
    /// `:`
    Colon,
    /// A comparison operator (`=`, `!=`, `<>`, `<`, `<=`, `>`, `>=`).
    Op(&'static str),
    /// The end of the text.
    End,
}

impl Tok {
    /// How the platform names the token in "unexpected token" messages.
    pub(crate) fn describe(&self, text: &str, span: Span) -> String {
        match self {
            Tok::End => "<EOF>".to_string(),
            Tok::Str(_) => format!("'{}'", &text[span.start..span.end]),
            _ => format!("'{}'", &text[span.start..span.end]),
        }
    }
}

/// A token and where it came from.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token {
    pub(crate) tok: Tok,
    pub(crate) span: Span,
}

/// Tokenises `text`; the last token is always [`Tok::End`].
pub(crate) fn lex(text: &str) -> Result<Vec<Token>, SoqlError> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let start = i;
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let single = match c {
            b',' => Some(Tok::Comma),
            b'(' => Some(Tok::Open),
            b')' => Some(Tok::Close),
            b':' => Some(Tok::Colon),
            _ => None,
        };
        if let Some(tok) = single {
            i += 1;
            out.push(Token {
                tok,
                span: Span::new(start, i),
            });
            continue;
        }
        let (tok, end) = match c {
            b'=' => (Tok::Op("="), i + 1),
            b'!' if bytes.get(i + 1) == Some(&b'=') => (Tok::Op("!="), i + 2),
            b'<' if bytes.get(i + 1) == Some(&b'>') => (Tok::Op("!="), i + 2),
            b'<' if bytes.get(i + 1) == Some(&b'=') => (Tok::Op("<="), i + 2),
            b'<' => (Tok::Op("<"), i + 1),
            b'>' if bytes.get(i + 1) == Some(&b'=') => (Tok::Op(">="), i + 2),
            b'>' => (Tok::Op(">"), i + 1),
            b'\'' => string(text, i)?,
            b'0'..=b'9' | b'-' | b'+' | b'.' => number_or_temporal(text, i)?,
            c if c.is_ascii_alphabetic() || c == b'_' => {
                let mut j = i;
                while j < bytes.len()
                    && (bytes[j].is_ascii_alphanumeric() || bytes[j] == b'_' || bytes[j] == b'.')
                {
                    j += 1;
                }
                (Tok::Ident(text[i..j].to_string()), j)
            }
            _ => {
                let ch = text[i..].chars().next().unwrap_or('?');
                return Err(SoqlError::malformed(
                    text,
                    Span::new(i, i + ch.len_utf8()),
                    format!("unexpected token: '{ch}'"),
                ));
            }
        };
        out.push(Token {
            tok,
            span: Span::new(start, end),
        });
        i = end;
    }
    out.push(Token {
        tok: Tok::End,
        span: Span::new(text.len(), text.len()),
    });
    Ok(out)
}

/// A quoted string starting at `start` (the quote); returns the token and the end offset.
fn string(text: &str, start: usize) -> Result<(Tok, usize), SoqlError> {
    let mut value = String::new();
    let mut chars = text[start + 1..].char_indices();
    while let Some((off, ch)) = chars.next() {
        let at = start + 1 + off;
        match ch {
            '\'' => return Ok((Tok::Str(value), at + 1)),
            '\\' => {
                let Some((_, esc)) = chars.next() else {
                    break;
                };
                let resolved = match esc {
                    'n' => '\n',
                    'r' => '\r',
                    't' => '\t',
                    'b' => '\u{8}',
                    'f' => '\u{c}',
                    '\'' | '"' => esc,
                    // Kept escaped so that LIKE can tell `\\%` (backslash, any) from `\%`.
                    '\\' => {
                        value.push('\\');
                        esc
                    }
                    // Kept escaped: they only mean something inside LIKE patterns.
                    '%' | '_' => {
                        value.push('\\');
                        esc
                    }
                    'u' => {
                        let hex: String = chars.by_ref().take(4).map(|(_, c)| c).collect();
                        match u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                            Some(c) if hex.len() == 4 => c,
                            _ => {
                                return Err(SoqlError::malformed(
                                    text,
                                    Span::new(at, at + 2),
                                    "Invalid string literal: bad \\u escape".to_string(),
                                ))
                            }
                        }
                    }
                    other => {
                        return Err(SoqlError::malformed(
                            text,
                            Span::new(at, at + 1 + other.len_utf8()),
                            format!(
                                "Invalid string literal '{}'. Illegal character sequence '\\{other}' in string literal.",
                                &text[start..]
                            ),
                        ))
                    }
                };
                value.push(resolved);
            }
            c => value.push(c),
        }
    }
    Err(SoqlError::malformed(
        text,
        Span::new(start, text.len()),
        "unexpected token: <EOF>: the string literal is not closed with a quote".to_string(),
    ))
}

/// A number (`12`, `-3.5`) or an unquoted date/datetime (`2024-01-31`,
/// `2024-01-31T10:00:00Z`, `…+01:00`).
fn number_or_temporal(text: &str, start: usize) -> Result<(Tok, usize), SoqlError> {
    let bytes = text.as_bytes();
    let digits_from = |mut j: usize| {
        while j < bytes.len() && bytes[j].is_ascii_digit() {
            j += 1;
        }
        j
    };
    let lead = digits_from(start);
    if lead - start == 4 && bytes.get(lead) == Some(&b'-') {
        let mut j = lead;
        while j < bytes.len()
            && (bytes[j].is_ascii_alphanumeric() || matches!(bytes[j], b'-' | b':' | b'.' | b'+'))
        {
            j += 1;
        }
        return Ok((Tok::Temporal(text[start..j].to_string()), j));
    }
    let mut j = start;
    if matches!(bytes[j], b'-' | b'+') {
        j += 1;
    }
    let int_end = digits_from(j);
    let mut end = int_end;
    if bytes.get(end) == Some(&b'.') {
        end = digits_from(end + 1);
    }
    let has_digits = text[j..end].bytes().any(|b| b.is_ascii_digit());
    if !has_digits {
        let ch = text[start..].chars().next().unwrap_or('?');
        return Err(SoqlError::malformed(
            text,
            Span::new(start, start + ch.len_utf8()),
            format!("unexpected token: '{ch}'"),
        ));
    }
    Ok((Tok::Number(text[start..end].to_string()), end))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(text: &str) -> Vec<Tok> {
        lex(text).unwrap().into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn splits_a_query() {
        assert_eq!(
            toks("SELECT Id, Account.Name FROM Case WHERE Priority != 'High'"),
            vec![
                Tok::Ident("SELECT".into()),
                Tok::Ident("Id".into()),
                Tok::Comma,
                Tok::Ident("Account.Name".into()),
                Tok::Ident("FROM".into()),
                Tok::Ident("Case".into()),
                Tok::Ident("WHERE".into()),
                Tok::Ident("Priority".into()),
                Tok::Op("!="),
                Tok::Str("High".into()),
                Tok::End
            ]
        );
    }

    #[test]
    fn reads_numbers_dates_and_escapes() {
        assert_eq!(
            toks("-1.5 2024-01-02 2024-01-02T10:00:00Z 'it\\'s'"),
            vec![
                Tok::Number("-1.5".into()),
                Tok::Temporal("2024-01-02".into()),
                Tok::Temporal("2024-01-02T10:00:00Z".into()),
                Tok::Str("it's".into()),
                Tok::End
            ]
        );
        assert_eq!(toks("'a\\%b'"), vec![Tok::Str("a\\%b".into()), Tok::End]);
    }

    #[test]
    fn rejects_bad_escapes_and_open_strings() {
        assert!(lex("'a\\qb'").is_err());
        assert!(lex("'abc").is_err());
        assert!(lex("a # b").is_err());
    }
}
