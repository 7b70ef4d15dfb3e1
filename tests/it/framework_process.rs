//! The user's own framework as a host process (`c.run_framework` without an image), through
//! the real `mmrun run`: a third-party scheduler (tests/compat/failover_scheduler.py on the
//! unmodified PyPI pymesos) fails over on both backends (tests/scenarios/pymesos_*.rhai), and
//! nothing of a framework process survives mmrun, however it ends — SIGKILL included.
//!
//! The pymesos tests need the venv made by tests/compat/setup-python.sh; without it they skip
//! with a message, unless MMRUN_REQUIRE_PYMESOS=1 (set in CI) makes that a failure.

use crate::common;
use crate::common::WaitFor;
use crate::common::workspace::{Workspace, code_and_text};
use mmrun::wait::Look;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

fn workspace() -> Workspace {
    Workspace::new("mmrun-fwproc-test-", &["pids"])
}

/// `mmrun` as CI runs it, from the repository (for `tests/scenarios`), on `backend`.
fn mmrun(w: &Workspace, args: &[&str], backend: &str) -> Command {
    let mut cmd = w.mmrun(args);
    cmd.args(["--backend", backend])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("CI", "true");
    cmd
}

fn run_failover_scenarios(backend: &str) {
    let Some(python) = common::pymesos::python() else {
        return;
    };
    let w = workspace();
    let out = mmrun(
        &w,
        &[
            "run",
            "tests/scenarios/pymesos_failover.rhai",
            "tests/scenarios/pymesos_failover_timeout.rhai",
        ],
        backend,
    )
    .env("PYMESOS_PYTHON", &python)
    .output()
    .unwrap();
    let (_, text) = code_and_text(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert_eq!(text.matches("PASS [").count(), 2, "{text}");
    w.assert_clean();
}

#[test]
fn a_pymesos_scheduler_fails_over_on_the_embedded_backend() {
    run_failover_scenarios("embedded");
}

/// The same scenarios with every node a container and the scheduler on this host, reaching the
/// master through its published port.
#[test]
fn a_pymesos_scheduler_on_this_host_fails_over_on_the_docker_backend() {
    if !common::docker::docker_available("pymesos failover on Docker") {
        return;
    }
    run_failover_scenarios("docker");
}

/// Item 8 of the framework issue, end to end: a pymesos scheduler whose task runs on a pymesos
/// executor the agent fetches from a URI; messages both ways, a scheduler killed and failed over
/// while the task runs, a teardown (tests/scenarios/pymesos_executor_failover.rhai).
#[test]
fn a_pymesos_scheduler_with_a_fetched_pymesos_executor_fails_over_on_the_embedded_backend() {
    let Some(python) = common::pymesos::python() else {
        return;
    };
    let w = workspace();
    let out = mmrun(
        &w,
        &["run", "tests/scenarios/pymesos_executor_failover.rhai"],
        "embedded",
    )
    .env("PYMESOS_PYTHON", &python)
    .output()
    .unwrap();
    let (_, text) = code_and_text(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert_eq!(text.matches("PASS [").count(), 1, "{text}");
    w.assert_clean();
}

/// A framework command that forks: the leader `sh`, a child, and a grandchild under another
/// `sh -c`; each writes its pid to $PIDS. The scenario then stays running (the `sleep`) until
/// the test kills, interrupts or times out mmrun: that is the thing under test.
const FORKING_FRAMEWORK: &str = r#"
let c = cluster(#{ agents: 1 });
let fw = c.run_framework(#{
    cmd: "echo $$ > $PIDS/leader; sleep 1000 & echo $! > $PIDS/child; sh -c 'sleep 1000 & echo $! > $PIDS/grandchild; wait' & wait",
    env: #{ PIDS: PIDS_DIR },
});
sleep("300s");
"#;

fn forking_scenario(w: &Workspace) -> PathBuf {
    let path = w.path("forking.rhai");
    let text = FORKING_FRAMEWORK.replace("PIDS_DIR", &format!("{:?}", w.path("pids")));
    std::fs::write(&path, text).unwrap();
    path
}

/// The pids of the framework's processes, once all three wrote theirs.
fn framework_pids(w: &Workspace, mmrun: &mut Child) -> Vec<i32> {
    let started = WaitFor::new("the framework's three processes", Duration::from_secs(30))
        .blocking_until(|| {
            let pids: Vec<i32> = ["leader", "child", "grandchild"]
                .iter()
                .filter_map(|f| std::fs::read_to_string(w.path(&format!("pids/{f}"))).ok())
                .filter_map(|text| text.trim().parse().ok())
                .collect();
            match mmrun.try_wait().unwrap() {
                _ if pids.len() == 3 => Look::Ready(pids),
                Some(status) => Look::Hopeless(format!("mmrun ended ({status}) first")),
                None => Look::NotYet(Some(format!("pids {pids:?}"))),
            }
        });
    started.unwrap_or_else(|e| panic!("{e}"))
}

/// Running, and not a zombie waiting to be reaped.
fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| rest.starts_with('Z') || rest.starts_with('X')),
        Err(_) => false,
    }
}

