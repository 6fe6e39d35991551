//! SOQL evaluated against a small org: every operator on every field type, null handling,
//! relative dates, relationships, ids, ordering, paging, and the platform's error reports.

mod soql_common;

use serde_json::json;
use soql_common::*;
use twinsync_query::soql::{parse, validate, Selected, SoqlErrorCode};

/// Asserts that `q` (on Case) returns the given cases (1-based), in that order.
#[track_caller]
fn check(q: &str, cases: &[usize]) {
    let expected: Vec<String> = cases.iter().map(|n| case_number(*n)).collect();
    assert_eq!(run(q), expected, "query: {q}");
}

/// `SELECT Id FROM Case WHERE <filter>`.
#[track_caller]
fn check_where(filter: &str, cases: &[usize]) {
    check(&format!("SELECT Id FROM Case WHERE {filter}"), cases);
}

/// The error `q` is refused with.
#[track_caller]
fn refused(q: &str) -> twinsync_query::soql::SoqlError {
    match bound(q) {
        Ok(b) => panic!("{q} was accepted: {b:?}"),
        Err(e) => e,
    }
}

/// The 1-based column at which `needle` first occurs in the (single-line) query.
fn col(q: &str, needle: &str) -> usize {
    q[..q.find(needle).expect("needle in query")]
        .chars()
        .count()
        + 1
}

#[test]
fn no_filter_returns_every_record_in_storage_order() {
    check("SELECT Id FROM Case", &[1, 2, 3, 4, 5, 6]);
    assert_eq!(
        run("SELECT Name FROM Account"),
        ["Acme", "Globex", "Initech"]
    );
}

#[test]
fn string_equality_ignores_case() {
    check_where("Status = 'New'", &[1, 4]);
    check_where("Status = 'nEW'", &[1, 4]);
    check_where("Priority = 'MEDIUM'", &[2, 6]);
    check_where("Subject = 'vpn DROPS'", &[2]);
    check_where("Subject = 'vpn drop'", &[]);
    check_where("CaseNumber = '00001003'", &[3]);
}

#[test]
fn not_equal_keeps_records_whose_field_is_null() {
    check_where("Priority != 'High'", &[2, 3, 4, 6]);
    check_where("Priority <> 'High'", &[2, 3, 4, 6]);
    check_where("Subject != 'vpn DROPS'", &[1, 3, 4, 5, 6]);
    check_where("Amount__c != 0", &[1, 2, 3, 4, 6]);
    check_where("Due__c != 2026-11-25", &[1, 3, 4, 5, 6]);
    check_where("Account.Name != 'Acme'", &[2, 4, 5, 6]);
}

#[test]
fn numbers_compare_numerically() {
    check_where("Amount__c = 100", &[1]);
    check_where("Amount__c = 100.0", &[1]);
    check_where("Amount__c = 250.5", &[2]);
    check_where("Amount__c = -3.5", &[3]);
    check_where("Amount__c < 100", &[3, 5]);
    check_where("Amount__c <= 100", &[1, 3, 5]);
    check_where("Amount__c > 100", &[2, 6]);
    check_where("Amount__c >= 250.5", &[2, 6]);
    check_where("Amount__c > -3.5", &[1, 2, 5, 6]);
    check_where("Amount__c >= -3.5", &[1, 2, 3, 5, 6]);
    // 1000 would sort before 250.5 as text.
    check_where("Amount__c > 251", &[6]);
}

#[test]
fn strings_order_ignoring_case() {
    // Case-sensitively 'P' and 'V' sort before 'm'; ignoring case they come after it.
    check_where("Subject < 'm'", &[3, 5, 6]);
    check_where("Subject >= 'M'", &[1, 2]);
    check_where("Priority >= 'medium'", &[2, 6]);
    check_where("Priority <= 'LOW'", &[1, 3, 5]);
    check_where("Status > 'escalated'", &[1, 2, 4]);
    check_where("Status >= 'escalated'", &[1, 2, 4, 5]);
}

#[test]
fn datetimes_compare_as_instants_in_any_offset() {
    check_where("CreatedDate = 2026-11-25T09:00:00Z", &[1]);
    check_where("CreatedDate = 2026-11-25T10:00:00+01:00", &[1]);
    check_where("CreatedDate = 2026-11-24T18:59:59-05:00", &[2]);
    check_where("CreatedDate = 2026-11-25T09:00:00.000+0000", &[1]);
    check_where("CreatedDate > 2026-11-24T23:59:59Z", &[1, 6]);
    check_where("CreatedDate >= 2026-11-24T23:59:59Z", &[1, 2, 6]);
    // 2026-11-24T23:00:00Z: case 2, one minute before midnight, is after it.
    check_where("CreatedDate < 2026-11-25T00:00:00+01:00", &[3, 4, 5]);
    check_where("CreatedDate <= 2026-11-25T00:59:59+01:00", &[2, 3, 4, 5]);
    check_where("CreatedDate != 2026-11-25T09:00:00Z", &[2, 3, 4, 5, 6]);
}

