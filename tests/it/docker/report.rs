//! The HTML report of a run on the Docker backend: the observer reads the master in its
//! container as it reads an embedded one, so a failed scenario's timeline shows the agent's
//! and the framework's lanes, task states, the fault and the failed await; the failed
//! scenario's artifacts hold its own page.

use crate::common;
use common::workspace::{Workspace, code_and_text};

#[test]
fn a_docker_runs_report_shows_the_failed_scenarios_timeline() {
    if !common::docker::docker_available("the HTML report of a Docker run") {
        return;
    }
    let w = Workspace::new("mmrun-docker-report-", &["scripts"]);
    std::fs::write(
        w.path("scripts/lost.rhai"),
        r#"let c = cluster();
c.start_master();
let agent = c.add_agent();
let fw = c.submit_framework(#{ name: "web", tasks: [#{ name: "server", cmd: "sleep 600" }] });
c.await_task("server", "TASK_RUNNING");
agent.kill();
c.await_task("server", "TASK_FINISHED", #{ timeout: "3s" });
"#,
    )
    .unwrap();
    let out = w
        .mmrun(&[
            "run",
            "--backend",
            "docker",
            "--html",
            "report.html",
            "scripts/lost.rhai",
        ])
        .current_dir(w.root())
        .env_remove("CI")
        .output()
        .unwrap();
    let (code, text) = code_and_text(&out);
    assert_eq!(code, 1, "the scenario must fail: {text}");
    let html = std::fs::read_to_string(w.path("report.html")).unwrap();
    for part in [
        r#"id="scenario-scripts_lost" data-status="fail""#,
        r#"<svg class="timeline" id="timeline-scripts_lost""#,
        r#"class="lane agent" data-lane="agent-1""#,
        r#"class="lane framework" data-lane="web""#,
        r#"class="task TASK_RUNNING""#,
        r#"class="fault""#,
        r#"<rect class="await failed""#,
    ] {
        assert!(html.contains(part), "no {part} in the report:\n{html}");
    }
    let page = w.path("target/mmrun-artifacts/scripts_lost/report.html");
    assert!(page.exists(), "no {}: {text}", page.display());
    w.assert_clean();
}