fn assert_all_gone(pids: &[i32], within: Duration, why: &str) {
    let gone = WaitFor::new("the framework processes to end", within)
        .every(Duration::from_millis(50))
        .blocking_until(|| !pids.iter().any(|&p| alive(p)));
    if gone.is_err() {
        let left: Vec<_> = pids.iter().filter(|&&p| alive(p)).collect();
        for &&p in &left {
            // SAFETY: the test's own leftovers, killed so they do not outlive it.
            unsafe { libc::kill(p, libc::SIGKILL) };
        }
        panic!("{why}: framework processes {left:?} still run after {within:?}");
    }
}

/// mmrun SIGKILLed: no teardown runs, yet the kernel and the process guard take the framework's
/// whole process group down.
#[test]
fn sigkilling_mmrun_run_leaves_no_framework_process_behind() {
    let w = workspace();
    let scenario = forking_scenario(&w);
    let mut mmrun = mmrun(&w, &["run", scenario.to_str().unwrap()], "embedded")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pids = framework_pids(&w, &mut mmrun);
    assert!(pids.iter().all(|&p| alive(p)));
    mmrun.kill().unwrap();
    mmrun.wait().unwrap();
    assert_all_gone(&pids, Duration::from_secs(15), "mmrun was SIGKILLed");
}

/// Ctrl-C goes through teardown, which stops the framework's group.
#[test]
fn ctrl_c_stops_the_framework_process_and_its_children() {
    let w = workspace();
    let scenario = forking_scenario(&w);
    let mut mmrun = mmrun(&w, &["run", scenario.to_str().unwrap()], "embedded")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pids = framework_pids(&w, &mut mmrun);
    // SAFETY: signalling the child this test started.
    unsafe { libc::kill(mmrun.id() as i32, libc::SIGINT) };
    common::exit_within(&mut mmrun, Duration::from_secs(20)).expect("mmrun stops on Ctrl-C");
    assert_all_gone(&pids, Duration::from_secs(5), "after Ctrl-C");
    w.assert_clean();
}

/// A scenario that runs out of time is torn down like any other.
#[test]
fn a_scenario_timeout_stops_the_framework_process_and_its_children() {
    let w = workspace();
    let scenario = forking_scenario(&w);
    let mut mmrun = mmrun(
        &w,
        &["run", scenario.to_str().unwrap(), "--timeout", "3s"],
        "embedded",
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::null())
    .spawn()
    .unwrap();
    let pids = framework_pids(&w, &mut mmrun);
    let out = mmrun.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("TIMEOUT"), "{stdout}");
    assert_all_gone(
        &pids,
        Duration::from_secs(2),
        "after the scenario's timeout",
    );
    w.assert_clean();
}

fn run_scenario(w: &Workspace, name: &str, text: &str) -> (i32, String) {
    let path = w.path(name);
    std::fs::write(&path, text).unwrap();
    let out = mmrun(w, &["run", path.to_str().unwrap()], "embedded")
        .output()
        .unwrap();
    let (_, text) = code_and_text(&out);
    (out.status.code().unwrap_or(-1), text)
}

#[test]
fn an_image_on_the_embedded_backend_says_what_to_do() {
    let w = workspace();
    let (code, out) = run_scenario(
        &w,
        "image.rhai",
        "let c = cluster(#{ agents: 1 });\nc.run_framework(#{ image: \"my/scheduler:1\", cmd: [\"run\"] });\n",
    );
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("drop `image` to run the command as a process, or run with --backend docker"),
        "{out}"
    );
    let (code, out) = run_scenario(
        &w,
        "nocmd.rhai",
        "let c = cluster(#{ agents: 1 });\nc.run_framework(#{ env: #{ A: \"b\" } });\n",
    );
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("give the framework's command"), "{out}");
    w.assert_clean();
}

