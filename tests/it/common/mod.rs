//! Test helpers: a minimal framework driven step by step over the real v1 scheduler API.
#![allow(dead_code)]

pub mod chromium;
pub mod docker;
pub mod ha;
pub mod libmesos;
pub mod libprocess;
pub mod mesos_go;
pub mod pymesos;
pub mod workspace;
pub mod zookeeper;

use mmrun::client::{Subscription, subscribe};
use mmrun::lite::cluster::{AgentOptions, ClusterOptions, LocalCluster};
use mmrun::mesos::encoding::{self, Encoding};
use mmrun::mesos::framework::{Capability, FrameworkInfo};
use mmrun::mesos::ids::TaskId;
use mmrun::mesos::resources::Resource;
use mmrun::mesos::scheduler::{
    Accept, Acknowledge, Call, CallType, Event, EventType, Filters, Launch, Offer, Operation,
};
use mmrun::mesos::task::{CommandInfo, TaskInfo, TaskState, TaskStatus};
use std::time::Duration;

pub const WAIT: Duration = Duration::from_secs(10);

/// An in-process cluster: a master and agents with these options.
pub async fn cluster_with(options: ClusterOptions, agents: &[AgentOptions]) -> LocalCluster {
    let mut c = LocalCluster::start(options).await.unwrap();
    for a in agents {
        c.add_agent(a.clone()).await.unwrap();
    }
    c
}

/// An in-process cluster of a default master and `agents` default agents.
pub async fn cluster(agents: usize) -> LocalCluster {
    cluster_with(
        ClusterOptions::default(),
        &vec![AgentOptions::default(); agents],
    )
    .await
}

/// A default master, no agents.
pub async fn master_only() -> LocalCluster {
    cluster(0).await
}

/// A scalar resource as JSON.
pub fn scalar_json(name: &str, value: f64) -> serde_json::Value {
    serde_json::json!({"name": name, "type": "SCALAR", "scalar": {"value": value}})
}

pub fn framework_info(name: &str, capabilities: &[&str]) -> FrameworkInfo {
    serde_json::from_value(serde_json::json!({
        "user": "root",
        "name": name,
        "capabilities": capabilities.iter().map(|c| serde_json::json!({"type": c})).collect::<Vec<_>>(),
    }))
    .unwrap()
}

pub fn checkpointing(mut info: FrameworkInfo) -> FrameworkInfo {
    info.checkpoint = true;
    info
}

pub fn capability(name: &str) -> Capability {
    Capability { kind: name.into() }
}

pub async fn subscribe_framework(master: &str, info: FrameworkInfo) -> Subscription {
    subscribe(master, info).await.expect("subscribe")
}

pub fn command_task(name: &str, offer: &Offer, cmd: &str, cpus: f64, mem: f64) -> TaskInfo {
    TaskInfo {
        name: name.into(),
        task_id: TaskId::new(name),
        agent_id: offer.agent_id.clone(),
        resources: vec![Resource::scalar("cpus", cpus), Resource::scalar("mem", mem)],
        executor: None,
        command: Some(CommandInfo {
            value: Some(cmd.into()),
            shell: true,
            arguments: vec![],
            environment: None,
            uris: vec![],
            user: None,
        }),
        container: None,
        health_check: None,
        kill_policy: None,
        labels: None,
        discovery: None,
        data: None,
    }
}

/// Waits for an OFFERS event and returns its offers.
pub async fn next_offers(sub: &mut Subscription) -> Vec<Offer> {
    loop {
        let e = sub.next_event(WAIT).await.expect("an OFFERS event");
        if e.kind == EventType::Offers {
            return e.offers.unwrap().offers;
        }
    }
}

pub async fn launch(sub: &Subscription, offer: &Offer, tasks: Vec<TaskInfo>) {
    let call = Call {
        accept: Some(Accept {
            offer_ids: vec![offer.id.clone()],
            operations: vec![Operation {
                kind: "LAUNCH".into(),
                launch: Some(Launch { task_infos: tasks }),
            }],
            filters: Some(Filters {
                refuse_seconds: Some(0.0),
            }),
        }),
        ..Call::new(CallType::Accept, None)
    };
    assert_eq!(sub.call(call).await.unwrap(), 202);
}

