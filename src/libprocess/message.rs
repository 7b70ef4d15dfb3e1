//! Reading an HTTP request as a libprocess message.

use super::upid::Upid;
use axum::http::{HeaderMap, StatusCode, header};
use bytes::Bytes;

/// The header libprocess (and mesos-go) name the sender in.
pub const LIBPROCESS_FROM: &str = "Libprocess-From";

/// One message addressed to a process of this node.
#[derive(Clone, Debug)]
pub struct Message {
    /// The fully qualified protobuf name, e.g. `mesos.internal.RegisterFrameworkMessage`.
    pub name: String,
    pub from: Upid,
    pub body: Bytes,
}

/// Why a request to a process is not taken as a message, with the answer libprocess gives.
#[derive(Debug, PartialEq, thiserror::Error)]
pub enum Refusal {
    /// No sender header: a plain HTTP request for a route the process does not have.
    #[error(
        "no such endpoint: this is a libprocess message path, and the request names no sender (Libprocess-From)"
    )]
    NotAMessage,
    #[error("cannot read the sender: {0}")]
    BadSender(String),
}

impl Refusal {
    pub fn status(&self) -> StatusCode {
        match self {
            Refusal::NotAMessage => StatusCode::NOT_FOUND,
            // libprocess answers an unparsable sender with 500; the text says why.
            Refusal::BadSender(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// The sender a request names: `Libprocess-From`, else the `libprocess/<pid>` User-Agent.
/// `None` when it names none (it is not a message).
pub fn sender(headers: &HeaderMap) -> Option<Result<Upid, Refusal>> {
    let from = headers
        .get(LIBPROCESS_FROM)
        .map(|v| v.to_str().unwrap_or_default().to_string())
        .or_else(|| {
            headers
                .get(header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .and_then(|agent| agent.strip_prefix("libprocess/"))
                .map(str::to_string)
        })?;
    Some(
        from.parse::<Upid>()
            .map_err(|e| Refusal::BadSender(e.to_string())),
    )
}

/// Whether a request is a libprocess message (it names a sender).
pub fn is_message(headers: &HeaderMap) -> bool {
    sender(headers).is_some()
}

/// Reads a `POST /<process>/<name>` request as a message.
pub fn read(name: &str, headers: &HeaderMap, body: Bytes) -> Result<Message, Refusal> {
    let from = sender(headers).ok_or(Refusal::NotAMessage)??;
    Ok(Message {
        name: name.to_string(),
        from,
        body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(*k, HeaderValue::from_static(v));
        }
        map
    }

    #[test]
    fn the_sender_comes_from_libprocess_from_then_the_user_agent() {
        let both = headers(&[
            ("libprocess-from", "scheduler(1)@10.0.0.1:4000"),
            ("user-agent", "libprocess/other@10.0.0.2:1"),
        ]);
        let m = read("mesos.internal.X", &both, Bytes::new()).unwrap();
        assert_eq!(m.from.to_string(), "scheduler(1)@10.0.0.1:4000");

        let agent_only = headers(&[("user-agent", "libprocess/scheduler-ab@10.0.0.3:5")]);
        let m = read("mesos.scheduler.Call", &agent_only, Bytes::new()).unwrap();
        assert_eq!(m.from.to_string(), "scheduler-ab@10.0.0.3:5");
    }

    #[test]
    fn requests_without_a_readable_sender_are_refused() {
        let none = headers(&[("user-agent", "curl/8")]);
        assert_eq!(
            read("x", &none, Bytes::new()).unwrap_err(),
            Refusal::NotAMessage
        );
        assert_eq!(Refusal::NotAMessage.status(), StatusCode::NOT_FOUND);
        let bad = headers(&[("libprocess-from", "nonsense")]);
        let refusal = read("x", &bad, Bytes::new()).unwrap_err();
        assert_eq!(refusal.status(), StatusCode::INTERNAL_SERVER_ERROR);
    }
}
