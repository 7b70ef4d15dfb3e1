//! The one way a Mesos v1 call comes in, for the four APIs that take them (the master's
//! scheduler and operator APIs, the agent's executor and operator APIs): the `MesosCall`
//! extractor makes Mesos's checks in Mesos's order — method, `Content-Type`, body size, the
//! body in that encoding — and leaves the answer's encoding (`Accept`) to be asked for when
//! the API's own order reaches it. Every refusal is an `ApiError` with Mesos's status and words.

use super::api_error::ApiError;
use crate::mesos::encoding::{APPLICATION_JSON, APPLICATION_PROTOBUF, Encoding, WireMessage};
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// A call an API reads from a request body. By default in the words of the scheduler and
/// operator APIs (`decode_call`); an API whose Mesos words differ, or that checks more while
/// reading (the executor API), decodes its own way.
pub trait DecodeCall: Sized {
    fn decode(encoding: Encoding, body: &[u8]) -> Result<Self, ApiError>;
}

impl DecodeCall for crate::mesos::scheduler::Call {
    fn decode(encoding: Encoding, body: &[u8]) -> Result<Self, ApiError> {
        decode_call(encoding, body)
    }
}

impl DecodeCall for crate::mesos::operator::OperatorCall {
    fn decode(encoding: Encoding, body: &[u8]) -> Result<Self, ApiError> {
        decode_call(encoding, body)
    }
}

impl DecodeCall for crate::mesos::agent_operator::AgentCall {
    fn decode(encoding: Encoding, body: &[u8]) -> Result<Self, ApiError> {
        decode_call(encoding, body)
    }
}

/// A call POSTed to a Mesos v1 API, read in the encoding its `Content-Type` names.
pub struct MesosCall<C> {
    pub call: C,
    /// The request's headers, for what the API checks after the call (`Accept`,
    /// `Mesos-Stream-Id`).
    pub headers: HeaderMap,
}

impl<C> MesosCall<C> {
    /// The encoding the client accepts for the answer, or 406 (see `accepted_encoding`). Each
    /// API asks at the point of its own checks where Mesos does.
    pub fn answer_encoding(&self) -> Result<Encoding, ApiError> {
        accepted_encoding(&self.headers)
    }
}

impl<S: Send + Sync, C: DecodeCall> FromRequest<S> for MesosCall<C> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let method = request.method().clone();
        let headers = request.headers().clone();
        // The body is read (up to the size cap) before any check, and a failure to read it
        // answered only after the method and Content-Type checks, as Mesos orders them.
        let body = Bytes::from_request(request, state).await;
        let encoding = check_call_request(&method, &headers)?;
        let call = C::decode(encoding, &body?)?;
        Ok(MesosCall { call, headers })
    }
}

/// The checks `/api/v1/scheduler`, `/api/v1` and `/api/v1/executor` make before reading a
/// call, in Mesos's order: method, then `Content-Type` present, then a supported
/// `Content-Type`. Returns the encoding of the body.
fn check_call_request(
    method: &axum::http::Method,
    headers: &HeaderMap,
) -> Result<Encoding, ApiError> {
    if method != axum::http::Method::POST {
        return Err(ApiError {
            allow: Some("POST"),
            ..ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                format!("Expecting a 'POST' request, received '{method}'"),
            )
        });
    }
    let Some(content_type) = headers.get(header::CONTENT_TYPE) else {
        return Err(ApiError::bad_request(
            "Expecting 'Content-Type' to be present",
        ));
    };
    let content_type = content_type.to_str().unwrap_or("");
    Encoding::from_content_type(content_type).ok_or_else(|| {
        let media = content_type.split(';').next().unwrap_or("").trim();
        ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!(
                "Expecting 'Content-Type' of {APPLICATION_JSON} or {APPLICATION_PROTOBUF}, \
                 got '{media}'"
            ),
        )
    })
}

/// Reads a call to the scheduler API or to a master's or agent's operator API (`/api/v1`) in the
/// request's encoding; a body that is not one is 400 in Mesos's words for that encoding, with
/// the reason it leaves out. (The agent's executor API words its errors differently, see
/// `agent::executor_call`.)
fn decode_call<M: WireMessage>(encoding: Encoding, body: &[u8]) -> Result<M, ApiError> {
    crate::mesos::encoding::decode(encoding, body).map_err(|e| {
        let what = match encoding {
            Encoding::Json => "Call",
            Encoding::Protobuf => "Call protobuf",
        };
        ApiError::bad_request(format!("Failed to parse body into {what}: {e}"))
    })
}

