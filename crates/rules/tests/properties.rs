//! The lexer, parser and evaluator never panic, on any input: random text, random token
//! soup, and random (often nonsensical) programs run within tight limits.

use proptest::prelude::*;
use std::time::Duration;
use twinsync_rules::{Limits, RunContext, Script, StaticUsers};

const TOKENS: &[&str] = &[
    "def",
    "x",
    "y",
    "it",
    "entity",
    "replica",
    "issue",
    "comments",
    "=",
    "==",
    "!=",
    "+",
    "-",
    "*",
    "/",
    "%",
    "**",
    "?.",
    "*.",
    ".",
    "?:",
    "?",
    ":",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    ",",
    ";",
    "\n",
    "->",
    "<<",
    "..",
    "..<",
    "=~",
    "==~",
    "&&",
    "||",
    "!",
    "in",
    "as",
    "String",
    "if",
    "else",
    "for",
    "while",
    "switch",
    "case",
    "default",
    "break",
    "continue",
    "return",
    "try",
    "catch",
    "finally",
    "throw",
    "new",
    "Exception",
    "1",
    "0",
    "-1",
    "2.5",
    "'a'",
    "\"b${x}\"",
    "\"$x.y\"",
    "'''m\nl'''",
    "null",
    "true",
    "false",
    "collect",
    "each",
    "findAll",
    "size",
    "trim",
    "split",
    "join",
    "sort",
    "++",
    "--",
    "+=",
    "[:]",
    "[]",
    "intdiv",
    "toInteger",
];

fn limits() -> Limits {
    Limits {
        max_steps: 5_000,
        max_depth: 50,
        max_string_bytes: 64 * 1024,
        max_collection: 10_000,
        max_time: Duration::from_millis(500),
    }
}

fn run_all(src: &str) {
    let users = StaticUsers::default();
    let ctx = RunContext {
        limits: limits(),
        lookup: &users,
    };
    if let Ok(script) = Script::compile("outgoing", src) {
        let entity = serde_json::json!({"entityType": "Case", "Subject": "s", "comments": [{"id": 1, "body": "b"}]});
        let _ = script.run_outgoing(&entity, &ctx);
        let _ = script.run_incoming(&entity, &entity, Some(&entity), true, &ctx);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1500))]

    #[test]
    fn arbitrary_text_never_panics(src in ".{0,200}") {
        run_all(&src);
    }

    #[test]
    fn token_soup_never_panics(tokens in proptest::collection::vec(proptest::sample::select(TOKENS), 0..60)) {
        run_all(&tokens.join(" "));
    }
}

#[test]
fn deep_nesting_and_endless_loops_are_errors_not_crashes() {
    for src in [
        "(".repeat(100_000),
        format!("x = {}1{}", "[".repeat(50_000), "]".repeat(50_000)),
        format!("x = {}", "!".repeat(100_000)),
        "while (true) { }".to_string(),
        "def f = null; f = { n -> f(n + 1) }; f(0)".to_string(),
        "def s = 'ab'; while (true) { s = s + s }".to_string(),
        "def l = []; while (true) { l << 1 }".to_string(),
        "for (i in 1..1000000000000) { }".to_string(),
    ] {
        run_all(&src);
    }
}
