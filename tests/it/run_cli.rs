//! `mmrun run` as users meet it: the binary, real scenario files, exit codes, reports,
//! snapshots and cleanup. Each test works in its own temporary directory (also TMPDIR, so any
//! file a cluster leaves behind would be seen).

use crate::common;
use crate::common::WaitFor;
use crate::common::workspace::{Workspace, code_and_text};
use mmrun::wait::Look;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The runner as users meet it: scenarios written into `scripts/`, run from the workspace on
/// in-process clusters (these tests are about the runner, and check TMPDIR for leftovers; the
/// Docker backend has its own tests).
struct Cli(Workspace);

impl std::ops::Deref for Cli {
    type Target = Workspace;
    fn deref(&self) -> &Workspace {
        &self.0
    }
}

impl Cli {
    fn new() -> Cli {
        Cli(Workspace::new("mmrun-cli-test-", &["scripts"]))
    }

    fn script(&self, name: &str, text: &str) -> &Self {
        std::fs::write(self.path(&format!("scripts/{name}")), text).unwrap();
        self
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = self.mmrun(args);
        cmd.current_dir(self.root())
            .env_remove("CI")
            .env("MMRUN_BACKEND", "embedded");
        cmd
    }

    fn run(&self, args: &[&str]) -> (i32, String) {
        code_and_text(&self.command(args).output().unwrap())
    }
}

const PASSING: &str = r#"
let c = cluster();
c.start_master();
c.add_agent();
c.submit_framework(#{ name: "fw", tasks: [#{ name: "t", cmd: "true" }] });
c.await_task("t", "TASK_FINISHED");
"#;

#[test]
fn the_shipped_scenarios_pass_on_ci_with_their_committed_snapshots() {
    shipped_scenarios_pass_on("embedded", "http");
}

/// The same scenarios, the same snapshots, every node a container.
#[test]
fn the_shipped_scenarios_pass_on_docker_with_the_same_snapshots() {
    if !common::docker::docker_available("the shipped scenarios on Docker") {
        return;
    }
    shipped_scenarios_pass_on("docker", "http");
}

/// Every framework a scenario submits speaks as the Mesos scheduler driver (libprocess)
/// instead of the v1 API: the master must treat both alike, to the same snapshots.
#[test]
fn the_shipped_scenarios_give_the_same_snapshots_over_the_driver_api() {
    shipped_scenarios_pass_on("embedded", "driver");
}

#[test]
fn the_shipped_scenarios_give_the_same_snapshots_over_the_driver_api_on_docker() {
    if !common::docker::docker_available("the shipped scenarios over the driver API on Docker") {
        return;
    }
    shipped_scenarios_pass_on("docker", "driver");
}

/// The scale scenario (2 000 simulated agents, 4 000 tasks) takes seconds in a release build
/// but minutes in the debug build tests run: it runs once, on its own test, not in every
/// pass over the shipped scenarios (its framework pins the v1 API, so the driver passes
/// would repeat it identically).
const SCALE_SCENARIO: &str = "scale_rack_partition";

#[test]
fn the_shipped_scale_scenario_places_partitions_and_heals_to_its_snapshot() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(env!("CARGO_BIN_EXE_mmrun"))
        .args(["run", &format!("scripts/{SCALE_SCENARIO}.rhai")])
        .args(["--backend", "embedded", "--timeout", "600s"])
        .current_dir(root)
        .env("CI", "true")
        .env("NO_COLOR", "1")
        .env_remove("INSTA_UPDATE")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("PASS ["), "{stdout}");
}

fn shipped_scenarios_pass_on(backend: &str, framework_api: &str) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(env!("CARGO_BIN_EXE_mmrun"))
        .args([
            "run",
            "scripts",
            "--backend",
            backend,
            "--framework-api",
            framework_api,
            "--skip",
            SCALE_SCENARIO,
        ])
        .current_dir(root)
        .env("CI", "true")
        .env("NO_COLOR", "1")
        .env_remove("INSTA_UPDATE")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("PASS ["), "{stdout}");
    assert!(stdout.contains("scenarios run:"), "{stdout}");
    assert!(!stdout.contains("FAIL"), "{stdout}");
    // The HA scenarios skip without ZooKeeper; where it is required (CI) they must run.
    if std::env::var("MMRUN_REQUIRE_ZOOKEEPER").is_ok_and(|v| v == "1") {
        for scenario in [
            "leader_failover",
            "agent_follows_new_leader",
            "zookeeper_restart",
        ] {
            let passed = stdout
                .lines()
                .any(|l| l.contains("PASS [") && l.contains(&format!("scripts/{scenario}.rhai")));
            assert!(passed, "{scenario} did not pass on {backend}: {stdout}");
        }
    }
}

