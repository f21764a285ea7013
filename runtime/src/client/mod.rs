//! What generated Rust clients stand on: configuration, the bearer-token
//! provider, the reply wrapper and the client error.

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

pub use crate::ToParam;
pub use reqwest::Method;
pub use reqwest::StatusCode;
pub use reqwest::header::HeaderMap;

/// Supplies the bearer token for each request, or none. Implemented for a fixed
/// `String`; implement it to refresh tokens.
pub trait TokenProvider: Send + Sync {
    fn token(&self) -> Pin<Box<dyn Future<Output = Option<String>> + Send + '_>>;
}

impl TokenProvider for String {
    fn token(&self) -> Pin<Box<dyn Future<Output = Option<String>> + Send + '_>> {
        Box::pin(std::future::ready(Some(self.clone())))
    }
}

/// A declared response: the operation's typed value (its variant says which
/// status, its fields carry the body and documented headers), plus the raw
/// status and headers for anything else a caller needs.
#[derive(Debug, Clone)]
pub struct Reply<T> {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub value: T,
}

/// What went wrong when no declared response came back.
#[derive(Debug)]
pub enum Error {
    /// The request could not be sent or the response not read (connection
    /// refused, timeout, TLS).
    Transport(reqwest::Error),
    /// The server answered with a status the contract does not declare for this
    /// operation: the server and the contract disagree.
    UndeclaredStatus(Box<Unexpected>),
    /// A declared status whose body or headers do not match the contract.
    InvalidResponse(Box<Unexpected>),
    /// The request body could not be encoded as its media type requires.
    Encode(String),
}

/// A response that does not fit the contract, kept whole for diagnosis.
#[derive(Debug)]
pub struct Unexpected {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
    /// What does not match, for an invalid response.
    pub reason: Option<String>,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Transport(e) => write!(f, "request failed: {e}"),
            Error::Encode(why) => write!(f, "the request body cannot be encoded: {why}"),
            Error::UndeclaredStatus(r) => {
                write!(
                    f,
                    "the server answered {}, which the contract does not declare: {}",
                    r.status, r.body
                )
            }
            Error::InvalidResponse(r) => {
                write!(
                    f,
                    "the {} response does not match the contract: {}",
                    r.status,
                    r.reason.as_deref().unwrap_or("")
                )
            }
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Transport(e) => Some(e),
            _ => None,
        }
    }
}

impl From<reqwest::Error> for Error {
    fn from(error: reqwest::Error) -> Self {
        Error::Transport(error)
    }
}

/// Connection settings shared by every call of a generated client.
#[derive(Clone)]
pub struct ClientConfig {
    base_url: String,
    http: reqwest::Client,
    token: Option<Arc<dyn TokenProvider>>,
    api_keys: BTreeMap<String, Arc<dyn TokenProvider>>,
}

impl fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientConfig")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

/// Builds a [`ClientConfig`]: base URL, timeouts, user agent and token provider.
pub struct ClientBuilder {
    base_url: String,
    timeout: Duration,
    connect_timeout: Duration,
    user_agent: String,
    token: Option<Arc<dyn TokenProvider>>,
    api_keys: BTreeMap<String, Arc<dyn TokenProvider>>,
}

impl ClientBuilder {
    pub fn new(base_url: impl Into<String>, default_user_agent: &str) -> Self {
        ClientBuilder {
            base_url: base_url.into().trim_end_matches('/').to_owned(),
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(5),
            user_agent: default_user_agent.to_owned(),
            token: None,
            api_keys: BTreeMap::new(),
        }
    }

    /// The longest a whole call may take (default 30 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The longest connecting may take (default 5 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// Sends `Authorization: Bearer <token>` with every call that has a token.
    pub fn bearer(mut self, provider: impl TokenProvider + 'static) -> Self {
        self.token = Some(Arc::new(provider));
        self
    }

    /// The key for the contract's `apiKey` scheme of this name, sent where the
    /// scheme says (header, query or cookie) with the calls that need it.
    pub fn api_key(mut self, scheme: &str, provider: impl TokenProvider + 'static) -> Self {
        self.api_keys.insert(scheme.to_owned(), Arc::new(provider));
        self
    }

    pub fn build(self) -> Result<ClientConfig, Error> {
        // One TLS crypto provider in the whole process: ring, as sqlx uses.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .timeout(self.timeout)
            .connect_timeout(self.connect_timeout)
            .user_agent(self.user_agent)
            .build()?;
        Ok(ClientConfig {
            base_url: self.base_url,
            http,
            token: self.token,
            api_keys: self.api_keys,
        })
    }
}