#[test]
fn dates_compare_on_date_fields() {
    check_where("Due__c = 2026-11-25", &[2]);
    check_where("Due__c > 2026-11-27", &[1, 5]);
    check_where("Due__c >= 2026-11-27", &[1, 5, 6]);
    check_where("Due__c < 2026-11-27", &[2, 3]);
    check_where("Due__c <= 2026-11-27", &[2, 3, 6]);
}

#[test]
fn like_supports_wildcards_and_escapes() {
    check_where("Subject LIKE 'p%'", &[1]);
    check_where("Subject LIKE '%P%'", &[1, 2, 3, 6]);
    check_where("Subject LIKE 'vpn_drops'", &[2]);
    check_where("Subject LIKE 'vpn_drop'", &[]);
    check_where("Subject LIKE 'VPN DROPS'", &[2]);
    // Nulls never match, not even `%`.
    check_where("Subject LIKE '%'", &[1, 2, 3, 5, 6]);
    // `\%` is a literal percent sign, `\_` a literal underscore.
    check_where("Subject LIKE '100\\%%'", &[3]);
    check_where("Subject LIKE '100\\%'", &[]);
    check_where("Subject LIKE '1_0\\% cpu'", &[3]);
    check_where("Subject LIKE '%\\_%'", &[5]);
    check_where("Subject LIKE '%_%'", &[1, 2, 3, 5, 6]);
    check_where("Subject LIKE '%\\%%'", &[3]);
    // LIKE works through relationships.
    check_where("Account.Owner.Email LIKE 'beth@%'", &[2, 6]);
}

#[test]
fn in_and_not_in_with_null_in_the_list() {
    check_where("Status IN ('new', 'Closed')", &[1, 3, 4, 6]);
    check_where("Priority IN ('High', null)", &[1, 4, 5]);
    check_where("Priority IN ('High')", &[1, 5]);
    // NOT IN keeps nulls unless null is listed.
    check_where("Priority NOT IN ('High')", &[2, 3, 4, 6]);
    check_where("Priority NOT IN ('High', null)", &[2, 3, 6]);
    check_where("Amount__c IN (100, 0, 7)", &[1, 5]);
    check_where("Amount__c NOT IN (100, 0)", &[2, 3, 4, 6]);
    check_where("Due__c IN (2026-11-25, 2026-11-27)", &[2, 6]);
    check_where(
        "CreatedDate IN (2026-11-25T09:00:00Z, 2026-10-01T02:00:00+02:00)",
        &[1, 3],
    );
    let c3 = id(CASE_IDS[2]).to_lowercase();
    check_where(&format!("Id IN ('500000000000002', '{c3}')"), &[2, 3]);
}

#[test]
fn and_or_not_and_nested_parentheses() {
    check_where("Status = 'New' AND Priority = 'High'", &[1]);
    check_where("Status = 'New' OR Priority = 'High'", &[1, 4, 5]);
    check_where(
        "Status = 'New' AND Priority = 'High' AND Amount__c > 1000",
        &[],
    );
    check_where(
        "Status = 'New' OR Status = 'Closed' OR Amount__c = 0",
        &[1, 3, 4, 5, 6],
    );
    check_where(
        "(Status = 'New' OR Status = 'Closed') AND IsClosed = false",
        &[1, 4],
    );
    check_where(
        "Status = 'New' OR (Priority = 'Low' AND IsClosed = true)",
        &[1, 3, 4],
    );
    check_where("NOT Status = 'New'", &[2, 3, 5, 6]);
    check_where("NOT (Status = 'New' OR IsClosed = true)", &[2, 5]);
    check_where("NOT NOT Status = 'New'", &[1, 4]);
    check_where("NOT Status = 'New' AND IsClosed = false", &[2, 5]);
    check_where(
        "((Status = 'New' AND (Amount__c > 50 OR Amount__c = null)) OR (IsClosed = true AND NOT Priority = 'low'))",
        &[1, 4, 6],
    );
    check_where("(((Status = 'Working')))", &[2]);
}

