//! docs/script-api.md, generated from the engine's own metadata (names, parameters, doc
//! comments), so the reference cannot drift from what scripts can call. `cargo test` fails when
//! the checked-in file is stale; `mmrun script-api > docs/script-api.md` regenerates it.

use serde_json::Value;
use std::collections::BTreeMap;

const RECEIVERS: [&str; 4] = ["Cluster", "Master", "Agent", "Framework"];

const INTRO: &str = "# Script API reference

Generated from mmrun's scripting engine by `mmrun script-api`; do not edit by hand (`cargo test`
fails when this file is stale). Scenarios are [Rhai](https://rhai.rs) scripts: `let`, `fn`,
`if`, `for`, closures `|x| …`, maps `#{ key: value }` and arrays `[…]` work as in Rhai's book.

A typical scenario:

```rhai
let c = cluster();
c.start_master();
c.add_agent(#{ resources: \"cpus:2;mem:1024\" });
c.submit_framework(#{ name: \"hello\", tasks: [#{ name: \"greet\", cmd: \"echo hi\" }] });
let task = c.await_task(\"greet\", \"TASK_FINISHED\");
assert_eq(task.agent, \"agent-1\");
snapshot(\"final\", c.state());
```

Task states are Mesos's names (`TASK_RUNNING`, `TASK_FINISHED`, …; the `TASK_` prefix may be
left out). Durations are strings such as `\"200ms\"`, `\"10s\"`, `\"2m\"` or Mesos's `\"15secs\"`.
Option maps refuse unknown keys, so a typo is an error rather than a silently ignored option.
";

fn param_text(p: &Value) -> String {
    let name = p["name"].as_str().unwrap_or("_");
    let ty = p["type"].as_str().unwrap_or("?");
    if name == "_" {
        ty.to_string()
    } else {
        format!("{name}: {ty}")
    }
}

/// One registered function: its name, which receiver section it belongs to (0: plain
/// functions, then [`RECEIVERS`] from 1), and its signature as scripts write the call
/// (`c.add_agent(options: map) -> Agent`).
struct Signature {
    name: String,
    section: usize,
    text: String,
}

fn signature(f: &Value) -> Signature {
    let name = f["name"].as_str().unwrap_or_default();
    let params: Vec<&Value> = f["params"]
        .as_array()
        .map(|a| a.iter().collect())
        .unwrap_or_default();
    let receiver = params
        .first()
        .and_then(|p| p["type"].as_str())
        .and_then(|t| {
            RECEIVERS
                .iter()
                .position(|r| *r == t.trim_start_matches("&mut "))
        });
    let ret = f["returnType"]
        .as_str()
        .filter(|r| *r != "()")
        .map(|r| format!(" -> {r}"))
        .unwrap_or_default();
    let text = match receiver {
        Some(_) => {
            let recv = params[0]["name"].as_str().unwrap_or("x");
            let rest: Vec<String> = params[1..].iter().map(|p| param_text(p)).collect();
            format!("{recv}.{name}({}){ret}", rest.join(", "))
        }
        None => {
            let all: Vec<String> = params.iter().map(|p| param_text(p)).collect();
            format!("{name}({}){ret}", all.join(", "))
        }
    };
    Signature {
        name: name.to_string(),
        section: receiver.map_or(0, |i| i + 1),
        text,
    }
}

fn functions(engine: &rhai::Engine) -> Vec<Value> {
    // Rhai writes its own metadata structs (strings and lists, no maps with other keys), and
    // serde_json reads back what serde_json wrote; `mmrun`'s docs test runs both.
    let json = engine
        .gen_fn_metadata_to_json(false)
        .expect("metadata serialises");
    let mut meta: Value = serde_json::from_str(&json).expect("metadata is JSON");
    match meta["functions"].take() {
        Value::Array(functions) => functions,
        _ => Vec::new(),
    }
}

/// Every registered function's (name, signature as in the reference), for error hints.
pub fn signatures(engine: &rhai::Engine) -> Vec<(String, String)> {
    let mut all: Vec<(String, String)> = functions(engine)
        .iter()
        .map(signature)
        .map(|s| (s.name, s.text))
        .collect();
    all.sort();
    all.dedup();
    all
}

pub fn markdown(engine: &rhai::Engine) -> String {
    let mut sections: BTreeMap<usize, Vec<(String, String)>> = BTreeMap::new();
    for f in functions(engine) {
        let Signature { section, text, .. } = signature(&f);
        let doc = f["docComments"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|d| d.as_str())
            .flat_map(|d| d.lines())
            .map(|l| l.trim_start_matches("///").trim())
            .collect::<Vec<_>>()
            .join(" ");
        sections.entry(section).or_default().push((text, doc));
    }
    let mut out = String::from(INTRO);
    for (index, mut entries) in sections {
        entries.sort();
        let title = if index == 0 {
            "Functions".to_string()
        } else {
            RECEIVERS[index - 1].to_string()
        };
        out.push_str(&format!("\n## {title}\n\n"));
        for (signature, doc) in entries {
            out.push_str(&format!("### `{signature}`\n\n{doc}\n\n"));
        }
    }
    out.trim_end().to_string() + "\n"
}
