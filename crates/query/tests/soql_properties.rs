//! Property tests: the SOQL parser, binder and evaluator never panic; errors always carry a
//! position inside the text; generated well-formed queries are accepted, and what they
//! return agrees with their equality hints.

mod soql_common;

use proptest::prelude::*;
use soql_common::{
    case_number, children_of, id, now, sample, select_rows, Org, ACCOUNT_IDS, CASE, CASE_IDS,
    USER_IDS,
};
use twinsync_query::soql::{parse, validate, SoqlError};

/// The invariants every error must satisfy for `text`.
fn check_error(text: &str, e: &SoqlError) {
    let lines: Vec<&str> = text.split('\n').collect();
    assert!(e.row >= 1 && e.row <= lines.len(), "{text:?}: {e:?}");
    let line = lines[e.row - 1].trim_end_matches('\r');
    assert!(e.column >= 1, "{text:?}: {e:?}");
    // (The stored line drops a trailing '\r', which the column may still count.)
    assert!(
        e.column <= lines[e.row - 1].chars().count() + 1,
        "{text:?}: column {} past line {line:?}",
        e.column
    );
    assert!(e.span.start <= text.len(), "{text:?}: {e:?}");
    let message = e.message();
    assert!(
        message.contains(&format!("ERROR at Row:{}:Column:{}\n", e.row, e.column)),
        "{text:?}: {message}"
    );
    assert!(
        message.starts_with(&format!("\n{line}\n")),
        "{text:?}: {message}"
    );
    assert!(message.ends_with(&e.detail), "{text:?}: {message}");
    assert!(!e.detail.is_empty());
    let _ = e.to_string();
}

/// Parses and binds `text`, checks error invariants, and evaluates whatever binds.
fn exercise(org: &Org, text: &str) {
    if let Err(e) = parse(text) {
        check_error(text, &e);
    }
    match validate(text, org, now()) {
        Err(e) => check_error(text, &e),
        Ok(b) => evaluate(org, &b),
    }
}

/// Evaluates a bound query on every record, checking that the equality hints never exclude
/// a matching record and that the sort is a consistent order.
fn evaluate(org: &Org, b: &twinsync_query::soql::BoundSoql) {
    let rows = select_rows(org, b);
    for r in &rows {
        let _ = children_of(org, b, *r);
    }
    let all: Vec<(usize, usize)> = (0..org.objects[b.object].rows.len())
        .map(|i| (b.object, i))
        .collect();
    for (column, values) in b.equality_hints() {
        for r in all.iter().filter(|r| b.matches(org, **r)) {
            let v = org.objects[r.0].rows[r.1][column]
                .as_str()
                .unwrap_or_else(|| panic!("hinted column {column} is not text"))
                .to_lowercase();
            assert!(
                values.contains(&v),
                "row {r:?} matches but {v:?} not in {values:?}"
            );
        }
    }
    for x in &all {
        assert_eq!(b.compare(org, *x, *x), std::cmp::Ordering::Equal);
        for y in &all {
            assert_eq!(b.compare(org, *x, *y), b.compare(org, *y, *x).reverse());
        }
    }
}

/// SOQL tokens, so random sequences reach deep parser and binder paths.
fn token() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "SELECT",
        "FROM",
        "WHERE",
        "AND",
        "OR",
        "NOT",
        "IN",
        "LIKE",
        "ORDER BY",
        "ORDER",
        "BY",
        "ASC",
        "DESC",
        "NULLS",
        "FIRST",
        "LAST",
        "LIMIT",
        "OFFSET",
        "COUNT",
        "COUNT()",
        "(",
        ")",
        ",",
        "=",
        "!=",
        "<>",
        "<",
        "<=",
        ">",
        ">=",
        "'str'",
        "'es\\'c'",
        "'100\\%'",
        "'500000000000001'",
        "12",
        "-3.5",
        "2001",
        "2024-01-01",
        "2024-01-01T00:00:00Z",
        "2024-01-01T00:00:00+01:00",
        "TODAY",
        "LAST_N_DAYS:3",
        "LAST_N_DAYS",
        ":",
        "Id",
        "Subject",
        "Amount__c",
        "IsClosed",
        "CreatedDate",
        "Due__c",
        "Account.Name",
        "Account.Owner.Email",
        "c.Id",
        "c",
        "Case",
        "Account",
        "CaseComments",
        "Foo",
        "null",
        "TRUE",
        "\n",
    ])
}