#[test]
fn mixing_and_with_or_needs_parentheses() {
    for (q, word) in [
        (
            "SELECT Id FROM Case WHERE Status = 'New' AND Priority = 'High' OR IsClosed = true",
            "OR",
        ),
        (
            "SELECT Id FROM Case WHERE Status = 'New' OR Priority = 'High' AND IsClosed = true",
            "AND",
        ),
        (
            "SELECT Id FROM Case WHERE (Status = 'New' OR IsClosed = true AND Priority = 'High')",
            "AND",
        ),
    ] {
        let e = refused(q);
        assert_eq!(e.code, SoqlErrorCode::MalformedQuery, "{q}");
        assert_eq!(e.code.as_str(), "MALFORMED_QUERY");
        assert_eq!(e.detail, format!("unexpected token: '{word}'"), "{q}");
        assert_eq!(e.column, col(q, &format!(" {word} ")) + 1, "{q}");
    }
}

#[test]
fn null_comparisons() {
    check_where("Subject = null", &[4]);
    check_where("Subject != null", &[1, 2, 3, 5, 6]);
    check_where("Amount__c = NULL", &[4]);
    check_where("AccountId = null", &[4]);
    check_where("OwnerId != null", &[1, 2, 3, 4, 5]);
    // A null anywhere along the path makes the field null.
    check_where("Account.Owner.Email = null", &[4, 5]);
    check_where("Owner.Email = null", &[4, 6]);
    let e = refused("SELECT Id FROM Case WHERE Subject < null");
    assert_eq!(e.code, SoqlErrorCode::MalformedQuery);
    assert_eq!(e.detail, "unexpected token: 'null'");
}

#[test]
fn booleans() {
    check_where("IsClosed = true", &[3, 6]);
    check_where("IsClosed = TRUE", &[3, 6]);
    check_where("IsClosed = FALSE", &[1, 2, 4, 5]);
    check_where("IsClosed != true", &[1, 2, 4, 5]);
    let q = "SELECT Id FROM Case WHERE IsClosed > false";
    let e = refused(q);
    assert_eq!(e.code, SoqlErrorCode::InvalidField);
    assert_eq!(e.detail, "invalid operator on boolean field: >");
    assert_eq!(e.column, col(q, "false"));
}

#[test]
fn relative_date_literals_on_datetime_fields() {
    // now = 2026-11-25T12:00:00Z.
    check_where("CreatedDate = TODAY", &[1]);
    check_where("CreatedDate = today", &[1]);
    check_where("CreatedDate = YESTERDAY", &[2]);
    check_where("CreatedDate = TOMORROW", &[6]);
    check_where("CreatedDate = LAST_N_DAYS:5", &[1, 2, 4]);
    check_where("CreatedDate = LAST_N_DAYS:4", &[1, 2]);
    check_where("CreatedDate = NEXT_N_DAYS:1", &[6]);
    check_where("CreatedDate = THIS_MONTH", &[1, 2, 4, 6]);
    check_where("CreatedDate = LAST_MONTH", &[3]);
    check_where("CreatedDate = NEXT_MONTH", &[]);
    check_where("CreatedDate = LAST_N_MONTHS:2", &[3]);
    check_where("CreatedDate = LAST_YEAR", &[5]);
    check_where("CreatedDate < TODAY", &[2, 3, 4, 5]);
    check_where("CreatedDate <= TODAY", &[1, 2, 3, 4, 5]);
    check_where("CreatedDate > TODAY", &[6]);
    check_where("CreatedDate >= TODAY", &[1, 6]);
    check_where("CreatedDate != TODAY", &[2, 3, 4, 5, 6]);
    check_where("CreatedDate > LAST_N_DAYS:5", &[6]);
    check_where("CreatedDate < LAST_N_DAYS:5", &[3, 5]);
}

#[test]
fn relative_date_literals_on_date_fields() {
    check_where("Due__c = TODAY", &[2]);
    check_where("Due__c = NEXT_N_DAYS:5", &[1, 6]);
    check_where("Due__c = THIS_MONTH", &[1, 2, 6]);
    check_where("Due__c = NEXT_MONTH", &[5]);
    check_where("Due__c <= TODAY", &[2, 3]);
    check_where("Due__c > TODAY", &[1, 5, 6]);
    // Null dates are kept by != only.
    check_where("Due__c != TODAY", &[1, 3, 4, 5, 6]);
}

