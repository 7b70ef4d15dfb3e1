//! The libprocess faces of the master and the agent, as Mesos's drivers see them: which
//! requests are messages and what they are answered, the order and the headers of what the
//! master sends back, who may speak for a framework, and a scheduler that goes away. A
//! stand-in peer (`common::libprocess::FakePeer`) plays the driver so every byte is visible;
//! the real drivers run in `clients::drivers`.

use crate::common::libprocess::FakePeer;
use crate::common::{self, WAIT};
use mmrun::mesos::framework::FrameworkInfo;
use mmrun::mesos::internal::{
    FrameworkRegisteredMessage, RegisterFrameworkMessage, ResourceOffersMessage,
    UnregisterFrameworkMessage,
};
use reqwest::StatusCode;

fn framework(name: &str, failover_timeout: f64) -> FrameworkInfo {
    FrameworkInfo {
        failover_timeout,
        ..common::framework_info(name, &[])
    }
}

async fn post(url: &str, headers: &[(&str, &str)], body: &'static [u8]) -> StatusCode {
    let mut request = reqwest::Client::new().post(url).body(body);
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    request.send().await.unwrap().status()
}

#[tokio::test]
async fn requests_are_messages_only_with_a_sender_and_a_known_process() {
    let c = common::cluster(1).await;
    let master = c.master_url();
    let agent = c.agent_url(0).unwrap();
    let from = [("Libprocess-From", "scheduler(1)@127.0.0.1:1")];
    let register = "mesos.internal.RegisterFrameworkMessage";
    // No sender: an HTTP request for a route the process does not have.
    assert_eq!(
        post(&format!("{master}/master/{register}"), &[], b"").await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        post(&format!("{agent}/slave(1)/{register}"), &[], b"").await,
        StatusCode::NOT_FOUND
    );
    // A sender that is no pid: libprocess's 500.
    let bad = [("Libprocess-From", "not a pid")];
    assert_eq!(
        post(&format!("{master}/master/{register}"), &bad, b"").await,
        StatusCode::INTERNAL_SERVER_ERROR
    );
    // The sender may come from the User-Agent, as the C++ driver also sends it.
    let agent_only = [("User-Agent", "libprocess/scheduler(1)@127.0.0.1:1")];
    assert_eq!(
        post(
            &format!("{master}/master/mesos.internal.NoSuchMessage"),
            &agent_only,
            b""
        )
        .await,
        StatusCode::ACCEPTED
    );
    // No such process: 404; an unknown message to a known process: 202, dropped.
    assert_eq!(
        post(&format!("{master}/nosuch(1)/{register}"), &from, b"").await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        post(
            &format!("{agent}/slave(1)/mesos.internal.NoSuchMessage"),
            &from,
            b""
        )
        .await,
        StatusCode::ACCEPTED
    );
    // Bytes that are no protobuf: taken (202) and dropped; the master carries on.
    assert_eq!(
        post(
            &format!("{master}/master/{register}"),
            &from,
            b"\xff\xff\xff garbage"
        )
        .await,
        StatusCode::ACCEPTED
    );
    let state = mmrun::client::MasterClient::new(&master)
        .state()
        .await
        .unwrap();
    assert!(
        state.frameworks.is_empty(),
        "no framework from malformed bytes"
    );
    c.shutdown().await;
}

