//! The HTML report of `mmrun run --html` in a real headless Chromium: a failing scenario's
//! timeline renders with its lanes, its task states, the fault the script injected and the
//! failed await marked. The screenshot goes to target/mmrun-artifacts/ui-screenshots/ (a copy
//! is docs/images/report-timeline.png).

use crate::common;

use common::chromium::{Chromium, artifact_path};
use common::workspace::{Workspace, code_and_text};
use std::time::Duration;

/// A scenario that fails where its timeline should show it: the agent under a running task
/// is killed, and the await for the task to finish times out.
const FAILING: &str = r#"let c = cluster();
c.start_master();
let agent = c.add_agent();
let fw = c.submit_framework(#{ name: "web", tasks: [#{ name: "server", cmd: "sleep 600" }] });
c.await_task("server", "TASK_RUNNING");
log("the agent goes down under its task");
agent.kill();
c.await_task("server", "TASK_FINISHED", #{ timeout: "2s" });
"#;

/// A JavaScript expression: the failed scenario's timeline (an `<svg id="timeline-…">`) with
/// `selector` appended is drawn with a size (rendered, not only present).
fn drawn(selector: &str) -> String {
    format!(
        "(() => {{ const e = document.querySelector('svg#timeline-scripts_lost{selector}'); \
         if (!e) return false; const r = e.getBoundingClientRect(); \
         return r.width > 0 || r.height > 0; }})()"
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn the_report_draws_a_failed_scenarios_timeline_with_the_failure_marked() {
    let Some(mut browser) = Chromium::launch_or_skip("HTML report").await else {
        return;
    };
    let w = Workspace::new("mmrun-report-browser-", &["scripts"]);
    std::fs::write(w.path("scripts/lost.rhai"), FAILING).unwrap();
    let out = w
        .mmrun(&["run", "--html", "report.html", "scripts/lost.rhai"])
        .current_dir(w.root())
        .env("MMRUN_BACKEND", "embedded")
        .env_remove("CI")
        .output()
        .unwrap();
    let (code, text) = code_and_text(&out);
    assert_eq!(code, 1, "the scenario must fail: {text}");

    let report = w.path("report.html");
    browser.open(&format!("file://{}", report.display())).await;
    browser
        .wait_for_text("#summary", "1", Duration::from_secs(10))
        .await;
    let status = browser
        .eval("document.querySelector('#scenario-scripts_lost').dataset.status")
        .await;
    assert_eq!(status, "fail");
    for part in [
        ".timeline",
        " [data-lane=\"agent-1\"]",
        " [data-lane=\"web\"]",
        " rect.task.TASK_RUNNING",
        " .fault",
        " rect.await.failed",
    ] {
        browser
            .wait_for(&drawn(part), Duration::from_secs(10))
            .await
            .unwrap_or_else(|e| panic!("{part} is not drawn in the timeline: {e}"));
    }
    // The failure is where the timeline ends: the failed await is the last thing on it.
    let failed_ends_last = browser
        .eval(
            "(() => { const t = document.querySelector('#timeline-scripts_lost'); \
             const f = t.querySelector('rect.await.failed').getBoundingClientRect(); \
             const ends = [...t.querySelectorAll('rect.await')].map(r => r.getBoundingClientRect().right); \
             return f.right >= Math.max(...ends) - 0.5; })()",
        )
        .await;
    assert_eq!(failed_ends_last, true);
    browser
        .call(
            "Runtime.evaluate",
            serde_json::json!({"expression":
            "document.querySelector('#scenario-scripts_lost').scrollIntoView()"}),
        )
        .await;
    browser
        .screenshot(&artifact_path("report-timeline.png"))
        .await;
    w.assert_clean();
}
