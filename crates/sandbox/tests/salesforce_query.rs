//! SOQL over HTTP: projection with relationships and child subqueries, filters, ordering,
//! COUNT(), queryAll, errors, and `nextRecordsUrl` paging over 25,000 records.

mod sf_common;

use reqwest::Method;
use serde_json::{json, Value};
use sf_common::{code, query_path, start, Sf};
use std::collections::HashSet;

async fn ids(sf: &Sf, soql: &str) -> Vec<String> {
    sf.query(soql).await["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["Id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn relationship_fields_and_child_subqueries_nest_like_the_platform() {
    let sf = start(6).await;
    let account = sf.create("Account", json!({"Name": "Nested Ltd"})).await;
    let case = sf
        .create("Case", json!({"Subject": "nest", "AccountId": account}))
        .await;
    for (body, published) in [("first", true), ("second", false), ("third", true)] {
        sf.create(
            "CaseComment",
            json!({"ParentId": case, "CommentBody": body, "IsPublished": published}),
        )
        .await;
    }
    let bare = sf.create("Case", json!({"Subject": "bare"})).await;
    let result = sf
        .query(&format!(
            "SELECT Id, Subject, Account.Name, Account.Owner.Username, \
             (SELECT CommentBody FROM CaseComments WHERE IsPublished = true ORDER BY CommentBody DESC) \
             FROM Case WHERE Id IN ('{case}', '{bare}') ORDER BY Subject DESC"
        ))
        .await;
    assert_eq!(result["totalSize"], 2);
    assert_eq!(result["done"], true);
    assert!(result.get("nextRecordsUrl").is_none());
    let first = &result["records"][0];
    assert_eq!(first["Subject"], "nest");
    assert_eq!(first["Account"]["attributes"]["type"], "Account");
    assert_eq!(first["Account"]["Name"], "Nested Ltd");
    assert_eq!(first["Account"]["Owner"]["Username"], "admin@example.com");
    let comments = &first["CaseComments"];
    assert_eq!(comments["totalSize"], 2);
    let bodies: Vec<&str> = comments["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["CommentBody"].as_str().unwrap())
        .collect();
    assert_eq!(bodies, ["third", "first"]);
    let second = &result["records"][1];
    assert_eq!(second["Account"], Value::Null, "an empty reference is null");
    assert_eq!(second["CaseComments"], Value::Null, "no children is null");
    // Keys come in SELECT order after attributes.
    let keys: Vec<&String> = first.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        ["attributes", "Id", "Subject", "Account", "CaseComments"]
    );
}

#[tokio::test]
async fn filters_order_limit_offset_and_count() {
    let sf = start(0).await;
    let mut made = Vec::new();
    for (i, (subject, priority, status)) in [
        ("alpha printer", "High", "New"),
        ("Beta PRINTER", "Low", "Working"),
        ("gamma", "Medium", "Closed"),
        ("delta 100%", "High", "Escalated"),
        ("epsilon", "Low", "New"),
    ]
    .iter()
    .enumerate()
    {
        let id = sf.create("Case", json!({"Subject": subject, "Priority": priority, "Status": status, "Description": format!("n{i}")})).await;
        made.push(id);
    }
    let sf = &sf;
    let subjects = |soql: String| async move {
        let r = sf.query(&soql).await;
        r["records"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["Subject"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        subjects("SELECT Subject FROM Case WHERE Subject LIKE '%printer%' ORDER BY Subject".into())
            .await,
        ["alpha printer", "Beta PRINTER"]
    );
    assert_eq!(
        subjects("SELECT Subject FROM Case WHERE Subject LIKE '%100\\%' ".into()).await,
        ["delta 100%"]
    );
    assert_eq!(subjects("SELECT Subject FROM Case WHERE (Priority = 'High' OR Status = 'Closed') AND NOT Subject LIKE 'a%' ORDER BY Subject".into()).await, ["delta 100%", "gamma"]);
    assert_eq!(
        subjects("SELECT Subject FROM Case WHERE Priority NOT IN ('High', 'Low')".into()).await,
        ["gamma"]
    );
    assert_eq!(
        subjects("SELECT Subject FROM Case WHERE IsClosed = true".into()).await,
        ["gamma"]
    );
    assert_eq!(
        subjects("SELECT Subject FROM Case WHERE status = 'new' ORDER BY Subject DESC".into())
            .await,
        ["epsilon", "alpha printer"],
        "values and names ignore case"
    );
    // Picklists sort in their defined order (High, Medium, Low), not alphabetically.
    assert_eq!(
        subjects(
            "SELECT Subject FROM Case ORDER BY Priority, Subject DESC LIMIT 3 OFFSET 1".into()
        )
        .await,
        ["alpha printer", "gamma", "epsilon"]
    );
    assert_eq!(subjects("SELECT Subject FROM Case WHERE CreatedDate = TODAY AND CreatedDate > 2020-01-01T00:00:00Z AND ClosedDate = null AND Status != 'Working' ORDER BY Subject LIMIT 2".into()).await, ["alpha printer", "delta 100%"]);
    assert_eq!(subjects("SELECT Subject FROM Case WHERE CreatedDate = LAST_N_DAYS:3 AND CreatedDate < NEXT_N_DAYS:1 ORDER BY Subject LIMIT 1".into()).await, ["alpha printer"]);
    // NULLS FIRST / LAST and the defaults (nulls first ascending, last descending).
    sf.create("Case", json!({"Subject": "zeta", "Priority": "Low"}))
        .await;
    let origins = |soql: &'static str| async move {
        let r = sf.query(soql).await;
        r["records"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["Subject"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    sf.call(
        sf.api(Method::PATCH, &format!("/sobjects/Case/{}", made[0]))
            .json(&json!({"Origin": "Web"})),
    )
    .await;
    sf.call(
        sf.api(Method::PATCH, &format!("/sobjects/Case/{}", made[1]))
            .json(&json!({"Origin": "Email"})),
    )
    .await;
    let asc =
        origins("SELECT Subject FROM Case WHERE Priority != 'Medium' ORDER BY Origin ASC, Subject")
            .await;
    assert_eq!(
        asc,
        [
            "delta 100%",
            "epsilon",
            "zeta",
            "Beta PRINTER",
            "alpha printer"
        ]
    );
    let asc_last = origins("SELECT Subject FROM Case WHERE Priority != 'Medium' ORDER BY Origin ASC NULLS LAST, Subject").await;
    assert_eq!(
        asc_last,
        [
            "Beta PRINTER",
            "alpha printer",
            "delta 100%",
            "epsilon",
            "zeta"
        ]
    );
    let desc = origins(
        "SELECT Subject FROM Case WHERE Priority != 'Medium' ORDER BY Origin DESC, Subject DESC",
    )
    .await;
    assert_eq!(
        desc,
        [
            "alpha printer",
            "Beta PRINTER",
            "zeta",
            "epsilon",
            "delta 100%"
        ]
    );
    let desc_first = origins("SELECT Subject FROM Case WHERE Priority != 'Medium' ORDER BY Origin DESC NULLS FIRST, Subject DESC").await;
    assert_eq!(
        desc_first,
        [
            "zeta",
            "epsilon",
            "delta 100%",
            "alpha printer",
            "Beta PRINTER"
        ]
    );
    assert_eq!(
        origins(
            "SELECT Subject FROM Case WHERE Subject >= 'E' AND Subject <= 'gamma' ORDER BY Subject"
        )
        .await,
        ["epsilon", "gamma"]
    );
    let zeta = sf.query("SELECT Id FROM Case WHERE Subject = 'zeta'").await["records"][0]["Id"]
        .as_str()
        .unwrap()
        .to_string();
    sf.call(sf.api(Method::DELETE, &format!("/sobjects/Case/{zeta}")))
        .await;
    let fifteen = &made[2][..15];
    assert_eq!(
        subjects(format!("SELECT Subject FROM Case WHERE Id = '{fifteen}'")).await,
        ["gamma"]
    );

    let count = sf
        .query("SELECT COUNT() FROM Case WHERE Priority = 'Low'")
        .await;
    assert_eq!(count, json!({"totalSize": 2, "done": true, "records": []}));

    // queryAll sees the recycle bin; query does not.
    sf.call(sf.api(Method::DELETE, &format!("/sobjects/Case/{}", made[4])))
        .await;
    assert_eq!(
        ids(sf, "SELECT Id FROM Case WHERE Subject = 'epsilon'")
            .await
            .len(),
        0
    );
    let (status, all) = sf
        .call(
            sf.api(
                Method::GET,
                &query_path("SELECT Id, IsDeleted FROM Case WHERE Subject = 'epsilon'")
                    .replace("/query", "/queryAll"),
            ),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(all["records"][0]["IsDeleted"], true);
}

#[tokio::test]
async fn bad_queries_get_the_platform_errors() {
    let sf = start(1).await;
    let sf = &sf;
    let refuse = |soql: &'static str| async move {
        let (status, body) = sf.call(sf.api(Method::GET, &query_path(soql))).await;
        assert_eq!(status, 400, "{soql}: {body}");
        body
    };
    let body = refuse("SELECT Nme FROM Case").await;
    assert_eq!(
        body,
        json!([{"message": "\nSELECT Nme FROM Case\n       ^\nERROR at Row:1:Column:8\nNo such column 'Nme' on entity 'Case'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.", "errorCode": "INVALID_FIELD"}])
    );
    let body = refuse("SELECT Id FROM Foo").await;
    assert_eq!(code(&body), "INVALID_TYPE");
    assert!(body[0]["message"]
        .as_str()
        .unwrap()
        .contains("ERROR at Row:1:Column:16\nsObject type 'Foo' is not supported."));
    let body = refuse("SELECT Id, FROM Case").await;
    assert_eq!(code(&body), "MALFORMED_QUERY");
    assert!(body[0]["message"]
        .as_str()
        .unwrap()
        .ends_with("ERROR at Row:1:Column:12\nunexpected token: 'FROM'"));
    let body = refuse("SELECT Id FROM Case WHERE Subject = 1").await;
    assert!(body[0]["message"].as_str().unwrap().ends_with("value of filter criterion for field 'Subject' must be of type string and should be enclosed in quotes"));
    let body = refuse("SELECT Id FROM Case OFFSET 2001").await;
    assert_eq!(code(&body), "NUMBER_OUTSIDE_VALID_RANGE");
    let body = refuse("SELECT Id, (SELECT Id FROM Nope) FROM Case").await;
    assert_eq!(code(&body), "INVALID_TYPE");
    let (status, body) = sf.call(sf.api(Method::GET, "/query")).await;
    assert_eq!((status, code(&body)), (400, "MALFORMED_QUERY"));
    let (status, body) = sf
        .call(sf.api(Method::GET, "/query/01g5gAAAAAAAAAAAAA-2000"))
        .await;
    assert_eq!((status, code(&body)), (400, "INVALID_QUERY_LOCATOR"));
}

#[tokio::test]
async fn next_records_url_pages_through_25000_records_without_gaps() {
    let sf = start(25_000).await;
    let soql = "SELECT Id, CaseNumber FROM Case ORDER BY CaseNumber";
    let first = sf.query(soql).await;
    assert_eq!(first["totalSize"], 25_000);
    assert_eq!(first["done"], false);
    assert_eq!(
        first["records"].as_array().unwrap().len(),
        2000,
        "default batch size"
    );
    let next = first["nextRecordsUrl"].as_str().unwrap();
    assert!(
        next.starts_with("/services/data/v59.0/query/01g") && next.ends_with("-2000"),
        "{next}"
    );

    // With batchSize=500 from Sforce-Query-Options, follow every page.
    let mut seen = HashSet::new();
    let mut numbers = Vec::new();
    let mut pages = 0;
    let (status, mut page) = sf
        .call(
            sf.api(Method::GET, &query_path(soql))
                .header("Sforce-Query-Options", "batchSize=500"),
        )
        .await;
    assert_eq!(status, 200);
    loop {
        pages += 1;
        for r in page["records"].as_array().unwrap() {
            assert!(
                seen.insert(r["Id"].as_str().unwrap().to_string()),
                "no record twice"
            );
            numbers.push(r["CaseNumber"].as_str().unwrap().to_string());
        }
        if page["done"] == true {
            assert!(page.get("nextRecordsUrl").is_none());
            break;
        }
        let url = page["nextRecordsUrl"].as_str().unwrap().to_string();
        let (status, p) = sf
            .call(sf.raw(Method::GET, &url).bearer_auth(&sf.token))
            .await;
        assert_eq!(status, 200, "{p}");
        page = p;
    }
    assert_eq!(pages, 50);
    assert_eq!(seen.len(), 25_000);
    let mut sorted = numbers.clone();
    sorted.sort();
    assert_eq!(numbers, sorted, "pages keep the ORDER BY");
    // A batch size below the platform's minimum is raised to 200.
    let (_, small) = sf
        .call(
            sf.api(Method::GET, &query_path(soql))
                .header("Sforce-Query-Options", "batchSize=10"),
        )
        .await;
    assert_eq!(small["records"].as_array().unwrap().len(), 200);
}
