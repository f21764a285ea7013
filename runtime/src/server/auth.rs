//! Bearer-token authentication for generated routes.
//!
//! A generated handler for an operation with `security: [{bearer: [scopes]}]` takes
//! a [`Bearer<S>`] as its first extractor, so the token is checked before anything
//! else of the request is read, and before the service is called. The application
//! provides the [`TokenVerifier`] as poem data (`Route::data(Arc<dyn TokenVerifier>)`).

use std::collections::BTreeSet;
use std::marker::PhantomData;
use std::sync::Arc;

use poem::error::ResponseError;
use poem::http::StatusCode;
use poem::{Request, RequestBody};
use poem_openapi::registry::{MetaOAuthFlows, MetaSecurityScheme, Registry};
use poem_openapi::{ApiExtractor, ApiExtractorType, ExtractParamOptions};

use super::Principal;

/// Checks an access token and says whom it belongs to.
pub trait TokenVerifier: Send + Sync + 'static {
    fn verify(&self, token: &str) -> Result<Principal, InvalidToken>;
}

/// Why a token was refused; the text goes into the 401's detail, so it must not
/// help an attacker (no key material, no "almost valid").
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidToken(pub String);

/// The scopes one operation requires, as a type, so that `Bearer<S>` can carry
/// them into the extractor. Generated once per secured operation.
pub trait RequiredScopes: Send + Sync + 'static {
    /// The name of the contract's `http`/`bearer` or `oauth2` security scheme.
    const SCHEME: &'static str;
    const SCOPES: &'static [&'static str];

    /// The scheme as poem-openapi documents it: `http`/`bearer` unless the
    /// contract's scheme is `oauth2`, whose flows the generated impl lists. The
    /// token is checked the same way either way.
    fn security_scheme() -> MetaSecurityScheme {
        MetaSecurityScheme {
            ty: "http",
            description: None,
            name: None,
            key_in: None,
            scheme: Some("bearer"),
            bearer_format: None,
            flows: None,
            openid_connect_url: None,
        }
    }
}

/// An `oauth2` scheme with these flows, for [`RequiredScopes::security_scheme`].
pub fn oauth2_scheme(flows: MetaOAuthFlows) -> MetaSecurityScheme {
    MetaSecurityScheme {
        ty: "oauth2",
        description: None,
        name: None,
        key_in: None,
        scheme: None,
        bearer_format: None,
        flows: Some(flows),
        openid_connect_url: None,
    }
}

/// The authenticated caller of a secured operation.
pub struct Bearer<S>(pub Principal, PhantomData<S>);

/// A request that does not carry the right token: 401 or 403, with the
/// `WWW-Authenticate` challenge of RFC 6750.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{detail}")]
pub struct AuthRejected {
    pub status: StatusCode,
    pub detail: String,
    pub challenge: String,
}

impl ResponseError for AuthRejected {
    fn status(&self) -> StatusCode {
        self.status
    }
}

impl AuthRejected {
    fn unauthenticated(detail: &str, error: Option<&str>) -> Self {
        let challenge = match error {
            Some(error) => {
                format!("Bearer realm=\"keel\", error=\"{error}\", error_description=\"{detail}\"")
            }
            None => "Bearer realm=\"keel\"".to_owned(),
        };
        AuthRejected {
            status: StatusCode::UNAUTHORIZED,
            detail: detail.to_owned(),
            challenge,
        }
    }
}

/// Verifies the request's bearer token and checks it has every required scope.
pub fn authenticate(request: &Request, scopes: &[&str]) -> Result<Principal, AuthRejected> {
    let Some(header) = request.headers().get("authorization") else {
        return Err(AuthRejected::unauthenticated(
            "this operation needs an access token: send `Authorization: Bearer <token>`",
            None,
        ));
    };
    let token = header
        .to_str()
        .ok()
        .and_then(|h| {
            h.strip_prefix("Bearer ")
                .or_else(|| h.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            AuthRejected::unauthenticated(
                "the `Authorization` header must be `Bearer <token>`",
                Some("invalid_request"),
            )
        })?;
    let Some(verifier) = request.data::<Arc<dyn TokenVerifier>>() else {
        return Err(AuthRejected {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            detail: "the server has no token verifier configured".to_owned(),
            challenge: String::new(),
        });
    };
    let principal = verifier
        .verify(token)
        .map_err(|InvalidToken(why)| AuthRejected::unauthenticated(&why, Some("invalid_token")))?;
    let missing: BTreeSet<&str> = scopes
        .iter()
        .copied()
        .filter(|s| !principal.scopes.contains(*s))
        .collect();
    if !missing.is_empty() {
        let needed = scopes.join(" ");
        return Err(AuthRejected {
            status: StatusCode::FORBIDDEN,
            detail: format!(
                "the access token lacks the scope{} {} that this operation needs",
                if missing.len() == 1 { "" } else { "s" },
                missing
                    .iter()
                    .map(|s| format!("`{s}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            challenge: format!(
                "Bearer realm=\"keel\", error=\"insufficient_scope\", scope=\"{needed}\""
            ),
        });
    }
    Ok(principal)
}

/// A security scheme in poem-openapi's terms, so that the spec it emits says
/// who may call each operation (the scopes come from the handler's
/// `#[oai(scopes(...))]`), and the round-trip gate can compare it.
impl<'a, S: RequiredScopes> ApiExtractor<'a> for Bearer<S> {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::SecurityScheme];
    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        registry.create_security_scheme(S::SCHEME, S::security_scheme());
    }

    fn security_schemes() -> Vec<&'static str> {
        vec![S::SCHEME]
    }

    async fn from_request(
        request: &'a Request,
        _body: &mut RequestBody,
        _param_opts: ExtractParamOptions<()>,
    ) -> poem::Result<Self> {
        Ok(Bearer(authenticate(request, S::SCOPES)?, PhantomData))
    }
}