#[test]
fn relationship_paths_in_where_and_order_by() {
    check_where("Account.Name = 'acme'", &[1, 3]);
    check_where("account.name = 'Globex'", &[2, 6]);
    check_where("Account.Owner.Email = 'beth@example.com'", &[2, 6]);
    check_where("Owner.Name LIKE 'a%'", &[1, 5]);
    check(
        "SELECT Id, Account.Name FROM Case ORDER BY Account.Name DESC NULLS LAST",
        &[5, 2, 6, 1, 3, 4],
    );
    check(
        "SELECT Id FROM Case ORDER BY Account.Name DESC NULLS LAST, CaseNumber DESC",
        &[5, 6, 2, 3, 1, 4],
    );
    check(
        "SELECT Id FROM Case ORDER BY Account.Owner.Email, CaseNumber",
        &[4, 5, 1, 3, 2, 6],
    );
    assert_eq!(
        run("SELECT Name FROM Account WHERE Owner.Email LIKE '%example.com' ORDER BY Owner.Name DESC"),
        ["Globex", "Acme"]
    );
    assert_eq!(
        run("SELECT CommentBody FROM CaseComment WHERE Parent.Account.Name = 'Globex'"),
        ["Other case"]
    );
}

#[test]
fn ids_match_in_15_and_18_character_forms() {
    let c1_18 = id(CASE_IDS[0]);
    let c3_18 = id(CASE_IDS[2]);
    check_where("Id = '500000000000001'", &[1]);
    check_where(&format!("Id = '{c1_18}'"), &[1]);
    check_where(&format!("Id = '{}'", c1_18.to_lowercase()), &[1]);
    // Case 3's id has letters: the 15-character form is case-sensitive...
    check_where("Id = '5000X00000abCD3'", &[3]);
    check_where("Id = '5000x00000abcd3'", &[]);
    // ...the 18-character form is not.
    check_where(&format!("Id = '{c3_18}'"), &[3]);
    check_where(&format!("Id = '{}'", c3_18.to_lowercase()), &[3]);
    check_where(&format!("Id = '{}'", c3_18.to_uppercase()), &[3]);
    check_where(&format!("Id != '{c3_18}'"), &[1, 2, 4, 5, 6]);
    // References too.
    check_where("AccountId = '001000000000001'", &[1, 3]);
    check_where(
        &format!("AccountId = '{}'", id(ACCOUNT_IDS[1]).to_lowercase()),
        &[2, 6],
    );
    check_where("AccountId != '001000000000001'", &[2, 4, 5, 6]);
    check_where("Account.OwnerId = '005000000000002'", &[2, 6]);
}

#[test]
fn an_invalid_id_literal_is_refused() {
    for bad in [
        "abc",
        "50000000000000!",
        "500000000000001XYZ",
        "5000X00000abCD3AA9",
    ] {
        let q = format!("SELECT Id FROM Case WHERE Id = '{bad}'");
        let e = refused(&q);
        assert_eq!(e.code, SoqlErrorCode::InvalidField, "{q}");
        assert_eq!(e.detail, format!("invalid ID field: {bad}"), "{q}");
        assert_eq!(e.column, col(&q, "'"), "{q}");
    }
    let e = refused("SELECT Id FROM Case WHERE AccountId IN ('001000000000001', 'nope')");
    assert_eq!(e.detail, "invalid ID field: nope");
    // A valid one in the same position is fine.
    assert!(bound("SELECT Id FROM Case WHERE AccountId IN ('001000000000001', null)").is_ok());
}

#[test]
fn order_by_several_keys_with_nulls_placement() {
    // ASC puts nulls first by default, DESC puts them last.
    check("SELECT Id FROM Case ORDER BY Priority", &[4, 1, 5, 3, 2, 6]);
    check(
        "SELECT Id FROM Case ORDER BY Priority ASC",
        &[4, 1, 5, 3, 2, 6],
    );
    check(
        "SELECT Id FROM Case ORDER BY Priority DESC",
        &[2, 6, 3, 1, 5, 4],
    );
    check(
        "SELECT Id FROM Case ORDER BY Priority DESC NULLS FIRST",
        &[4, 2, 6, 3, 1, 5],
    );
    check(
        "SELECT Id FROM Case ORDER BY Priority ASC NULLS LAST",
        &[1, 5, 3, 2, 6, 4],
    );
    check(
        "SELECT Id FROM Case ORDER BY Priority NULLS LAST, CaseNumber DESC",
        &[5, 1, 3, 6, 2, 4],
    );
    check(
        "SELECT Id FROM Case ORDER BY Priority DESC, CaseNumber DESC",
        &[6, 2, 3, 5, 1, 4],
    );
    // Numbers sort numerically (1000 after 250.5), booleans false first.
    check(
        "SELECT Id FROM Case ORDER BY Amount__c",
        &[4, 3, 5, 1, 2, 6],
    );
    check(
        "SELECT Id FROM Case ORDER BY IsClosed, Amount__c DESC",
        &[2, 1, 5, 4, 6, 3],
    );
    check(
        "SELECT Id FROM Case ORDER BY CreatedDate DESC",
        &[6, 1, 2, 4, 3, 5],
    );
    check(
        "SELECT Id FROM Case ORDER BY Due__c DESC NULLS FIRST",
        &[4, 5, 1, 6, 2, 3],
    );
    check(
        "SELECT Id FROM Case WHERE IsClosed = false ORDER BY Subject DESC",
        &[2, 1, 5, 4],
    );
}

