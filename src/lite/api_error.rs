//! Errors an HTTP endpoint answers with: a status code and a plain-text message, as Mesos
//! answers (e.g. `400 Bad Request` with "Expecting 'framework_id' to be present").

use axum::http::{StatusCode, header};
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
