//! Script errors: where (script, line, column) and what, worded for the admin who wrote it.

use std::fmt;

/// A 1-based line and column (in characters) of a script.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Pos {
    /// Line, from 1.
    pub line: u32,
    /// Column, from 1.
    pub col: u32,
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {}", self.line, self.col)
    }
}

/// What kind of failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The script does not parse.
    Syntax,
    /// The script failed while running.
    Runtime,
    /// The script hit a sandbox limit (steps, depth, sizes, time).
    Limit,
    /// The script threw (`throw new Exception(…)`) and did not catch it.
    Thrown,
}

/// A located script error.
#[derive(Debug, Clone, PartialEq)]
pub struct ScriptError {
    /// What kind of failure.
    pub kind: ErrorKind,
    /// Where.
    pub pos: Pos,
    /// What went wrong, and what was expected where that helps.
    pub message: String,
    /// Which script (`outgoing`, `incoming`), once known.
    pub script: Option<String>,
    /// The source line the error is on, once known, to show the offending expression.
    pub excerpt: Option<String>,
}

impl ScriptError {
    /// A syntax error at `pos`.
    pub fn syntax(pos: Pos, message: impl Into<String>) -> Self {
        ScriptError {
            kind: ErrorKind::Syntax,
            pos,
            message: message.into(),
            script: None,
            excerpt: None,
        }
    }

    /// A runtime error at `pos`.
    pub fn runtime(pos: Pos, message: impl Into<String>) -> Self {
        ScriptError {
            kind: ErrorKind::Runtime,
            pos,
            message: message.into(),
            script: None,
            excerpt: None,
        }
    }

    /// A limit reached at `pos`.
    pub fn limit(pos: Pos, message: impl Into<String>) -> Self {
        ScriptError {
            kind: ErrorKind::Limit,
            pos,
            message: message.into(),
            script: None,
            excerpt: None,
        }
    }

    /// This error, naming the script it came from.
    pub fn in_script(mut self, name: &str) -> Self {
        self.script = Some(name.to_string());
        self
    }

    /// This error with the line of `source` it points at.
    pub fn with_source(mut self, source: &str) -> Self {
        if self.pos.line > 0 {
            self.excerpt = source
                .lines()
                .nth(self.pos.line as usize - 1)
                .map(|l| l.trim_end().to_string());
        }
        self
    }

    /// The error with the offending source line and a caret under the column, for people.
    pub fn report(&self) -> String {
        match &self.excerpt {
            Some(line) => format!(
                "{self}\n    {line}\n    {}^",
                " ".repeat(self.pos.col.saturating_sub(1) as usize)
            ),
            None => self.to_string(),
        }
    }
}

impl fmt::Display for ScriptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(s) = &self.script {
            write!(f, "{s} script, ")?;
        }
        let what = match self.kind {
            ErrorKind::Syntax => "syntax error",
            ErrorKind::Runtime => "error",
            ErrorKind::Limit => "limit reached",
            ErrorKind::Thrown => "uncaught exception",
        };
        write!(f, "{}: {what}: {}", self.pos, self.message)
    }
}

impl std::error::Error for ScriptError {}