pub async fn ack(sub: &Subscription, status: &TaskStatus) {
    if let (Some(uuid), Some(agent_id)) = (&status.uuid, &status.agent_id) {
        let call = Call {
            acknowledge: Some(Acknowledge {
                agent_id: agent_id.clone(),
                task_id: status.task_id.clone(),
                uuid: uuid.clone(),
            }),
            ..Call::new(CallType::Acknowledge, None)
        };
        sub.call(call).await.expect("acknowledge");
    }
}

/// Acknowledges updates as they come until `task` reaches `state`; returns the updates seen.
/// Other events (offers, failures) are returned too so tests can look at them.
pub async fn await_state(sub: &mut Subscription, task: &str, state: TaskState) -> Vec<Event> {
    let mut seen = Vec::new();
    loop {
        let e = sub
            .next_event(WAIT)
            .await
            .unwrap_or_else(|| panic!("task {task} did not reach {state}; saw {seen:#?}"));
        if let Some(u) = &e.update {
            ack(sub, &u.status).await;
            if u.status.task_id.value == task && u.status.state == state {
                seen.push(e);
                return seen;
            }
        }
        seen.push(e);
    }
}

/// Launches command task `name` (`cmd`, 0.1 cpus, 32 MB) on the next offer and waits, acknowledging
/// its updates, until it runs.
pub async fn launch_running(sub: &mut Subscription, name: &str, cmd: &str) {
    let offers = next_offers(sub).await;
    launch(
        sub,
        &offers[0],
        vec![command_task(name, &offers[0], cmd, 0.1, 32.0)],
    )
    .await;
    await_state(sub, name, TaskState::Running).await;
}

pub fn states(events: &[Event], task: &str) -> Vec<TaskState> {
    events
        .iter()
        .filter_map(|e| e.update.as_ref())
        .filter(|u| u.status.task_id.value == task)
        .map(|u| u.status.state)
        .collect()
}

pub async fn decline_all(sub: &Subscription, offers: &[Offer], refuse_seconds: f64) {
    let call = Call {
        decline: Some(mmrun::mesos::scheduler::Decline {
            offer_ids: offers.iter().map(|o| o.id.clone()).collect(),
            filters: Some(Filters {
                refuse_seconds: Some(refuse_seconds),
            }),
        }),
        ..Call::new(CallType::Decline, None)
    };
    sub.call(call).await.unwrap();
}

/// Polls until `check` holds for the master state, or panics with the last state.
pub async fn eventually<F: Fn(&mmrun::mesos::state::MasterState) -> bool>(
    master: &str,
    what: &str,
    check: F,
) -> mmrun::mesos::state::MasterState {
    let client = mmrun::client::MasterClient::new(master);
    wait_for(what, WAIT, || async {
        let state = client.state().await.unwrap();
        match check(&state) {
            true => Ok(state),
            false => Err(serde_json::to_string_pretty(&state).unwrap()),
        }
    })
    .await
}

// ---------------------------------------------------------------------------------------------
// Waiting: every wait for a condition goes through `mmrun::wait`, as the Docker cluster's
// readiness does; a test sleeps only where the time itself is what it tests.
// ---------------------------------------------------------------------------------------------

pub use mmrun::wait::{Outcome, WaitFor};
use std::process::ExitStatus;

