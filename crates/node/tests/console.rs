//! The web console in a real browser (headless Chromium driven through chromedriver),
//! against two nodes and both sandboxes on loopback: log in (a wrong token is refused),
//! initiate on one node and accept the code on the other, add a trigger (a bad query is
//! refused with the platform's reason), publish a rule (one that does not compile is
//! refused with its line), watch the statistics count the twin an urgent incident makes,
//! see the node's info, resolve an error entry, log in as a user with a password and find
//! a viewer refused an operator's action, log out (the session ends on the node too). chromedriver and Chromium come from `scripts/setup-test-deps`.

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;
mod support;

use support::{eventually, sandboxes, SETTLE};
use twinsync_connectors::Platform;
use twinsync_model::RuleDirection;
use twinsync_node::{hash_password, AdminToken, ConsoleUser, Node, Role};
use twinsync_store::Store;

/// chromedriver on a free port, with a headless Chromium session; both end on drop.
struct Browser {
    driver: Child,
    client: Option<Client>,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

async fn browser() -> Browser {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let program = std::env::var("TWINSYNC_CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into());
    let driver = Command::new(&program)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot start {program} ({e}): run scripts/setup-test-deps, which installs chromium and chromium-driver")
        });
    let mut browser = Browser {
        driver,
        client: None,
    };
    let mut args = vec![
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1400,1000",
    ];
    args.push("--disable-extensions");
    let caps = json!({"goog:chromeOptions": {"args": args}});
    let caps = caps.as_object().unwrap().clone();
    let url = format!("http://127.0.0.1:{port}");
    let mut last = None;
    for _ in 0..100 {
        match ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps.clone())
            .connect(&url)
            .await
        {
            Ok(c) => {
                browser.client = Some(c);
                return browser;
            }
            Err(e) => last = Some(e),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("chromedriver did not start a Chromium session: {last:?}");
}

impl Browser {
    fn c(&self) -> &Client {
        self.client.as_ref().unwrap()
    }

    async fn text(&self, css: &str) -> String {
        match self.c().find(Locator::Css(css)).await {
            Ok(e) => e.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        }
    }