#[test]
fn limit_and_offset_page_through_sorted_results() {
    check("SELECT Id FROM Case ORDER BY CaseNumber LIMIT 2", &[1, 2]);
    check(
        "SELECT Id FROM Case ORDER BY CaseNumber DESC LIMIT 2",
        &[6, 5],
    );
    check(
        "SELECT Id FROM Case ORDER BY CaseNumber LIMIT 2 OFFSET 3",
        &[4, 5],
    );
    check("SELECT Id FROM Case ORDER BY CaseNumber OFFSET 4", &[5, 6]);
    check(
        "SELECT Id FROM Case ORDER BY CaseNumber LIMIT 10 OFFSET 2000",
        &[],
    );
    check("SELECT Id FROM Case WHERE IsClosed = false LIMIT 0", &[]);
    let b = bound("SELECT Id FROM Case LIMIT 7 OFFSET 3").unwrap();
    assert_eq!((b.limit, b.offset), (Some(7), Some(3)));
}

#[test]
fn offset_above_2000_is_out_of_range() {
    let q = "SELECT Id FROM Case ORDER BY CaseNumber LIMIT 10 OFFSET 2001";
    let e = refused(q);
    assert_eq!(e.code, SoqlErrorCode::NumberOutsideValidRange);
    assert_eq!(e.code.as_str(), "NUMBER_OUTSIDE_VALID_RANGE");
    assert_eq!(e.detail, "Maximum SOQL offset allowed is 2000");
    assert_eq!((e.row, e.column), (1, col(q, "2001")));
}

#[test]
fn count_only() {
    let org = sample();
    let b = validate(
        "SELECT COUNT() FROM Case WHERE IsClosed = false",
        &org,
        now(),
    )
    .unwrap();
    assert!(b.count_only);
    assert!(b.select.is_empty());
    assert_eq!(select_rows(&org, &b).len(), 4);
    let b = bound("SELECT Id FROM Case").unwrap();
    assert!(!b.count_only);
    let e = refused("SELECT Id, COUNT() FROM Case");
    assert_eq!(e.code, SoqlErrorCode::MalformedQuery);
    assert_eq!(
        e.detail,
        "COUNT() must be the only element in the SELECT list."
    );
}

#[test]
fn child_subqueries_bind_and_evaluate() {
    let org = sample();
    let q = "SELECT Id, (SELECT CommentBody FROM CaseComments WHERE IsPublished = true ORDER BY CreatedDate DESC LIMIT 2) FROM Case";
    let b = validate(q, &org, now()).unwrap();
    assert_eq!(b.select.len(), 2);
    let Selected::Children(child) = &b.select[1] else {
        panic!("not a subquery: {:?}", b.select[1]);
    };
    assert_eq!(child.relationship.object, COMMENT);
    assert_eq!(child.relationship.column, 1);
    assert_eq!(child.relationship.name, "CaseComments");
    assert_eq!(child.fields.len(), 1);
    assert_eq!(child.fields[0].name, "CommentBody");
    assert_eq!(child.fields[0].object, COMMENT);
    assert_eq!(child.limit, Some(2));
    assert_eq!(child.order.len(), 1);
    assert!(child.order[0].descending);
    assert!(!child.order[0].nulls_first);
    let body = |rows: &[(usize, usize)]| -> Vec<String> {
        rows.iter()
            .map(|r| org.objects[r.0].rows[r.1][2].as_str().unwrap().to_string())
            .collect()
    };
    let rows = select_rows(&org, &b);
    let kids: Vec<Vec<String>> = rows
        .iter()
        .map(|r| body(&children_of(&org, &b, *r)[0]))
        .collect();
    // Case 1 has four comments: "Hidden" is unpublished, and only the two newest remain.
    assert_eq!(kids[0], ["Latest", "Third"]);
    assert_eq!(kids[1], ["Other case"]);
    assert!(kids[2..].iter().all(Vec::is_empty));

    // The relationship name is matched ignoring case; fields of the child are checked.
    let b = bound("SELECT Id, (SELECT Id, commentbody FROM casecomments) FROM Case").unwrap();
    assert!(matches!(&b.select[1], Selected::Children(c) if c.relationship.name == "CaseComments"));
    let e = refused("SELECT Id, (SELECT Nope FROM CaseComments) FROM Case");
    assert_eq!(e.code, SoqlErrorCode::InvalidField);
    assert!(
        e.detail
            .starts_with("No such column 'Nope' on entity 'CaseComment'."),
        "{}",
        e.detail
    );
    let e = refused("SELECT Id, (SELECT Id FROM CaseComments WHERE IsPublished = 'yes') FROM Case");
    assert_eq!(e.code, SoqlErrorCode::InvalidField);
}

