//! HA masters against a real Apache ZooKeeper (a child process): election as Mesos does it,
//! what non-leaders answer, failover timing, agents and mmrun's framework following the new
//! leader, a master that loses its session, and `--quorum` validation.
//!
//! Without ZooKeeper installed the tests print `SKIPPED: …` and pass, unless
//! MMRUN_REQUIRE_ZOOKEEPER=1 (set in CI). Everything started is stopped and removed, pass or
//! fail (the cluster's and the server's drops).

use crate::common;

use common::ha::{Ha, no_redirects};
use common::{WaitFor, wait_for};
use mmrun::lite::cluster::ClusterOptions;
use mmrun::lite::master::Leadership;
use reqwest::StatusCode;
use serde_json::Value;
use std::time::{Duration, Instant};

const SESSION: Duration = Duration::from_secs(2);

async fn zk_client(ha: &Ha) -> zookeeper_client::Client {
    zookeeper_client::Client::connect(&ha.zk.connect_string())
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn three_masters_elect_one_leader_and_write_only_their_membership() {
    let Some(ha) = Ha::start("HA election", 3, SESSION).await else {
        return;
    };
    let leader = ha.leader().unwrap();
    let leaderships = ha.leaderships();
    assert_eq!(
        leaderships
            .iter()
            .filter(|l| **l == Some(Leadership::Leading))
            .count(),
        1,
        "{leaderships:?}"
    );

    let zk = zk_client(&ha).await;
    // Nothing but ZooKeeper's own node and the group's path at the root.
    let mut root = zk.list_children("/").await.unwrap();
    root.sort();
    assert_eq!(root, ["mesos", "zookeeper"]);
    let mut children = zk.list_children("/mesos").await.unwrap();
    children.sort();
    assert_eq!(children.len(), 3, "{children:?}");
    let mut ports = vec![];
    for (n, child) in children.iter().enumerate() {
        let digits = child
            .strip_prefix("json.info_")
            .unwrap_or_else(|| panic!("{child} is not a json.info_ member"));
        assert!(
            digits.len() == 10 && digits.bytes().all(|b| b.is_ascii_digit()),
            "{child}: a 10-digit sequence"
        );
        let path = format!("/mesos/{child}");
        let (data, stat) = zk.get_data(&path).await.unwrap();
        assert_ne!(stat.ephemeral_owner, 0, "{path} is ephemeral");
        let info: Value = serde_json::from_slice(&data).unwrap();
        let port = info["port"].as_u64().unwrap();
        let id = info["id"].as_str().unwrap();
        assert_eq!(info["ip"], 16777343, "127.0.0.1 in network order: {info}");
        assert_eq!(info["pid"], format!("master@127.0.0.1:{port}"), "{info}");
        assert_eq!(info["hostname"], "127.0.0.1", "{info}");
        assert_eq!(info["version"], mmrun::mesos::MESOS_VERSION, "{info}");
        assert_eq!(
            info["address"],
            serde_json::json!({"hostname": "127.0.0.1", "ip": "127.0.0.1", "port": port}),
        );
        let capabilities: Vec<&str> = info["capabilities"]
            .as_array()
            .unwrap_or_else(|| panic!("no capabilities: {info}"))
            .iter()
            .map(|c| c["type"].as_str().unwrap())
            .collect();
        assert_eq!(capabilities, ["AGENT_UPDATE", "AGENT_DRAINING", "QUOTA_V2"]);
        // The member is one of the masters, and the lowest sequence (the first, sorted) leads.
        let master = (0..3)
            .find(|&i| ha.host_port(i).ends_with(&format!(":{port}")))
            .unwrap_or_else(|| panic!("{info} is none of the masters"));
        let state: Value = reqwest::get(format!("{}/master/state", ha.url(leader)))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if n == 0 {
            assert_eq!(master, leader, "the lowest sequence leads");
            assert_eq!(state["leader_info"]["id"], id);
        }
        ports.push(port);
    }
    ports.sort();
    ports.dedup();
    assert_eq!(ports.len(), 3, "one member per master");
    drop(zk);
    ha.shutdown().await;
}

async fn get_json(url: &str) -> Value {
    let response = no_redirects().get(url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "GET {url}");
    response.json().await.unwrap()
}

async fn elected(base: &str) -> f64 {
    get_json(&format!("{base}/metrics/snapshot")).await["master/elected"]
        .as_f64()
        .unwrap()
}

fn location(response: &reqwest::Response) -> &str {
    response
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap())
        .unwrap_or("<none>")
}