#[tokio::test]
async fn a_driver_is_registered_then_offered_in_order_from_the_masters_exact_pid() {
    let c = common::cluster(1).await;
    let master = c.master_url();
    let mut scheduler = FakePeer::start("scheduler(1)").await;
    let register = RegisterFrameworkMessage {
        framework: framework("wire", 0.0),
    };
    assert_eq!(
        scheduler.send(&master, "master", &register).await,
        StatusCode::ACCEPTED
    );

    let state = mmrun::client::MasterClient::new(&master)
        .state()
        .await
        .unwrap();
    let master_pid = state.leader.clone().expect("a leader");
    let registered = scheduler.next("FrameworkRegisteredMessage", WAIT).await;
    assert_eq!(registered.name, "mesos.internal.FrameworkRegisteredMessage");
    // Drivers drop what does not come from the master pid they detected, compared as text.
    assert_eq!(registered.from.as_deref(), Some(master_pid.as_str()));
    // A libprocess User-Agent would make a mesos-go peer withhold its 202.
    assert!(
        registered
            .user_agent
            .as_deref()
            .is_none_or(|a| !a.starts_with("libprocess/")),
        "{:?}",
        registered.user_agent
    );
    let registered: FrameworkRegisteredMessage = registered.decode();
    assert_eq!(registered.master_info.pid, master_pid);

    // Offers come after the registration (one connection, in order), one agent pid per offer.
    let offers = scheduler.next("ResourceOffersMessage", WAIT).await;
    assert_eq!(offers.name, "mesos.internal.ResourceOffersMessage");
    let offers: ResourceOffersMessage = offers.decode();
    assert_eq!(offers.offers.len(), 1);
    assert_eq!(offers.pids.len(), offers.offers.len());
    let agent = common::host_port(&c.agent_url(0).unwrap());
    assert_eq!(offers.pids[0], format!("slave(1)@{agent}"));

    // /master/state shows the driver framework's pid, as Mesos does.
    let state =
        common::eventually(&master, "the framework's pid", |s| !s.frameworks.is_empty()).await;
    assert_eq!(
        state.frameworks[0].pid.as_deref(),
        Some(scheduler.pid.to_string().as_str())
    );
    assert_eq!(state.frameworks[0].id, registered.framework_id.value);
    c.shutdown().await;
}

#[tokio::test]
async fn a_repeated_registration_gets_the_same_framework_and_strangers_are_ignored() {
    let c = common::cluster(0).await;
    let master = c.master_url();
    let mut scheduler = FakePeer::start("scheduler(1)").await;
    let register = RegisterFrameworkMessage {
        framework: framework("repeat", 0.0),
    };
    scheduler.send(&master, "master", &register).await;
    let first: FrameworkRegisteredMessage = scheduler
        .next_named("mesos.internal.FrameworkRegisteredMessage", WAIT)
        .await
        .decode();
    // Drivers resend until they hear back; a repeat must not make a second framework.
    scheduler.send(&master, "master", &register).await;
    let again: FrameworkRegisteredMessage = scheduler
        .next_named("mesos.internal.FrameworkRegisteredMessage", WAIT)
        .await
        .decode();
    assert_eq!(again.framework_id, first.framework_id);

    // Another process may not unregister it: Mesos drops messages not from the framework's pid.
    let stranger = FakePeer::start("scheduler(1)").await;
    let unregister = UnregisterFrameworkMessage {
        framework_id: first.framework_id.clone(),
    };
    assert_eq!(
        stranger.send(&master, "master", &unregister).await,
        StatusCode::ACCEPTED
    );
    let state = mmrun::client::MasterClient::new(&master)
        .state()
        .await
        .unwrap();
    assert_eq!(
        state.frameworks.len(),
        1,
        "one framework for both registrations"
    );
    assert!(
        state.frameworks[0].active,
        "a stranger's unregister is dropped"
    );

    // Its own scheduler may.
    scheduler.send(&master, "master", &unregister).await;
    common::eventually(&master, "the framework removed", |s| {
        s.frameworks.is_empty() && s.completed_frameworks.len() == 1
    })
    .await;
    c.shutdown().await;
}

#[tokio::test]
async fn a_scheduler_that_goes_away_is_disconnected_and_removed_after_its_failover_timeout() {
    let c = common::cluster(1).await;
    let master = c.master_url();
    let mut scheduler = FakePeer::start("scheduler(1)").await;
    let register = RegisterFrameworkMessage {
        framework: framework("gone", 1.0),
    };
    scheduler.send(&master, "master", &register).await;
    scheduler
        .next_named("mesos.internal.ResourceOffersMessage", WAIT)
        .await;
    // The process dies: its sockets close and its port refuses connections. The master's
    // link breaks (Mesos's ExitedEvent): the framework is inactive at once, and removed
    // after its failover timeout.
    scheduler.stop();
    let state = common::eventually(&master, "the framework inactive", |s| {
        s.frameworks.first().is_some_and(|f| !f.active)
    })
    .await;
    assert!(
        state.frameworks[0].pid.is_some(),
        "an inactive driver framework keeps its pid"
    );
    common::eventually(
        &master,
        "the framework removed after its failover timeout",
        |s| s.frameworks.is_empty() && s.completed_frameworks.len() == 1,
    )
    .await;
    c.shutdown().await;
}

