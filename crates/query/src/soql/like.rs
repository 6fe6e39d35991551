//! SOQL `LIKE` patterns: `%` any run, `_` one character, `\%` and `\_` literal; matched
//! case-insensitively.

/// One element of a compiled pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    /// `%`
    Any,
    /// `_`
    One,
    /// A literal character, lower-cased.
    Char(char),
}

/// A compiled `LIKE` pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LikePattern {
    pieces: Vec<Piece>,
}

impl LikePattern {
    /// Compiles `pattern` as the lexer left it (escapes `\%` `\_` still in place).
    pub fn new(pattern: &str) -> Self {
        let mut pieces = Vec::new();
        let mut chars = pattern.chars();
        while let Some(c) = chars.next() {
            match c {
                '%' => {
                    if pieces.last() != Some(&Piece::Any) {
                        pieces.push(Piece::Any);
                    }
                }
                '_' => pieces.push(Piece::One),
                '\\' => match chars.next() {
                    Some(e @ ('%' | '_' | '\\')) => pieces.push(Piece::Char(e)),
                    Some(other) => {
                        pieces.push(Piece::Char('\\'));
                        pieces.extend(other.to_lowercase().map(Piece::Char));
                    }
                    None => pieces.push(Piece::Char('\\')),
                },
                c => pieces.extend(c.to_lowercase().map(Piece::Char)),
            }
        }
        LikePattern { pieces }
    }

    /// True when `text` matches, ignoring case.
    pub fn matches(&self, text: &str) -> bool {
        if text.is_ascii() {
            // No allocation for the common case: lower-case byte by byte.
            let bytes = text.as_bytes();
            self.matches_chars(bytes.len(), |i| bytes[i].to_ascii_lowercase() as char)
        } else {
            let chars: Vec<char> = text.chars().flat_map(char::to_lowercase).collect();
            self.matches_chars(chars.len(), |i| chars[i])
        }
    }

    /// The matcher over `len` characters read by `at`: greedy with one backtrack point per
    /// `%`, which is linear-times-pattern in the worst case.
    fn matches_chars(&self, len: usize, at: impl Fn(usize) -> char) -> bool {
        let (mut t, mut p) = (0usize, 0usize);
        let mut star: Option<(usize, usize)> = None;
        while t < len {
            match self.pieces.get(p) {
                Some(Piece::Any) => {
                    star = Some((p, t));
                    p += 1;
                }
                Some(Piece::One) => {
                    t += 1;
                    p += 1;
                }
                Some(Piece::Char(c)) if *c == at(t) => {
                    t += 1;
                    p += 1;
                }
                _ => match star {
                    Some((sp, st)) => {
                        p = sp + 1;
                        t = st + 1;
                        star = Some((sp, st + 1));
                    }
                    None => return false,
                },
            }
        }
        self.pieces[p..].iter().all(|x| *x == Piece::Any)
    }
}

#[cfg(test)]
mod tests {
    use super::LikePattern;

    #[test]
    fn wildcards_and_escapes() {
        assert!(LikePattern::new("%print%").matches("Printer on FIRE"));
        assert!(LikePattern::new("a_c").matches("ABC"));
        assert!(!LikePattern::new("a_c").matches("abbc"));
        assert!(LikePattern::new("100\\%").matches("100%"));
        assert!(!LikePattern::new("100\\%").matches("1000"));
        assert!(LikePattern::new("%").matches(""));
        assert!(!LikePattern::new("a%b").matches("acbx"));
        assert!(LikePattern::new("a%b%").matches("acbx"));
        // `\\\\%` is a literal backslash followed by the wildcard.
        assert!(LikePattern::new("%\\\\%").matches("a\\b"));
        assert!(!LikePattern::new("%\\\\%").matches("a%b"));
    }
}
