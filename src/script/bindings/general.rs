//! Assertions, logging, time and the scenario's surroundings: `assert`, `assert_eq`, `log`,
//! `sleep`, `scenario_dir`, `env`.

use crate::script::context::{ScenarioCtx, ScriptResult, script_error};
use crate::script::values::duration_value;
use rhai::{Dynamic, Engine, FnPtr, FuncRegistration, NativeCallContext};
use std::sync::Arc;

pub fn register(engine: &mut Engine, scenario: Arc<ScenarioCtx>) {
    FuncRegistration::new("assert")
        .with_params_info(["condition: bool", "()"])
        .with_comments(["/// Fails the scenario unless `condition` is true."])
        .register_into_engine(engine, |condition: bool| -> ScriptResult<()> {
            if condition {
                Ok(())
            } else {
                script_error("assertion failed")
            }
        });
    FuncRegistration::new("assert")
        .with_params_info(["condition: bool", "message: string", "()"])
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
        .with_params_info(["left: ?", "right: ?", "()"])
        .with_comments(["/// Fails the scenario unless `left == right`, showing both values."])
        .register_into_engine(
            engine,
            |left: Dynamic, right: Dynamic| -> ScriptResult<()> { equal(left, right, None) },
        );
    FuncRegistration::new("assert_eq")
        .with_params_info(["left: ?", "right: ?", "message: string", "()"])
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
    FuncRegistration::new("scenario_dir")
        .with_params_info(["string"])
        .with_comments(["/// The absolute path of the directory this scenario's file is in: where relative paths in\n/// `run_framework` (`cwd`, and the framework's own `MMRUN_SCENARIO_DIR`) and in task `uris`\n/// start from."])
        .register_into_engine(engine, move || -> String { s.dir().display().to_string() });
    FuncRegistration::new("env")
        .with_params_info(["name: string", "?"])
        .with_comments(["/// The value of the environment variable `name` in mmrun's environment, or `()` when it is\n/// not set (e.g. `let image = env(\"SCHEDULER_IMAGE\");`)."])
        .register_into_engine(engine, |name: &str| -> Dynamic {
            std::env::var(name).map(Dynamic::from).unwrap_or(Dynamic::UNIT)
        });
    FuncRegistration::new("env")
        .with_params_info(["name: string", "default: string", "string"])
        .with_comments([
            "/// The value of the environment variable `name`, or `default` when it is not set.",
        ])
        .register_into_engine(engine, |name: &str, default: &str| -> String {
            std::env::var(name).unwrap_or_else(|_| default.to_string())
        });
    let s = scenario.clone();
    FuncRegistration::new("log")
        .with_params_info(["value: ?", "()"])
        .with_comments(["/// Adds a line to the scenario's output (shown when it fails, and in JUnit's system-out)."])
        .register_into_engine(engine, move |value: Dynamic| {
            s.log(value.to_string());
        });
    let s = scenario.clone();
    engine.on_print(move |text| s.log(text.to_string()));
    let s = scenario.clone();
    engine.on_debug(move |text, _, pos| s.log(format!("[debug {pos}] {text}")));
    let s = scenario.clone();
    FuncRegistration::new("wait_until")
        .with_params_info(["condition: Fn() -> bool", "timeout: string", "()"])
        .with_comments([
            "/// Calls `condition` (a closure returning a bool) until it returns true, e.g.\n/// `wait_until(|| c.raw_state().activated_slaves == 2, \"5s\")`. Fails after `timeout`.",
        ])
        .register_into_engine(
            engine,
            move |ctx: NativeCallContext, condition: FnPtr, timeout: Dynamic| -> ScriptResult<()> {
                let limit = duration_value(&timeout, "wait_until")?;
                let step = s.timeline.start_await(format!("wait_until(…, {limit:?})"));
                let result = (|| -> ScriptResult<()> {
                let deadline = std::time::Instant::now() + limit;
                loop {
                    let value: Dynamic = condition.call_within_context(&ctx, ())?;
                    match value.as_bool() {
                        Ok(true) => return Ok(()),
                        Ok(false) => {}
                        Err(t) => return script_error(format!("wait_until: the condition returned {t}, not a bool")),
                    }
                    if std::time::Instant::now() >= deadline {
                        return script_error(format!("wait_until: the condition was still false after {limit:?}"));
                    }
                    s.block(tokio::time::sleep(std::time::Duration::from_millis(10)))?;
                }
                })();
                let end = match (&result, s.cancel.is_cancelled()) {
                    (Ok(()), _) => crate::runner::AwaitEnd::Ok,
                    (Err(_), true) => crate::runner::AwaitEnd::Unfinished,
                    (Err(_), false) => crate::runner::AwaitEnd::Failed,
                };
                s.timeline.end_await(step, end);
                result
            },
        );
    let s = scenario;
    FuncRegistration::new("sleep")
        .with_params_info(["duration: string", "()"])
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
