//! Assertions, logging and time: `assert`, `assert_eq`, `log`, `sleep`.

use crate::script::context::{ScenarioCtx, ScriptResult, script_error};
use crate::script::values::duration_value;
use rhai::{Dynamic, Engine, FuncRegistration};
use std::sync::Arc;

pub fn register(engine: &mut Engine, scenario: Arc<ScenarioCtx>) {
    FuncRegistration::new("assert")
        .with_comments(["/// Fails the scenario unless `condition` is true."])
        .register_into_engine(engine, |condition: bool| -> ScriptResult<()> {
            if condition {
                Ok(())
            } else {
                script_error("assertion failed")
            }
        });
    FuncRegistration::new("assert")
        .with_comments(["/// Fails the scenario with `message` unless `condition` is true."])
        .register_into_engine(
            engine,
            |condition: bool, message: &str| -> ScriptResult<()> {
                if condition {
                    Ok(())
                } else {
                    script_error(format!("assertion failed: {message}"))
                }
            },
        );
    FuncRegistration::new("assert_eq")
        .with_comments(["/// Fails the scenario unless `left == right`, showing both values."])
        .register_into_engine(
            engine,
            |left: Dynamic, right: Dynamic| -> ScriptResult<()> { equal(left, right, None) },
        );
    FuncRegistration::new("assert_eq")
        .with_comments([
            "/// Fails the scenario with `message` unless `left == right`, showing both values.",
        ])
        .register_into_engine(
            engine,
            |left: Dynamic, right: Dynamic, message: &str| -> ScriptResult<()> {
                equal(left, right, Some(message))
            },
        );
    let s = scenario.clone();
    FuncRegistration::new("log")
        .with_comments(["/// Adds a line to the scenario's output (shown when it fails, and in JUnit's system-out)."])
        .register_into_engine(engine, move |value: Dynamic| {
            s.log(value.to_string());
        });
    let s = scenario.clone();
    engine.on_print(move |text| s.log(text.to_string()));
    let s = scenario.clone();
    engine.on_debug(move |text, _, pos| s.log(format!("[debug {pos}] {text}")));
    let s = scenario;
    FuncRegistration::new("sleep")
        .with_comments([
            "/// Waits, e.g. `sleep(\"200ms\")`, `sleep(\"2s\")` or `sleep(1)` (seconds).",
        ])
        .register_into_engine(engine, move |duration: Dynamic| -> ScriptResult<()> {
            let d = duration_value(&duration, "sleep")?;
            s.block(tokio::time::sleep(d))
        });
}

fn equal(left: Dynamic, right: Dynamic, message: Option<&str>) -> ScriptResult<()> {
    // Compare as JSON so maps and arrays compare by content and 1 == 1.0.
    let l = crate::script::values::to_json(&left)
        .unwrap_or(serde_json::Value::String(left.to_string()));
    let r = crate::script::values::to_json(&right)
        .unwrap_or(serde_json::Value::String(right.to_string()));
    let same = match (l.as_f64(), r.as_f64()) {
        (Some(a), Some(b)) => a == b,
        _ => l == r,
    };
    if same {
        return Ok(());
    }
    let prefix = message.map(|m| format!("{m}: ")).unwrap_or_default();
    script_error(format!(
        "{prefix}assert_eq failed\n  left:  {}\n  right: {}",
        serde_json::to_string(&l).unwrap_or_default(),
        serde_json::to_string(&r).unwrap_or_default()
    ))
}