/// Token soup: mostly tokens, sometimes starting like a real query.
fn soup() -> impl Strategy<Value = String> {
    (
        prop::sample::select(vec![
            "",
            "SELECT Id FROM Case WHERE",
            "SELECT",
            "SELECT Id,",
        ]),
        prop::collection::vec(token(), 0..30),
    )
        .prop_map(|(prefix, toks)| {
            let mut s = prefix.to_string();
            for t in toks {
                s.push(' ');
                s.push_str(t);
            }
            s
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn parse_never_panics_on_any_text(q in ".*") {
        if let Err(e) = parse(&q) {
            check_error(&q, &e);
        }
    }

    #[test]
    fn parse_never_panics_on_any_unicode(q in any::<String>()) {
        if let Err(e) = parse(&q) {
            check_error(&q, &e);
        }
    }

    #[test]
    fn parse_never_panics_on_token_soup(q in soup()) {
        if let Err(e) = parse(&q) {
            check_error(&q, &e);
        }
    }

    #[test]
    fn validate_never_panics_on_token_soup(q in soup()) {
        exercise(&sample(), &q);
    }

    #[test]
    fn errors_are_positioned_on_query_like_text(
        q in prop_oneof![
            soup(),
            "\\PC{0,60}",
            // Real queries with a random tail, so errors land late and on later lines.
            "SELECT Id(, Subject)?\n?(FROM|from) (Case|Foo)( c)?\n?( WHERE [A-Za-z_.]{1,12} ?(=|!=|<|>=|LIKE|IN) ?[ -~\n]{0,20})?",
        ]
    ) {
        let org = sample();
        exercise(&org, &q);
        if let Err(e) = validate(&q, &org, now()) {
            prop_assert!(e.row >= 1 && e.column >= 1);
            prop_assert!(e.message().contains("ERROR at Row:"));
        }
    }
}

/// A field of Case with how to write values for it.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Text,
    Number,
    Bool,
    DateTime,
    Date,
    Id,
}

const FIELDS: &[(&str, Kind)] = &[
    ("Subject", Kind::Text),
    ("Status", Kind::Text),
    ("Priority", Kind::Text),
    ("CaseNumber", Kind::Text),
    ("Account.Name", Kind::Text),
    ("Account.Owner.Email", Kind::Text),
    ("Owner.Name", Kind::Text),
    ("Amount__c", Kind::Number),
    ("IsClosed", Kind::Bool),
    ("CreatedDate", Kind::DateTime),
    ("Account.Owner.Id", Kind::Id),
    ("Due__c", Kind::Date),
    ("Id", Kind::Id),
    ("AccountId", Kind::Id),
    ("OwnerId", Kind::Id),
];

/// A name in random letter case (names are case-insensitive).
fn cased(name: &'static str) -> impl Strategy<Value = String> {
    prop::sample::select(vec![0u8, 1, 2]).prop_map(move |c| match c {
        0 => name.to_string(),
        1 => name.to_lowercase(),
        _ => name.to_uppercase(),
    })
}

/// A quoted string: random text (quotes and backslashes escaped), or a value the sample
/// data holds, so that equality hints and comparisons meet real matches.
fn text_literal() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9 %_'\\\\.@é]{0,8}"
            .prop_map(|s| { format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'")) }),
        prop::sample::select(vec![
            "'New'",
            "'high'",
            "'MEDIUM'",
            "'00001003'",
            "'Acme'",
            "'beth@example.com'",
            "'%o%'",
            "'vpn_drops'",
            "'100\\%%'",
            "'Abel Tuter'",
        ])
        .prop_map(str::to_string),
    ]
}

fn number_literal() -> impl Strategy<Value = String> {
    "-?[0-9]{1,4}(\\.[0-9]{1,2})?"
}

fn datetime_literal() -> impl Strategy<Value = String> {
    (
        "20[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\\.[0-9]{3})?",
        prop::sample::select(vec!["Z", "+01:00", "-05:30", "+0000", "+14:00"]),
    )
        .prop_map(|(t, z)| format!("{t}{z}"))
}

fn date_literal() -> impl Strategy<Value = String> {
    "20[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])"
}

fn relative_literal() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "YESTERDAY",
            "TODAY",
            "TOMORROW",
            "LAST_WEEK",
            "THIS_WEEK",
            "NEXT_WEEK",
            "LAST_MONTH",
            "THIS_MONTH",
            "NEXT_MONTH",
            "LAST_90_DAYS",
            "NEXT_90_DAYS",
            "THIS_YEAR",
            "LAST_YEAR",
            "NEXT_YEAR",
            "today",
            "This_Month",
        ])
        .prop_map(str::to_string),
        (
            prop::sample::select(vec![
                "LAST_N_DAYS",
                "NEXT_N_DAYS",
                "N_DAYS_AGO",
                "LAST_N_WEEKS",
                "NEXT_N_WEEKS",
                "LAST_N_MONTHS",
                "NEXT_N_MONTHS",
                "LAST_N_YEARS",
                "NEXT_N_YEARS",
            ]),
            0u32..2000,
        )
            .prop_map(|(n, k)| format!("{n}:{k}")),
    ]
}