#[test]
fn unknown_child_relationship_is_invalid_type() {
    let q = "SELECT Id, (SELECT Id FROM Comments) FROM Case";
    let e = refused(q);
    assert_eq!(e.code, SoqlErrorCode::InvalidType);
    assert!(
        e.detail
            .starts_with("Didn't understand relationship 'Comments' in FROM part of query call."),
        "{}",
        e.detail
    );
    assert_eq!(e.column, col(q, "Comments"));
    // A child relationship of another object does not count.
    let e = refused("SELECT Id, (SELECT Id FROM CaseComments) FROM Account");
    assert_eq!(e.code, SoqlErrorCode::InvalidType);
}

#[test]
fn unknown_object_is_invalid_type() {
    let q = "SELECT Id FROM Foo";
    let e = refused(q);
    assert_eq!(e.code, SoqlErrorCode::InvalidType);
    assert_eq!(e.code.as_str(), "INVALID_TYPE");
    assert!(
        e.detail.contains("sObject type 'Foo' is not supported"),
        "{}",
        e.detail
    );
    assert_eq!((e.row, e.column), (1, 16));
    // Object names ignore case.
    assert!(bound("select id from CASE").is_ok());
}

#[test]
fn unknown_field_is_reported_at_its_row_and_column() {
    let q = "SELECT Id, Subject\n  FROM Case\n  WHERE Status = 'New'\n    AND Nme = 'x'";
    let e = refused(q);
    assert_eq!(e.code, SoqlErrorCode::InvalidField);
    assert_eq!(e.code.as_str(), "INVALID_FIELD");
    assert_eq!((e.row, e.column), (4, 9));
    let detail = "No such column 'Nme' on entity 'Case'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.";
    assert_eq!(e.detail, detail);
    assert_eq!(
        e.message(),
        format!("\n    AND Nme = 'x'\n        ^\nERROR at Row:4:Column:9\n{detail}")
    );
    // In the SELECT list and ORDER BY too, on the entity the path ends at.
    let q = "SELECT Id,\r\nAccount.Nme FROM Case";
    let e = refused(q);
    assert_eq!((e.row, e.column), (2, 1));
    assert!(
        e.detail
            .starts_with("No such column 'Nme' on entity 'Account'."),
        "{}",
        e.detail
    );
    assert!(e
        .message()
        .starts_with("\nAccount.Nme FROM Case\n^\nERROR at Row:2:Column:1\n"));
    let q = "SELECT Id FROM Case ORDER BY Priorty";
    let e = refused(q);
    assert_eq!(e.column, col(q, "Priorty"));
    assert!(e
        .detail
        .starts_with("No such column 'Priorty' on entity 'Case'."));
}

#[test]
fn unknown_relationship_is_invalid_field() {
    for q in [
        "SELECT Id FROM Case WHERE Acount.Name = 'x'",
        "SELECT Id, Acount.Name FROM Case",
        "SELECT Id FROM Case ORDER BY Acount.Name",
    ] {
        let e = refused(q);
        assert_eq!(e.code, SoqlErrorCode::InvalidField, "{q}");
        assert!(
            e.detail
                .starts_with("Didn't understand relationship 'Acount' in field path."),
            "{q}: {}",
            e.detail
        );
        assert_eq!(e.column, col(q, "Acount"), "{q}");
    }
    // Only references have relationships; the field name itself is not one.
    let e = refused("SELECT Subject.Name FROM Case");
    assert!(
        e.detail
            .starts_with("Didn't understand relationship 'Subject'"),
        "{}",
        e.detail
    );
    let e = refused("SELECT AccountId.Name FROM Case");
    assert!(
        e.detail
            .starts_with("Didn't understand relationship 'AccountId'"),
        "{}",
        e.detail
    );
}

