//! A v1 scheduler client: SUBSCRIBE, decode the RecordIO event stream, send calls with the
//! stream id, in either encoding (JSON by default). It behaves the same against a real Mesos
//! master.

use super::ClientError;
use crate::http_client;
use crate::mesos::encoding::{self, Encoding};
use crate::mesos::framework::FrameworkInfo;
use crate::mesos::ids::FrameworkId;
use crate::mesos::recordio::Decoder;
use crate::mesos::scheduler::{Call, CallType, Event, EventType, Subscribe};
use futures::StreamExt;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

pub struct Subscription {
    pub framework_id: FrameworkId,
    /// The `Mesos-Stream-Id`; for a driver, its scheduler pid.
    pub stream_id: String,
    url: String,
    /// Events after SUBSCRIBED, in order; closes when the stream (or the driver's link to the
    /// master) ends.
    pub events: mpsc::UnboundedReceiver<Event>,
    transport: Transport,
}

/// How calls reach the master.
enum Transport {
    /// The v1 scheduler API, in `encoding` both ways.
    Http {
        http: reqwest::Client,
        encoding: Encoding,
        reader: JoinHandle<()>,
    },
    /// Libprocess messages, as Mesos's scheduler driver sends them.
    Driver(super::driver::DriverSession),
}

/// Subscribes `info` to the master at `master_url` in JSON and waits for SUBSCRIBED.
pub async fn subscribe(master_url: &str, info: FrameworkInfo) -> Result<Subscription, ClientError> {
    subscribe_with(master_url, info, Encoding::Json).await
}

/// Subscribes `info`, speaking `encoding` both ways, and waits for SUBSCRIBED.
pub async fn subscribe_with(
    master_url: &str,
    info: FrameworkInfo,
    encoding: Encoding,
) -> Result<Subscription, ClientError> {
    let http = http_client::peer_client();
    let url = format!("{}/api/v1/scheduler", master_url.trim_end_matches('/'));
    let call = Call {
        framework_id: info.id.clone(),
        subscribe: Some(Subscribe {
            framework_info: info,
            force: false,
            suppressed_roles: vec![],
        }),
        ..Call::new(CallType::Subscribe, None)
    };
    // No overall timeout (the stream lasts as long as the subscription), but a master that
    // vanished must not hold a (re-)subscription for the kernel's connect retries.
    let streaming = http_client::build(
        reqwest::Client::builder()
            .no_proxy()
            .connect_timeout(Duration::from_secs(2)),
    );
    let body = encode_call(encoding, &call)?;
    let response = streaming
        .post(&url)
        .header("content-type", encoding.media_type())
        .header("accept", encoding.media_type())
        .body(body)
        .send()
        .await
        .map_err(|source| ClientError::Unreachable {
            url: url.clone(),
            source,
        })?;
    if !response.status().is_success() {
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        return Err(ClientError::Refused {
            what: "SUBSCRIBE".into(),
            status,
            body,
        });
    }
    let stream_id = response
        .headers()
        .get("mesos-stream-id")
        .and_then(|v| v.to_str().ok())
        .map(String::from)
        .ok_or_else(|| ClientError::Protocol {
            what: "SUBSCRIBE".into(),
            detail: "no Mesos-Stream-Id header".into(),
        })?;
    let (tx, mut rx) = mpsc::unbounded_channel();
    let reader = tokio::spawn(async move {
        let mut decoder = Decoder::new();
        let mut body = response.bytes_stream();
        while let Some(Ok(chunk)) = body.next().await {
            let Ok(records) = decoder.feed(&chunk) else {
                return;
            };
            for record in records {
                match encoding::decode::<Event>(encoding, &record) {
                    Ok(event) => {
                        if tx.send(event).is_err() {
                            return;
                        }
                    }
                    Err(e) => tracing::warn!("undecodable event from the master: {e}"),
                }
            }
        }
    });
    let first = tokio::time::timeout(Duration::from_secs(30), rx.recv()).await;
    let framework_id = match first {
        Ok(Some(Event {
            kind: EventType::Subscribed,
            subscribed: Some(s),
            ..
        })) => s.framework_id,
        Ok(Some(Event {
            kind: EventType::Error,
            error: Some(e),
            ..
        })) => {
            return Err(ClientError::Refused {
                what: "SUBSCRIBE".into(),
                status: reqwest::StatusCode::OK,
                body: e.message,
            });
        }
        Ok(other) => {
            return Err(ClientError::Protocol {
                what: "SUBSCRIBE".into(),
                detail: format!("expected SUBSCRIBED, got {other:?}"),
            });
        }
        Err(_) => {
            return Err(ClientError::Protocol {
                what: "SUBSCRIBE".into(),
                detail: "no SUBSCRIBED event within 30s".into(),
            });
        }
    };
    Ok(Subscription {
        framework_id,
        stream_id,
        url,
        events: rx,
        transport: Transport::Http {
            http,
            encoding,
            reader,
        },
    })
}

impl Subscription {
    /// A driver's registration, made by `client::driver`.
    pub(super) fn of_driver(
        master_url: &str,
        framework_id: FrameworkId,
        events: mpsc::UnboundedReceiver<Event>,
        session: super::driver::DriverSession,
    ) -> Subscription {
        Subscription {
            framework_id,
            stream_id: session.pid().to_string(),
            url: format!("{}/api/v1/scheduler", master_url.trim_end_matches('/')),
            events,
            transport: Transport::Driver(session),
        }
    }
}

impl Subscription {
    /// `http://host:port` of the master this subscription is with.
    pub fn master(&self) -> &str {
        self.url.trim_end_matches("/api/v1/scheduler")
    }

    /// Sends a call for this framework; returns the HTTP status on 2xx.
    pub async fn call(&self, mut call: Call) -> Result<reqwest::StatusCode, ClientError> {
        call.framework_id = Some(self.framework_id.clone());
        let (http, encoding) = match &self.transport {
            Transport::Http { http, encoding, .. } => (http, *encoding),
            Transport::Driver(session) => return session.call(call).await,
        };
        let what = format!("{:?}", call.kind);
        let body = encode_call(encoding, &call)?;
        let r = http
            .post(&self.url)
            .header("content-type", encoding.media_type())
            .header("mesos-stream-id", &self.stream_id)
            .body(body)
            .send()
            .await
            .map_err(|source| ClientError::Unreachable {
                url: self.url.clone(),
                source,
            })?;
        let status = r.status();
        if !status.is_success() {
            let body = r.text().await.unwrap_or_default();
            return Err(ClientError::Refused { what, status, body });
        }
        Ok(status)
    }

    /// Waits for the next event that is not a HEARTBEAT.
    pub async fn next_event(&mut self, timeout: Duration) -> Option<Event> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let event = tokio::time::timeout_at(deadline, self.events.recv())
                .await
                .ok()??;
            if event.kind != EventType::Heartbeat {
                return Some(event);
            }
        }
    }

    /// Closes the subscription stream (the master sees the framework disconnect).
    pub fn close(self) {
        drop(self);
    }
}

fn encode_call(encoding: Encoding, call: &Call) -> Result<Vec<u8>, ClientError> {
    encoding::encode(encoding, call).map_err(|e| ClientError::Protocol {
        what: format!("{:?}", call.kind),
        detail: format!("cannot encode the call: {e}"),
    })
}

impl Drop for Subscription {
    fn drop(&mut self) {
        match &self.transport {
            Transport::Http { reader, .. } => reader.abort(),
            Transport::Driver(session) => session.stop(),
        }
    }
}