/// A quoted id, random or from the sample data, in 15- or 18-character form.
fn id_literal() -> impl Strategy<Value = String> {
    let known: Vec<&str> = CASE_IDS
        .iter()
        .chain(&ACCOUNT_IDS)
        .chain(&USER_IDS)
        .copied()
        .collect();
    let raw = prop_oneof![
        "[a-zA-Z0-9]{15}",
        prop::sample::select(known).prop_map(str::to_string)
    ];
    (raw, 0u8..4).prop_map(|(raw, form)| match form {
        0 => format!("'{raw}'"),
        1 => format!("'{}'", id(&raw)),
        2 => format!("'{}'", id(&raw).to_lowercase()),
        _ => format!("'{}'", id(&raw).to_uppercase()),
    })
}

/// A value of the field's kind (never null).
fn value(kind: Kind) -> BoxedStrategy<String> {
    match kind {
        Kind::Text => text_literal().boxed(),
        Kind::Number => number_literal().boxed(),
        Kind::Bool => prop::sample::select(vec!["TRUE", "FALSE", "true", "false", "True"])
            .prop_map(str::to_string)
            .boxed(),
        Kind::DateTime => prop_oneof![datetime_literal(), relative_literal()].boxed(),
        Kind::Date => prop_oneof![date_literal(), relative_literal()].boxed(),
        Kind::Id => id_literal().boxed(),
    }
}

/// A value usable in an IN list (no relative literals).
fn list_value(kind: Kind) -> BoxedStrategy<String> {
    match kind {
        Kind::DateTime => datetime_literal().boxed(),
        Kind::Date => date_literal().boxed(),
        k => prop_oneof![4 => value(k), 1 => Just("null".to_string())].boxed(),
    }
}

/// Marks where a field path starts in a generated term; [`Cond::with_prefix`] replaces it
/// with an alias prefix or nothing.
const MARK: char = '§';

/// One well-typed comparison on a Case field, its path preceded by [`MARK`].
fn term() -> impl Strategy<Value = String> {
    prop::sample::select(FIELDS.to_vec()).prop_flat_map(|(name, kind)| {
        let ops: Vec<&'static str> = match kind {
            Kind::Bool => vec!["=", "!="],
            Kind::Text => vec!["=", "!=", "<>", "<", "<=", ">", ">=", "LIKE", "like"],
            Kind::Id => vec!["=", "!=", "LIKE"],
            _ => vec!["=", "!=", "<", "<=", ">", ">="],
        };
        let compare = (cased(name), prop::sample::select(ops), value(kind))
            .prop_map(|(f, op, v)| format!("§{f} {op} {v}"));
        let null = (cased(name), prop::sample::select(vec!["=", "!="]))
            .prop_map(|(f, op)| format!("§{f} {op} null"));
        let list = (
            cased(name),
            prop::sample::select(vec!["IN", "NOT IN", "in", "not in"]),
            prop::collection::vec(list_value(kind), 1..4),
        )
            .prop_map(|(f, op, vs)| format!("§{f} {op} ({})", vs.join(", ")));
        prop_oneof![6 => compare, 1 => null, 2 => list]
    })
}