/// The encoding of the answer, as Mesos picks it (libprocess's `Request::acceptsMediaType`):
/// JSON if `Accept` allows it, else protobuf if it allows that, else 406. No `Accept` allows
/// anything; each media type is matched exactly, then as `type/*`, then `*/*`, and the first
/// match decides, refusing when its `q` is 0. Repeated `Accept` headers count as one list.
fn accepted_encoding(headers: &HeaderMap) -> Result<Encoding, ApiError> {
    let values: Vec<&str> = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    if values.is_empty() {
        return Ok(Encoding::Json);
    }
    let accept = values.join(",");
    for encoding in [Encoding::Json, Encoding::Protobuf] {
        if accepts(&accept, encoding.media_type()) {
            return Ok(encoding);
        }
    }
    Err(ApiError::new(
        StatusCode::NOT_ACCEPTABLE,
        format!("Expecting 'Accept' to allow '{APPLICATION_PROTOBUF}' or '{APPLICATION_JSON}'"),
    ))
}

fn accepts(accept: &str, media_type: &str) -> bool {
    let kind = media_type.split('/').next().unwrap_or("");
    let candidates = [
        media_type.to_string(),
        format!("{kind}/*"),
        "*/*".to_string(),
    ];
    for candidate in &candidates {
        for entry in accept.split(',') {
            let mut parts = entry.split(';').map(str::trim);
            if !parts
                .next()
                .is_some_and(|m| m.eq_ignore_ascii_case(candidate))
            {
                continue;
            }
            let q = parts.find_map(|p| p.strip_prefix("q=").map(str::trim));
            // A q value that is not a number counts as none, as in libprocess.
            return match q.map(str::parse::<f64>) {
                Some(Ok(q)) => q > 0.0,
                _ => true,
            };
        }
    }
    false
}

/// A synchronous answer in the encoding the client accepts, or 500 if mmrun cannot encode it
/// (the operator APIs of masters and agents).
pub fn encoded_answer<M: WireMessage>(encoding: Encoding, message: &M) -> Response {
    match crate::mesos::encoding::encode(encoding, message) {
        Ok(body) => ([(header::CONTENT_TYPE, encoding.media_type())], body).into_response(),
        Err(e) => ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("mmrun cannot encode its answer: {e}"),
        )
        .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{HeaderValue, Method};

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    #[test]
    fn call_request_checks_in_mesos_order() {
        let json = headers(&[("content-type", "application/json")]);
        assert_eq!(
            check_call_request(&Method::GET, &json).unwrap_err().status,
            405
        );
        assert_eq!(
            check_call_request(&Method::POST, &headers(&[]))
                .unwrap_err()
                .status,
            400
        );
        let proto = headers(&[("content-type", "application/x-protobuf")]);
        assert_eq!(
            check_call_request(&Method::POST, &proto).unwrap(),
            Encoding::Protobuf
        );
        let text = headers(&[("content-type", "text/plain")]);
        assert_eq!(
            check_call_request(&Method::POST, &text).unwrap_err().status,
            415
        );
        let charset = headers(&[("content-type", "application/json; charset=utf-8")]);
        assert_eq!(
            check_call_request(&Method::POST, &charset).unwrap(),
            Encoding::Json
        );
    }

    #[test]
    fn accept_negotiation_follows_libprocess() {
        use Encoding::*;
        let cases: &[(&[&str], Option<Encoding>)] = &[
            (&[], Some(Json)),
            (&["application/json"], Some(Json)),
            (&["application/x-protobuf"], Some(Protobuf)),
            (&["application/x-protobuf", "application/json"], Some(Json)),
            (
                &["application/x-protobuf, application/json;q=0.5"],
                Some(Json),
            ),
            (&["text/html", "*/*"], Some(Json)),
            (&["application/*"], Some(Json)),
            (
                &["application/json;q=0", "application/x-protobuf"],
                Some(Protobuf),
            ),
            (&["application/json; q=0"], None),
            (&["text/html"], None),
            (&["APPLICATION/X-PROTOBUF"], Some(Protobuf)),
        ];
        for (accept, expected) in cases {
            let pairs: Vec<(&str, &str)> = accept.iter().map(|a| ("accept", *a)).collect();
            let got = accepted_encoding(&headers(&pairs));
            match expected {
                Some(e) => assert_eq!(got.unwrap(), *e, "{accept:?}"),
                None => assert_eq!(got.unwrap_err().status, 406, "{accept:?}"),
            }
        }
    }
}