#[test]
fn aliases_prefix_field_paths() {
    check("SELECT c.Id FROM Case c WHERE c.Status = 'New'", &[1, 4]);
    check(
        "SELECT c.Id, c.Account.Name FROM Case c WHERE c.Account.Name = 'Globex' ORDER BY c.CaseNumber DESC",
        &[6, 2],
    );
    // Unaliased paths still work next to aliased ones.
    check(
        "SELECT c.Id FROM Case c WHERE Status = 'New' AND c.IsClosed = false",
        &[1, 4],
    );
    // Without an alias `c` is an unknown relationship.
    let e = refused("SELECT c.Id FROM Case");
    assert_eq!(e.code, SoqlErrorCode::InvalidField);
    assert!(e.detail.starts_with("Didn't understand relationship 'c'"));
    assert_eq!(
        parse("SELECT c.Id FROM Case c").unwrap().alias.as_deref(),
        Some("c")
    );
}

#[test]
fn duplicate_fields_are_refused() {
    for (q, dup) in [
        ("SELECT Id, Subject, id FROM Case", "id"),
        (
            "SELECT Account.Name, account.NAME FROM Case",
            "account.NAME",
        ),
        ("SELECT c.Id, Id FROM Case c", "Id"),
    ] {
        let e = refused(q);
        assert_eq!(e.detail, format!("duplicate field selected: {dup}"), "{q}");
        assert_eq!(e.column, q.rfind(dup).unwrap() + 1, "{q}");
    }
    // Same name on different objects is not a duplicate.
    assert!(bound("SELECT OwnerId, Owner.Name, Account.OwnerId, Account.Name FROM Case").is_ok());
}

#[test]
fn values_of_the_wrong_type_are_invalid_field() {
    for (q, at, detail) in [
        (
            "SELECT Id FROM Case WHERE Amount__c = '100'",
            "'100'",
            "value of filter criterion for field 'Amount__c' must be of type double and should not be enclosed in quotes",
        ),
        (
            "SELECT Id FROM Case WHERE amount__c IN (1, '2')",
            "'2'",
            "value of filter criterion for field 'Amount__c' must be of type double and should not be enclosed in quotes",
        ),
        (
            "SELECT Id FROM Case WHERE CreatedDate > 2024-01-01",
            "2024",
            "value of filter criterion for field 'CreatedDate' must be of type dateTime and should not be enclosed in quotes",
        ),
        (
            "SELECT Id FROM Case WHERE Due__c = 2024-01-01T00:00:00Z",
            "2024",
            "value of filter criterion for field 'Due__c' must be of type date and should not be enclosed in quotes",
        ),
        (
            "SELECT Id FROM Case WHERE Subject = 5",
            "5",
            "value of filter criterion for field 'Subject' must be of type string and should be enclosed in quotes",
        ),
        (
            "SELECT Id FROM Case WHERE IsClosed = 'true'",
            "'true'",
            "value of filter criterion for field 'IsClosed' must be of type boolean and should not be enclosed in quotes",
        ),
        (
            "SELECT Id FROM Case WHERE Subject = TODAY",
            "TODAY",
            "value of filter criterion for field 'Subject' must be of type string and should be enclosed in quotes",
        ),
        (
            "SELECT Id FROM Case WHERE Amount__c LIKE '1%'",
            "'1%'",
            "invalid operator on double field: LIKE",
        ),
        (
            "SELECT Id FROM Case WHERE CreatedDate = 2024-13-01T00:00:00Z",
            "2024",
            "value of filter criterion for field 'CreatedDate' must be of type dateTime and should not be enclosed in quotes",
        ),
    ] {
        let e = refused(q);
        assert_eq!(e.code, SoqlErrorCode::InvalidField, "{q}");
        assert_eq!(e.detail, detail, "{q}");
        assert_eq!(e.column, col(q, at), "{q}");
    }
}