/// A condition tree of terms; nested AND/OR groups are parenthesised, as SOQL requires.
#[derive(Debug, Clone)]
enum Cond {
    Term(String),
    Not(Box<Cond>),
    And(Vec<Cond>),
    Or(Vec<Cond>),
}

impl Cond {
    /// The condition as SOQL, field paths prefixed with `prefix` (`""` or `"c."`).
    fn with_prefix(&self, prefix: &str) -> String {
        self.render().replace(MARK, prefix)
    }

    fn render(&self) -> String {
        match self {
            Cond::Term(t) => t.clone(),
            Cond::Not(inner) => format!("NOT {}", inner.render_nested()),
            Cond::And(parts) => Self::join(parts, " AND "),
            Cond::Or(parts) => Self::join(parts, " OR "),
        }
    }

    fn join(parts: &[Cond], joiner: &str) -> String {
        parts
            .iter()
            .map(Cond::render_nested)
            .collect::<Vec<_>>()
            .join(joiner)
    }

    fn render_nested(&self) -> String {
        match self {
            Cond::Term(_) | Cond::Not(_) => self.render(),
            _ => format!("({})", self.render()),
        }
    }
}

fn condition() -> impl Strategy<Value = Cond> {
    term()
        .prop_map(Cond::Term)
        .prop_recursive(4, 24, 4, |inner| {
            prop_oneof![
                inner.clone().prop_map(|c| Cond::Not(Box::new(c))),
                prop::collection::vec(inner.clone(), 2..4).prop_map(Cond::And),
                prop::collection::vec(inner, 2..4).prop_map(Cond::Or),
            ]
        })
}

fn select_list() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("COUNT()".to_string()),
        prop::sample::subsequence(
            vec![
                "Id", "Subject", "Status", "Account.Name", "Account.Owner.Email", "Owner.Name",
                "Amount__c", "CreatedDate", "Due__c", "IsClosed",
            ],
            1..5,
        )
        .prop_map(|fs| fs.join(", ")),
        Just("Id, (SELECT CommentBody FROM CaseComments WHERE IsPublished = true ORDER BY CreatedDate DESC LIMIT 2)".to_string()),
    ]
}

fn order_key() -> impl Strategy<Value = String> {
    (
        prop::sample::select(vec![
            "Subject",
            "Priority",
            "Amount__c",
            "CreatedDate",
            "Due__c",
            "IsClosed",
            "Account.Name",
            "Account.Owner.Email",
            "CaseNumber",
            "Id",
        ]),
        prop::sample::select(vec!["", " ASC", " DESC", " asc", " desc"]),
        prop::sample::select(vec!["", " NULLS FIRST", " NULLS LAST", " nulls last"]),
    )
        .prop_map(|(f, d, n)| format!("{f}{d}{n}"))
}