#[tokio::test(flavor = "multi_thread")]
async fn non_leaders_redirect_to_the_leader_and_answer_the_rest_themselves() {
    let Some(ha) = Ha::start("HA redirects", 3, SESSION).await else {
        return;
    };
    let http = no_redirects();
    let leader = ha.leader().unwrap();
    let to_leader = format!("//{}", ha.host_port(leader));
    for follower in (0..3).filter(|&i| i != leader) {
        let base = ha.url(follower);
        for path in ["/api/v1/scheduler", "/api/v1"] {
            let r = http
                .post(format!("{base}{path}"))
                .header("content-type", "application/json")
                .body(r#"{"type":"GET_HEALTH"}"#)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::TEMPORARY_REDIRECT, "POST {path}");
            assert_eq!(location(&r), format!("{to_leader}{path}"), "POST {path}");
        }
        for path in [
            "/master/state",
            "/state",
            "/master/state-summary",
            "/master/frameworks",
            "/master/slaves",
            "/master/tasks",
            "/master/teardown",
        ] {
            // The query goes along: a client redirected keeps asking the same question.
            let asked = format!("{path}?jsonp=cb&limit=5");
            let r = http.get(format!("{base}{asked}")).send().await.unwrap();
            assert_eq!(r.status(), StatusCode::TEMPORARY_REDIRECT, "GET {asked}");
            assert_eq!(location(&r), format!("{to_leader}{asked}"), "GET {asked}");
        }
        // Answered by every master.
        for path in ["/health", "/version", "/master/flags"] {
            let r = http.get(format!("{base}{path}")).send().await.unwrap();
            assert_eq!(r.status(), StatusCode::OK, "GET {path} on a follower");
        }
        let version = get_json(&format!("{base}/version")).await;
        assert_eq!(version["version"], mmrun::mesos::MESOS_VERSION);
        let flags = get_json(&format!("{base}/master/flags")).await;
        assert_eq!(flags["flags"]["zk"], ha.url.to_string(), "{flags}");
        assert_eq!(elected(&base).await, 0.0, "a follower is not elected");
        let r = http
            .get(format!("{base}/master/redirect"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::TEMPORARY_REDIRECT);
        assert_eq!(location(&r), to_leader);
    }

    let base = ha.url(leader);
    assert_eq!(elected(&base).await, 1.0);
    let r = http
        .get(format!("{base}/master/redirect"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::TEMPORARY_REDIRECT,
        "also on the leader"
    );
    assert_eq!(location(&r), to_leader);
    let state = get_json(&format!("{base}/master/state")).await;
    assert_eq!(state["leader"], format!("master@{}", ha.host_port(leader)));
    assert_eq!(state["leader_info"]["id"], state["id"]);
    assert_eq!(state["leader_info"]["pid"], state["pid"]);
    let elected_time = state["elected_time"].as_f64().expect("elected_time");
    assert!(
        elected_time >= state["start_time"].as_f64().unwrap(),
        "{state}"
    );
    ha.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn with_zookeeper_unreachable_no_master_leads_and_every_master_answers_503() {
    let Some(install) = common::zookeeper::install_or_skip("HA no leader") else {
        return;
    };
    // A server prepared but not started: the masters contend against nothing, deterministically.
    let mut zk = mmrun::zookeeper::ZooKeeperServer::new(&install, None).unwrap();
    let url = mmrun::zookeeper::ZkUrl::parse(&zk.zk_url("/mesos")).unwrap();
    let cluster = mmrun::lite::cluster::LocalCluster::start(ClusterOptions {
        masters: 2,
        zookeeper: Some(url.clone()),
        zk_session_timeout: SESSION,
        ..ClusterOptions::default()
    })
    .await
    .unwrap();
    let http = no_redirects();
    for i in 0..2 {
        let base = cluster.master_url_of(i).unwrap();
        assert_eq!(cluster.master_leadership(i), Some(Leadership::NoLeader));
        for (method, path) in [
            ("POST", "/api/v1/scheduler"),
            ("POST", "/api/v1"),
            ("GET", "/master/state"),
            ("GET", "/master/redirect"),
        ] {
            let request = match method {
                "POST" => http
                    .post(format!("{base}{path}"))
                    .header("content-type", "application/json")
                    .body(r#"{"type":"GET_HEALTH"}"#),
                _ => http.get(format!("{base}{path}")),
            };
            let r = request.send().await.unwrap();
            assert_eq!(
                r.status(),
                StatusCode::SERVICE_UNAVAILABLE,
                "{method} {path}"
            );
            assert_eq!(
                r.text().await.unwrap(),
                "No leader elected",
                "{method} {path}"
            );
        }
        let r = http.get(format!("{base}/health")).send().await.unwrap();
        assert_eq!(
            r.status(),
            StatusCode::OK,
            "health is answered without a leader"
        );
        assert_eq!(elected(&base).await, 0.0);
    }
    // ZooKeeper comes up: the masters, retrying all along, elect one.
    zk.start().await.unwrap();
    wait_for("one leader", Duration::from_secs(20), || async {
        (0..2)
            .filter(|&i| cluster.master_leadership(i) == Some(Leadership::Leading))
            .count()
            == 1
    })
    .await;
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stopped_leader_is_replaced_at_once_a_killed_one_when_its_session_expires() {
    let Some(mut ha) = Ha::start("HA failover timing", 3, SESSION).await else {
        return;
    };
    let first = ha.leader().unwrap();

    let stopped = Instant::now();
    ha.cluster.stop_master(first, true).await.unwrap();
    let second = ha.await_leader(Some(first), Duration::from_secs(5)).await;
    let graceful = stopped.elapsed();
    eprintln!("graceful stop: master {second} leads after {graceful:?}");
    assert!(graceful < Duration::from_millis(1500), "{graceful:?}");
    assert_eq!(elected(&ha.url(second)).await, 1.0);

    // A crash: the killed leader's membership stays until ZooKeeper expires its session, so
    // the remaining master keeps following it meanwhile.
    let third = (0..3).find(|&i| i != first && i != second).unwrap();
    let killed = Instant::now();
    ha.cluster.stop_master(second, false).await.unwrap();
    match ha.cluster.master_leadership(third) {
        Some(Leadership::Following(info)) => {
            assert!(ha.host_port(second).ends_with(&format!(":{}", info.port)))
        }
        other => panic!("right after the kill the killed leader still leads: {other:?}"),
    }
    // Session expiry is checked on ZooKeeper's tick (2 s): up to one tick late.
    let within = SESSION + Duration::from_secs(2) + Duration::from_secs(3);
    let after = ha.await_leader(Some(second), within).await;
    let crash = killed.elapsed();
    eprintln!("kill: master {after} leads after {crash:?} (session timeout {SESSION:?})");
    assert_eq!(after, third);
    // The client pings every third of the timeout, so expiry comes at least 2/3 of it after
    // the last ping; a leader taking over sooner did not wait for the session.
    assert!(crash >= SESSION * 2 / 3, "{crash:?}: not a session expiry");
    assert_eq!(elected(&ha.url(third)).await, 1.0);

    // A stopped master started again joins as a follower of the current leader.
    ha.cluster.start_master(first).await.unwrap();
    let base = ha.url(first);
    let to_leader = format!("//{}", ha.host_port(third));
    let http = no_redirects();
    wait_for(
        "the restarted master follows",
        Duration::from_secs(10),
        || {
            let http = http.clone();
            let url = format!("{base}/master/redirect");
            let to_leader = to_leader.clone();
            async move {
                let r = http.get(url).send().await.unwrap();
                r.status() == StatusCode::TEMPORARY_REDIRECT && location(&r) == to_leader
            }
        },
    )
    .await;
    assert!(matches!(
        ha.cluster.master_leadership(first),
        Some(Leadership::Following(_))
    ));
    ha.shutdown().await;
}

/// The new leader learns of the agent and the framework only from themselves: agents
/// re-register (with their tasks), frameworks subscribe again.
#[tokio::test(flavor = "multi_thread")]
async fn after_a_failover_the_agent_and_the_framework_follow_the_new_leader_with_their_task() {
    use mmrun::framework::{Framework, FrameworkOptions, MasterFinder, TaskRequest};
    use mmrun::mesos::task::TaskState;
    // Pings so slow that an agent waiting for them to time out would take 150 s to notice.
    let options = ClusterOptions {
        masters: 3,
        zk_session_timeout: SESSION,
        agent_ping_timeout: Duration::from_secs(30),
        max_agent_ping_timeouts: 5,
        ..ClusterOptions::default()
    };
    let Some(mut ha) = Ha::start_with("HA agent and framework", options).await else {
        return;
    };
    ha.cluster.add_agent(Default::default()).await.unwrap();
    let agent_id = ha.cluster.agent_id(0).unwrap();
    let framework = Framework::subscribe_via(
        MasterFinder::zookeeper(ha.url.clone()),
        FrameworkOptions {
            failover_timeout: 60.0,
            ..FrameworkOptions::named("ha")
        },
    )
    .await
    .unwrap();
    framework
        .launch(vec![TaskRequest::command("long", "sleep 600")])
        .unwrap();
    let cancel = tokio_util::sync::CancellationToken::new();
    framework
        .await_task("long", TaskState::Running, Duration::from_secs(20), &cancel)
        .await
        .unwrap();
    let resubscribed = framework.resubscriptions();

    let old = ha.leader().unwrap();
    let failover = Instant::now();
    ha.cluster.stop_master(old, true).await.unwrap();
    let new = ha.await_leader(Some(old), Duration::from_secs(5)).await;
    let base = ha.url(new);

    // The agent re-registers with the new leader, under its id, with its running task.
    wait_for(
        "the agent re-registers with the new leader",
        Duration::from_secs(10),
        || {
            let url = format!("{base}/master/slaves");
            let agent_id = agent_id.to_string();
            async move {
                let slaves = get_json(&url).await;
                slaves["slaves"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|s| s["id"] == agent_id.as_str() && s["active"] == true)
            }
        },
    )
    .await;
    eprintln!(
        "agent re-registered {:?} after the stop",
        failover.elapsed()
    );

    // The framework subscribes again with its id, and its task is there, running.
    assert!(
        framework
            .await_resubscribed(resubscribed, Duration::from_secs(10))
            .await,
        "{:?}",
        framework.ended()
    );
    let state = get_json(&format!("{base}/master/state")).await;
    let frameworks = state["frameworks"].as_array().unwrap();
    assert_eq!(frameworks.len(), 1, "{state}");
    assert_eq!(frameworks[0]["id"], framework.id().to_string());
    assert_eq!(frameworks[0]["active"], true);
    let task = &frameworks[0]["tasks"][0];
    assert_eq!(task["name"], "long", "{state}");
    assert_eq!(task["state"], "TASK_RUNNING", "{state}");
    assert_eq!(task["slave_id"], agent_id.to_string());
    // Its reconciliation was answered by the new leader.
    wait_for("the task is reconciled", Duration::from_secs(10), || {
        let reconciled = framework.task("long").is_some_and(|t| {
            t.statuses
                .iter()
                .any(|s| s.reason.as_deref() == Some("REASON_RECONCILIATION"))
        });
        async move { reconciled }
    })
    .await;
    // And its calls reach the new leader: the kill goes through to the agent.
    framework.kill("long").unwrap();
    framework
        .await_task("long", TaskState::Killed, Duration::from_secs(20), &cancel)
        .await
        .unwrap();
    framework.disconnect();
    ha.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn masters_that_lose_their_session_stop_and_start_again_once_zookeeper_is_back() {
    let Some(mut ha) = Ha::start("HA session loss", 3, SESSION).await else {
        return;
    };
    let killed = Instant::now();
    ha.zk.kill().await;
    // ZooKeeper away longer than the session timeout: every master's session is over.
    let within = SESSION * 2 + Duration::from_secs(10);
    wait_for("every master stops", within, || {
        let lost = (0..3).all(|i| ha.cluster.master_lost(i).is_some());
        async move { lost }
    })
    .await;
    let lost_after = killed.elapsed();
    assert!(
        lost_after >= SESSION,
        "{lost_after:?}: before the session could expire"
    );
    for i in 0..3 {
        let why = ha.cluster.master_lost(i).unwrap();
        assert!(why.contains("ZooKeeper session"), "{why}");
        // A stopped master serves nothing any more.
        assert!(reqwest::get(format!("{}/health", ha.url(i))).await.is_err());
    }
    ha.zk.start().await.unwrap();
    for i in 0..3 {
        ha.cluster.start_master(i).await.unwrap();
    }
    // The old members linger until ZooKeeper, back, expires their sessions; meanwhile the
    // group's leader is an old member, at the address of one of the restarted masters. That
    // master must not redirect clients to itself (pymesos followed 2 000 such redirects):
    // no leader is known yet, 503.
    let client = no_redirects();
    let answers = std::cell::RefCell::new(std::collections::BTreeMap::<u16, usize>::new());
    // Until one leads (asserted below), every answer is looked at: none may be a redirect to
    // the master itself.
    let _ = WaitFor::new("a leader", Duration::from_secs(20))
        .every(Duration::from_millis(20))
        .until(|| async {
            if ha.leader().is_some() {
                return true;
            }
            for i in 0..3 {
                let Ok(r) = client
                    .get(format!("{}/master/state", ha.url(i)))
                    .send()
                    .await
                else {
                    continue;
                };
                *answers.borrow_mut().entry(r.status().as_u16()).or_default() += 1;
                if r.status() == StatusCode::TEMPORARY_REDIRECT {
                    let port = ha.host_port(i).rsplit(':').next().unwrap().to_string();
                    let to = location(&r);
                    assert!(
                        !to.ends_with(&format!(":{port}/master/state")),
                        "master {i} redirects to itself: {to}"
                    );
                }
            }
            false
        })
        .await;
    let answers = answers.into_inner();
    eprintln!("answers while the old members lingered: {answers:?}");
    // Then one of the new masters leads and only the three new members remain.
    ha.await_leader(None, Duration::from_secs(20)).await;
    let zk = zk_client(&ha).await;
    wait_for("only the new members", Duration::from_secs(20), || {
        let zk = zk.clone();
        async move { zk.list_children("/mesos").await.unwrap().len() == 3 }
    })
    .await;
    assert!((0..3).all(|i| ha.cluster.master_lost(i).is_none()));
    drop(zk);
    ha.shutdown().await;
}

/// `mmrun node master`, the real binary, with its stdout and stderr collected.
fn node_master(args: &[String]) -> tokio::process::Child {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_mmrun"))
        .args(["node", "master"])
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test(flavor = "multi_thread")]
async fn mmrun_node_master_exits_non_zero_saying_why_when_its_session_expires() {
    let Some(mut zk) = common::zookeeper::server_or_skip("HA node master session").await else {
        return;
    };
    let port = free_port();
    let child = node_master(&[
        format!("--zk={}", zk.zk_url("/mesos")),
        "--quorum=1".into(),
        "--zk_session_timeout=1secs".into(),
        "--ip=127.0.0.1".into(),
        format!("--port={port}"),
    ]);
    let base = format!("http://127.0.0.1:{port}");
    wait_for("the master leads", Duration::from_secs(20), || {
        let url = format!("{base}/metrics/snapshot");
        async move {
            match reqwest::get(url).await {
                Ok(r) => r.json::<Value>().await.unwrap()["master/elected"] == 1.0,
                Err(_) => false,
            }
        }
    })
    .await;
    let killed = Instant::now();
    zk.kill().await;
    let out = tokio::time::timeout(Duration::from_secs(20), child.wait_with_output())
        .await
        .expect("the master exits once its session is over")
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("exited {:?} after ZooKeeper was killed", killed.elapsed());
    assert_eq!(
        out.status.code(),
        Some(mmrun::exit_codes::NODE_ABORTED),
        "{stderr}"
    );
    assert!(
        stderr.contains("lost its ZooKeeper session"),
        "the reason is said: {stderr}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn mmrun_node_master_validates_quorum_as_mesos() {
    // Validation comes before any connection: no ZooKeeper needed.
    let zk = "--zk=zk://127.0.0.1:2181/mesos".to_string();
    for (args, says) in [
        (vec![zk.clone()], "Need to specify --quorum"),
        (
            vec![zk.clone(), "--quorum=0".into()],
            "--quorum must be at least 1",
        ),
        (
            vec!["--zk=127.0.0.1:2181".into(), "--quorum=1".into()],
            "--zk:",
        ),
    ] {
        let out = node_master(&args).wait_with_output().await.unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
}

/// Agents that lost a killed leader's pings keep trying it (it still leads in ZooKeeper until
/// its session expires) and back off; once another is elected they must re-register with it at
/// once, not when their backoff, grown to seconds, runs out.
#[tokio::test(flavor = "multi_thread")]
async fn agents_re_register_as_soon_as_a_killed_leaders_successor_is_elected() {
    let Some(mut ha) = Ha::start("HA agents after a kill", 3, SESSION).await else {
        return;
    };
    for _ in 0..3 {
        ha.cluster.add_agent(Default::default()).await.unwrap();
    }
    let old = ha.leader().unwrap();
    ha.cluster.stop_master(old, false).await.unwrap();
    let new = ha.await_leader(Some(old), SESSION * 4).await;
    let elected = Instant::now();
    let url = format!("{}/master/slaves", ha.url(new));
    wait_for("all 3 agents re-register", Duration::from_secs(20), || {
        let url = url.clone();
        async move {
            let slaves = get_json(&url).await;
            let active = slaves["slaves"].as_array().unwrap().iter();
            active.filter(|s| s["active"] == true).count() == 3
        }
    })
    .await;
    let took = elected.elapsed();
    eprintln!("3 agents re-registered {took:?} after the election");
    assert!(
        took < Duration::from_millis(500),
        "{took:?} after the election"
    );
    ha.shutdown().await;
}
