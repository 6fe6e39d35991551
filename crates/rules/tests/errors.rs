//! Error messages pinned: the line, column and wording an admin sees for syntax errors,
//! runtime errors and limits.

use serde_json::json;
use std::time::Duration;
use twinsync_rules::{ErrorKind, Limits, RunContext, Script, StaticUsers};

fn compile_errors(src: &str) -> Vec<String> {
    Script::compile("outgoing", src)
        .err()
        .unwrap_or_default()
        .iter()
        .map(ToString::to_string)
        .collect()
}

fn run_error(src: &str) -> twinsync_rules::ScriptError {
    run_error_with(src, Limits::default())
}

fn run_error_with(src: &str, limits: Limits) -> twinsync_rules::ScriptError {
    let users = StaticUsers::default();
    let ctx = RunContext {
        limits,
        lookup: &users,
    };
    let script = Script::compile("incoming", src).unwrap_or_else(|e| panic!("{e:?}"));
    script
        .run_incoming(
            &json!({"entityType": "Case", "Subject": "s"}),
            &json!({"summary": "x"}),
            None,
            true,
            &ctx,
        )
        .expect_err("the script fails")
}

#[test]
fn syntax_errors_name_line_column_and_what_was_expected() {
    assert_eq!(
        compile_errors("replica.summary = entity.short_description\nreplica.status = \n"),
        // A value may continue on the next line after `=`, so the script ends first.
        ["outgoing script, line 3, column 1: syntax error: expected an expression but found the end of the script"]
    );
    assert_eq!(
        compile_errors("if (entity.priority == '1' {\n  replica.priority = 'High'\n}"),
        ["outgoing script, line 1, column 28: syntax error: expected `)` but found `{`"]
    );
    assert_eq!(
        compile_errors("def m = [a: 1, b: 2\nreplica.x = m.a"),
        ["outgoing script, line 2, column 1: syntax error: expected `]` but found `replica`"]
    );
    // Every error of the script, not just the first.
    let all = compile_errors("x = ]\ny = 1\nif (y) {\n z = )\n}\nw = 'open");
    assert_eq!(all.len(), 3, "{all:?}");
    assert!(all[0].contains("line 1, column 5"));
    assert!(all[1].contains("line 4, column 6"));
    assert!(
        all[2].contains("line 6, column 5") && all[2].contains("unterminated string"),
        "{all:?}"
    );
    assert_eq!(
        compile_errors("if (x) {\n  y = 1\n"),
        ["outgoing script, line 3, column 1: syntax error: expected `}` but found the end of the script"]
    );
    assert_eq!(
        compile_errors("else { x = 1 }"),
        ["outgoing script, line 1, column 1: syntax error: `else` without a matching `if`"]
    );
}

#[test]
fn runtime_errors_name_the_script_position_and_the_problem() {
    let e = run_error("def x = entity.missing\nentity.Subject = x.trim()");
    assert_eq!(e.kind, ErrorKind::Runtime);
    assert_eq!(
        e.to_string(),
        "incoming script, line 2, column 19: error: cannot call `trim()` on null (use `?.trim()` when the value may be missing)"
    );
    assert_eq!(
        e.report(),
        "incoming script, line 2, column 19: error: cannot call `trim()` on null (use `?.trim()` when the value may be missing)\n    entity.Subject = x.trim()\n                      ^"
    );
    let e = run_error("entity.Subject = 10 / (replica.count ?: 0)");
    assert_eq!(
        e.to_string(),
        "incoming script, line 1, column 21: error: division by zero"
    );
    let e = run_error("entity.Subject = replica.summary.nope()");
    assert_eq!(
        e.to_string(),
        "incoming script, line 1, column 33: error: a String has no method `nope`"
    );
    let e = run_error("def y = undefinedThing + 1");
    assert!(
        e.to_string()
            .contains("line 1, column 9: error: unknown variable `undefinedThing`"),
        "{e}"
    );
    let e =
        run_error("if (firstSync) {\n  throw new Exception(\"no twin for \" + replica.summary)\n}");
    assert_eq!(e.kind, ErrorKind::Thrown);
    assert_eq!(
        e.to_string(),
        "incoming script, line 2, column 3: uncaught exception: no twin for x"
    );
}

