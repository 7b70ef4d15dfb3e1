//! Errors an HTTP endpoint answers with: a status code and a plain-text message, as Mesos
//! answers (e.g. `400 Bad Request` with "Expecting 'framework_id' to be present").

use crate::mesos::encoding::{APPLICATION_JSON, APPLICATION_PROTOBUF, Encoding};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
    /// The `Allow` header of a 405: HTTP requires it, and Mesos sends it.
    pub allow: Option<&'static str>,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
            allow: None,
        }
    }

    /// A 400 whose body is `message`: a text, or a validation error whose text is Mesos's.
    pub fn bad_request(message: impl std::fmt::Display) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (
            self.status,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            self.message,
        )
            .into_response();
        if let Some(allow) = self.allow {
            response
                .headers_mut()
                .insert(header::ALLOW, header::HeaderValue::from_static(allow));
        }
        if self.status == StatusCode::PAYLOAD_TOO_LARGE {
            // The rest of the body stays unread, so the connection cannot be reused: say so
            // rather than close it silently (clients that reuse connections retry blindly).
            response.headers_mut().insert(
                header::CONNECTION,
                header::HeaderValue::from_static("close"),
            );
        }
        response
    }
}

impl From<axum::extract::rejection::BytesRejection> for ApiError {
    fn from(rejection: axum::extract::rejection::BytesRejection) -> ApiError {
        let status = rejection.status();
        let message = if status == StatusCode::PAYLOAD_TOO_LARGE {
            format!(
                "Request body is larger than mmrun's limit of {} bytes",
                super::MAX_REQUEST_BODY_BYTES
            )
        } else {
            format!("Failed to read request body: {rejection}")
        };
        ApiError::new(status, message)
    }
}

/// The checks `/api/v1/scheduler`, `/api/v1` and `/api/v1/executor` make before reading a
/// call, in Mesos's order: method, then `Content-Type` present, then a supported
/// `Content-Type`. Returns the encoding of the body.
pub fn check_call_request(
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
/// `executor_api`.)
pub fn decode_call<M: crate::mesos::encoding::WireMessage>(
    encoding: Encoding,
    body: &[u8],
) -> Result<M, ApiError> {
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
pub fn accepted_encoding(headers: &HeaderMap) -> Result<Encoding, ApiError> {
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
pub fn encoded_answer<M: crate::mesos::encoding::WireMessage>(
    encoding: Encoding,
    message: &M,
) -> Response {
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
