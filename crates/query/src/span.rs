//! Byte ranges into a query string, for precise error reports.

/// A half-open byte range `[start, end)` of the query text a node or problem came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

impl Span {
    /// The span `[start, end)`.
    pub fn new(start: usize, end: usize) -> Self {
        Span { start, end }
    }

    /// The 1-based column of the span's start, counted in characters of `text`.
    pub fn column(&self, text: &str) -> usize {
        let upto = self.start.min(text.len());
        // `start` always sits on a char boundary because spans are built from char indices.
        text.get(..upto).map_or(upto, |s| s.chars().count()) + 1
    }
}