/// The lifecycle on a plain process: exit codes, restart with the same command, logs across
/// restarts, and `wait` timing out on one that keeps running.
#[test]
fn a_framework_process_stops_restarts_and_reports_its_exit_code() {
    let w = workspace();
    let (code, out) = run_scenario(
        &w,
        "lifecycle.rhai",
        r#"
let c = cluster(#{ agents: 1 });
let fw = c.run_framework(#{ cmd: ["sh", "-c", "echo run in $PWD; echo master $MESOS_MASTER ip $LIBPROCESS_IP/$LIBPROCESS_ADVERTISE_IP; echo started >> runs; exec sleep 300"] });
wait_until(|| fw.logs().contains("master"), "10s");
assert(fw.running());
assert(fw.logs().contains("ip 127.0.0.1/127.0.0.1"), fw.logs());
fw.stop();
assert(!fw.running());
assert_eq(fw.wait(), 143, "SIGTERM ended it");
fw.start();
wait_until(|| fw.logs().split("master ").len() == 3, "10s");
let failed = false;
try { fw.wait("200ms"); } catch (e) { failed = `${e}`.contains("still running after"); }
assert(failed, "wait times out while it runs");
fw.kill();
assert_eq(fw.wait(), 137);
let once = c.run_framework(#{ cmd: "exit 3" });
assert_eq(once.wait(), 3);
assert(once.name().starts_with("framework-2 (sh)"), once.name());
"#,
    );
    assert_eq!(code, 0, "{out}");
    w.assert_clean();
}

/// `c.task` and `c.await_task` see every framework's tasks, and refuse a name two frameworks
/// share instead of picking one.
#[test]
fn task_lookups_cover_every_framework_and_refuse_ambiguity() {
    let w = workspace();
    let (code, out) = run_scenario(
        &w,
        "ambiguous.rhai",
        r#"
let c = cluster(#{ agents: 1 });
let theirs = c.run_framework(#{ cmd: "exec \"$MMRUN\" example-framework --name theirs --tasks 1" });
let t = c.await_task("task-1", "TASK_FINISHED");
assert_eq(t.framework, "theirs");
assert_eq(c.task("task-1").state, "TASK_FINISHED");
// Another framework's task says why it is in its state, as mmrun's own tasks do.
assert_eq(t.message, "Command exited with status 0");
assert_eq(t.source, "SOURCE_EXECUTOR");
assert_eq(c.framework("theirs").tasks[0].message, "Command exited with status 0");
assert_eq(c.framework("theirs").tasks[0].name, "task-1");
assert_eq(c.task("nobody"), ());
assert_eq(c.framework("nobody"), ());
let ours = c.submit_framework(#{ name: "ours", tasks: [#{ name: "task-1", cmd: "true" }] });
ours.await_task("task-1", "TASK_FINISHED");
let lookup = "";
try { c.task("task-1"); } catch (e) { lookup = `${e}`; }
assert(lookup.contains("several frameworks have a task named 'task-1'"), lookup);
assert(lookup.contains("'ours' (mmrun's)") && lookup.contains("'theirs'"), lookup);
let waiting = "";
try { c.await_task("task-1", "TASK_FINISHED"); } catch (e) { waiting = `${e}`; }
assert(waiting.contains("several frameworks"), waiting);
theirs.kill();
"#,
    );
    assert_eq!(code, 0, "{out}");
    w.assert_clean();
}

/// A scheduler that dies at start is the usual reason a wait times out: the error says so, with
/// its last lines — at once, since nothing is left to register the framework or launch the
/// task (it used to cost the whole timeout).
#[test]
fn a_wait_that_times_out_shows_a_framework_that_ended() {
    let w = workspace();
    let started = std::time::Instant::now();
    let (code, out) = run_scenario(
        &w,
        "crashed.rhai",
        r#"
let c = cluster(#{ agents: 1 });
let s = c.run_framework(#{ cmd: "echo Traceback: no module named pymesos >&2; exit 1" });
assert_eq(s.wait("10s"), 1);
let task = "";
try { c.await_task("worker", "TASK_RUNNING"); } catch (e) { task = `${e}`; }
assert(task.contains("every framework process this scenario started has exited"), task);
assert(task.contains("no module named pymesos"), task);
c.await_framework("mine", "active");
"#,
    );
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("the master lists no framework 'mine', and every framework process"),
        "{out}"
    );
    assert!(
        out.contains("framework-1 exited with code 1; its last lines:"),
        "{out}"
    );
    assert!(out.contains("no module named pymesos"), "{out}");
    // Two waits of 30 s each, both failing at once.
    assert!(
        started.elapsed() < std::time::Duration::from_secs(25),
        "the waits did not fail at once: {:?}",
        started.elapsed()
    );
    w.assert_clean();
}