#[test]
fn the_sandbox_refuses_files_processes_and_the_environment() {
    for (src, col) in [
        ("def f = new File('/etc/passwd')", 9),
        ("def h = System.getenv('HOME')", 9),
        ("def p = 'ls'.execute()", 13),
        ("def c = entity.getClass()", 15),
    ] {
        let e = run_error(src);
        assert!(
            e.to_string().contains(&format!("line 1, column {col}")),
            "{src}: {e}"
        );
        assert!(
            e.to_string().contains("not available in sync rules"),
            "{src}: {e}"
        );
    }
}

#[test]
fn limits_fail_with_an_error_naming_the_limit() {
    let e = run_error("while (true) { }");
    assert_eq!(e.kind, ErrorKind::Limit);
    assert!(
        e.to_string().contains("step limit of 1000000 reached"),
        "{e}"
    );
    let e = run_error("def f\nf = { n -> f(n + 1) }\nf(0)");
    assert!(
        e.to_string()
            .contains("recursion depth limit of 200 reached"),
        "{e}"
    );
    let e = run_error("def s = 'ab'\nwhile (true) { s = s + s }");
    assert!(e.to_string().contains("string size limit"), "{e}");
    let e = run_error("def l = []\nwhile (true) { l << 1 }");
    assert!(
        e.to_string()
            .contains("collection size limit of 100000 elements"),
        "{e}"
    );
    let e = run_error_with(
        "while (true) { def x = 1 }",
        Limits {
            max_steps: u64::MAX,
            max_time: Duration::from_millis(50),
            ..Limits::default()
        },
    );
    assert!(e.to_string().contains("time limit"), "{e}");
    // Limits cannot be caught by the script.
    let e = run_error("try { while (true) { } } catch (e) { entity.Subject = 'caught' }");
    assert_eq!(e.kind, ErrorKind::Limit);
}

#[test]
fn repeating_a_string_past_the_limit_is_refused_before_building_it() {
    let e = run_error("def s = 'abc' * 100000000");
    assert_eq!(e.kind, ErrorKind::Limit);
    assert!(
        e.to_string().contains("line 1, column 15") && e.to_string().contains("string size limit"),
        "{e}"
    );
}

#[test]
fn self_containing_lists_and_huge_ranges_do_not_crash() {
    let users = StaticUsers::default();
    let ctx = RunContext {
        limits: Limits::default(),
        lookup: &users,
    };
    let script = Script::compile(
        "outgoing",
        "def a = []; a << a\ndef b = []; b << b\nreplica.same = (a == b)\nreplica.text = a.toString()\nreplica.a = a",
    )
    .unwrap();
    // A replica that contains itself cannot be written out: a clear error, not a hang.
    let e = script.run_outgoing_value(&json!({}), &ctx).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Limit);
    assert!(e.to_string().contains("the replica contains itself"), "{e}");
    let ok = Script::compile("outgoing", "def a = []; a << a\nreplica.text = a.toString()\ndef l = [1]\nfor (i in 0..<30) { l = [l, l] }\nreplica.big = l.toString().size() > 1000").unwrap();
    let r = ok.run_outgoing(&json!({}), &ctx).unwrap();
    assert_eq!(r, json!({"text": "[(this Collection)]", "big": true}));
    let wide = Script::compile(
        "outgoing",
        "def l = [1]\nfor (i in 0..<40) { l = [l, l] }\nreplica.l = l",
    )
    .unwrap();
    assert!(wide
        .run_outgoing(&json!({}), &ctx)
        .unwrap_err()
        .to_string()
        .contains("too large to write out"));
    let e = run_error("def r = (1..1000000000000).collect { it }");
    assert_eq!(e.kind, ErrorKind::Limit);
    assert!(
        e.to_string().contains("line 1, column 11")
            && e.to_string().contains("a range of 1000000000000"),
        "{e}"
    );
    let e = run_error("def r = 1..<-9223372036854775807");
    assert_eq!(e.kind, ErrorKind::Limit);
}

