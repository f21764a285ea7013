use std::collections::BTreeSet;
use std::fmt;

use poem::http::HeaderMap;

/// The id of one request: taken from `X-Request-Id` or generated, and echoed back.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RequestId(String);

impl RequestId {
    /// The longest client-supplied id we keep; longer ones are replaced, so a client
    /// cannot write unbounded text into every log line.
    pub const MAX_LEN: usize = 200;

    /// Accepts a client's id if it is short printable ASCII, else makes a new one.
    pub fn from_header_or_new(header: Option<&str>) -> Self {
        match header {
            Some(id)
                if !id.is_empty()
                    && id.len() <= Self::MAX_LEN
                    && id.bytes().all(|b| b.is_ascii_graphic()) =>
            {
                RequestId(id.to_owned())
            }
            _ => RequestId(uuid::Uuid::now_v7().to_string()),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Who is calling an operation the contract secures: the access token's subject,
/// roles and scopes, verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub user_id: uuid::Uuid,
    pub roles: BTreeSet<String>,
    pub scopes: BTreeSet<String>,
}

impl Principal {
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.contains(scope)
    }
}

/// The request headers, read-only.
#[derive(Debug, Clone, Default)]
pub struct Headers(HeaderMap);

impl Headers {
    /// The header's value, if present and valid UTF-8.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).and_then(|value| value.to_str().ok())
    }
}

/// What every generated handler passes to the service besides the typed request.
#[derive(Debug, Clone)]
pub struct RequestContext {
    pub request_id: RequestId,
    /// `None` for an operation the contract declares public.
    pub principal: Option<Principal>,
    pub headers: Headers,
    /// The peer's IP address (the proxy's, behind one).
    pub client_ip: Option<std::net::IpAddr>,
}

impl RequestContext {
    /// The context of an authenticated call.
    pub fn with_principal(mut self, principal: Principal) -> Self {
        self.principal = Some(principal);
        self
    }

    /// Builds the context from the HTTP request; generated code calls this, services
    /// never see the request itself.
    pub fn from_request(request: &poem::Request) -> Self {
        let request_id = request
            .extensions()
            .get::<RequestId>()
            .cloned()
            .unwrap_or_else(|| {
                RequestId::from_header_or_new(
                    request
                        .headers()
                        .get("x-request-id")
                        .and_then(|v| v.to_str().ok()),
                )
            });
        RequestContext {
            request_id,
            principal: None,
            headers: Headers(request.headers().clone()),
            client_ip: request.remote_addr().as_socket_addr().map(|a| a.ip()),
        }
    }
}