#[test]
fn a_failing_assertion_shows_file_line_column_and_exits_1() {
    let w = Cli::new();
    w.script(
        "bad.rhai",
        "let c = cluster();\nc.start_master();\nassert(1 == 2, \"one is not two\");\n",
    );
    let (code, out) = w.run(&["run"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("FAIL ["), "{out}");
    assert!(out.contains("assertion failed: one is not two"), "{out}");
    assert!(out.contains("scripts/bad.rhai:3:1"), "{out}");
    assert!(out.contains("3 | assert(1 == 2"), "{out}");
    w.assert_clean();
}

/// What a scenario said with `log()` and `print()` is shown when it fails, not only in JUnit.
#[test]
fn a_failing_scenario_shows_its_log_and_print_lines() {
    let w = Cli::new();
    w.script(
        "talks.rhai",
        "log(\"checking the offers\");\nprint(\"printed 42\");\nassert(false, \"no offer\");\n",
    );
    let (code, out) = w.run(&["run"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(
            "script log:\n                checking the offers\n                printed 42\n"
        ),
        "{out}"
    );
}

/// Runs one scenario on the embedded backend; its exit code and output.
fn run_one(script: &str) -> (i32, String) {
    let w = Cli::new();
    w.script("s.rhai", script);
    let result = w.run(&["run"]);
    w.assert_clean();
    result
}

/// A task still waiting for an offer ends TASK_KILLED at once when killed, as Mesos's master
/// reports a task killed before delivery to the agent, so awaiting it works.
#[test]
fn killing_a_queued_task_ends_it_killed_as_mesos_reports_it() {
    let (code, out) = run_one(
        r#"let c = cluster(#{ agents: 1 });
let fw = c.submit_framework(#{ name: "fw", tasks: [#{ name: "huge", cmd: "true", cpus: 64 }] });
fw.kill("huge");
let t = fw.await_task("huge", "TASK_KILLED", #{ timeout: "5s" });
assert_eq(t.states, ["TASK_KILLED"]);
assert_eq(t.reason, "REASON_TASK_KILLED_DURING_LAUNCH");
assert_eq(t.message, "Killed before delivery to the agent");
assert_eq(c.await_task("huge", "KILLED").state, "TASK_KILLED");
"#,
    );
    assert_eq!(code, 0, "{out}");
}

#[test]
fn a_second_task_with_a_taken_name_is_refused() {
    let (code, out) = run_one(
        r#"let c = cluster(#{ agents: 1 });
let fw = c.submit_framework(#{ name: "fw", tasks: [#{ name: "t", cmd: "sleep 600" }] });
fw.await_task("t", "TASK_RUNNING");
fw.launch(#{ name: "t", cmd: "true" });
"#,
    );
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("launch: framework 'fw' already has a task named 't' (TASK_RUNNING)"),
        "{out}"
    );
    assert!(out.contains("scripts/s.rhai:4:4"), "{out}");
    let (code, out) = run_one(
        r#"let c = cluster(#{ agents: 1 });
c.submit_framework(#{ name: "fw", tasks: [#{ name: "a", cmd: "true" }, #{ name: "a", cmd: "true" }] });
"#,
    );
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("submit_framework: framework 'fw' already has a task named 'a':"),
        "{out}"
    );
}

/// After a master restart mmrun's framework subscribes again with its id: calls on its handle
/// reach the new master and act (they neither fail nor vanish).
#[test]
fn a_framework_subscribes_again_after_a_master_restart_and_its_calls_act() {
    let (code, out) = run_one(
        r#"let c = cluster(#{ agents: 1 });
let fw = c.submit_framework(#{ name: "fw", tasks: [#{ name: "t", cmd: "sleep 600" }] });
fw.await_task("t", "TASK_RUNNING");
c.restart_master();
c.await_framework("fw", "active");
// The new master learns the task when the agent re-registers; a kill before that is
// answered as Mesos answers a kill of a task it does not know.
wait_until(|| { let s = c.raw_state(); s.frameworks.len() == 1 && s.frameworks[0].tasks.len() == 1 }, "10s");
fw.kill("t");
fw.await_task("t", "TASK_KILLED");
fw.launch(#{ name: "u", cmd: "true" });
fw.await_task("u", "TASK_FINISHED");
"#,
    );
    assert_eq!(code, 0, "{out}");
}

/// Scripts call the first agent `agent-1`; messages never call it `agent 0` too.
#[test]
fn agent_errors_name_the_agent_as_the_script_does() {
    let (code, out) =
        run_one("let c = cluster(#{ agents: 1 });\nlet a = c.agents()[0];\na.start();\n");
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("agent-1.start(): the agent is already running"),
        "{out}"
    );
    assert!(!out.contains("agent 0"), "{out}");
    let (code, out) =
        run_one("let c = cluster(#{ agents: 1 });\nlet a = c.agents()[0];\na.stop();\na.stop();\n");
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("agent-1.stop(): the agent is not running"),
        "{out}"
    );
    assert!(!out.contains("agent 0"), "{out}");
}

/// Hints for the mistakes people make: a wrong argument type shows the signatures, a
/// misspelt property and a misspelt state get a suggestion, another word gets the list.
#[test]
fn script_mistakes_get_hints_that_fit() {
    let (code, out) = run_one("let c = cluster();\nc.start_master();\nc.add_agent(\"cpus:2\");\n");
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("`add_agent` does not take these arguments: (Cluster, string)"),
        "{out}"
    );
    assert!(out.contains("c.add_agent(options: map) -> Agent"), "{out}");
    let (code, out) = run_one(
        r#"let c = cluster(#{ agents: 1 });
let fw = c.submit_framework(#{ name: "fw", tasks: [#{ name: "t", cmd: "true" }] });
let t = fw.await_task("t", "TASK_FINSHED");
"#,
    );
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("did you mean \"TASK_FINISHED\"?"), "{out}");
    let (code, out) = run_one(
        r#"let c = cluster(#{ agents: 1 });
let fw = c.submit_framework(#{ name: "fw", tasks: [#{ name: "t", cmd: "true" }] });
let t = fw.await_task("t", "TASK_DONE");
"#,
    );
    assert_eq!(code, 1, "{out}");
    assert!(!out.contains("TASK_GONE\"?"), "{out}");
    assert!(out.contains("the states are TASK_STAGING"), "{out}");
    let (code, out) = run_one(
        r#"let c = cluster(#{ agents: 1 });
let fw = c.submit_framework(#{ name: "fw", tasks: [#{ name: "t", cmd: "true" }] });
let t = fw.await_task("t", "TASK_FINISHED");
log(t.mesage);
"#,
    );
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("help: did you mean `message`?"), "{out}");
}

/// On the embedded backend a failure saves each node's log (filed per node although the nodes
/// share mmrun's process), the master's state and each agent's, and the report says so.
#[test]
fn embedded_failure_artifacts_hold_every_nodes_log_and_state() {
    let w = Cli::new();
    w.script(
        "s.rhai",
        r#"let c = cluster(#{ agents: 2 });
let fw = c.submit_framework(#{ name: "fw", tasks: [#{ name: "t", cmd: "sleep 600" }] });
let t = fw.await_task("t", "TASK_RUNNING");
let idle = if t.agent == "agent-1" { c.agents()[1] } else { c.agents()[0] };
idle.pause();
assert(false, "look at the artifacts");
"#,
    );
    let started = Instant::now();
    let (code, out) = w.run(&["run"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(
            "artifacts (node logs, master state, agent states, report.html): target/mmrun-artifacts/scripts_s"
        ),
        "{out}"
    );
    let dir = w.path("target/mmrun-artifacts/scripts_s/cluster-1");
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap();
    assert!(read("master-state.json").contains("\"fw\""));
    let agents = [read("agent-1-state.json"), read("agent-2-state.json")];
    // The task's agent shows it; the other, paused, says why it has nothing to show.
    let busy: Vec<bool> = agents.iter().map(|a| a.contains("\"t.0\"")).collect();
    assert_eq!(busy.iter().filter(|b| **b).count(), 1, "{agents:?}");
    let idle = &agents[usize::from(busy[0])];
    assert!(idle.contains("the agent is paused"), "{idle}");
    // Each node's own lines, and only its own.
    let master_log = read("master.log");
    assert!(master_log.contains("INFO"), "{master_log}");
    assert!(master_log.contains("(fw) subscribed"), "{master_log}");
    for agent in ["agent-1.log", "agent-2.log"] {
        let log = read(agent);
        assert!(log.contains("agent registered as"), "{agent}: {log}");
        assert!(
            !log.contains("subscribed"),
            "{agent} holds the master's lines: {log}"
        );
    }
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
    w.assert_clean();
}

/// Faults that do not apply fail the scenario with the agent's name and the call; a scenario
/// that ends with an agent paused or cut off still leaves nothing behind.
#[test]
fn fault_calls_that_do_not_apply_name_the_agent() {
    let w = Cli::new();
    w.script(
        "unpause.rhai",
        "let c = cluster();\nc.start_master();\nlet a = c.add_agent();\na.disconnect();\na.pause();\na.unpause();\na.unpause();\n",
    );
    w.script(
        "killed.rhai",
        "let c = cluster();\nc.start_master();\nlet a = c.add_agent();\na.kill();\nassert(!a.running());\na.pause();\n",
    );
    let (code, out) = w.run(&["run", "--backend", "embedded"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("agent-1.unpause(): the agent is not paused"),
        "{out}"
    );
    assert!(out.contains("scripts/unpause.rhai:7:3"), "{out}");
    assert!(
        out.contains("agent-1.pause(): the agent is not running"),
        "{out}"
    );
    assert!(out.contains("scripts/killed.rhai:6:3"), "{out}");
    w.assert_clean();
}

#[test]
fn syntax_errors_exit_2_and_typos_get_suggestions() {
    let w = Cli::new();
    w.script("syntax.rhai", "let c = cluster(;\n");
    let (code, out) = w.run(&["run"]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("syntax error"), "{out}");
    assert!(out.contains("scripts/syntax.rhai:1:"), "{out}");

    let w = Cli::new();
    w.script("typo.rhai", "let c = cluster();\nc.strat_master();\n");
    let (code, out) = w.run(&["run"]);
    assert_eq!(code, 4, "{out}");
    assert!(
        out.contains("scripts/typo.rhai:2:3: no method `.strat_master()` exists"),
        "{out}"
    );
    assert!(out.contains("did you mean `.start_master()`?"), "{out}");
    // Unchecked, the same typo fails where it runs, with the same hint.
    let (code, out) = w.run(&["run", "--no-check"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("did you mean `start_master`?"), "{out}");
}

/// `mmrun check` reports every mistake of every file at once, each with file:line:column, the
/// line and a suggestion, and exits 4; clean files exit 0.
#[test]
fn check_reports_every_mistake_of_every_file_with_help() {
    let w = Cli::new();
    w.script(
        "a.rhai",
        "let c = cluster(#{ agnets: 1 });\nc.strat_master();\nc.submit_framework(#{ name: \"fw\", tasks: [#{ name: \"t\", command: \"true\" }] });\n",
    )
    .script(
        "b.rhai",
        "fn mine(c) { c.start_master() }\nlet c = cluster();\nmine(c);\nadd_agnet(c);\nc.add_agent(#{}, 3);\n",
    )
    .script("clean.rhai", PASSING);
    let (code, out) = w.run(&["check"]);
    assert_eq!(code, 4, "{out}");
    for expected in [
        "scripts/a.rhai:1:20: cluster: unknown option `agnets`",
        "= help: did you mean `agents`?",
        "scripts/a.rhai:2:3: no method `.strat_master()` exists",
        "= help: did you mean `.start_master()`?",
        "scripts/a.rhai:3:57: submit_framework tasks: unknown option `command`",
        "= help: did you mean `cmd`?",
        "scripts/b.rhai:4:1: no function `add_agnet` exists",
        "= help: did you mean `add_agent`?",
        "scripts/b.rhai:5:3: `.add_agent()` is given 2 arguments (besides the value before the dot); it takes 0 or 1",
        "c.add_agent(options: map) -> Agent",
        "mmrun check: 5 mistakes in 2 of 3 files",
    ] {
        assert!(out.contains(expected), "{expected}\n{out}");
    }
    assert!(!out.contains("clean.rhai"), "{out}");
    assert!(!out.contains("`mine`"), "{out}");

    let (code, out) = w.run(&["check", "scripts/clean.rhai"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("mmrun check: 1 file: no mistakes"), "{out}");

    w.script("syntax.rhai", "let c = cluster(;\n");
    let (code, out) = w.run(&["check"]);
    assert_eq!(
        code, 2,
        "a file that does not compile exits 2, as it does on run: {out}"
    );
    assert!(out.contains("scripts/syntax.rhai:1:"), "{out}");
    assert!(
        out.contains("scripts/a.rhai:1:20"),
        "the other files are checked too: {out}"
    );
}

/// Every scenario mmrun ships and every one its tests run check clean through the CLI.
#[test]
fn the_shipped_scenarios_check_clean() {
    let w = Cli::new();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let scripts = root.join("scripts");
    let tests = root.join("tests");
    let (code, out) = w.run(&["check", scripts.to_str().unwrap(), tests.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("files: no mistakes"), "{out}");
}

/// A run with a mistake in any scenario it would run starts none: no backend chosen, no node,
/// nothing left behind, at once.
#[test]
fn run_refuses_scripts_with_mistakes_before_starting_any_cluster() {
    let w = Cli::new();
    w.script("good.rhai", PASSING).script(
        "bad.rhai",
        "let c = cluster(#{ agents: 1 });\nc.submit_framework(#{ name: \"fw\", tasks: [#{ name: \"t\", command: \"true\" }] });\n",
    );
    let started = Instant::now();
    let (code, out) = w.run(&["run"]);
    assert_eq!(code, 4, "{out}");
    assert!(started.elapsed() < Duration::from_secs(10), "{out}");
    assert!(
        out.contains("scripts/bad.rhai:2:57: submit_framework tasks: unknown option `command`"),
        "{out}"
    );
    assert!(
        out.contains("no scenario was started (fix them, or run with --no-check)"),
        "{out}"
    );
    assert!(!out.contains("backend"), "no backend was chosen: {out}");
    assert!(!out.contains("PASS"), "{out}");
    w.assert_clean();
    // Only what runs is checked: the good scenario alone runs.
    let (code, out) = w.run(&["run", "--filter", "good"]);
    assert_eq!(code, 0, "{out}");
    w.assert_clean();
}

/// `mmrun scripts/*.rhai`, as people write it in CI, is `mmrun run` with all its options.
#[test]
fn paths_in_place_of_a_subcommand_mean_run_with_its_options() {
    let w = Cli::new();
    w.script("a.rhai", PASSING).script("b.rhai", PASSING);
    let (code, out) = w.run(&[
        "scripts/a.rhai",
        "scripts/b.rhai",
        "-j",
        "2",
        "--junit",
        "out.xml",
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("2 scenarios run: 2 passed"), "{out}");
    let xml = std::fs::read_to_string(w.path("out.xml")).unwrap();
    assert!(xml.contains("<testcase name=\"scripts/b.rhai\""), "{xml}");

    let (code, out) = w.run(&["scripts", "--filter", "b"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("1 scenario run: 1 passed"), "{out}");
    w.assert_clean();
}

#[test]
fn mmrun_alone_prints_help_and_an_unknown_word_says_it_is_neither_subcommand_nor_file() {
    let w = Cli::new();
    let (code, out) = w.run(&[]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("Usage:"), "{out}");
    assert!(out.contains("mmrun scripts/*.rhai"), "{out}");

    let (code, out) = w.run(&["scripts/nope.rhai", "-j", "2"]);
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains(
            "mmrun: `scripts/nope.rhai` is neither a subcommand nor an existing file or directory"
        ),
        "{out}"
    );
    assert!(!out.contains("unrecognized subcommand"), "{out}");

    let (code, out) = w.run(&["reveiw"]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("did you mean `review`?"), "{out}");
    assert!(out.contains("subcommands: run, check, review, up"), "{out}");
}

#[test]
fn usage_errors_exit_2() {
    let w = Cli::new();
    w.script("a.rhai", PASSING);
    assert_eq!(w.run(&["run", "--filter", "("]).0, 2);
    assert_eq!(w.run(&["run", "--shard", "3/2"]).0, 2);
    assert_eq!(w.run(&["run", "nope.rhai"]).0, 2);
    let (code, out) = w.run(&["run", "--filter", "zzz"]);
    assert_eq!(code, 2, "{out}");
}

#[test]
fn snapshots_are_new_then_accepted_then_matched_then_changed_and_reviewed() {
    let w = Cli::new();
    let script = |cmd: &str| {
        format!(
            "let c = cluster();\nc.start_master();\nc.add_agent();\nc.submit_framework(#{{ name: \"fw\", tasks: [#{{ name: \"t\", cmd: \"{cmd}\" }}] }});\nc.await_task(\"t\", \"TASK_FINISHED\");\nsnapshot(\"end\", c.state());\n"
        )
    };
    w.script("snap.rhai", &script("true"));
    let snap = w.path("snapshots/snap__end.snap");
    let pending = w.path("snapshots/snap__end.snap.new");

    // New: fails, writes .snap.new locally.
    let (code, out) = w.run(&["run"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("snapshot 'end' is new"), "{out}");
    assert!(pending.exists() && !snap.exists());

    // On CI nothing is written.
    std::fs::remove_file(&pending).unwrap();
    let (code, _) = {
        let out = w.command(&["run"]).env("CI", "true").output().unwrap();
        (out.status.code().unwrap(), ())
    };
    assert_eq!(code, 1);
    assert!(!pending.exists(), "CI must not write snapshots");

    // --accept writes it; the next run matches.
    assert_eq!(w.run(&["run", "--accept"]).0, 0);
    assert!(snap.exists() && !pending.exists());
    let body = std::fs::read_to_string(&snap).unwrap();
    assert!(
        body.starts_with("---\nsource: scripts/snap.rhai\n"),
        "{body}"
    );
    assert!(body.contains("TASK_FINISHED"), "{body}");
    assert_eq!(w.run(&["run"]).0, 0);

    // A change fails with a diff and leaves a pending snapshot to review.
    w.script(
        "snap.rhai",
        &script("exit 1").replace("TASK_FINISHED", "TASK_FAILED"),
    );
    let (code, out) = w.run(&["run"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("does not match the stored one"), "{out}");
    assert!(out.contains("-    state: TASK_FINISHED"), "{out}");
    assert!(out.contains("+    state: TASK_FAILED"), "{out}");
    assert!(pending.exists());
    let mut review = w
        .command(&["review"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    review.stdin.take().unwrap().write_all(b"a\n").unwrap();
    let reviewed = review.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&reviewed.stdout);
    assert!(reviewed.status.success(), "{text}");
    assert!(text.contains("1 accepted"), "{text}");
    assert!(
        std::fs::read_to_string(&snap)
            .unwrap()
            .contains("TASK_FAILED")
    );
    assert_eq!(w.run(&["run"]).0, 0);
    w.assert_clean();
}

#[test]
fn junit_reports_carry_the_failure_text() {
    let w = Cli::new();
    w.script("ok.rhai", PASSING)
        .script("bad.rhai", "assert(false, \"expected the unexpected\");\n");
    let (code, _) = w.run(&["run", "--junit", "report/junit.xml"]);
    assert_eq!(code, 1);
    let xml = std::fs::read_to_string(w.path("report/junit.xml")).unwrap();
    assert!(xml.contains("<testcase name=\"scripts/ok.rhai\""), "{xml}");
    assert!(xml.contains("<failure"), "{xml}");
    assert!(xml.contains("expected the unexpected"), "{xml}");
}

/// `--html`: one file with both scenarios, each with its timeline — task states per agent and
/// framework, the fault the script injected, the await that failed marked — and the failed
/// scenario's artifacts folder holds a page of its own.
#[test]
fn the_html_report_shows_each_scenario_with_its_timeline_and_where_it_failed() {
    let w = Cli::new();
    w.script("ok.rhai", PASSING).script(
        "lost.rhai",
        r#"let c = cluster();
c.start_master();
let agent = c.add_agent();
let fw = c.submit_framework(#{ name: "fw", tasks: [#{ name: "long", cmd: "sleep 600" }] });
c.await_task("long", "TASK_RUNNING");
log("killing <the> agent");
agent.kill();
c.await_task("long", "TASK_FINISHED", #{ timeout: "2s" });
"#,
    );
    let (code, out) = w.run(&["run", "--html", "out/report.html", "-j", "1"]);
    assert_eq!(code, 1, "{out}");
    let html = std::fs::read_to_string(w.path("out/report.html")).unwrap();
    for id in [
        r#"id="summary""#,
        r#"id="scenario-scripts_ok" data-status="pass""#,
        r#"id="scenario-scripts_lost" data-status="fail""#,
        r#"<svg class="timeline" id="timeline-scripts_ok""#,
        r#"<svg class="timeline" id="timeline-scripts_lost""#,
        r#"class="lane agent" data-lane="agent-1""#,
        r#"class="lane framework" data-lane="fw""#,
        r#"class="task TASK_RUNNING""#,
        r#"class="task TASK_FINISHED""#,
        r#"class="fault""#,
        "agent-1.kill()",
        r#"class="await failed""#,
        r#"<tr class="await failed">"#,
        "killing &lt;the&gt; agent",
    ] {
        assert!(html.contains(id), "no {id} in the report:\n{html}");
    }
    assert!(!html.contains("<script"), "{html}");
    // One failed await: the scenario's, not the passing one's.
    assert_eq!(html.matches(r#"<rect class="await failed""#).count(), 1);
    // Links to the failed scenario's files, relative to the report.
    assert!(
        html.contains(
            r#"href="../target/mmrun-artifacts/scripts_lost/cluster-1/master-state.json""#
        ),
        "{html}"
    );
    let page =
        std::fs::read_to_string(w.path("target/mmrun-artifacts/scripts_lost/report.html")).unwrap();
    assert!(page.contains(r#"id="timeline-scripts_lost""#), "{page}");
    assert!(
        page.contains(r#"href="cluster-1/master-state.json""#),
        "{page}"
    );
    assert!(
        out.contains("report.html): target/mmrun-artifacts/scripts_lost"),
        "{out}"
    );
    w.assert_clean();
}

#[test]
fn a_scenario_past_its_timeout_is_stopped_and_its_cluster_torn_down() {
    let w = Cli::new();
    w.script(
        "slow.rhai",
        &held_open("let c = cluster();\nc.start_master();\nc.add_agent();\nc.submit_framework(#{ name: \"fw\", tasks: [#{ name: \"t\", cmd: \"sleep 987.654\" }] });\nc.await_task(\"t\", \"TASK_RUNNING\");\n"),
    );
    let started = Instant::now();
    let (code, out) = w.run(&["run", "--timeout", "2s"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("TIMEOUT"), "{out}");
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "took {:?}",
        started.elapsed()
    );
    assert!(!running("sleep 987.654"), "the task outlived its scenario");
    w.assert_clean();
}

#[test]
fn a_runaway_script_is_stopped_by_the_operation_limit() {
    let w = Cli::new();
    w.script("loop.rhai", "let x = 0;\nloop { x += 1; }\n");
    let (code, out) = w.run(&["run", "--timeout", "60s"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("endless loop"), "{out}");
    assert!(out.contains("scripts/loop.rhai:2:"), "{out}");
}

#[test]
fn retries_report_a_pass_after_a_failure_as_flaky() {
    let w = Cli::new();
    let marker = w.path("tmp-marker");
    w.script(
        "flaky.rhai",
        &format!(
            "let c = cluster();\nc.start_master();\nc.add_agent();\nc.submit_framework(#{{ name: \"fw\", tasks: [#{{ name: \"t\", cmd: \"test -e {m} || {{ touch {m}; exit 1; }}\" }}] }});\nc.await_task(\"t\", \"TASK_FINISHED\");\n",
            m = marker.display()
        ),
    );
    let (code, out) = w.run(&["run", "--retries", "1"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("FLAKY"), "{out}");
}

#[test]
fn filter_and_shard_select_scenarios() {
    let w = Cli::new();
    for name in ["a.rhai", "b.rhai", "c.rhai"] {
        w.script(name, "log(\"ran\");\n");
    }
    let (code, out) = w.run(&["run", "--filter", "b\\.rhai"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("scripts/b.rhai") && !out.contains("scripts/a.rhai"),
        "{out}"
    );
    let (_, out) = w.run(&["run", "--shard", "2/3"]);
    assert!(
        out.contains("scripts/b.rhai") && !out.contains("scripts/c.rhai"),
        "{out}"
    );
}

#[test]
fn ctrl_c_stops_the_run_with_130_and_leaves_nothing_behind() {
    let w = Cli::new();
    w.script(
        "long.rhai",
        &held_open("let c = cluster();\nc.start_master();\nc.add_agent();\nc.submit_framework(#{ name: \"fw\", tasks: [#{ name: \"t\", cmd: \"sleep 876.543\" }] });\nc.await_task(\"t\", \"TASK_RUNNING\");\n"),
    );
    let mut child = w
        .command(&["run"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    await_running(&mut child, &["sleep 876.543"], Duration::from_secs(20));
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = common::exit_within(&mut child, Duration::from_secs(15))
        .expect("mmrun run stops after Ctrl-C");
    assert_eq!(status.code(), Some(130));
    assert!(!running("sleep 876.543"), "the task outlived Ctrl-C");
    w.assert_clean();
}

/// Whether a process with this exact command line runs (tasks use unusual sleep lengths).
fn running(cmdline: &str) -> bool {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(Result::ok)
        .any(|e| {
            std::fs::read(e.path().join("cmdline"))
                .map(|c| String::from_utf8_lossy(&c).replace('\0', " ").trim() == cmdline)
                .unwrap_or(false)
        })
}

#[test]
fn a_scenario_that_needs_docker_is_skipped_on_the_embedded_backend_not_failed() {
    let w = Cli::new();
    w.script(
        "needs.rhai",
        "requires_docker();\nassert(false, \"never reached\");\n",
    )
    .script("plain.rhai", PASSING);
    let (code, out) = w.run(&["run", "--junit", "junit.xml"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("SKIP ["), "{out}");
    assert!(
        out.contains("needs the Docker backend; this run uses the embedded backend"),
        "{out}"
    );
    assert!(out.contains("1 passed, 1 skipped"), "{out}");
    assert!(!out.contains("were not run"), "{out}");
    let junit = std::fs::read_to_string(w.path("junit.xml")).unwrap();
    assert!(junit.contains("<skipped"), "{junit}");
    w.assert_clean();
}

/// Ctrl-C on the Docker backend: every container (task containers too) and the network go, and
/// the task process is gone (agents share the host's PID namespace, so it is visible here).
#[test]
fn ctrl_c_on_docker_removes_every_container_and_network() {
    if !common::docker::docker_available("Ctrl-C on the Docker backend") {
        return;
    }
    let w = Cli::new();
    w.script(
        "long.rhai",
        &held_open("let c = cluster(#{ agents: 1 });\nc.submit_framework(#{ name: \"fw\", tasks: [#{ name: \"t\", cmd: \"sleep 765.432\" }, #{ name: \"d\", docker: busybox_image(), cmd: \"sleep 765.431\" }] });\nc.await_task(\"t\", \"TASK_RUNNING\");\nc.await_task(\"d\", \"TASK_RUNNING\");\n"),
    );
    let mut child = w
        .command(&["run", "--backend", "docker"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    await_running(
        &mut child,
        &["sleep 765.432", "sleep 765.431"],
        Duration::from_secs(90),
    );
    unsafe { libc::kill(pid as i32, libc::SIGINT) };
    let status = common::exit_within(&mut child, Duration::from_secs(30))
        .expect("mmrun run stops after Ctrl-C");
    assert_eq!(status.code(), Some(130));
    assert!(!running("sleep 765.432"), "the task outlived Ctrl-C");
    assert!(!running("sleep 765.431"), "the Docker task outlived Ctrl-C");
    let left = std::process::Command::new("docker")
        .args([
            "ps",
            "-aq",
            "--filter",
            &format!("label=io.mmrun.pid={pid}"),
        ])
        .output()
        .unwrap();
    assert!(left.stdout.is_empty(), "containers left: {:?}", left);
    let networks = std::process::Command::new("docker")
        .args([
            "network",
            "ls",
            "-q",
            "--filter",
            &format!("label=io.mmrun.pid={pid}"),
        ])
        .output()
        .unwrap();
    assert!(networks.stdout.is_empty(), "networks left: {:?}", networks);
}

/// `script`, then a scenario that stays running (for a minute) so that a test can interrupt
/// or kill it mid-run: the wait is the thing under test.
fn held_open(script: &str) -> String {
    format!("{script}sleep(\"60s\");\n")
}

/// Waits until `done` holds, up to `limit`; whether it did.
fn eventually(limit: Duration, done: impl Fn() -> bool) -> bool {
    WaitFor::new("the condition", limit)
        .every(Duration::from_millis(100))
        .blocking_until(done)
        .is_ok()
}

/// Waits until a process runs for each of `markers` (their command lines) while `child`, the
/// `mmrun run` that starts them, still runs; panics after `within` or if it ends first.
fn await_running(child: &mut std::process::Child, markers: &[&str], within: Duration) {
    WaitFor::new(format!("the scenario's tasks {markers:?} to run"), within)
        .every(Duration::from_millis(50))
        .blocking_until(|| match child.try_wait().unwrap() {
            _ if markers.iter().all(|m| running(m)) => Look::Ready(()),
            Some(status) => Look::Hopeless(format!("mmrun run ended early ({status})")),
            None => Look::NotYet(None),
        })
        .unwrap_or_else(|e| panic!("{e}"));
}

/// Starts `mmrun run` of `script`, waits for every process in `markers` to run, then kills
/// mmrun with SIGKILL (which no handler sees); returns mmrun's pid.
fn sigkill_mid_run(w: &Cli, backend: &str, markers: &[&str]) -> u32 {
    let mut child = w
        .command(&["run", "--backend", backend])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    await_running(&mut child, markers, Duration::from_secs(90));
    child.kill().unwrap();
    child.wait().unwrap();
    pid
}

/// mmrun killed with SIGKILL on the embedded backend: its process guard kills the task's
/// whole process group (the shell and what it forked) and removes the cluster's files.
#[test]
fn sigkill_on_embedded_leaves_no_process_and_no_files() {
    let w = Cli::new();
    w.script(
        "long.rhai",
        &held_open("let c = cluster();\nc.start_master();\nc.add_agent();\nc.submit_framework(#{ name: \"fw\", tasks: [#{ name: \"t\", cmd: \"sleep 543.211 & sleep 543.212; wait\" }] });\nc.await_task(\"t\", \"TASK_RUNNING\");\n"),
    );
    sigkill_mid_run(&w, "embedded", &["sleep 543.211", "sleep 543.212"]);
    assert!(
        eventually(Duration::from_secs(15), || !running("sleep 543.211")
            && !running("sleep 543.212")),
        "task processes outlived a SIGKILLed mmrun"
    );
    assert!(
        eventually(Duration::from_secs(15), || std::fs::read_dir(w.path("tmp"))
            .unwrap()
            .next()
            .is_none()),
        "the cluster's temporary files outlived a SIGKILLed mmrun"
    );
}

/// mmrun killed with SIGKILL on the Docker backend, with no later run: its reaper removes every
/// container (task containers too) and the network within 15 s.
#[test]
fn sigkill_on_docker_leaves_nothing_within_15s() {
    if !common::docker::docker_available("SIGKILL on the Docker backend") {
        return;
    }
    let w = Cli::new();
    w.script(
        "long.rhai",
        &held_open("let c = cluster(#{ agents: 1 });\nc.submit_framework(#{ name: \"fw\", tasks: [#{ name: \"t\", cmd: \"sleep 654.322\" }, #{ name: \"d\", docker: busybox_image(), cmd: \"sleep 654.321\" }] });\nc.await_task(\"t\", \"TASK_RUNNING\");\nc.await_task(\"d\", \"TASK_RUNNING\");\n"),
    );
    let pid = sigkill_mid_run(&w, "docker", &["sleep 654.322", "sleep 654.321"]);
    let listed = |what: &[&str]| {
        let out = std::process::Command::new("docker")
            .args(what)
            .args(["-q", "--filter", &format!("label=io.mmrun.pid={pid}")])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    let gone = eventually(Duration::from_secs(15), || {
        listed(&["ps", "-a"]).is_empty() && listed(&["network", "ls"]).is_empty()
    });
    assert!(
        gone,
        "left 15 s after SIGKILL: containers {:?}, networks {:?}",
        listed(&["ps", "-a"]),
        listed(&["network", "ls"])
    );
    assert!(!running("sleep 654.322"), "the task outlived the reaper");
    assert!(
        !running("sleep 654.321"),
        "the Docker task outlived the reaper"
    );
}

/// A cluster with ZooKeeper on a machine without one is skipped, not failed, with one line
/// saying how to install it (here: a ZooKeeper home that holds no ZooKeeper).
#[test]
fn a_zookeeper_scenario_without_zookeeper_is_skipped_saying_how_to_install_it() {
    let w = Cli::new();
    w.script(
        "ha.rhai",
        "let c = cluster(#{ masters: 3, agents: 1 });\nassert(false, \"never reached\");\n",
    );
    let out = w
        .command(&["run", "scripts"])
        .env("MMRUN_ZOOKEEPER_HOME", w.path("tmp"))
        .output()
        .unwrap();
    let (_, text) = code_and_text(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("SKIP"), "{text}");
    assert!(text.contains("apt-get install zookeeper"), "{text}");
}

/// A scenario named from its own directory (`mmrun x.rhai`, `mmrun ./x.rhai`) is in that
/// directory: its framework process gets it as MMRUN_SCENARIO_DIR (it used to be empty, so a
/// scheduler started as `python3 $MMRUN_SCENARIO_DIR/sched.py` looked for `/sched.py`), a
/// relative `cwd` starts there, and `scenario_dir()` says so.
#[test]
fn a_scenario_named_from_its_own_directory_knows_that_directory() {
    let w = Cli::new();
    let dir = w.path("scripts").canonicalize().unwrap();
    std::fs::write(dir.join("marker.txt"), "here").unwrap();
    w.script(
        "here.rhai",
        r#"
let c = cluster(#{ agents: 1 });
assert_eq(env("MMRUN_TEST_NO_SUCH_VARIABLE"), ());
assert_eq(env("MMRUN_TEST_NO_SUCH_VARIABLE", "fallback"), "fallback");
let f = c.run_framework(#{
    cmd: "test \"$MMRUN_SCENARIO_DIR\" = \"$EXPECTED\" && test -f marker.txt && test -f \"$MMRUN_SCENARIO_DIR/marker.txt\"",
    cwd: ".",
    env: #{ EXPECTED: scenario_dir() },
});
assert_eq(f.wait("20s"), 0, `the framework did not see ${scenario_dir()}: ${f.logs()}`);
log(`dir ${scenario_dir()}`);
"#,
    );
    for name in ["here.rhai", "./here.rhai"] {
        let out = w.command(&[name]).current_dir(&dir).output().unwrap();
        let (code, text) = code_and_text(&out);
        assert_eq!(code, 0, "{name}: {text}");
    }
    // The scenario's log (shown on failure) is not printed on a pass: check the value once by
    // failing on purpose.
    w.script("show.rhai", "assert_eq(scenario_dir(), \"nowhere\");");
    let out = w
        .command(&["show.rhai"])
        .current_dir(&dir)
        .output()
        .unwrap();
    let (_, text) = code_and_text(&out);
    assert!(text.contains(&format!("{}", dir.display())), "{text}");
}

/// mmrun's framework in role `web` launches on resources reserved for `web` (it used to wait
/// for ever: "not yet launched; history: []"), whatever it speaks.
#[test]
fn a_framework_launches_on_resources_reserved_for_its_role() {
    let w = Cli::new();
    for (name, options) in [
        ("json", r#"encoding: "json""#),
        ("protobuf", r#"encoding: "protobuf""#),
        ("driver", r#"api: "driver""#),
    ] {
        w.script(
            &format!("reserved_{name}.rhai"),
            &format!(
                r#"
let c = cluster();
c.start_master();
c.add_agent(#{{ resources: "cpus(web):2;mem:1024" }});
let fw = c.submit_framework(#{{ name: "web-fw", role: "web", {options},
    tasks: [#{{ name: "t", cmd: "true", cpus: 0.5 }}] }});
c.await_task("t", "TASK_FINISHED");
// It ran, on the only cpus there are: those reserved for web.
let cpus = c.raw_state().frameworks[0].completed_tasks[0].resources;
assert_eq(cpus.cpus, 0.5);
"#
            ),
        );
    }
    let (code, out) = w.run(&["scripts/", "-j", "3"]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(out.matches("PASS [").count(), 3, "{out}");
}

/// Processes a task or executor starts in a session of their own (`setsid`, Python's
/// `start_new_session=True`) leave its process group, so no group kill reaches them; they
/// used to outlive the scenario, reparented to PID 1. As Mesos's launcher destroys a whole
/// container, they now end with their task (finished or killed) or their executor.
#[test]
fn processes_a_task_starts_in_a_session_of_their_own_end_with_it() {
    let w = Cli::new();
    let pids = w.path("pids");
    std::fs::create_dir_all(&pids).unwrap();
    let p = pids.display();
    let escape = |file: &str, marker: &str| {
        format!(
            "setsid sh -c 'echo $$ > {p}/{file}; exec sleep {marker}' </dev/null >/dev/null 2>&1 &"
        )
    };
    // A check task: exits 0 once the process in `file` is gone (or a zombie), 1 if it stays.
    let gone = |file: &str| {
        format!(
            "for i in $(seq 100); do q=$(cat {p}/{file}); if [ ! -e /proc/$q ] || grep -q ') Z' /proc/$q/stat; then exit 0; fi; sleep 0.05; done; exit 1"
        )
    };
    // A task that exits 0 once the escaping process has written `file` (it runs in the
    // background: on a busy machine a kill could otherwise come before it started at all).
    let started = |file: &str| {
        format!("for i in $(seq 400); do [ -s {p}/{file} ] && exit 0; sleep 0.05; done; exit 1")
    };
    let script = format!(
        r#"
let c = cluster(#{{ agents: 1 }});
let fw = c.submit_framework(#{{ name: "escapes", tasks: [#{{ name: "leaver",
    cmd: `{a} python3 -c "import subprocess; p = subprocess.Popen(['sleep', '611.102'], start_new_session=True); open('{p}/b.pid', 'w').write(str(p.pid))"; {started_a}` }}] }});
c.await_task("leaver", "TASK_FINISHED");
fw.launch(#{{ name: "a-gone", cmd: `{gone_a}` }});
fw.launch(#{{ name: "b-gone", cmd: `{gone_b}` }});
c.await_task("a-gone", "TASK_FINISHED");
c.await_task("b-gone", "TASK_FINISHED");

fw.launch(#{{ name: "stubborn", cmd: `{c} sleep 600` }});
c.await_task("stubborn", "TASK_RUNNING");
fw.launch(#{{ name: "c-started", cmd: `{started_c}` }});
c.await_task("c-started", "TASK_FINISHED");
fw.kill("stubborn");
c.await_task("stubborn", "TASK_KILLED");
fw.launch(#{{ name: "c-gone", cmd: `{gone_c}` }});
c.await_task("c-gone", "TASK_FINISHED");

// On a custom executor: what its task starts in a session of its own lives as long as the
// executor (its container, in Mesos), which goes with the cluster.
let ex = #{{ id: "ex", cmd: c.example_executor() }};
fw.launch(#{{ name: "on-executor", cmd: `{d} sleep 600`, executor: ex }});
c.await_task("on-executor", "TASK_RUNNING");
fw.launch(#{{ name: "d-started", cmd: `{started_d}` }});
c.await_task("d-started", "TASK_FINISHED");
"#,
        a = escape("a.pid", "611.101"),
        c = escape("c.pid", "611.103"),
        d = escape("d.pid", "611.104"),
        gone_a = gone("a.pid"),
        gone_b = gone("b.pid"),
        gone_c = gone("c.pid"),
        started_a = started("a.pid"),
        started_c = started("c.pid"),
        started_d = started("d.pid"),
    );
    w.script("escapes.rhai", &script);
    let (code, out) = w.run(&["run", "scripts/escapes.rhai"]);
    assert_eq!(code, 0, "{out}");
    // Every escaped process did start (its pid file is there), and none is left.
    for file in ["a.pid", "b.pid", "c.pid", "d.pid"] {
        let text = std::fs::read_to_string(pids.join(file))
            .unwrap_or_else(|e| panic!("{file}: the escaping process never started: {e}\n{out}"));
        let pid: u32 = text.trim().parse().unwrap();
        let dead = eventually(Duration::from_secs(10), || {
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .map_or(true, |stat| stat.contains(") Z"))
        });
        assert!(dead, "{file}: process {pid} outlived its task's scenario");
    }
    for marker in [
        "sleep 611.101",
        "sleep 611.102",
        "sleep 611.103",
        "sleep 611.104",
    ] {
        assert!(!running(marker), "{marker} is still running");
    }
}

/// "Tell me why my task is not launched": what each agent's last offer lacked, or that no
/// offer came; in `fw.why`, `c.why` and the error of an await that times out.
#[test]
fn why_a_task_waits_is_said_in_one_line_a_reason() {
    let w = Cli::new();
    w.script(
        "why.rhai",
        r#"
let c = cluster();
c.start_master();
c.add_agent(#{ resources: "cpus:1;mem:1024" });
let fw = c.submit_framework(#{ name: "big", tasks: [#{ name: "huge", cmd: "true", cpus: 4 }] });
// Before the first offer it says no offer came; then what the offer lacked.
wait_until(|| fw.why("huge")[0].starts_with("agent-1"), "5s");
let why = fw.why("huge");
assert_eq(why, ["agent-1: needs cpus 4, the offer holds 1 unreserved"]);
assert_eq(c.why("huge"), why);
let err = "";
try { c.await_task("huge", "TASK_RUNNING", #{ timeout: "1s" }); } catch (e) { err = `${e}`; }
assert(err.contains("why it waits:\n    agent-1: needs cpus 4, the offer holds 1 unreserved"), err);

// A cluster with no agent: no offer ever comes.
let empty = cluster();
empty.start_master();
let lonely = empty.submit_framework(#{ name: "lonely", tasks: [#{ name: "alone", cmd: "true" }] });
assert(lonely.why("alone")[0].contains("no offer has come since it was queued"), `${lonely.why("alone")}`);
// A name no framework launched, beside a third-party framework holding an offer.
let none = c.why("nobody");
assert_eq(none[0], "no framework has launched a task named 'nobody'");
// Launched tasks wait for nothing.
fw.launch(#{ name: "small", cmd: "sleep 30", cpus: 0.5 });
c.await_task("small", "TASK_RUNNING");
assert_eq(fw.why("small"), []);
"#,
    );
    let (code, out) = w.run(&["run", "scripts/why.rhai"]);
    assert_eq!(code, 0, "{out}");
}

/// Real in-process agents need file descriptors: when the process's limit is within reach,
/// `mmrun up` says which limit bit and what to do, at once, instead of an agent that fails
/// to register seconds later.
#[test]
fn running_out_of_descriptors_for_real_agents_says_so_at_once() {
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "ulimit -n 400 && exec '{}' up --port 0 --agents 200",
            env!("CARGO_BIN_EXE_mmrun")
        ))
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.status.success(), "{text}");
    assert!(text.contains("file descriptors open"), "{text}");
    assert!(text.contains("ulimit -n"), "{text}");
    assert!(text.contains("--simulated"), "{text}");
    // Said before any agent is left to time out its registration.
    assert!(!text.contains("did not register"), "{text}");
}