/// Polls `check` until it is ready (`true`, `Some`, `Ok`: see `mmrun::wait::Outcome`) and
/// returns what it found; panics after `within`, naming `what` and the last thing seen (an
/// `Err`'s text).
pub async fn wait_for<O, F, Fut>(what: &str, within: Duration, check: F) -> O::Ready
where
    O: Outcome,
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = O>,
{
    WaitFor::new(what, within)
        .until(check)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Waits up to `within` for `child` to exit: its status, or `None` while it still runs.
pub fn exit_within(child: &mut std::process::Child, within: Duration) -> Option<ExitStatus> {
    WaitFor::new("the process to exit", within)
        .every(Duration::from_millis(20))
        .blocking_until(|| child.try_wait().ok().flatten())
        .ok()
}

/// [`wait_for`] for a synchronous check, outside a runtime or on a thread of its own.
pub fn wait_for_blocking<O: Outcome>(
    what: &str,
    within: Duration,
    check: impl FnMut() -> O,
) -> O::Ready {
    WaitFor::new(what, within)
        .blocking_until(check)
        .unwrap_or_else(|e| panic!("{e}"))
}

/// The next UPDATE's status, skipping offers and other events.
pub async fn next_update(sub: &mut Subscription) -> TaskStatus {
    loop {
        let e = sub.next_event(WAIT).await.expect("an UPDATE event");
        if let Some(u) = e.update {
            return u.status;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Raw HTTP: for the conformance tests that must control (and see) every header byte.
// ---------------------------------------------------------------------------------------------

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

/// `host:port` of an `http://host:port` URL.
pub fn host_port(url: &str) -> String {
    url.trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string()
}

/// The bytes of an HTTP/1.1 request: a `Host` header, the given headers verbatim, and a
/// `Content-Length` when there is a body (or the method is POST).
pub fn http_request(method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut out = format!("{method} {path} HTTP/1.1\r\nHost: localhost\r\n");
    for (k, v) in headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    if !body.is_empty() || method == "POST" {
        out.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    out.push_str("\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

#[derive(Debug)]
pub struct RawResponse {
    pub status: u16,
    /// e.g. `HTTP/1.1`.
    pub version: String,
    /// In the order and spelling the server wrote them.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RawResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn is_chunked(&self) -> bool {
        self.header("transfer-encoding")
            .is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
    }
}

/// One TCP connection to a node, spoken to in raw HTTP/1.1.
pub struct RawConn {
    reader: BufReader<OwnedReadHalf>,
    /// None once taken by `take_writer`.
    writer: Option<OwnedWriteHalf>,
}

impl RawConn {
    pub async fn connect(addr: &str) -> RawConn {
        let stream = TcpStream::connect(addr).await.expect("connect");
        stream.set_nodelay(true).unwrap();
        let (r, w) = stream.into_split();
        RawConn {
            reader: BufReader::new(r),
            writer: Some(w),
        }
    }

    /// The port this end of the connection has on 127.0.0.1.
    pub fn local_port(&self) -> u16 {
        self.reader.get_ref().local_addr().unwrap().port()
    }

    /// The writing half, to write from another task while this one reads.
    pub fn take_writer(&mut self) -> OwnedWriteHalf {
        self.writer.take().expect("the writer is still here")
    }

    fn writer(&mut self) -> &mut OwnedWriteHalf {
        self.writer.as_mut().expect("the writer was taken")
    }

    pub async fn send(&mut self, bytes: &[u8]) {
        self.writer().write_all(bytes).await.expect("write");
        self.writer().flush().await.unwrap();
    }

    /// Sends bytes, tolerating a server that has already closed (e.g. after a 413).
    pub async fn try_send(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.writer().write_all(bytes).await?;
        self.writer().flush().await
    }

    /// Closes the writing half (the server sees end of input).
    pub async fn shutdown_write(&mut self) {
        let _ = self.writer().shutdown().await;
    }

    async fn line(&mut self) -> Option<String> {
        let mut line = String::new();
        let n = tokio::time::timeout(WAIT, self.reader.read_line(&mut line))
            .await
            .expect("the server answers in time")
            .ok()?;
        (n > 0).then(|| line.trim_end_matches(['\r', '\n']).to_string())
    }

    /// Reads a status line and headers; the body is left unread. None if the server closed.
    pub async fn read_head(&mut self) -> Option<RawResponse> {
        let status_line = self.line().await?;
        let mut parts = status_line.splitn(3, ' ');
        let version = parts.next().unwrap_or_default().to_string();
        let status = parts
            .next()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("not an HTTP status line: {status_line:?}"));
        let mut headers = Vec::new();
        loop {
            let line = self.line().await.expect("headers end with an empty line");
            if line.is_empty() {
                break;
            }
            let (k, v) = line.split_once(':').expect("a header line");
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
        Some(RawResponse {
            status,
            version,
            headers,
            body: Vec::new(),
        })
    }

    /// The next chunk of a chunked body; None at the terminating chunk or end of input.
    /// Panics when nothing comes within `timeout`: a stream that stalls is not one that ended.
    pub async fn read_chunk(&mut self, timeout: Duration) -> Option<Vec<u8>> {
        let mut size_line = String::new();
        let n = tokio::time::timeout(timeout, self.reader.read_line(&mut size_line))
            .await
            .unwrap_or_else(|_| panic!("no chunk within {timeout:?}"))
            .ok()?;
        if n == 0 {
            return None;
        }
        let size = usize::from_str_radix(size_line.trim().split(';').next().unwrap(), 16)
            .unwrap_or_else(|_| panic!("not a chunk size: {size_line:?}"));
        let mut data = vec![0; size + 2];
        tokio::time::timeout(WAIT, self.reader.read_exact(&mut data))
            .await
            .expect("a whole chunk in time")
            .ok()?;
        assert_eq!(&data[size..], b"\r\n", "a chunk ends with CRLF");
        data.truncate(size);
        (size > 0).then_some(data)
    }

    /// A whole response: head and body (Content-Length, chunked, or up to the close).
    pub async fn read_response(&mut self) -> Option<RawResponse> {
        let mut response = self.read_head().await?;
        if let Some(len) = response.header("content-length") {
            let mut body = vec![0; len.parse().expect("a numeric Content-Length")];
            tokio::time::timeout(WAIT, self.reader.read_exact(&mut body))
                .await
                .expect("the body in time")
                .expect("the whole body");
            response.body = body;
        } else if response.is_chunked() {
            while let Some(chunk) = self.read_chunk(WAIT).await {
                response.body.extend(chunk);
            }
        } else if response.status != 204 && response.status != 304 {
            tokio::time::timeout(WAIT, self.reader.read_to_end(&mut response.body))
                .await
                .expect("the body in time")
                .ok();
        }
        Some(response)
    }

    /// Whether the server closes the connection within `within` (true) or keeps it open.
    pub async fn closed_within(&mut self, within: Duration) -> bool {
        let mut byte = [0u8; 1];
        match tokio::time::timeout(within, self.reader.read(&mut byte)).await {
            Err(_) => false,
            Ok(Ok(0)) | Ok(Err(_)) => true,
            Ok(Ok(_)) => panic!("unexpected byte {:?} from the server", byte[0] as char),
        }
    }

    /// Sends one request and reads its response on this connection.
    pub async fn round_trip(&mut self, request: &[u8]) -> RawResponse {
        self.send(request).await;
        self.read_response()
            .await
            .expect("a response before the server closed")
    }
}

/// One request on a fresh connection.
pub async fn raw_round_trip(addr: &str, request: &[u8]) -> RawResponse {
    RawConn::connect(addr).await.round_trip(request).await
}

/// A scheduler call as raw JSON, POSTed with `Content-Type: application/json` and, when
/// given, `Mesos-Stream-Id`; answered over a fresh connection.
pub async fn post_call(
    addr: &str,
    stream_id: Option<&str>,
    call: &serde_json::Value,
) -> RawResponse {
    post_call_in(Encoding::Json, addr, stream_id, call).await
}

/// A scheduler call (given as JSON) in `encoding`: protobuf goes through the serde type, so
/// the call must be one `scheduler::Call` reads.
pub fn call_body(encoding: Encoding, call: &serde_json::Value) -> Vec<u8> {
    match encoding {
        Encoding::Json => serde_json::to_vec(call).unwrap(),
        Encoding::Protobuf => {
            let typed: Call = serde_json::from_value(call.clone()).expect("a scheduler Call");
            encoding::encode(Encoding::Protobuf, &typed).unwrap()
        }
    }
}

/// `post_call` with the body in `encoding`.
pub async fn post_call_in(
    encoding: Encoding,
    addr: &str,
    stream_id: Option<&str>,
    call: &serde_json::Value,
) -> RawResponse {
    let mut headers = vec![("Content-Type", encoding.media_type())];
    if let Some(id) = stream_id {
        headers.push(("Mesos-Stream-Id", id));
    }
    let body = call_body(encoding, call);
    raw_round_trip(
        addr,
        &http_request("POST", "/api/v1/scheduler", &headers, &body),
    )
    .await
}

/// A SUBSCRIBE stream read off the raw socket: the response head, then RecordIO records.
pub struct RawSubscription {
    pub conn: RawConn,
    pub head: RawResponse,
    pub stream_id: String,
    pub framework_id: String,
    /// The SUBSCRIBED event, as JSON.
    pub subscribed: serde_json::Value,
    /// The encoding of the event stream, as its `Content-Type` says.
    pub encoding: Encoding,
    /// The encoding `call` sends calls in: that of the SUBSCRIBE.
    pub call_encoding: Encoding,
    decoder: mmrun::mesos::recordio::Decoder,
    pending: std::collections::VecDeque<bytes::Bytes>,
}

/// The SUBSCRIBE call for a framework described by `framework_info` (raw JSON).
pub fn subscribe_call(framework_info: serde_json::Value) -> serde_json::Value {
    serde_json::json!({"type": "SUBSCRIBE", "subscribe": {"framework_info": framework_info}})
}

/// Subscribes over a raw connection with the given extra headers and waits for SUBSCRIBED.
pub async fn raw_subscribe_with(
    addr: &str,
    call: &serde_json::Value,
    headers: &[(&str, &str)],
) -> RawSubscription {
    raw_subscribe_in(Encoding::Json, addr, call, headers).await
}

/// `raw_subscribe_with`, the SUBSCRIBE (and later calls) sent in `encoding`.
pub async fn raw_subscribe_in(
    encoding: Encoding,
    addr: &str,
    call: &serde_json::Value,
    headers: &[(&str, &str)],
) -> RawSubscription {
    let mut conn = RawConn::connect(addr).await;
    let mut all = vec![("Content-Type", encoding.media_type())];
    all.extend_from_slice(headers);
    conn.send(&http_request(
        "POST",
        "/api/v1/scheduler",
        &all,
        &call_body(encoding, call),
    ))
    .await;
    let head = conn.read_head().await.expect("a SUBSCRIBE response");
    assert_eq!(head.status, 200, "SUBSCRIBE answered {head:?}");
    let stream_id = head
        .header("mesos-stream-id")
        .expect("a Mesos-Stream-Id header")
        .to_string();
    let stream_encoding = head
        .header("content-type")
        .and_then(Encoding::from_content_type)
        .expect("a stream in JSON or protobuf");
    let mut sub = RawSubscription {
        conn,
        head,
        stream_id,
        framework_id: String::new(),
        subscribed: serde_json::Value::Null,
        encoding: stream_encoding,
        call_encoding: encoding,
        decoder: Default::default(),
        pending: Default::default(),
    };
    let first = sub.next_json(WAIT).await.expect("a first event");
    assert_eq!(first["type"], "SUBSCRIBED", "first event: {first}");
    sub.framework_id = first["subscribed"]["framework_id"]["value"]
        .as_str()
        .expect("a framework id")
        .to_string();
    sub.subscribed = first;
    sub
}

pub async fn raw_subscribe(addr: &str, framework_info: serde_json::Value) -> RawSubscription {
    raw_subscribe_with(addr, &subscribe_call(framework_info), &[]).await
}

/// A FrameworkInfo as raw JSON.
pub fn framework_json(name: &str) -> serde_json::Value {
    serde_json::json!({"user": "root", "name": name})
}

impl RawSubscription {
    /// The next RecordIO record's payload, exactly as sent; None when the stream ends.
    /// Panics when nothing comes within `timeout`.
    pub async fn next_record(&mut self, timeout: Duration) -> Option<String> {
        let record = self.next_bytes(timeout).await?;
        Some(String::from_utf8(record.to_vec()).expect("UTF-8 JSON"))
    }

    /// The next RecordIO record's payload as bytes, in the stream's encoding.
    pub async fn next_bytes(&mut self, timeout: Duration) -> Option<bytes::Bytes> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(record) = self.pending.pop_front() {
                return Some(record);
            }
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let chunk = self.conn.read_chunk(left).await?;
            let records = self.decoder.feed(&chunk).expect("valid RecordIO");
            self.pending.extend(records);
        }
    }

    /// The next event as JSON: a JSON record as sent, a protobuf one through `Event`.
    pub async fn next_json(&mut self, timeout: Duration) -> Option<serde_json::Value> {
        let record = self.next_bytes(timeout).await?;
        Some(match self.encoding {
            Encoding::Json => serde_json::from_slice(&record).expect("each record is JSON"),
            Encoding::Protobuf => {
                let event: Event = encoding::decode(Encoding::Protobuf, &record)
                    .expect("each record is a protobuf Event");
                serde_json::to_value(event).unwrap()
            }
        })
    }

    /// The next event whose type is `kind`, skipping others.
    pub async fn next_of(&mut self, kind: &str) -> serde_json::Value {
        loop {
            let e = self
                .next_json(WAIT)
                .await
                .unwrap_or_else(|| panic!("stream ended before a {kind} event"));
            if e["type"] == kind {
                return e;
            }
        }
    }

    /// Sends a call for this framework (its id and stream id filled in) on a new connection.
    pub async fn call(&self, mut call: serde_json::Value) -> RawResponse {
        call["framework_id"] = serde_json::json!({"value": self.framework_id});
        post_call_in(
            self.call_encoding,
            &host_of(&self.conn),
            Some(&self.stream_id),
            &call,
        )
        .await
    }
}

fn host_of(conn: &RawConn) -> String {
    conn.reader.get_ref().peer_addr().unwrap().to_string()
}

/// GETs `url` and parses the JSON answer, asserting 200.
pub async fn get_json(url: &str) -> serde_json::Value {
    let r = reqwest::get(url).await.expect("GET");
    assert_eq!(r.status(), 200, "GET {url}");
    r.json().await.expect("a JSON body")
}

/// Protobuf cannot tell an empty repeated field from an absent one, and the JSON answers
/// write a few empty lists (`recovered_agents: []`): compare without them.
pub fn without_empty_lists(mut v: serde_json::Value) -> serde_json::Value {
    match &mut v {
        serde_json::Value::Object(m) => {
            m.retain(|_, x| x.as_array().is_none_or(|a| !a.is_empty()));
            for x in m.values_mut() {
                *x = without_empty_lists(x.take());
            }
        }
        serde_json::Value::Array(a) => {
            for x in a.iter_mut() {
                *x = without_empty_lists(x.take());
            }
        }
        _ => {}
    }
    v
}

/// Equal, but for the last bit of a double: serde_json's default parser (reading the JSON
/// answer) may round a long double one ULP off, where protobuf carries its 8 bytes exactly.
pub fn same_json(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    match (a, b) {
        (serde_json::Value::Number(x), serde_json::Value::Number(y))
            if x.is_f64() || y.is_f64() =>
        {
            let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            (x - y).abs() <= x.abs().max(y.abs()) * 1e-15
        }
        (serde_json::Value::Object(x), serde_json::Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| same_json(v, w)))
        }
        (serde_json::Value::Array(x), serde_json::Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(v, w)| same_json(v, w))
        }
        _ => a == b,
    }
}
