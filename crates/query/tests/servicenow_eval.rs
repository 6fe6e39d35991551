//! Encoded queries evaluated against a small dataset: every operator, typed comparisons,
//! dot-walking, NULL handling and ordering.

mod common;

use common::{now, sample, Db};
use twinsync_query::servicenow::{bind, parse, validate, ProblemKind};

/// The sys_ids of the incidents matching `q`, in the order the query sorts them.
fn run(db: &Db, q: &str) -> Vec<String> {
    let parsed = parse(q);
    let bound = bind(&parsed.query, "incident", db, now()).unwrap();
    let mut rows: Vec<(usize, usize)> = (0..db.tables[0].rows.len())
        .map(|i| (0, i))
        .filter(|r| bound.matches(db, *r))
        .collect();
    rows.sort_by(|a, b| bound.compare(db, *a, *b));
    rows.iter()
        .map(|r| db.tables[0].rows[r.1][0].clone())
        .collect()
}

#[track_caller]
fn check(q: &str, expected: &[&str]) {
    let db = sample();
    assert_eq!(run(&db, q), expected, "query: {q}");
}

#[test]
fn equality_on_strings_ignores_case() {
    check("short_description=email quota", &["i5"]);
    check("number=inc0010002", &["i2"]);
}

#[test]
fn not_equal_never_matches_empty_values() {
    check("assigned_to!=u2", &["i3"]);
    check("priority!=1", &["i2", "i3", "i4", "i6"]);
}

#[test]
fn empty_value_equality_means_is_empty() {
    check("short_description=", &["i4"]);
    check("short_description!=", &["i1", "i2", "i3", "i5", "i6"]);
    check("assigned_toISEMPTY", &["i2", "i5", "i6"]);
    check("assigned_toISNOTEMPTY", &["i1", "i3", "i4"]);
    check("short_descriptionEMPTYSTRING", &["i4"]);
    check("priorityANYTHING", &["i1", "i2", "i3", "i4", "i5", "i6"]);
}

#[test]
fn numbers_compare_numerically() {
    check("priority<3", &["i1", "i4"]);
    check("priority<=3", &["i1", "i2", "i4"]);
    check("priority>3", &["i3", "i6"]);
    check("priority>=4", &["i3", "i6"]);
    check("priorityBETWEEN2@4", &["i2", "i4", "i6"]);
    check("priorityIN1,5", &["i1", "i3"]);
    check("priorityNOT IN1,5", &["i2", "i4", "i6"]);
}

#[test]
fn text_operators_ignore_case() {
    check("short_descriptionLIKEemail", &["i1", "i5"]);
    check("short_descriptionNOT LIKEemail", &["i2", "i3", "i6"]);
    check("short_descriptionNOTLIKEemail", &["i2", "i3", "i6"]);
    check("short_descriptionSTARTSWITHvpn", &["i2"]);
    check("short_descriptionENDSWITHBROKEN", &["i6"]);
    check("short_descriptionLIKEjam ^^ again", &["i3"]);
}

#[test]
fn booleans_accept_true_false_and_digits() {
    check("active=true", &["i1", "i2", "i4", "i5"]);
    check("active=0", &["i3", "i6"]);
}

#[test]
fn dates_compare_chronologically_with_literals_and_helpers() {
    check("sys_updated_on>=2026-11-25 00:00:00", &["i1", "i4"]);
    check("sys_updated_on>=2026-11-25", &["i1", "i4"]);
    check(
        "sys_updated_on<javascript:gs.beginningOfToday()",
        &["i2", "i3", "i5"],
    );
    check(
        "sys_updated_onBETWEENjavascript:gs.dateGenerate('2026-11-24','start')@javascript:gs.dateGenerate('2026-11-24','end')",
        &["i2"],
    );
    check(
        "sys_updated_onONToday@javascript:gs.beginningOfToday()@javascript:gs.endOfToday()",
        &["i1", "i4"],
    );
    check("sys_updated_onRELATIVEGT@hour@ago@1", &["i4"]);
    check("sys_updated_onRELATIVELT@year@ago@1", &["i5"]);
    check("due>2026-11-01", &["i1"]);
    check("sys_updated_onISEMPTY", &["i6"]);
}

#[test]
fn dot_walking_follows_references_and_treats_broken_ones_as_empty() {
    check("caller_id.email=abel@example.com", &["i1", "i3"]);
    check("caller_id.manager.name=ólafur boss", &["i1", "i2", "i3"]);
    check("caller_id.emailISEMPTY", &["i4", "i5", "i6"]);
}

#[test]
fn text_operators_on_references_see_the_display_value() {
    check("assigned_toLIKEbeth", &["i1", "i4"]);
    check("caller_idSTARTSWITHabel", &["i1", "i3"]);
}

#[test]
fn same_as_compares_two_fields() {
    check("caller_idSAMEASassigned_to", &["i3"]);
    check("caller_idNSAMEASassigned_to", &["i1"]);
}

