//! SOQL errors, worded and positioned the way the platform reports them.

use crate::Span;
use std::fmt;

/// The platform's error code for a rejected query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SoqlErrorCode {
    /// Syntax error.
    MalformedQuery,
    /// Unknown field or relationship, or a value of the wrong type for a field.
    InvalidField,
    /// Unknown object (`FROM Foo`).
    InvalidType,
    /// A number out of its allowed range (`OFFSET 5000`).
    NumberOutsideValidRange,
}

impl SoqlErrorCode {
    /// The code as the REST API spells it in `errorCode`.
    pub fn as_str(self) -> &'static str {
        match self {
            SoqlErrorCode::MalformedQuery => "MALFORMED_QUERY",
            SoqlErrorCode::InvalidField => "INVALID_FIELD",
            SoqlErrorCode::InvalidType => "INVALID_TYPE",
            SoqlErrorCode::NumberOutsideValidRange => "NUMBER_OUTSIDE_VALID_RANGE",
        }
    }
}

/// Why a query was refused, with the 1-based row and column of the offending token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SoqlError {
    /// The platform's error code.
    pub code: SoqlErrorCode,
    /// What is wrong, without the position block (`No such column 'Foo' on entity 'Case'…`).
    pub detail: String,
    /// Where in the query text.
    pub span: Span,
    /// 1-based line of the query text.
    pub row: usize,
    /// 1-based column within that line, in characters.
    pub column: usize,
    /// The query line the error is on, for the caret display.
    line: String,
}

impl SoqlError {
    /// An error of `code` at `span` of `text`.
    pub fn new(code: SoqlErrorCode, text: &str, span: Span, detail: String) -> Self {
        let start = floor_boundary(text, span.start.min(text.len()));
        let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
        let line_end = text[start..].find('\n').map_or(text.len(), |i| start + i);
        let row = text[..start].matches('\n').count() + 1;
        let column = text[line_start..start].chars().count() + 1;
        SoqlError {
            code,
            detail,
            span,
            row,
            column,
            line: text[line_start..line_end]
                .trim_end_matches('\r')
                .to_string(),
        }
    }

    /// A syntax error.
    pub fn malformed(text: &str, span: Span, detail: String) -> Self {
        SoqlError::new(SoqlErrorCode::MalformedQuery, text, span, detail)
    }

    /// The full message as the REST API returns it: the query line, a caret under the
    /// problem, `ERROR at Row:R:Column:C`, then the detail.
    pub fn message(&self) -> String {
        format!(
            "\n{}\n{}^\nERROR at Row:{}:Column:{}\n{}",
            self.line,
            " ".repeat(self.column.saturating_sub(1)),
            self.row,
            self.column,
            self.detail
        )
    }
}

impl fmt::Display for SoqlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} at row {}, column {}: {}",
            self.code.as_str(),
            self.row,
            self.column,
            self.detail
        )
    }
}

impl std::error::Error for SoqlError {}

fn floor_boundary(text: &str, mut at: usize) -> usize {
    while at > 0 && !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_row_and_column_with_a_caret() {
        let text = "SELECT Id\nFROM Case WHERE Nme = 'x'";
        let at = text.find("Nme").unwrap();
        let e = SoqlError::new(
            SoqlErrorCode::InvalidField,
            text,
            Span::new(at, at + 3),
            "No such column".into(),
        );
        assert_eq!((e.row, e.column), (2, 17));
        assert_eq!(
            e.message(),
            "\nFROM Case WHERE Nme = 'x'\n                ^\nERROR at Row:2:Column:17\nNo such column"
        );
    }
}
