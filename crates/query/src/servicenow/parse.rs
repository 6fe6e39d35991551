//! Text → [`EncodedQuery`], never failing: problems are collected, bad terms dropped.

use super::ast::{Clause, EncodedQuery, Group, Operator, OrderBy, Problem, ProblemKind, Term};
use crate::Span;

/// The result of [`parse`]: the query as the platform would run it, and what was wrong.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Parsed {
    /// The query with every malformed term removed.
    pub query: EncodedQuery,
    /// Every problem found, in text order.
    pub problems: Vec<Problem>,
}

/// One `^`-separated piece of the query, `^^` already unescaped.
struct Segment {
    text: String,
    span: Span,
}

/// Splits on `^`, where `^^` stands for a literal caret inside a value.
fn segments(input: &str) -> Vec<Segment> {
    let mut out = Vec::new();
    let mut text = String::new();
    let mut start = 0;
    let mut chars = input.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c != '^' {
            text.push(c);
            continue;
        }
        if let Some(&(_, '^')) = chars.peek() {
            chars.next();
            text.push('^');
            continue;
        }
        out.push(Segment {
            text: std::mem::take(&mut text),
            span: Span::new(start, i),
        });
        start = i + 1;
    }
    out.push(Segment {
        text,
        span: Span::new(start, input.len()),
    });
    out
}

/// Keywords that start a segment and are real platform syntax this engine does not run.
const UNSUPPORTED_KEYWORDS: &[&str] = &["RLQUERY", "SUBQUERY", "JOINQUERY", "ENDRLQUERY"];

fn is_field_char(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '.'
}