    /// Waits (up to 20 s) until the element's text contains `needle`.
    async fn wait_text(&self, css: &str, needle: &str) -> String {
        for _ in 0..200 {
            let t = self.text(css).await;
            if t.contains(needle) {
                return t;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "{css} never showed {needle:?}; it shows {:?} (message: {:?})",
            self.text(css).await,
            self.text("#message").await
        );
    }

    async fn fill(&self, css: &str, value: &str) {
        let e = self.c().find(Locator::Css(css)).await.unwrap();
        e.clear().await.unwrap();
        e.send_keys(value).await.unwrap();
    }

    async fn click(&self, css: &str) {
        self.c()
            .find(Locator::Css(css))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
    }

    /// Opens the node's console with nothing remembered, as a new visitor would see it.
    async fn fresh(&self, node: &Node) {
        self.c()
            .goto(&format!("{}/console/", node.url()))
            .await
            .unwrap();
        self.c()
            .execute("sessionStorage.clear()", Vec::new())
            .await
            .unwrap();
        self.c().refresh().await.unwrap();
    }

    async fn login(&self, node: &Node, token: &str) {
        self.fresh(node).await;
        self.fill("#login-token", token).await;
        self.click("#login-form button").await;
    }

    /// Logs in as a console user with a password.
    async fn login_user(&self, node: &Node, user: &str, password: &str) {
        self.fresh(node).await;
        self.fill("#login-user", user).await;
        self.fill("#login-password", password).await;
        self.click("#login-form button").await;
    }

    async fn tab(&self, tab: &str) {
        self.click(&format!("a[data-tab='{tab}']")).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_runs_a_connection_from_a_browser() {
    let dir = tempfile::tempdir().unwrap();
    let (snb, sfb) = sandboxes(0, 0).await;
    let sn_node = support::node_with_users(
        "acme-servicenow",
        Arc::new(support::sn_integration(snb.base_url())),
        &dir,
        vec![AdminToken::new("ann", "ann-token", Role::Admin)],
        vec![ConsoleUser {
            name: "vic".into(),
            password_hash: hash_password("vic's password").unwrap(),
            role: Role::Viewer,
        }],
        std::time::Duration::from_millis(150),
    )
    .await;
    let sf_node = support::node(
        "acme-salesforce",
        Arc::new(support::sf_integration(sfb.base_url())),
        &dir,
        vec![AdminToken::new("bob", "bob-token", Role::Admin)],
    )
    .await;
    let b = browser().await;

    // A wrong token is refused; the right one opens the console.
    b.login(&sn_node, "not-a-token").await;
    b.wait_text("#message", "the token was refused").await;
    b.login(&sn_node, "ann-token").await;
    b.wait_text("#message", "logged in as ann").await;
    b.wait_text("#node-name", "acme-servicenow").await;

    // Initiate here.
    b.fill("#initiate-form [name=remote_url]", sf_node.url())
        .await;
    b.fill("#initiate-form [name=name]", "support-sales").await;
    b.click("#initiate-form button").await;
    b.wait_text("#message", "support-sales is pending").await;
    let code = b
        .c()
        .find(Locator::Css("#invitation-code"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap()
        .unwrap();
    assert!(code.len() > 100, "{code}");
    b.wait_text("#connections-table", "pending").await;

    // Accept on the other node's console.
    b.login(&sf_node, "bob-token").await;
    b.wait_text("#message", "logged in as bob").await;
    b.fill("#accept-form [name=code]", &code).await;
    b.click("#accept-form button").await;
    b.wait_text("#message", "support-sales is active").await;
    b.wait_text("#connections-table", "active").await;
    let id = sf_node.store().connections().await.unwrap()[0]
        .spec
        .id
        .clone();

    // Back on the first node (its tab keeps its own token): triggers.
    b.login(&sn_node, "ann-token").await;
    b.wait_text("#connections-table", "active").await;
    b.tab("triggers").await;
    b.fill("#trigger-form [name=entity_type]", "incident").await;
    b.fill("#trigger-form [name=query]", "no_such_field=1")
        .await;
    b.click("#trigger-form button").await;
    b.wait_text("#message", "no_such_field").await;
    b.fill("#trigger-form [name=query]", "urgency=1").await;
    b.click("#trigger-form button").await;
    b.wait_text("#message", "added").await;
    b.wait_text("#triggers-table", "urgency=1").await;

    // Rules: the default shows; a rule that does not compile is refused; one that does is
    // published as version 1.
    b.tab("rules").await;
    b.wait_text("#outgoing-form .rule-version", "default rule")
        .await;
    b.fill("#outgoing-form textarea", "replica.summary = (")
        .await;
    b.click("#outgoing-form button").await;
    b.wait_text("#message", "line 1").await;
    b.fill(
        "#outgoing-form textarea",
        "replica.summary = entity.short_description\nreplica.description = entity.description\nreplica.priority = entity.urgency == \"1\" ? \"high\" : \"low\"\n",
    )
    .await;
    b.click("#outgoing-form button").await;
    b.wait_text("#message", "outgoing rule version 1 published")
        .await;
    b.wait_text("#outgoing-form .rule-version", "version 1 by ann")
        .await;

    // An urgent incident syncs; the statistics count its twin.
    let sn_person = support::sn_connector(snb.base_url(), "admin", SETTLE);
    sn_person
        .create(
            "incident",
            "console-1",
            json!({"short_description": "Seen in the console", "urgency": "1"})
                .as_object()
                .unwrap(),
        )
        .await
        .unwrap();
    b.tab("statistics").await;
    eventually("the twin in the statistics", || async {
        b.c().refresh().await.ok()?;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let twins = b.text("[data-measure='Twins']").await;
        (twins == "1").then_some(())
    })
    .await;
    b.wait_text("#statistics", "incident").await;

    // Info.
    b.tab("info").await;
    b.wait_text("#info", "acme-servicenow").await;
    b.wait_text("#info", "ServiceNow").await;
    b.wait_text("#info", "Push").await;

    // An error entry on the other node, resolved from its console.
    sf_node
        .publish_rule(
            &id,
            RuleDirection::Incoming,
            "entity.entityType = \"Case\"\nif (replica.summary.contains(\"boom\")) {\n    def nothing = null\n    nothing.size()\n}\nentity.Subject = replica.summary\n",
            "test",
        )
        .await
        .unwrap();
    sn_person
        .create(
            "incident",
            "console-2",
            json!({"short_description": "boom in the console", "urgency": "1"})
                .as_object()
                .unwrap(),
        )
        .await
        .unwrap();
    eventually("the error entry", || async {
        let open = sf_node.store().open_errors(None).await.ok()?;
        (!open.is_empty()).then_some(())
    })
    .await;
    b.login(&sf_node, "bob-token").await;
    b.wait_text("#message", "logged in as bob").await;
    b.tab("errors").await;
    b.wait_text("#errors-table", "line 4").await;
    b.click("#errors-table tbody tr button:nth-of-type(2)")
        .await;
    b.wait_text("#message", "resolved").await;
    b.wait_text("#no-errors", "No open errors").await;
    assert!(sf_node.store().open_errors(None).await.unwrap().is_empty());

    // A user logs in with a password (a wrong one is refused); a viewer sees but may not
    // act; logging out ends the session on the node too.
    b.login_user(&sn_node, "vic", "not vic's password").await;
    b.wait_text("#message", "wrong user name or password").await;
    b.login_user(&sn_node, "vic", "vic's password").await;
    b.wait_text("#message", "logged in as user:vic").await;
    b.wait_text("#connections-table", "support-sales").await;
    b.click("#connections-table tbody tr button").await;
    b.wait_text("#message", "user `vic` is a viewer; this needs operator")
        .await;
    let session = b
        .c()
        .execute(
            "return sessionStorage.getItem('twinsync-token')",
            Vec::new(),
        )
        .await
        .unwrap();
    let session = session.as_str().unwrap().to_string();
    let listed = |token: String| {
        let url = format!("{}/api/v1/connections", sn_node.url());
        async move {
            reqwest::Client::new()
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(listed(session.clone()).await, 200);
    b.click("#logout").await;
    b.wait_text("#message", "logged out").await;
    assert_eq!(listed(session).await, 401);
    assert!(b
        .c()
        .find(Locator::Css("#login-view"))
        .await
        .unwrap()
        .is_displayed()
        .await
        .unwrap());

    // Deleting asks for the connection's name.
    b.login(&sn_node, "ann-token").await;
    b.wait_text("#connections-table", "support-sales").await;
    let delete = "#connections-table tbody tr button:nth-of-type(2)";
    b.click(delete).await;
    b.c().send_alert_text("something else").await.unwrap();
    b.c().accept_alert().await.unwrap();
    b.wait_text("#message", "nothing deleted").await;
    b.click(delete).await;
    b.c().send_alert_text("support-sales").await.unwrap();
    b.c().accept_alert().await.unwrap();
    b.wait_text("#message", "support-sales deleted").await;
    assert!(sn_node.store().connections().await.unwrap().is_empty());
    drop(b);
}