impl ClientConfig {
    /// The key for an `apiKey` scheme, if one was configured and it gives one.
    pub async fn api_key(&self, scheme: &str) -> Option<String> {
        match self.api_keys.get(scheme) {
            Some(provider) => provider.token().await,
            None => None,
        }
    }

    /// Starts a request to `path_segments` (each percent-encoded as one segment)
    /// under the base URL, with the bearer token if there is one.
    pub async fn request(
        &self,
        method: reqwest::Method,
        path_segments: &[&str],
    ) -> Result<reqwest::RequestBuilder, Error> {
        let encoded: Vec<String> = path_segments
            .iter()
            .map(|s| percent_encode_segment(s))
            .collect();
        let encoded: Vec<&str> = encoded.iter().map(String::as_str).collect();
        self.request_encoded(method, &encoded).await
    }

    /// As [`request`](Self::request), with segments already percent-encoded:
    /// for `style: label` and `matrix` path parameters, whose `.`, `;` and `=`
    /// go as they are and their values encoded ([`percent_encode_segment`]).
    pub async fn request_encoded(
        &self,
        method: reqwest::Method,
        encoded_segments: &[&str],
    ) -> Result<reqwest::RequestBuilder, Error> {
        let mut url = String::with_capacity(self.base_url.len() + 32);
        url.push_str(&self.base_url);
        for segment in encoded_segments {
            url.push('/');
            url.push_str(segment);
        }
        let mut builder = self.http.request(method, url);
        if let Some(provider) = &self.token
            && let Some(token) = provider.token().await
        {
            builder = builder.bearer_auth(token);
        }
        Ok(builder)
    }
}

/// Sets `body` as an `application/x-www-form-urlencoded` body, arrays as
/// repeated keys (OpenAPI's default `form` encoding), as the server reads it.
pub fn form<T: serde::Serialize>(
    request: reqwest::RequestBuilder,
    body: &T,
) -> Result<reqwest::RequestBuilder, Error> {
    let encoded = serde_html_form::to_string(body).map_err(|e| Error::Encode(e.to_string()))?;
    Ok(request
        .header(
            reqwest::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )
        .body(encoded))
}

/// Sets `body` as a `multipart/form-data` body, one part per property, as
/// the server's `MultipartBody` reads it.
pub fn multipart<T: crate::multipart::MultipartForm>(
    request: reqwest::RequestBuilder,
    body: &T,
) -> Result<reqwest::RequestBuilder, Error> {
    let mut form = reqwest::multipart::Form::new();
    for part in body.to_parts() {
        let content = part.content;
        let mut wire = reqwest::multipart::Part::bytes(content.bytes);
        if let Some(name) = content.file_name {
            wire = wire.file_name(name);
        }
        if let Some(content_type) = &content.content_type {
            wire = wire
                .mime_str(content_type)
                .map_err(|e| Error::Encode(format!("part `{}`: {e}", part.name)))?;
        }
        form = form.part(part.name, wire);
    }
    Ok(request.multipart(form))
}

/// An object parameter's properties as `(name, value)` pairs, in the type's
/// order, absent ones left out (ADR 23): the pairs of an exploded `form` query
/// object, and what the other styles join.
pub fn object_pairs<T: serde::Serialize>(value: &T) -> Result<Vec<(String, String)>, Error> {
    let encoded = serde_html_form::to_string(value).map_err(|e| Error::Encode(e.to_string()))?;
    serde_html_form::from_str(&encoded).map_err(|e| Error::Encode(e.to_string()))
}

/// A `deepObject` query parameter's pairs: `name[property]=value`.
pub fn deep_object_pairs<T: serde::Serialize>(
    name: &str,
    value: &T,
) -> Result<Vec<(String, String)>, Error> {
    Ok(object_pairs(value)?
        .into_iter()
        .map(|(property, value)| (format!("{name}[{property}]"), value))
        .collect())
}

/// An object parameter in one value: names and values in turn (`k,v,k,v`), or
/// exploded `k=v` pairs, joined by `separator` (`,` for `simple`, `form` and
/// non-exploded `label`/`matrix`; `.` and `;` for exploded `label` and `matrix`;
/// a space or `|` for `spaceDelimited`/`pipeDelimited`), each name and value
/// through `encode` (the identity, or [`percent_encode_segment`] for a segment
/// the client does not encode whole).
pub fn object_text<T: serde::Serialize>(
    value: &T,
    explode: bool,
    separator: &str,
    encode: fn(&str) -> String,
) -> Result<String, Error> {
    let pairs = object_pairs(value)?;
    Ok(if explode {
        pairs
            .iter()
            .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
            .collect::<Vec<_>>()
            .join(separator)
    } else {
        pairs
            .iter()
            .flat_map(|(k, v)| [encode(k), encode(v)])
            .collect::<Vec<_>>()
            .join(separator)
    })
}