#[tokio::test]
async fn reregistration_rules_are_mesoss_same_pid_again_another_pid_only_with_failover() {
    use mmrun::mesos::internal::{
        FrameworkErrorMessage, FrameworkReregisteredMessage, ReregisterFrameworkMessage,
    };
    let c = common::cluster(0).await;
    let master = c.master_url();
    let mut first = FakePeer::start("scheduler(1)").await;
    first
        .send(
            &master,
            "master",
            &RegisterFrameworkMessage {
                framework: framework("rules", 60.0),
            },
        )
        .await;
    let id = first
        .next_named("mesos.internal.FrameworkRegisteredMessage", WAIT)
        .await
        .decode::<FrameworkRegisteredMessage>()
        .framework_id;
    let with_id = || FrameworkInfo {
        id: Some(id.clone()),
        ..framework("rules", 60.0)
    };

    // The same scheduler again, not failing over (as after a master change): re-registered.
    first
        .send(
            &master,
            "master",
            &ReregisterFrameworkMessage {
                framework: with_id(),
                failover: false,
            },
        )
        .await;
    let again: FrameworkReregisteredMessage = first
        .next_named("mesos.internal.FrameworkReregisteredMessage", WAIT)
        .await
        .decode();
    assert_eq!(again.framework_id, id);

    // Another scheduler with that id but without failover is refused, and changes nothing.
    let mut second = FakePeer::start("scheduler(1)").await;
    second
        .send(
            &master,
            "master",
            &ReregisterFrameworkMessage {
                framework: with_id(),
                failover: false,
            },
        )
        .await;
    let refused: FrameworkErrorMessage = second
        .next_named("mesos.internal.FrameworkErrorMessage", WAIT)
        .await
        .decode();
    assert_eq!(refused.message, "Framework failed over");
    let state = mmrun::client::MasterClient::new(&master)
        .state()
        .await
        .unwrap();
    assert_eq!(
        state.frameworks[0].pid.as_deref(),
        Some(first.pid.to_string().as_str())
    );

    // With failover it takes the framework over: registered anew, the old one told.
    second
        .send(
            &master,
            "master",
            &ReregisterFrameworkMessage {
                framework: with_id(),
                failover: true,
            },
        )
        .await;
    let taken: FrameworkRegisteredMessage = second
        .next_named("mesos.internal.FrameworkRegisteredMessage", WAIT)
        .await
        .decode();
    assert_eq!(taken.framework_id, id);
    let told: FrameworkErrorMessage = first
        .next_named("mesos.internal.FrameworkErrorMessage", WAIT)
        .await
        .decode();
    assert_eq!(told.message, "Framework failed over");
    let state = mmrun::client::MasterClient::new(&master)
        .state()
        .await
        .unwrap();
    assert_eq!(state.frameworks.len(), 1);
    assert_eq!(
        state.frameworks[0].pid.as_deref(),
        Some(second.pid.to_string().as_str())
    );
    c.shutdown().await;
}

#[tokio::test]
async fn a_message_whose_sender_closes_at_once_is_still_handled() {
    use tokio::io::AsyncWriteExt;
    let c = common::cluster(0).await;
    let master = c.master_url();
    let mut scheduler = FakePeer::start("scheduler(1)").await;
    let body = mmrun::mesos::encoding::encode(
        mmrun::mesos::encoding::Encoding::Protobuf,
        &RegisterFrameworkMessage {
            framework: framework("hasty", 0.0),
        },
    )
    .unwrap();
    // Written, then the sender's side closed before any answer: libprocess still handles a
    // message it has read (the C++ driver may close a socket right after a send).
    let mut socket = tokio::net::TcpStream::connect(common::host_port(&master))
        .await
        .unwrap();
    let head = format!(
        "POST /master/mesos.internal.RegisterFrameworkMessage HTTP/1.1\r\nHost: x\r\n\
         Libprocess-From: {}\r\nContent-Length: {}\r\n\r\n",
        scheduler.pid,
        body.len()
    );
    socket.write_all(head.as_bytes()).await.unwrap();
    socket.write_all(&body).await.unwrap();
    socket.shutdown().await.unwrap();
    drop(socket);
    scheduler
        .next_named("mesos.internal.FrameworkRegisteredMessage", WAIT)
        .await;
    // A request that is not a POSTed message, to a path shaped like one, is an unknown
    // endpoint, as libprocess answers (not 405).
    let r = reqwest::get(format!("{master}/master/state.json"))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    c.shutdown().await;
}