/// A well-formed query on Case.
fn valid_query() -> impl Strategy<Value = String> {
    (
        select_list(),
        prop::sample::select(vec!["Case", "case", "CASE", "Case c", "case C"]),
        prop::option::of(condition()),
        prop::collection::vec(order_key(), 0..3),
        prop::option::of(0u64..100_000),
        prop::option::of(prop_oneof![4 => 0u64..8, 1 => 0u64..=2000]),
        prop::sample::select(vec![" ", "\n", "\n  ", "\r\n"]),
    )
        .prop_map(|(select, object, cond, order, limit, offset, sep)| {
            let mut q = format!("SELECT {select}{sep}FROM {object}");
            if let Some(c) = cond {
                let prefix = if object.contains(' ') { "c." } else { "" };
                q.push_str(&format!("{sep}WHERE {}", c.with_prefix(prefix)));
            }
            if !order.is_empty() {
                q.push_str(&format!("{sep}ORDER BY {}", order.join(", ")));
            }
            if let Some(l) = limit {
                q.push_str(&format!("{sep}LIMIT {l}"));
            }
            if let Some(o) = offset {
                q.push_str(&format!(" OFFSET {o}"));
            }
            q
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1500))]

    #[test]
    fn generated_valid_queries_bind_and_evaluate(q in valid_query()) {
        let org = sample();
        let bound = validate(&q, &org, now());
        prop_assert!(bound.is_ok(), "{q}\n{}", bound.as_ref().unwrap_err().message());
        let bound = bound.unwrap();
        prop_assert_eq!(bound.object, soql_common::CASE);
        evaluate(&org, &bound);
    }

    #[test]
    fn an_alias_prefix_changes_nothing(c in condition()) {
        // Prefixing every path with the alias binds to the same filter.
        let plain = format!("SELECT Id FROM Case WHERE {}", c.with_prefix(""));
        let aliased = format!("SELECT Id FROM Case x WHERE {}", c.with_prefix("X."));
        let plain_bound = validate(&plain, &sample(), now());
        prop_assert!(plain_bound.is_ok(), "{plain}");
        let aliased_bound = validate(&aliased, &sample(), now());
        prop_assert!(aliased_bound.is_ok(), "{aliased}");
        prop_assert_eq!(plain_bound.unwrap().filter, aliased_bound.unwrap().filter);
    }

    #[test]
    fn breaking_a_valid_query_gives_a_positioned_error(
        q in valid_query(),
        cut in any::<prop::sample::Index>(),
        junk in prop::sample::select(vec!["#", "(", "'", "..", "AND", "OR OR", ") )", "= =", "Nope__c"]),
    ) {
        // Insert junk at a random character boundary.
        let bounds: Vec<usize> = q.char_indices().map(|(i, _)| i).chain([q.len()]).collect();
        let at = bounds[cut.index(bounds.len())];
        let broken = format!("{} {junk} {}", &q[..at], &q[at..]);
        exercise(&sample(), &broken);
    }
}

/// A term that pins an indexable Case column to values the sample data holds, written in
/// random letter case and id form.
fn pinning_term() -> impl Strategy<Value = String> {
    let some_cases = prop::sample::subsequence(vec![1usize, 2, 3, 4, 5, 6], 1..4);
    prop_oneof![
        (0..CASE_IDS.len(), 0u8..4).prop_map(|(i, form)| {
            let raw = CASE_IDS[i];
            let lit = match form {
                0 => raw.to_string(),
                1 => id(raw),
                2 => id(raw).to_lowercase(),
                _ => id(raw).to_uppercase(),
            };
            format!("Id = '{lit}'")
        }),
        some_cases.clone().prop_map(|ns| {
            let list: Vec<String> = ns
                .iter()
                .map(|n| format!("'{}'", case_number(*n)))
                .collect();
            format!("CaseNumber IN ({})", list.join(", "))
        }),
        some_cases.prop_map(|ns| {
            let list: Vec<String> = ns
                .iter()
                .map(|n| format!("'{}'", id(CASE_IDS[n - 1])))
                .collect();
            format!("id in ({})", list.join(","))
        }),
        prop::sample::select(vec![
            "Subject = 'PRINTER ON FIRE'",
            "Subject = 'vpn drops'",
            "Status = 'closed'",
            "AccountId = '001000000000002'",
            "OwnerId = '005000000000001'",
        ])
        .prop_map(str::to_string),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn equality_hints_never_lose_a_matching_record(
        pins in prop::collection::vec(pinning_term(), 1..3),
        others in prop::collection::vec(condition(), 0..3),
    ) {
        let mut parts: Vec<String> = pins;
        parts.extend(others.iter().map(|c| format!("({})", c.with_prefix(""))));
        let q = format!("SELECT Id FROM Case WHERE {}", parts.join(" AND "));
        let org = sample();
        let bound = validate(&q, &org, now());
        prop_assert!(bound.is_ok(), "{q}");
        let bound = bound.unwrap();
        let hints = bound.equality_hints();
        prop_assert!(!hints.is_empty(), "{q}");
        // What an index look-up on the hints would return, then filtered...
        let by_index: Vec<usize> = (0..6)
            .filter(|i| {
                hints.iter().all(|(column, values)| {
                    org.objects[CASE].rows[*i][*column]
                        .as_str()
                        .is_some_and(|v| values.contains(&v.to_lowercase()))
                })
            })
            .filter(|i| bound.matches(&org, (CASE, *i)))
            .collect();
        // ...equals a full scan.
        let by_scan: Vec<usize> = (0..6).filter(|i| bound.matches(&org, (CASE, *i))).collect();
        prop_assert_eq!(by_index, by_scan, "{}", q);
    }
}
