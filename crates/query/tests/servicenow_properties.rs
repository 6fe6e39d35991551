//! Property tests: the encoded-query parser, binder and evaluator never panic, spans always
//! point inside the text, and well-formed queries survive a render/parse round trip.

mod common;

use common::{now, sample};
use proptest::prelude::*;
use twinsync_query::servicenow::{bind, parse, validate, EncodedQuery, Operator};

/// Runs the whole pipeline on `q`, checking the invariants that must hold for any input.
fn exercise(q: &str) {
    let db = sample();
    let parsed = parse(q);
    for p in &parsed.problems {
        assert!(p.span.start <= p.span.end && p.span.end <= q.len(), "{p:?}");
        assert!(q.is_char_boundary(p.span.start) && q.is_char_boundary(p.span.end));
        let _ = p.describe(q);
    }
    for table in ["incident", "sys_user"] {
        let bound = bind(&parsed.query, table, &db, now()).unwrap();
        let t = db.tables.iter().position(|t| t.name == table).unwrap();
        let mut rows: Vec<(usize, usize)> = (0..db.tables[t].rows.len()).map(|i| (t, i)).collect();
        rows.retain(|r| bound.matches(&db, *r));
        rows.sort_by(|a, b| bound.compare(&db, *a, *b));
        let _ = bound.equality_hints();
        let _ = validate(q, table, &db, now());
    }
    // Rendering what was parsed and parsing it again gives the same query.
    let rendered = parsed.query.to_string();
    assert_eq!(
        strip_spans(&parse(&rendered).query),
        strip_spans(&parsed.query),
        "rendered: {rendered}"
    );
}

/// The query with spans zeroed, since a re-rendered query puts terms at new offsets.
fn strip_spans(q: &EncodedQuery) -> EncodedQuery {
    let mut q = q.clone();
    for g in &mut q.groups {
        for c in &mut g.clauses {
            for t in &mut c.terms {
                t.span = Default::default();
            }
        }
    }
    for o in &mut q.order_by {
        o.span = Default::default();
    }
    q
}

fn same_ignoring_spans(a: &EncodedQuery, b: &EncodedQuery) -> bool {
    strip_spans(a) == strip_spans(b)
}

/// Pieces that real queries are made of, so random strings reach deep parser paths.
fn fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("^".to_string()),
        Just("^^".to_string()),
        Just("^OR".to_string()),
        Just("^NQ".to_string()),
        Just("ORDERBY".to_string()),
        Just("ORDERBYDESC".to_string()),
        Just("^EQ".to_string()),
        Just("@".to_string()),
        Just(",".to_string()),
        Just(".".to_string()),
        Just("javascript:gs.daysAgoStart(".to_string()),
        Just("javascript:gs.dateGenerate('2024-01-01','end')".to_string()),
        Just(")".to_string()),
        Just("@hour@ago@".to_string()),
        Just("INSTANCEOF".to_string()),
        Just("RLQUERY".to_string()),
        prop::sample::select(vec![
            "priority",
            "active",
            "caller_id",
            "caller_id.email",
            "caller_id.manager.name",
            "sys_updated_on",
            "due",
            "number",
            "short_description",
            "assigned_to",
            "nope",
            "email",
            "name",
            "manager",
        ])
        .prop_map(str::to_string),
        prop::sample::select(Operator::ALL.to_vec()).prop_map(|op| op.token().to_string()),
        "[a-z0-9 ]{0,6}",
        "\\PC{0,4}",
        "-?[0-9]{1,4}",
        "20[0-9]{2}-[01][0-9]-[0-3][0-9]( [0-2][0-9]:[0-5][0-9]:[0-5][0-9])?",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn arbitrary_text_never_panics(q in "\\PC{0,80}") {
        exercise(&q);
    }

    #[test]
    fn arbitrary_bytes_as_lossy_text_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..120)) {
        exercise(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn query_shaped_text_never_panics(parts in prop::collection::vec(fragment(), 0..24)) {
        exercise(&parts.concat());
    }
}

/// A well-formed term over the sample incident table.
fn term() -> impl Strategy<Value = String> {
    let field = prop::sample::select(vec![
        "priority",
        "active",
        "caller_id",
        "caller_id.email",
        "number",
        "short_description",
        "sys_updated_on",
    ]);
    let op = prop::sample::select(vec![
        "=",
        "!=",
        ">",
        ">=",
        "<",
        "<=",
        "LIKE",
        "NOT LIKE",
        "STARTSWITH",
        "ENDSWITH",
        "IN",
        "NOT IN",
        "ISEMPTY",
        "ISNOTEMPTY",
        "BETWEEN",
    ]);
    (field, op, "[a-z0-9 ,@^]{0,8}").prop_map(|(f, op, v)| {
        let v = if matches!(op, "ISEMPTY" | "ISNOTEMPTY") {
            String::new()
        } else {
            v.replace('^', "^^")
        };
        format!("{f}{op}{v}")
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn well_formed_queries_round_trip(
        terms in prop::collection::vec((term(), prop::sample::select(vec!["^", "^OR", "^NQ"])), 1..8),
        order in prop::option::of(prop::sample::select(vec!["^ORDERBYnumber", "^ORDERBYDESCpriority"])),
    ) {
        let mut q = String::new();
        for (i, (t, join)) in terms.iter().enumerate() {
            if i > 0 { q.push_str(join); }
            q.push_str(t);
        }
        if let Some(o) = order { q.push_str(o); }
        let parsed = parse(&q);
        prop_assert!(parsed.problems.is_empty(), "{q}: {:?}", parsed.problems);
        let again = parse(&parsed.query.to_string());
        prop_assert!(same_ignoring_spans(&parsed.query, &again.query));
        prop_assert_eq!(parsed.query.to_string(), q);
    }
}
