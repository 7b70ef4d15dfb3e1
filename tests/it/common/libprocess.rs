//! A stand-in libprocess peer for the wire tests: a process (`scheduler(1)`, `executor(1)`)
//! with its own HTTP server that records every message it is sent and answers 202, and that
//! sends messages as a driver does.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use mmrun::libprocess::Upid;
use mmrun::mesos::encoding::{Encoding, WireMessage, decode, encode};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// One message the peer received, with the headers that came with it.
#[derive(Debug)]
pub struct Received {
    pub name: String,
    pub from: Option<String>,
    pub user_agent: Option<String>,
    pub body: Bytes,
}

impl Received {
    pub fn decode<M: WireMessage>(&self) -> M {
        decode(Encoding::Protobuf, &self.body)
            .unwrap_or_else(|e| panic!("{} does not decode as {}: {e}", self.name, M::PROTO_NAME))
    }
}

pub struct FakePeer {
    pub pid: Upid,
    received: mpsc::UnboundedReceiver<Received>,
    stop: CancellationToken,
    http: reqwest::Client,
}

impl FakePeer {
    /// A process `id` listening on 127.0.0.1 (a fresh port).
    pub async fn start(id: &str) -> FakePeer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (tx, received) = mpsc::unbounded_channel();
        let router = Router::new()
            .route(&format!("/{id}/{{name}}"), post(record))
            .with_state(tx);
        let stop = CancellationToken::new();
        let stopped = stop.clone();
        tokio::spawn(mmrun::lite::http::serve(listener, router, async move {
            stopped.cancelled().await
        }));
        FakePeer {
            pid: Upid::new(id, "127.0.0.1", port),
            received,
            stop,
            http: reqwest::Client::builder().no_proxy().build().unwrap(),
        }
    }

    /// The next message, or a panic naming `what` after `within`.
    pub async fn next(&mut self, what: &str, within: Duration) -> Received {
        tokio::time::timeout(within, self.received.recv())
            .await
            .unwrap_or_else(|_| panic!("no message within {within:?}: expected {what}"))
            .expect("the peer's server runs")
    }

    /// The next message named `name`, skipping others (e.g. offers while waiting for an
    /// update).
    pub async fn next_named(&mut self, name: &str, within: Duration) -> Received {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let m = self.next(name, left).await;
            if m.name == name {
                return m;
            }
        }
    }

    /// Whether anything arrives within `within`.
    pub async fn quiet_for(&mut self, within: Duration) -> Option<Received> {
        tokio::time::timeout(within, self.received.recv())
            .await
            .ok()
            .flatten()
    }

    /// POSTs `message` to `process` at `base` (`http://host:port`) as this peer, the way
    /// mesos-go does (Libprocess-From, no libprocess User-Agent); returns the status.
    pub async fn send<M: WireMessage>(&self, base: &str, process: &str, message: &M) -> StatusCode {
        let body = encode(Encoding::Protobuf, message).unwrap();
        self.send_raw(base, process, M::PROTO_NAME, body).await
    }

    pub async fn send_raw(
        &self,
        base: &str,
        process: &str,
        name: &str,
        body: Vec<u8>,
    ) -> StatusCode {
        self.http
            .post(format!("{base}/{process}/{name}"))
            .header("Libprocess-From", self.pid.to_string())
            .header("Connection", "Keep-Alive")
            .body(body)
            .send()
            .await
            .unwrap()
            .status()
    }

    /// Stops serving and closes every connection, as a killed process's sockets close.
    pub fn stop(&self) {
        self.stop.cancel();
    }
}

impl Drop for FakePeer {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

async fn record(
    State(tx): State<mpsc::UnboundedSender<Received>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let header = |n: &str| {
        headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .map(String::from)
    };
    let _ = tx.send(Received {
        name,
        from: header("libprocess-from"),
        user_agent: header("user-agent"),
        body,
    });
    StatusCode::ACCEPTED
}