#[test]
fn or_binds_to_the_adjacent_term_and_nq_starts_a_new_group() {
    check("active=true^priority=1^ORpriority=3", &["i1", "i2"]);
    check("priority=1^NQactive=false^priority=5", &["i1", "i3"]);
    check(
        "priority=2^ORpriority=4^NQshort_descriptionLIKEvpn",
        &["i2", "i4", "i6"],
    );
}

#[test]
fn ordering_is_typed_with_empty_values_first() {
    check("ORDERBYpriority", &["i5", "i1", "i4", "i2", "i6", "i3"]);
    check("ORDERBYDESCpriority", &["i3", "i6", "i2", "i4", "i1", "i5"]);
    check(
        "active=true^ORDERBYDESCsys_updated_on",
        &["i4", "i1", "i2", "i5"],
    );
    // Reference fields sort by the display value of the referenced record.
    check(
        "assigned_toISNOTEMPTY^ORDERBYassigned_to^ORDERBYnumber",
        &["i3", "i1", "i4"],
    );
}

#[test]
fn unknown_fields_are_dropped_like_the_platform_does_and_reported() {
    let db = sample();
    // The unknown term is ignored, so the query widens to every active record.
    assert_eq!(run(&db, "active=true^priorty=1"), ["i1", "i2", "i4", "i5"]);
    let problems = validate("active=true^priorty=1", "incident", &db, now()).unwrap_err();
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].kind, ProblemKind::UnknownField);
    assert_eq!(
        problems[0].describe("active=true^priorty=1"),
        "column 13: unknown field `priorty` on table `incident`"
    );
}

#[test]
fn validate_reports_every_kind_of_problem_with_its_column() {
    let db = sample();
    let q = "priority=abc^caller_id.nope=1^short_description.x=1^statusXX^sys_updated_on>soon";
    let problems = validate(q, "incident", &db, now()).unwrap_err();
    let described: Vec<String> = problems.iter().map(|p| p.describe(q)).collect();
    assert_eq!(
        described,
        [
            "column 1: `priority` is a number field but `abc` is not a number",
            "column 14: `caller_id.nope`: `nope` is not a field of `sys_user`",
            "column 31: `short_description.x`: `short_description` is not a reference field, so it cannot be dot-walked",
            "column 53: `statusXX`: unknown operator at `XX` after field `status`",
            "column 62: `sys_updated_on`: `soon` is not a date-time; write `YYYY-MM-DD HH:MM:SS` or a javascript:gs helper such as `javascript:gs.daysAgoStart(1)`",
        ]
    );
    assert!(validate("active=true^ORDERBYnumber", "incident", &db, now()).is_ok());
}

#[test]
fn equality_hints_name_indexable_columns_per_group() {
    let db = sample();
    let parsed = parse("number=INC0010001^active=true^NQcaller_idINu1,u2^priority=1^ORpriority=2");
    let bound = bind(&parsed.query, "incident", &db, now()).unwrap();
    let hints = bound.equality_hints();
    assert_eq!(hints.len(), 2);
    assert_eq!(hints[0], vec![(1, vec!["inc0010001"])]);
    assert_eq!(hints[1], vec![(5, vec!["u1", "u2"])]);
}

#[test]
fn a_group_whose_every_term_is_dropped_does_not_widen_the_query() {
    check("number=INC0010001^NQpriorty=1", &["i1"]);
    check("number=INC0010001^NQ", &["i1"]);
    // Every term dropped: nothing narrows the query, as on the platform.
    check("priorty=1", &["i1", "i2", "i3", "i4", "i5", "i6"]);
}

#[test]
fn in_list_items_are_trimmed() {
    check("numberININC0010001, INC0010002", &["i1", "i2"]);
    check("priorityIN 1 , 5", &["i1", "i3"]);
}

#[test]
fn harmless_oddities_are_reported_without_counting_as_dropped_terms() {
    let db = sample();
    for q in ["active=true^GROUPBYpriority", "active=true^NQ"] {
        let parsed = parse(q);
        assert_eq!(parsed.problems.len(), 1, "{q}");
        assert!(!parsed.problems[0].term_dropped, "{q}");
        let bound = bind(&parsed.query, "incident", &db, now()).unwrap();
        assert!(!bound.dropped_terms(), "{q}");
    }
}

#[test]
fn date_operators_on_other_fields_are_flagged() {
    let db = sample();
    let q = "short_descriptionRELATIVEGT@hour@ago@1";
    let problems = validate(q, "incident", &db, now()).unwrap_err();
    assert!(
        problems[0].message.contains("is not a date field"),
        "{problems:?}"
    );
    let q = "priorityONToday@javascript:gs.beginningOfToday()@javascript:gs.endOfToday()";
    assert!(validate(q, "incident", &db, now()).is_err());
}
