//! The accessibility audit of the UI in the real browser (issue 7: WCAG 2.1 AA as the aim):
//! axe-core, the npm package `scripts/test-env` installs pinned into `target/test-tools`, is
//! injected into the page through WebDriver's asynchronous script execution and run with the
//! WCAG 2.0 and 2.1 level A and AA rules; and a form's keyboard order is walked with real Tab
//! key presses.

use std::path::PathBuf;
use std::sync::OnceLock;

use serde_json::{Value, json};

use super::Browser;

/// The rules run: WCAG 2.0 and 2.1, levels A and AA.
const TAGS: [&str; 4] = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"];

/// How many of a violation's elements a report names.
const NODES_SHOWN: usize = 3;

/// axe-core's script, read once.
fn axe_source() -> &'static str {
    static SOURCE: OnceLock<String> = OnceLock::new();
    SOURCE.get_or_init(|| {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../target/test-tools/node_modules/axe-core/axe.min.js");
        std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "{}: {e}; run scripts/test-env, which installs the pinned axe-core there",
                path.display()
            )
        })
    })
}

/// Runs axe-core on the page open in `browser`; returns one line per violation: the rule, its
/// impact, its help text and the first elements' selectors, prefixed with `page`.
pub fn violations(browser: &Browser, page: &str) -> Vec<String> {
    let script = format!(
        "const done = arguments[arguments.length - 1];\n{}\n;\
         window.axe.run(document, {{ runOnly: {{ type: 'tag', values: {} }}, resultTypes: ['violations'] }})\
           .then(r => done(JSON.stringify({{ passes: r.passes.length, violations: r.violations.map(v => ({{\
              id: v.id, impact: v.impact, help: v.help,\
              nodes: v.nodes.slice(0, {NODES_SHOWN}).map(n => n.target.join(' ')), count: v.nodes.length }})) }})))\
           .catch(e => done(JSON.stringify({{ error: String(e) }})));",
        axe_source(),
        json!(TAGS),
    );
    let answer = browser.command(
        "POST",
        "/execute/async",
        Some(json!({ "script": script, "args": [] })),
    );
    let found: Value = serde_json::from_str(answer.as_str().unwrap_or_default())
        .unwrap_or_else(|e| panic!("{page}: axe answered {answer}: {e}"));
    if let Some(error) = found.get("error") {
        panic!("{page}: axe-core failed: {error}");
    }
    // A page on which no rule applied was not audited (e.g. an empty document).
    assert!(
        found["passes"].as_u64().unwrap_or(0) > 0,
        "{page}: axe-core checked nothing: {found}"
    );
    found["violations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            format!(
                "{page}: {} ({}) {} — {} element(s), e.g. {}",
                v["id"].as_str().unwrap_or_default(),
                v["impact"].as_str().unwrap_or("?"),
                v["help"].as_str().unwrap_or_default(),
                v["count"],
                v["nodes"]
                    .as_array()
                    .map(|n| n
                        .iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join(" | "))
                    .unwrap_or_default(),
            )
        })
        .collect()
}

/// Focuses the first control of the form `form` and presses Tab until focus leaves it; returns
/// the controls reached (their ids) and the ones the form has that a keyboard user should
/// reach (every visible, enabled control; of a radio group the checked one), both in order.
pub fn tab_order(browser: &Browser, form: &str) -> (Vec<String>, Vec<String>) {
    let expected: Vec<String> = serde_json::from_value(browser.command(
        "POST",
        "/execute/sync",
        Some(json!({
            "script": "const form = document.querySelector(arguments[0]);\
              const controls = [...form.querySelectorAll('input, select, textarea, button, a[href]')]\
                .filter(c => c.type !== 'hidden' && !c.disabled && c.offsetParent !== null)\
                .filter(c => c.type !== 'radio' || c.checked);\
              controls[0].focus();\
              return controls.map(c => c.id || c.name);",
            "args": [form],
        })),
    ))
    .unwrap();
    let mut reached = vec![active(browser, form).unwrap_or_default()];
    for _ in 0..expected.len() + 2 {
        browser.command(
            "POST",
            "/actions",
            Some(
                json!({ "actions": [{ "type": "key", "id": "keyboard", "actions": [
                    { "type": "keyDown", "value": "\u{E004}" },
                    { "type": "keyUp", "value": "\u{E004}" },
                ]}]}),
            ),
        );
        match active(browser, form) {
            Some(id) => reached.push(id),
            None => break,
        }
    }
    (reached, expected)
}

/// The id (or name) of the focused element while it is inside `form`.
fn active(browser: &Browser, form: &str) -> Option<String> {
    browser
        .command(
            "POST",
            "/execute/sync",
            Some(json!({
                "script": "const a = document.activeElement;\
                  return a && a.closest(arguments[0]) ? (a.id || a.name) : null;",
                "args": [form],
            })),
        )
        .as_str()
        .map(str::to_string)
}
