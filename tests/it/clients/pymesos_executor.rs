//! Compatibility with an executor nobody here wrote the driver of: the unmodified PyPI pymesos
//! 0.3.15 `MesosExecutorDriver` (tests/compat/pymesos_executor.py) runs as a custom executor on
//! an in-process mmrun cluster: it subscribes from the agent's MESOS_* environment, gets its task,
//! reports TASK_RUNNING and TASK_FINISHED, answers a framework message, and exits on SHUTDOWN.
//!
//! Needs the venv made by tests/compat/setup-python.sh. Without it the test skips with a message,
//! unless MMRUN_REQUIRE_PYMESOS=1 (set in CI) makes that a failure.

use crate::common;

use mmrun::framework::{ExecutorRequest, Framework, FrameworkOptions, TaskRequest};
use mmrun::lite::cluster::{AgentOptions, ClusterOptions, LocalCluster};
use mmrun::mesos::state::AgentState;
use mmrun::mesos::task::TaskState;
use std::path::PathBuf;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

const WAIT: Duration = Duration::from_secs(30);

async fn agent_state(c: &LocalCluster) -> AgentState {
    reqwest::get(format!("{}/state", c.agent_url(0).unwrap()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn unmodified_pymesos_executor_runs_tasks_answers_messages_and_shuts_down() {
    let Some(python) = common::pymesos::python() else {
        return;
    };
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/compat/pymesos_executor.py");
    let mut c = LocalCluster::start(ClusterOptions::default())
        .await
        .unwrap();
    c.add_agent(AgentOptions::default()).await.unwrap();
    let fw = Framework::subscribe(&c.master_url(), FrameworkOptions::named("py-exec"))
        .await
        .unwrap();
    let executor = ExecutorRequest {
        id: "pymesos".into(),
        cmd: format!("exec '{}' '{}'", python.display(), script.display()),
        uris: vec![],
        docker: None,
    };
    let task = |name: &str| TaskRequest {
        executor: Some(executor.clone()),
        ..TaskRequest::command(name, format!("payload of {name}"))
    };
    fw.launch(vec![task("first"), task("second")]).unwrap();
    let never = CancellationToken::new();
    for name in ["first", "second"] {
        let done = match fw.await_task(name, TaskState::Finished, WAIT, &never).await {
            Ok(done) => done,
            Err(e) => {
                let state = agent_state(&c).await;
                let dir = state.frameworks[0]
                    .executors
                    .iter()
                    .chain(&state.frameworks[0].completed_executors)
                    .next()
                    .map(|e| e.directory.clone())
                    .unwrap_or_default();
                let out = std::fs::read_to_string(format!("{dir}/stdout")).unwrap_or_default();
                let err = std::fs::read_to_string(format!("{dir}/stderr")).unwrap_or_default();
                panic!("{e}\nexecutor stdout:\n{out}\nexecutor stderr:\n{err}");
            }
        };
        assert_eq!(done.history(), [TaskState::Running, TaskState::Finished]);
        let last = done.statuses.last().unwrap();
        assert_eq!(
            last.message.as_deref(),
            Some(format!("payload of {name}").as_str())
        );
        assert_eq!(last.source.as_deref(), Some("SOURCE_EXECUTOR"));
    }
    // One pymesos executor ran both tasks.
    let state = agent_state(&c).await;
    assert_eq!(state.frameworks[0].executors.len(), 1);

    fw.message("first", "hi").unwrap();
    let messages = fw.await_messages(1, WAIT, &never).await.unwrap();
    assert_eq!(messages[0].data, "pymesos:hi");
    assert_eq!(messages[0].executor_id.value, "pymesos");

    fw.teardown().unwrap();
    let done = common::wait_for("the executor to end", WAIT, || async {
        let state = agent_state(&c).await;
        state
            .frameworks
            .first()
            .and_then(|f| f.completed_executors.first())
            .cloned()
            .ok_or_else(|| format!("{state:#?}"))
    })
    .await;
    let stdout = std::fs::read_to_string(format!("{}/stdout", done.directory)).unwrap();
    let framework_id = fw.id().value.clone();
    for line in [
        format!("REGISTERED pymesos {framework_id}"),
        "MESSAGE hi".to_string(),
        "SHUTDOWN".to_string(),
    ] {
        assert!(
            stdout.contains(&line),
            "no '{line}' in the executor's stdout:\n{stdout}"
        );
    }
    c.shutdown().await;
}