/// Parses an encoded query as ServiceNow reads it.
///
/// The platform ignores terms it cannot understand, so this never fails: such terms are
/// left out of [`Parsed::query`] and described in [`Parsed::problems`].
pub fn parse(input: &str) -> Parsed {
    let mut parsed = Parsed::default();
    let mut current = Group::default();
    let mut current_span: Option<Span> = None;

    for segment in segments(input) {
        let Segment { text, span } = segment;
        if text.is_empty() || text == "EQ" {
            continue;
        }
        if let Some(field) = text.strip_prefix("ORDERBYDESC") {
            push_order(&mut parsed, field, true, span);
            continue;
        }
        if let Some(field) = text.strip_prefix("ORDERBY") {
            push_order(&mut parsed, field, false, span);
            continue;
        }
        if text.starts_with("GROUPBY") {
            parsed.problems.push(Problem {
                kind: ProblemKind::Unsupported,
                span,
                message: format!(
                    "`{text}`: GROUPBY has no effect on Table API results and is ignored"
                ),
                term_dropped: false,
            });
            continue;
        }
        if let Some(keyword) = UNSUPPORTED_KEYWORDS.iter().find(|k| text.starts_with(**k)) {
            parsed.problems.push(Problem {
                kind: ProblemKind::Unsupported,
                span,
                message: format!("`{keyword}` (related-list query) is not supported"),
                term_dropped: true,
            });
            continue;
        }

        let (body, body_offset, joiner) = if let Some(rest) = text.strip_prefix("NQ") {
            (rest, 2, Joiner::NewGroup)
        } else if let Some(rest) = text.strip_prefix("OR") {
            (rest, 2, Joiner::Or)
        } else {
            (text.as_str(), 0, Joiner::And)
        };

        if joiner == Joiner::NewGroup {
            finish_group(&mut parsed, &mut current, current_span.take());
            current_span = Some(span);
            if body.is_empty() {
                continue;
            }
        }
        current_span.get_or_insert(span);

        let body_span = Span::new(span.start + body_offset, span.end);
        let term = match parse_term(body, body_span, &text, span) {
            Ok(term) => term,
            Err(problem) => {
                parsed.problems.push(problem);
                continue;
            }
        };
        match joiner {
            Joiner::Or => match current.clauses.last_mut() {
                Some(clause) => clause.terms.push(term),
                None => {
                    parsed.problems.push(Problem {
                        kind: ProblemKind::Malformed,
                        span,
                        message: format!(
                            "`^OR{body}` has no term before it to be OR-ed with; it is read as a plain condition"
                        ),
                        term_dropped: false,
                    });
                    current.clauses.push(Clause { terms: vec![term] });
                }
            },
            Joiner::And | Joiner::NewGroup => current.clauses.push(Clause { terms: vec![term] }),
        }
    }
    finish_group(&mut parsed, &mut current, current_span);
    parsed
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Joiner {
    And,
    Or,
    NewGroup,
}

fn finish_group(parsed: &mut Parsed, current: &mut Group, span: Option<Span>) {
    let group = std::mem::take(current);
    if !group.clauses.is_empty() {
        parsed.query.groups.push(group);
    } else if let Some(span) = span {
        if !parsed.query.groups.is_empty() {
            parsed.problems.push(Problem {
                kind: ProblemKind::Malformed,
                span,
                message: "`^NQ` starts a group with no conditions; it is ignored".to_string(),
                term_dropped: false,
            });
        }
    }
}

fn push_order(parsed: &mut Parsed, field: &str, descending: bool, span: Span) {
    if field.is_empty() || !field.chars().all(is_field_char) {
        parsed.problems.push(Problem {
            kind: ProblemKind::Malformed,
            span,
            message: format!(
                "`{}` needs a field name after it, e.g. `ORDERBYnumber`",
                if descending { "ORDERBYDESC" } else { "ORDERBY" }
            ),
            term_dropped: true,
        });
        return;
    }
    parsed.query.order_by.push(OrderBy {
        field: field.to_string(),
        descending,
        span,
    });
}

/// Parses `field OP value`. `body` starts at byte `span.start` of the query text.
fn parse_term(body: &str, span: Span, whole: &str, whole_span: Span) -> Result<Term, Problem> {
    let field_len = body
        .char_indices()
        .find(|(_, c)| !is_field_char(*c))
        .map_or(body.len(), |(i, _)| i);
    let field = &body[..field_len];
    let rest = &body[field_len..];
    let malformed = |message: String| Problem {
        kind: ProblemKind::Malformed,
        span: whole_span,
        message,
        term_dropped: true,
    };
    if field.is_empty() {
        return Err(malformed(format!(
            "`{whole}`: expected a field name (lowercase letters, digits, `_`, `.`) at the start of the term"
        )));
    }
    if field.starts_with('.') || field.ends_with('.') || field.contains("..") {
        return Err(malformed(format!(
            "`{whole}`: `{field}` is not a valid field path"
        )));
    }
    let Some((token, op)) = Operator::TOKENS
        .iter()
        .find(|(token, _)| rest.starts_with(token))
    else {
        if let Some(unsupported) = Operator::UNSUPPORTED.iter().find(|t| rest.starts_with(**t)) {
            return Err(Problem {
                kind: ProblemKind::Unsupported,
                span: whole_span,
                message: format!("`{whole}`: operator `{unsupported}` is not supported"),
                term_dropped: true,
            });
        }
        if rest.is_empty() {
            return Err(malformed(format!(
                "`{whole}`: the term has a field but no operator (e.g. `{field}=value`)"
            )));
        }
        let shown: String = rest.chars().take(12).collect();
        return Err(malformed(format!(
            "`{whole}`: unknown operator at `{shown}` after field `{field}`"
        )));
    };
    // An unsupported operator that merely begins like a supported one (`INSTANCEOF` vs `IN`).
    if let Some(unsupported) = Operator::UNSUPPORTED
        .iter()
        .find(|t| t.len() > token.len() && rest.starts_with(**t))
    {
        return Err(Problem {
            kind: ProblemKind::Unsupported,
            span: whole_span,
            message: format!("`{whole}`: operator `{unsupported}` is not supported"),
            term_dropped: true,
        });
    }
    let value = &rest[token.len()..];
    Ok(Term {
        field: field.to_string(),
        op: *op,
        value: value.to_string(),
        span: Span::new(whole_span.start, span.end),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms(q: &str) -> Vec<Vec<Vec<(String, Operator, String)>>> {
        parse(q)
            .query
            .groups
            .iter()
            .map(|g| {
                g.clauses
                    .iter()
                    .map(|c| {
                        c.terms
                            .iter()
                            .map(|t| (t.field.clone(), t.op, t.value.clone()))
                            .collect()
                    })
                    .collect()
            })
            .collect()
    }

    fn t(f: &str, op: Operator, v: &str) -> (String, Operator, String) {
        (f.to_string(), op, v.to_string())
    }

    #[test]
    fn and_or_and_new_query_nest_as_the_platform_reads_them() {
        // A^B^ORC^NQD^E = (A ∧ (B ∨ C)) ∨ (D ∧ E)
        let q = "active=true^priority=1^ORurgency=1^NQstate=2^impact!=3";
        assert_eq!(
            terms(q),
            vec![
                vec![
                    vec![t("active", Operator::Eq, "true")],
                    vec![
                        t("priority", Operator::Eq, "1"),
                        t("urgency", Operator::Eq, "1")
                    ],
                ],
                vec![
                    vec![t("state", Operator::Eq, "2")],
                    vec![t("impact", Operator::Ne, "3")]
                ],
            ]
        );
        assert!(parse(q).problems.is_empty());
    }

    #[test]
    fn every_operator_is_recognised() {
        let cases = [
            ("a=1", Operator::Eq, "1"),
            ("a!=1", Operator::Ne, "1"),
            ("a>1", Operator::Gt, "1"),
            ("a>=1", Operator::Ge, "1"),
            ("a<1", Operator::Lt, "1"),
            ("a<=1", Operator::Le, "1"),
            ("aLIKEx", Operator::Like, "x"),
            ("aNOT LIKEx", Operator::NotLike, "x"),
            ("aNOTLIKEx", Operator::NotLike, "x"),
            ("aSTARTSWITHx", Operator::StartsWith, "x"),
            ("aENDSWITHx", Operator::EndsWith, "x"),
            ("aIN1,2", Operator::In, "1,2"),
            ("aNOT IN1,2", Operator::NotIn, "1,2"),
            ("aISEMPTY", Operator::IsEmpty, ""),
            ("aISNOTEMPTY", Operator::IsNotEmpty, ""),
            ("aANYTHING", Operator::Anything, ""),
            ("aEMPTYSTRING", Operator::EmptyString, ""),
            ("aBETWEEN1@2", Operator::Between, "1@2"),
            ("aSAMEASb", Operator::SameAs, "b"),
            ("aNSAMEASb", Operator::NotSameAs, "b"),
            ("aONToday@x@y", Operator::On, "Today@x@y"),
            ("aNOTONToday@x@y", Operator::NotOn, "Today@x@y"),
            (
                "aRELATIVEGT@hour@ago@3",
                Operator::RelativeGt,
                "@hour@ago@3",
            ),
            (
                "aRELATIVELE@day@ahead@1",
                Operator::RelativeLe,
                "@day@ahead@1",
            ),
        ];
        for (q, op, v) in cases {
            assert_eq!(terms(q), vec![vec![vec![t("a", op, v)]]], "{q}");
        }
    }

    #[test]
    fn ordering_terms_are_collected_apart_from_conditions() {
        let p = parse("active=true^ORDERBYnumber^ORDERBYDESCsys_updated_on");
        assert_eq!(p.query.groups.len(), 1);
        let order: Vec<_> = p
            .query
            .order_by
            .iter()
            .map(|o| (o.field.as_str(), o.descending))
            .collect();
        assert_eq!(order, vec![("number", false), ("sys_updated_on", true)]);
    }

    #[test]
    fn a_doubled_caret_is_a_literal_caret_in_a_value() {
        assert_eq!(
            terms("short_description=a^^b^active=true"),
            vec![vec![
                vec![t("short_description", Operator::Eq, "a^b")],
                vec![t("active", Operator::Eq, "true")]
            ]]
        );
    }

    #[test]
    fn dot_walks_and_the_eq_terminator_are_accepted() {
        let p = parse("caller_id.email=abel.tuter@example.com^EQ");
        assert!(p.problems.is_empty());
        assert_eq!(
            terms("caller_id.email=abel.tuter@example.com^EQ"),
            vec![vec![vec![t(
                "caller_id.email",
                Operator::Eq,
                "abel.tuter@example.com"
            )]]]
        );
    }

    #[test]
    fn malformed_terms_are_dropped_and_located() {
        let q = "active=true^bogus^=5^priorityXX3^urgency=1";
        let p = parse(q);
        assert_eq!(
            terms(q),
            vec![vec![
                vec![t("active", Operator::Eq, "true")],
                vec![t("urgency", Operator::Eq, "1")]
            ]]
        );
        let cols: Vec<usize> = p.problems.iter().map(|pr| pr.span.column(q)).collect();
        assert_eq!(cols, vec![13, 19, 22]);
        assert!(p.problems[0].message.contains("no operator"));
        assert!(p.problems[1].message.contains("expected a field name"));
        assert!(p.problems[2].message.contains("unknown operator at `XX3`"));
        assert!(p.problems.iter().all(|pr| pr.term_dropped));
    }

    #[test]
    fn unsupported_operators_are_not_mistaken_for_supported_prefixes() {
        let p = parse("sys_class_nameINSTANCEOFtask");
        assert!(p.query.groups.is_empty());
        assert_eq!(p.problems.len(), 1);
        assert_eq!(p.problems[0].kind, ProblemKind::Unsupported);
        assert!(p.problems[0].message.contains("INSTANCEOF"));
    }

    #[test]
    fn a_leading_or_is_reported_and_kept_as_a_condition() {
        let p = parse("ORpriority=1");
        assert_eq!(
            terms("ORpriority=1"),
            vec![vec![vec![t("priority", Operator::Eq, "1")]]]
        );
        assert_eq!(p.problems.len(), 1);
        assert!(!p.problems[0].term_dropped);
    }

    #[test]
    fn rendering_gives_back_an_equal_query() {
        let q = "active=true^priority=1^ORurgency=1^NQshort_descriptionLIKEa^^b^ORDERBYDESCnumber";
        let p = parse(q);
        assert_eq!(p.query.to_string(), q);
        let again = parse(&p.query.to_string());
        assert_eq!(terms(&again.query.to_string()), terms(q));
    }

    #[test]
    fn multibyte_text_keeps_spans_on_char_boundaries() {
        let q = "short_description=héllo^ünknown=1";
        let p = parse(q);
        assert_eq!(p.problems.len(), 1);
        assert_eq!(p.problems[0].span.column(q), 25);
    }
}