/// [`object_text`] without encoding.
pub fn as_is(text: &str) -> String {
    text.to_owned()
}

/// The `Cookie` header for cookie parameters (`name=value; ...`), values
/// percent-encoded; `None` when there are none to send.
pub fn cookie_header(cookies: &[(&str, String)]) -> Option<String> {
    if cookies.is_empty() {
        return None;
    }
    let pairs: Vec<String> = cookies
        .iter()
        .map(|(name, value)| format!("{name}={}", percent_encode_segment(value)))
        .collect();
    Some(pairs.join("; "))
}

/// RFC 3986 unreserved characters pass; everything else is `%XX`.
/// Percent-encodes everything in `segment` but unreserved characters.
pub fn percent_encode_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// A received response, read whole, for the generated decoder.
pub struct Received {
    pub status: StatusCode,
    pub headers: HeaderMap,
    /// The body as text (lossy), for JSON and for error reports.
    pub body: String,
    raw: Vec<u8>,
}

impl Received {
    pub async fn read(response: reqwest::Response) -> Result<Received, Error> {
        let status = response.status();
        let headers = response.headers().clone();
        let raw = response.bytes().await?.to_vec();
        Ok(Received {
            status,
            headers,
            body: String::from_utf8_lossy(&raw).into_owned(),
            raw,
        })
    }

    /// The body's bytes, for a download (`format: binary`).
    pub fn bytes(&self) -> Vec<u8> {
        self.raw.clone()
    }

    /// The body as the declared type.
    /// JSON or bytes, as the `Content-Type` says: bytes only in one of the
    /// media types the contract declares for the response besides JSON.
    pub fn json_or_bytes<T: serde::de::DeserializeOwned>(
        &self,
        bytes_media: &[&str],
    ) -> Result<crate::JsonOrBytes<T>, Error> {
        let content_type = self
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let essence = crate::media::essence(content_type);
        if essence == "application/json" {
            return Ok(crate::JsonOrBytes::Json(self.json()?));
        }
        if bytes_media.contains(&essence.as_str()) {
            return Ok(crate::JsonOrBytes::Bytes {
                content_type: content_type.to_owned(),
                body: self.bytes(),
            });
        }
        Err(self.invalid(format!(
            "content type `{content_type}` is neither `application/json` nor one of {bytes_media:?}"
        )))
    }

    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, Error> {
        serde_json::from_str(&self.body).map_err(|e| self.invalid(format!("body: {e}")))
    }

    /// A declared response header, parsed.
    pub fn header<T: std::str::FromStr>(&self, name: &str) -> Result<T, Error> {
        self.optional_header(name)?
            .ok_or_else(|| self.invalid(format!("the `{name}` header is missing")))
    }

    pub fn optional_header<T: std::str::FromStr>(&self, name: &str) -> Result<Option<T>, Error> {
        match self.headers.get(name) {
            None => Ok(None),
            Some(value) => {
                let text = value
                    .to_str()
                    .map_err(|_| self.invalid(format!("the `{name}` header is not text")))?;
                text.parse().map(Some).map_err(|_| {
                    self.invalid(format!("the `{name}` header `{text}` does not parse"))
                })
            }
        }
    }

    pub fn reply<T>(self, value: T) -> Reply<T> {
        Reply {
            status: self.status,
            headers: self.headers,
            value,
        }
    }

    pub fn undeclared(self) -> Error {
        Error::UndeclaredStatus(Box::new(Unexpected {
            status: self.status,
            headers: self.headers,
            body: self.body,
            reason: None,
        }))
    }

    fn invalid(&self, reason: String) -> Error {
        Error::InvalidResponse(Box::new(Unexpected {
            status: self.status,
            headers: self.headers.clone(),
            body: self.body.clone(),
            reason: Some(reason),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_values_are_percent_encoded() {
        assert_eq!(cookie_header(&[]), None);
        assert_eq!(
            cookie_header(&[("session", "a b;c".into()), ("theme", "dark".into())]).as_deref(),
            Some("session=a%20b%3Bc; theme=dark")
        );
    }

    #[test]
    fn segments_are_percent_encoded() {
        assert_eq!(percent_encode_segment("a b/c?d"), "a%20b%2Fc%3Fd");
        assert_eq!(percent_encode_segment("0190-abc_~."), "0190-abc_~.");
    }
}
