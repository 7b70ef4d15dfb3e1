//! Errors an HTTP endpoint answers with: a status code and a plain-text message, as Mesos
//! answers (e.g. `400 Bad Request` with "Expecting 'framework_id' to be present").

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

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
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

/// The checks `/api/v1/scheduler` and `/api/v1` make before reading a call, in Mesos's order:
/// method, then `Content-Type` present, then a supported `Content-Type`.
pub fn check_call_request(
    method: &axum::http::Method,
    headers: &HeaderMap,
) -> Result<(), ApiError> {
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
    let media = content_type
        .to_str()
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match media.as_str() {
        "application/json" => Ok(()),
        "application/x-protobuf" => Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "mmrun's master and agent speak the JSON encoding of the v1 API only: send \
             'Content-Type: application/json' (most clients have a JSON option)",
        )),
        other => Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!(
                "Expecting 'Content-Type' of application/json or application/x-protobuf, got '{other}'"
            ),
        )),
    }
}

/// Whether the `Accept` headers (possibly repeated, possibly absent) allow a JSON answer.
/// Returns Err with 406 when they name only media types mmrun cannot produce.
pub fn check_accepts_json(headers: &HeaderMap) -> Result<(), ApiError> {
    let values: Vec<String> = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .filter(|v| !v.is_empty())
        .collect();
    if values.is_empty()
        || values
            .iter()
            .any(|v| matches!(v.as_str(), "application/json" | "application/*" | "*/*"))
    {
        return Ok(());
    }
    if values.iter().any(|v| v == "application/x-protobuf") {
        return Err(ApiError::new(
            StatusCode::NOT_ACCEPTABLE,
            "mmrun's master answers in JSON only: accept application/json",
        ));
    }
    Err(ApiError::new(
        StatusCode::NOT_ACCEPTABLE,
        "Expecting 'Accept' to allow application/json or application/x-protobuf",
    ))
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
            check_call_request(&Method::POST, &proto)
                .unwrap_err()
                .status,
            415
        );
        let text = headers(&[("content-type", "text/plain")]);
        assert_eq!(
            check_call_request(&Method::POST, &text).unwrap_err().status,
            415
        );
        let charset = headers(&[("content-type", "application/json; charset=utf-8")]);
        assert!(check_call_request(&Method::POST, &charset).is_ok());
    }

    #[test]
    fn accept_negotiation() {
        assert!(check_accepts_json(&headers(&[])).is_ok());
        assert!(check_accepts_json(&headers(&[("accept", "application/json")])).is_ok());
        assert!(
            check_accepts_json(&headers(&[("accept", "text/html"), ("accept", "*/*")])).is_ok()
        );
        assert_eq!(
            check_accepts_json(&headers(&[("accept", "application/x-protobuf")]))
                .unwrap_err()
                .status,
            406
        );
        assert_eq!(
            check_accepts_json(&headers(&[("accept", "text/html")]))
                .unwrap_err()
                .status,
            406
        );
    }
}