#[test]
fn scripts_that_used_to_crash_now_run_or_fail_cleanly() {
    let users = StaticUsers::default();
    let ctx = RunContext {
        limits: Limits::default(),
        lookup: &users,
    };
    let out = |src: &str| {
        Script::compile("outgoing", src)
            .unwrap_or_else(|e| panic!("{e:?}"))
            .run_outgoing(&json!({}), &ctx)
    };
    let r = out("def d = Date.parse('yyyy-MM-dd', '2024-01-31')\nreplica.a = d.format(\"yyyy-MM-dd'T'HH:mm:ssZ\")\nreplica.b = d.format(\"'100%' yyyy\")\nreplica.c = d.format('yyyy-MM-ddX')").unwrap();
    assert_eq!(
        r,
        json!({"a": "2024-01-31T00:00:00+0000", "b": "100% 2024", "c": "2024-01-31Z"})
    );
    let r = out("def m = [:]\nm[m] = 1\nm.put(m, 2)\nm.remove(m)\ndef l = [[1]]\nl.removeAll([l])\nreplica.n = l.size()").unwrap();
    assert_eq!(r["n"], 1);
    assert!(
        out("def x = -9223372036854775807 - 1\nreplica.v = x / -1").is_ok(),
        "no crash: the quotient becomes a decimal"
    );
    assert_eq!(
        out("def x = -9223372036854775807 - 1\nreplica.v = x % -1").unwrap()["v"],
        0
    );
    assert!(out("def n = 1\nreplica.x = n.ärger")
        .unwrap_err()
        .to_string()
        .contains("has no property `ärger`"));
    assert!(out("def n = 1\nreplica.x = n.\"\"").is_err());
    assert!(out("replica.x = new Date(8210266876799999).plus(1)")
        .unwrap_err()
        .to_string()
        .contains("out of range"));
    let r = out("def l = []\ndef n = 0\nfor (i in 0..<l.size()) n++\nreplica.n = n").unwrap();
    assert_eq!(r["n"], 0, "0..<0 is empty");
    let r = out("def l = (1..40).toList().reverse()\nl << 'NaN'.toDouble()\nl << 'x'\nl << null\nl.sort()\nreplica.first = l.first()\nreplica.last = l.last()").unwrap();
    assert_eq!(r, json!({"first": null, "last": "x"}));
}

#[test]
fn big_results_are_refused_before_they_are_built() {
    for (src, what) in [
        ("def s = 'a' * 4000000\ndef t = s.replace('a', s)", "string size limit"),
        ("def s = 'a' * 4000000\ndef t = s.replaceAll('a', 'bbbb')", "string size limit"),
        ("def a = (0..<50000).toList()\ndef b = []\nfor (i in 0..<100) { b << a }\ndef f = b.flatten()", "collection size limit"),
        ("def s = 'x' * 1000000\ndef l = [s, s, s, s, s]\ndef j = l.join(',')", "string size limit"),
    ] {
        let e = run_error(src);
        assert_eq!(e.kind, ErrorKind::Limit, "{src}: {e}");
        assert!(e.to_string().contains(what), "{src}: {e}");
    }
}