#[test]
fn equality_hints_only_under_and() {
    let c1 = id(CASE_IDS[0]).to_lowercase();
    let b = bound("SELECT Id FROM Case WHERE Id = '500000000000001'").unwrap();
    assert_eq!(b.equality_hints(), vec![(C_ID, vec![c1.clone()])]);
    let b = bound(
        "SELECT Id FROM Case WHERE CaseNumber IN ('00001001', '00001002') AND IsClosed = false",
    )
    .unwrap();
    assert_eq!(
        b.equality_hints(),
        vec![(
            C_NUMBER,
            vec!["00001001".to_string(), "00001002".to_string()]
        )]
    );
    let b = bound(&format!(
        "SELECT Id FROM Case WHERE Subject = 'VPN Drops' AND Id = '{}' AND Status != 'New'",
        id(CASE_IDS[1]).to_uppercase()
    ))
    .unwrap();
    assert_eq!(
        b.equality_hints(),
        vec![
            (C_SUBJECT, vec!["vpn drops".to_string()]),
            (C_ID, vec![id(CASE_IDS[1]).to_lowercase()]),
        ]
    );
    for q in [
        "SELECT Id FROM Case WHERE Id = '500000000000001' OR CaseNumber = '00001002'",
        "SELECT Id FROM Case WHERE CaseNumber IN ('00001001') OR CaseNumber IN ('00001002')",
        "SELECT Id FROM Case WHERE NOT Id = '500000000000001'",
        "SELECT Id FROM Case WHERE Id != '500000000000001'",
        "SELECT Id FROM Case WHERE CaseNumber NOT IN ('00001001')",
        "SELECT Id FROM Case WHERE CaseNumber IN ('00001001', null)",
        "SELECT Id FROM Case WHERE Account.Name = 'Acme'",
        "SELECT Id FROM Case WHERE Amount__c = 100",
        "SELECT Id FROM Case",
    ] {
        assert_eq!(bound(q).unwrap().equality_hints(), vec![], "{q}");
    }
}

#[test]
fn keywords_and_names_ignore_case() {
    check(
        "select id from case where status = 'new' and priority != null order by casenumber desc nulls first limit 1",
        &[1],
    );
    check(
        "SELECT Id FROM Case WHERE isclosed = True AND AMOUNT__C > 0",
        &[6],
    );
}

#[test]
fn string_escapes_resolve() {
    let mut org = sample();
    org.objects[CASE].rows[0][C_SUBJECT] = json!("it's \"quoted\"\nnext");
    assert_eq!(
        run_on(
            &org,
            "SELECT Id FROM Case WHERE Subject = 'it\\'s \\\"quoted\\\"\\nnext'"
        ),
        [case_number(1)]
    );
    org.objects[CASE].rows[1][C_SUBJECT] = json!("back\\slash");
    assert_eq!(
        run_on(&org, "SELECT Id FROM Case WHERE Subject = 'back\\\\slash'"),
        [case_number(2)]
    );
    assert_eq!(
        run_on(&org, "SELECT Id FROM Case WHERE Subject LIKE '%\\\\s%'"),
        [case_number(2)]
    );
    let e = refused("SELECT Id FROM Case WHERE Subject = 'bad \\q escape'");
    assert_eq!(e.code, SoqlErrorCode::MalformedQuery);
    let e = refused("SELECT Id FROM Case WHERE Subject = 'open");
    assert_eq!(e.code, SoqlErrorCode::MalformedQuery);
}

#[test]
fn escaped_backslash_before_percent_is_a_backslash() {
    let mut org = sample();
    org.objects[CASE].rows[0][C_SUBJECT] = json!("a\\%");
    org.objects[CASE].rows[1][C_SUBJECT] = json!("a%");
    assert_eq!(
        run_on(&org, "SELECT Id FROM Case WHERE Subject = 'a\\\\%'"),
        [case_number(1)]
    );
    org.objects[CASE].rows[2][C_SUBJECT] = json!("back\\slash");
    assert_eq!(
        run_on(&org, "SELECT Id FROM Case WHERE Subject LIKE '%\\\\%'"),
        [case_number(1), case_number(3)]
    );
}

#[test]
fn text_equality_with_final_sigma() {
    let mut org = sample();
    org.objects[CASE].rows[0][C_SUBJECT] = json!("ΟΔΟΣ");
    assert_eq!(
        run_on(&org, "SELECT Id FROM Case WHERE Subject = 'ΟΔΟΣ'"),
        [case_number(1)]
    );
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let q = format!("SELECT Id FROM Case WHERE {}", "(".repeat(50_000));
    assert!(parse(&q).is_err());
    let q = format!(
        "SELECT Id FROM Case WHERE {}IsClosed = true",
        "NOT ".repeat(20_000)
    );
    assert!(parse(&q).is_err());
    let q = format!(
        "SELECT Id FROM Case WHERE {}IsClosed = true",
        "NOT ".repeat(50)
    );
    assert!(bound(&q).is_ok());
}