/// Checks an API key (an `apiKey` security scheme) and says whom it belongs
/// to. The application provides it as poem data (`Arc<dyn ApiKeyVerifier>`),
/// as it does the [`TokenVerifier`].
pub trait ApiKeyVerifier: Send + Sync + 'static {
    /// `scheme` names the contract's scheme, for APIs with several kinds of key.
    fn verify(&self, scheme: &str, key: &str) -> Result<Principal, InvalidToken>;
}

/// Where an `apiKey` scheme's key travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyIn {
    Header,
    Query,
    Cookie,
}

/// One operation's `apiKey` scheme, as a type for [`ApiKey<S>`]. Generated per
/// secured operation.
pub trait RequiredKey: Send + Sync + 'static {
    const SCHEME: &'static str;
    /// The header, query parameter or cookie that carries the key.
    const NAME: &'static str;
    const IN: KeyIn;
}

/// The caller of an operation secured by an `apiKey` scheme.
pub struct ApiKey<S>(pub Principal, PhantomData<S>);

/// The key the request carries where the scheme says, if any.
fn find_key(request: &Request, name: &str, key_in: KeyIn) -> Option<String> {
    let found = match key_in {
        KeyIn::Header => request
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        KeyIn::Query => request.uri().query().and_then(|query| {
            serde_html_form::from_str::<Vec<(String, String)>>(query)
                .ok()?
                .into_iter()
                .find(|(n, _)| n == name)
                .map(|(_, value)| value)
        }),
        KeyIn::Cookie => request
            .headers()
            .get_all("cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|header| header.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(n, _)| *n == name)
            // Percent-decoded, as clients encode cookie values.
            .and_then(|(_, value)| {
                serde_html_form::from_str::<Vec<(String, String)>>(&format!("v={value}"))
                    .ok()?
                    .pop()
                    .map(|(_, value)| value)
            }),
    };
    found.filter(|key| !key.is_empty())
}

impl<'a, S: RequiredKey> ApiExtractor<'a> for ApiKey<S> {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::SecurityScheme];
    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        registry.create_security_scheme(
            S::SCHEME,
            MetaSecurityScheme {
                ty: "apiKey",
                description: None,
                name: Some(S::NAME),
                key_in: Some(match S::IN {
                    KeyIn::Header => "header",
                    KeyIn::Query => "query",
                    KeyIn::Cookie => "cookie",
                }),
                scheme: None,
                bearer_format: None,
                flows: None,
                openid_connect_url: None,
            },
        );
    }

    fn security_schemes() -> Vec<&'static str> {
        vec![S::SCHEME]
    }

    async fn from_request(
        request: &'a Request,
        _body: &mut RequestBody,
        _param_opts: ExtractParamOptions<()>,
    ) -> poem::Result<Self> {
        let where_ = match S::IN {
            KeyIn::Header => "header",
            KeyIn::Query => "query parameter",
            KeyIn::Cookie => "cookie",
        };
        let unauthenticated = |detail: String| AuthRejected {
            status: StatusCode::UNAUTHORIZED,
            detail,
            challenge: String::new(),
        };
        let Some(key) = find_key(request, S::NAME, S::IN) else {
            return Err(unauthenticated(format!(
                "this operation needs an API key in the `{}` {where_}",
                S::NAME
            ))
            .into());
        };
        let Some(verifier) = request.data::<Arc<dyn ApiKeyVerifier>>() else {
            return Err(AuthRejected {
                status: StatusCode::INTERNAL_SERVER_ERROR,
                detail: "the server has no API key verifier configured".to_owned(),
                challenge: String::new(),
            }
            .into());
        };
        let principal = verifier
            .verify(S::SCHEME, &key)
            .map_err(|InvalidToken(why)| unauthenticated(why))?;
        Ok(ApiKey(principal, PhantomData))
    }
}