#[test]
fn compound_assignment_evaluates_its_target_once() {
    let users = StaticUsers::default();
    let ctx = RunContext {
        limits: Limits::default(),
        lookup: &users,
    };
    let script = Script::compile(
        "outgoing",
        "def a = [0, 0, 0]\ndef i = 0\na[i++] += 5\na[i++]++\nreplica.a = a\nreplica.i = i",
    )
    .unwrap();
    assert_eq!(
        script.run_outgoing(&json!({}), &ctx).unwrap(),
        json!({"a": [5, 1, 0], "i": 2})
    );
}

#[test]
fn very_deeply_nested_lists_are_released_without_overflowing_the_stack() {
    // Run on a small stack, as a worker thread might have.
    let out = std::thread::Builder::new()
        .stack_size(512 * 1024)
        .spawn(|| {
            let users = StaticUsers::default();
            let ctx = RunContext { limits: Limits::default(), lookup: &users };
            let script = Script::compile(
                "outgoing",
                "def a = []\nfor (i in 0..<70000) { a = [a] }\ndef m = [:]\nfor (i in 0..<70000) { m = [x: m] }\nreplica.done = true",
            )
            .unwrap();
            script.run_outgoing(&json!({}), &ctx).map_err(|e| e.to_string())
        })
        .unwrap()
        .join()
        .expect("no stack overflow");
    assert_eq!(out.unwrap(), json!({"done": true}));
}

#[test]
fn results_nested_too_deeply_are_refused() {
    let users = StaticUsers::default();
    let ctx = RunContext {
        limits: Limits::default(),
        lookup: &users,
    };
    let script = Script::compile(
        "outgoing",
        "def a = []\nfor (i in 0..<1000) { a = [a] }\nreplica.a = a",
    )
    .unwrap();
    let e = script.run_outgoing(&json!({}), &ctx).unwrap_err();
    assert!(
        e.to_string()
            .contains("the replica nests deeper than 64 levels"),
        "{e}"
    );
}

#[test]
fn times_is_identity_and_padding_within_limits() {
    let users = StaticUsers::default();
    let ctx = RunContext {
        limits: Limits::default(),
        lookup: &users,
    };
    let script = Script::compile(
        "outgoing",
        "def n = 0\n3.times { n += it }\ndef a = [1]\ndef b = [1]\nreplica.n = n\nreplica.same = a.is(a)\nreplica.other = a.is(b)\nreplica.equal = (a == b)",
    )
    .unwrap();
    assert_eq!(
        script.run_outgoing(&json!({}), &ctx).unwrap(),
        json!({"n": 3, "same": true, "other": false, "equal": true})
    );
    let e = run_error("def s = ''.padLeft(4194304, '\u{1F600}')");
    assert!(e.to_string().contains("string size limit"), "{e}");
    let e = run_error("1000000000.times { }");
    assert!(e.to_string().contains("collection size limit"), "{e}");
}

#[test]
fn strings_split_into_more_elements_than_the_limit_are_refused() {
    for src in [
        "def s = 'a,' * 200000\ndef l = s.split(',')",
        "def s = 'ab' * 100000\ndef l = s.toList()",
        "def m = [:]\nfor (i in 0..<60000) { m[i] = i }\ndef n = [:]\nfor (i in 60000..<120000) { n[i] = i }\nm.putAll(n)",
    ] {
        let e = run_error(src);
        assert!(e.to_string().contains("collection size limit"), "{src}: {e}");
    }
}

#[test]
fn comparing_hugely_shared_structures_finishes() {
    let users = StaticUsers::default();
    let ctx = RunContext {
        limits: Limits::default(),
        lookup: &users,
    };
    let script = Script::compile(
        "outgoing",
        "def a = [1]\ndef b = [1]\nfor (i in 0..<40) { a = [a, a]; b = [b, b] }\nreplica.same = (a == b)\nreplica.self = (a == a)",
    )
    .unwrap();
    // 2^40 leaves each: the comparison gives up rather than hanging (identity still holds).
    assert_eq!(
        script.run_outgoing(&json!({}), &ctx).unwrap(),
        json!({"same": false, "self": true})
    );
}
