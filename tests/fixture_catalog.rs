//! What the generator makes of `tests/fixtures/catalog`: `allOf`, `anyOf`,
//! free-form values, `format: byte`, recursion, and responses declared by range
//! or `default`, multipart bodies with files, checked on the generated types and
//! over HTTP between the generated server and the generated client.

use fixture_catalog_client::Client;
use fixture_catalog_server::catalog::*;
use fixture_catalog_server::{RequestContext, api};
use fixture_catalog_types::{
    Base64, Book, BookKind, Category, CoverReceipt, CoverUpload, Currency, ExportTitlesFormat,
    HoldBookBody, HoldBooksBody, Money, Partner, Problem, SearchHit, SearchResponse200, Stars,
};
use keel_runtime::server::{ApiKeyVerifier, InvalidToken, Principal, TokenVerifier};
use keel_runtime::{File, JsonOrBytes};
use serde_json::json;
use validator::Validate;

fn book_json() -> serde_json::Value {
    json!({
        "id": "01900000-0000-7000-8000-000000000001",
        "createdAt": "2026-01-01T00:00:00Z",
        "kind": "book",
        "title": "Dune",
        "authors": ["Frank Herbert"],
        "cover": "a2VlbP8=",
        "attributes": { "pages": 412, "signed": false },
        "note": [1, "two", null]
    })
}

#[test]
fn all_of_merges_every_part_into_one_type() {
    let book: Book = serde_json::from_value(book_json()).unwrap();
    // From `Resource`, from `NewBook` and from the inline part.
    assert_eq!(book.id.to_string(), "01900000-0000-7000-8000-000000000001");
    assert_eq!(book.title, "Dune");
    assert_eq!(book.kind, BookKind::Book);
    // Required where any part requires it.
    let mut without_id = book_json();
    without_id.as_object_mut().unwrap().remove("id");
    let error = serde_json::from_value::<Book>(without_id).unwrap_err();
    assert!(error.to_string().contains("missing field `id`"), "{error}");
    // `NewBook`'s rules come along.
    let mut untitled = book.clone();
    untitled.title.clear();
    assert!(untitled.validate().is_err());
    // Encoding gives back what was decoded.
    assert_eq!(serde_json::to_value(&book).unwrap(), book_json());
}

#[test]
fn schemas_from_other_files_are_types_like_any_other() {
    // `price` is `$ref: schemas/money.yaml`, whose currency is in `schemas/common.yaml`.
    let mut value = book_json();
    value["price"] = json!({ "amount": 1299, "currency": "EUR" });
    let book: Book = serde_json::from_value(value.clone()).unwrap();
    let price = book.price.as_ref().unwrap();
    assert_eq!(
        (price.amount, price.currency),
        (1299, fixture_catalog_types::Currency::Eur)
    );
    value["price"]["amount"] = json!(-1);
    let negative: Book = serde_json::from_value(value).unwrap();
    assert!(negative.validate().is_err(), "the other file's rules apply");
}

#[test]
fn integer_enums_are_enums_that_travel_as_numbers() {
    use fixture_catalog_types::{NewReview, Stars};
    let review: NewReview = serde_json::from_value(json!({ "rating": 4, "stars": 3 })).unwrap();
    assert_eq!(review.stars, Some(Stars::V3));
    assert_eq!(serde_json::to_value(&review).unwrap()["stars"], json!(3));
    let error =
        serde_json::from_value::<NewReview>(json!({ "rating": 4, "stars": 7 })).unwrap_err();
    assert!(
        error.to_string().contains("7 is not one of 1, 2, 3, 4, 5"),
        "{error}"
    );
}

#[test]
fn free_form_values_keep_what_was_sent() {
    let book: Book = serde_json::from_value(book_json()).unwrap();
    assert_eq!(book.attributes.unwrap()["pages"], json!(412));
    assert_eq!(book.note, Some(json!([1, "two", null])));
}

#[test]
fn byte_strings_are_bytes_in_rust_and_base64_on_the_wire() {
    let book: Book = serde_json::from_value(book_json()).unwrap();
    assert_eq!(book.cover, Some(Base64(b"keel\xff".to_vec())));
    let mut bad = book_json();
    bad["cover"] = json!("not base64!");
    let error = serde_json::from_value::<Book>(bad).unwrap_err();
    assert!(error.to_string().contains("not base64"), "{error}");
}

#[test]
fn any_of_takes_the_first_variant_that_fits() {
    let hit: SearchHit = serde_json::from_value(book_json()).unwrap();
    assert!(matches!(hit, SearchHit::Book(_)));
    let hit: SearchHit = serde_json::from_value(json!({
        "id": "01900000-0000-7000-8000-000000000002",
        "createdAt": "2026-01-01T00:00:00Z",
        "kind": "author",
        "name": "Ursula K. Le Guin"
    }))
    .unwrap();
    assert!(matches!(hit, SearchHit::Author(ref a) if a.name == "Ursula K. Le Guin"));
}

#[test]
fn declared_properties_and_any_others_live_side_by_side() {
    // `links` has `homepage` and `additionalProperties: {type: string}`.
    let links =
        json!({ "homepage": "https://ursula.example", "wikipedia": "https://w.example/ulg" });
    let author: fixture_catalog_types::AuthorLinks = serde_json::from_value(links.clone()).unwrap();
    assert_eq!(author.homepage.as_deref(), Some("https://ursula.example"));
    assert_eq!(
        author
            .additional_properties
            .get("wikipedia")
            .map(String::as_str),
        Some("https://w.example/ulg")
    );
    assert_eq!(serde_json::to_value(&author).unwrap(), links);
    let wrong = json!({ "homepage": "https://u.example", "fans": 3 });
    assert!(
        serde_json::from_value::<fixture_catalog_types::AuthorLinks>(wrong).is_err(),
        "other properties must fit their schema"
    );
}

#[test]
fn recursive_schemas_nest_to_any_depth() {
    let mut value = json!({ "name": "root", "children": [] });
    for depth in 0..50 {
        value = json!({ "name": format!("level {depth}"), "parent": value, "children": [] });
    }
    let category: Category = serde_json::from_value(value.clone()).unwrap();
    let mut depth = 0;
    let mut at = &category;
    while let Some(parent) = &at.parent {
        depth += 1;
        at = parent;
    }
    assert_eq!((depth, at.name.as_str()), (50, "root"));
    assert!(category.validate().is_ok());
    assert_eq!(serde_json::to_value(&category).unwrap(), value);
}

/// A service that answers by what it is asked, to drive every response kind.
struct Catalog;

fn problem(status: u16, detail: &str) -> Problem {
    Problem {
        type_: "about:blank".into(),
        title: "Error".into(),
        status: i32::from(status),
        detail: Some(detail.into()),
    }
}

impl CatalogApi for Catalog {
    /// Echoes the parameters it received in the one book's `attributes`.
    async fn list_books(&self, _: RequestContext, req: ListBooksRequest) -> ListBooksResponse {
        let mut book: Book = serde_json::from_value(book_json()).unwrap();
        book.attributes = Some(
            [
                ("tag".to_owned(), json!(req.tag)),
                ("ids".to_owned(), json!(req.ids)),
                ("session".to_owned(), json!(req.session)),
                ("shelf".to_owned(), json!(req.x_shelf)),
                ("genres".to_owned(), json!(req.x_genres)),
                ("recent".to_owned(), json!(req.recent)),
                ("authors".to_owned(), json!(req.authors)),
                ("years".to_owned(), json!(req.years)),
            ]
            .into(),
        );
        ListBooksResponse::Ok(vec![book])
    }

    async fn compare_books(
        &self,
        _: RequestContext,
        req: CompareBooksRequest,
    ) -> CompareBooksResponse {
        CompareBooksResponse::Ok(req.book_ids)
    }

    async fn add_book(&self, _: RequestContext, req: AddBookRequest) -> AddBookResponse {
        AddBookResponse::Other {
            status: 409,
            body: problem(409, &format!("`{}` exists", req.body.title)),
        }
    }

    async fn review_book(&self, _: RequestContext, req: ReviewBookRequest) -> ReviewBookResponse {
        ReviewBookResponse::Created(req.body)
    }

    async fn subscribe(&self, _: RequestContext, req: SubscribeRequest) -> SubscribeResponse {
        // Answers 204 only to what arrived whole: both topics, in order.
        let topics = req.body.topics.unwrap_or_default();
        if req.body.email == "reader@example.com" && topics.len() == 2 {
            SubscribeResponse::NoContent
        } else {
            SubscribeResponse::Other {
                status: 422,
                body: problem(422, &format!("{} {topics:?}", req.body.email)),
            }
        }
    }

    /// 204 when the note arrived as sent or was left out; 422 to say which.
    async fn mark_read(&self, _: RequestContext, req: MarkReadRequest) -> MarkReadResponse {
        match req.body {
            None => MarkReadResponse::NoContent,
            Some(note) if note.text == "loved it" => MarkReadResponse::NoContent,
            Some(note) => MarkReadResponse::UnprocessableContent(problem(422, &note.text)),
        }
    }

    async fn get_book(&self, _: RequestContext, _: GetBookRequest) -> GetBookResponse {
        GetBookResponse::NotFound(problem(404, "no such book"))
    }

    async fn search(&self, _: RequestContext, req: SearchRequest) -> SearchResponse {
        match req.q.as_str() {
            "teapot" => SearchResponse::ClientError {
                status: 418,
                body: problem(418, "short and stout"),
            },
            "down" => SearchResponse::ServerError { status: 503 },
            _ => SearchResponse::Ok(SearchResponse200 { hits: Vec::new() }),
        }
    }

    /// Says what arrived, so the client can compare it with what it sent.
    async fn upload_cover(
        &self,
        _: RequestContext,
        req: UploadCoverRequest,
    ) -> UploadCoverResponse {
        let cover = req.body.cover;
        UploadCoverResponse::Ok(CoverReceipt {
            file_name: cover.file_name.unwrap_or_default(),
            content_type: cover.content_type.unwrap_or_default(),
            size: cover.bytes.len() as i64,
            sum: cover.bytes.iter().map(|b| i64::from(*b)).sum(),
            head: Base64(cover.bytes.iter().take(8).copied().collect()),
            page_sizes: req
                .body
                .pages
                .unwrap_or_default()
                .iter()
                .map(|p| p.bytes.len() as i64)
                .collect(),
            caption: req.body.caption,
            stars: req.body.stars,
            price: req.body.price,
        })
    }

    /// Echoes what it read: the shelf, the row, the ids, the tags.
    async fn find_on_shelf(
        &self,
        _: RequestContext,
        req: FindOnShelfRequest,
    ) -> FindOnShelfResponse {
        let mut read = vec![req.shelf.to_string(), req.row];
        read.extend(req.ids.iter().map(i64::to_string));
        read.extend(req.tags);
        FindOnShelfResponse::Ok(read)
    }

    /// Echoes what it read: each object as JSON (`null` when absent).
    async fn pick_books(&self, _: RequestContext, req: PickBooksRequest) -> PickBooksResponse {
        PickBooksResponse::Ok(vec![
            json!(req.pick).to_string(),
            json!(req.near).to_string(),
            json!(req.range).to_string(),
            json!(req.spine).to_string(),
            json!(req.x_edition).to_string(),
        ])
    }

    /// Echoes what it read: each object as JSON.
    async fn find_place(&self, _: RequestContext, req: FindPlaceRequest) -> FindPlaceResponse {
        FindPlaceResponse::Ok(vec![
            json!(req.spot).to_string(),
            json!(req.corner).to_string(),
            json!(req.room).to_string(),
            json!(req.desk).to_string(),
        ])
    }

    /// Not on loan: the nil id. Lent without the desk's notes: the id `…01`.
    /// Any other: every header.
    async fn get_loan(&self, _: RequestContext, req: GetLoanRequest) -> GetLoanResponse {
        match req.book_id.as_u128() {
            0 => GetLoanResponse::NotFound(problem(404, "not on loan")),
            1 => GetLoanResponse::Ok {
                x_due_at: due_at(),
                x_loaned_on: None,
                x_loan_token: None,
            },
            _ => GetLoanResponse::Ok {
                x_due_at: due_at(),
                x_loaned_on: chrono::NaiveDate::from_ymd_opt(2026, 12, 1),
                x_loan_token: Some(Base64(b"renew\xff".to_vec())),
            },
        }
    }

    /// `size` bytes of a pattern with every byte value; 404 past 1 MB.
    async fn download_cover(
        &self,
        _: RequestContext,
        req: DownloadCoverRequest,
    ) -> DownloadCoverResponse {
        if req.size > 1 << 20 {
            return DownloadCoverResponse::NotFound(problem(404, "no cover that large"));
        }
        DownloadCoverResponse::Ok(pattern(req.size as usize))
    }

    /// Echoes the note in the media type it came in: XML is bytes both ways,
    /// read and written by the service (here, by hand).
    async fn import_note(&self, _: RequestContext, req: ImportNoteRequest) -> ImportNoteResponse {
        match req.body {
            JsonOrBytes::Json(note) => ImportNoteResponse::Ok(JsonOrBytes::Json(note)),
            JsonOrBytes::Bytes { content_type, body } => {
                let xml = String::from_utf8(body).unwrap_or_default();
                match xml
                    .strip_prefix("<note><text>")
                    .and_then(|rest| rest.strip_suffix("</text></note>"))
                {
                    Some(text) if !text.is_empty() => ImportNoteResponse::Ok(JsonOrBytes::Bytes {
                        content_type: "application/xml".into(),
                        body: format!("<note><text>{text}</text><via>{content_type}</via></note>")
                            .into_bytes(),
                    }),
                    _ => ImportNoteResponse::BadRequest(problem(400, "not a note")),
                }
            }
        }
    }

    async fn get_book_record(
        &self,
        _: RequestContext,
        req: GetBookRecordRequest,
    ) -> GetBookRecordResponse {
        GetBookRecordResponse::Ok(format!("<book id=\"{}\"/>", req.book_id).into_bytes())
    }

    /// Two titles, in CSV when `format=csv` or when `Accept` prefers it.
    async fn export_titles(
        &self,
        ctx: RequestContext,
        req: ExportTitlesRequest,
    ) -> ExportTitlesResponse {
        let csv = match req.format {
            Some(ExportTitlesFormat::Csv) => true,
            Some(ExportTitlesFormat::Json) => false,
            None => ctx
                .headers
                .get("accept")
                .is_some_and(|accept| accept.starts_with("text/csv")),
        };
        let titles = vec!["Dune".to_owned(), "Emma, again".to_owned()];
        ExportTitlesResponse::Ok(if csv {
            JsonOrBytes::Bytes {
                content_type: "text/csv; charset=utf-8".into(),
                body: b"title\nDune\n\"Emma, again\"\n".to_vec(),
            }
        } else {
            JsonOrBytes::Json(titles)
        })
    }

    async fn replace_cover(
        &self,
        _: RequestContext,
        req: ReplaceCoverRequest,
    ) -> ReplaceCoverResponse {
        ReplaceCoverResponse::Ok(CoverReceipt {
            file_name: String::new(),
            content_type: String::new(),
            size: req.body.len() as i64,
            sum: req.body.iter().map(|b| i64::from(*b)).sum(),
            head: Base64(req.body.iter().take(8).copied().collect()),
            page_sizes: Vec::new(),
            caption: None,
            stars: None,
            price: None,
        })
    }

    async fn partner_stats(
        &self,
        ctx: RequestContext,
        _: PartnerStatsRequest,
    ) -> PartnerStatsResponse {
        PartnerStatsResponse::Ok(partner(&ctx, None))
    }

    async fn partner_feed(
        &self,
        ctx: RequestContext,
        _: PartnerFeedRequest,
    ) -> PartnerFeedResponse {
        PartnerFeedResponse::Ok(partner(&ctx, None))
    }

    async fn partner_shelf(
        &self,
        ctx: RequestContext,
        req: PartnerShelfRequest,
    ) -> PartnerShelfResponse {
        PartnerShelfResponse::Ok(partner(&ctx, req.session))
    }

    async fn attach_note(&self, _: RequestContext, req: AttachNoteRequest) -> AttachNoteResponse {
        match req.body {
            None => AttachNoteResponse::NoContent,
            Some(note) => AttachNoteResponse::Ok(fixture_catalog_types::ReadingNote {
                text: format!(
                    "{} (+{} bytes)",
                    note.text,
                    note.scan.map_or(0, |scan| scan.bytes.len())
                ),
            }),
        }
    }

    /// Counts the books in the JSON array.
    async fn hold_books(&self, _: RequestContext, req: HoldBooksRequest) -> HoldBooksResponse {
        HoldBooksResponse::Ok(req.body.len() as i64)
    }

    /// The nil book is already held, and no hold is longer than 30 days: a
    /// `default` response without a body. The form is optional.
    async fn hold_book(&self, _: RequestContext, req: HoldBookRequest) -> HoldBookResponse {
        let days = req.body.and_then(|form| form.days).unwrap_or(14);
        if req.book_id.is_nil() {
            HoldBookResponse::Other { status: 409 }
        } else if days > 30 {
            HoldBookResponse::Other { status: 422 }
        } else {
            HoldBookResponse::NoContent
        }
    }

    /// Reached only with a token that has `books:write`; says whose it was.
    async fn withdraw_book(
        &self,
        ctx: RequestContext,
        _: WithdrawBookRequest,
    ) -> WithdrawBookResponse {
        match &ctx.principal {
            Some(p) if p.has_scope("books:write") => WithdrawBookResponse::NoContent,
            _ => WithdrawBookResponse::Other {
                status: 500,
                body: problem(500, "called without the scope"),
            },
        }
    }

    async fn get_category(&self, _: RequestContext, _: GetCategoryRequest) -> GetCategoryResponse {
        GetCategoryResponse::Ok(Category {
            name: "root".into(),
            parent: None,
            children: Vec::new(),
        })
    }
}

/// The OAuth 2 tokens the fixture knows: `librarian` may change the catalog,
/// `reader` may not.
struct Librarians;

impl TokenVerifier for Librarians {
    fn verify(&self, token: &str) -> Result<Principal, InvalidToken> {
        let scopes: &[&str] = match token {
            "librarian" => &["books:write", "books:read"],
            "reader" => &["books:read"],
            _ => return Err(InvalidToken("unknown token".into())),
        };
        Ok(Principal {
            user_id: uuid::Uuid::nil(),
            roles: Default::default(),
            scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
        })
    }
}

/// The API keys the fixture knows, one per scheme: the key is the scheme's
/// name reversed, so a key sent for the wrong scheme fails.
struct Partners;

impl ApiKeyVerifier for Partners {
    fn verify(&self, scheme: &str, key: &str) -> Result<Principal, InvalidToken> {
        if key.chars().rev().collect::<String>() != scheme {
            return Err(InvalidToken("unknown key".into()));
        }
        Ok(Principal {
            user_id: uuid::Uuid::nil(),
            roles: [format!("partner via {scheme}")].into(),
            scopes: Default::default(),
        })
    }
}

fn partner(ctx: &RequestContext, session: Option<String>) -> Partner {
    let principal = ctx.principal.as_ref().expect("the key was verified");
    Partner {
        name: principal.roles.iter().next().cloned().unwrap_or_default(),
        session,
    }
}

/// When every loan in the fixture is due: with milliseconds, which must survive.
fn due_at() -> chrono::DateTime<chrono::Utc> {
    "2026-12-24T18:00:00.250Z".parse().unwrap()
}

/// Serves the catalog on a free port, as the app's edge would, once it listens.
async fn serve() -> (
    std::net::SocketAddr,
    tokio::task::JoinHandle<std::io::Result<()>>,
) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let server = tokio::spawn(
        poem::Server::new(poem::listener::TcpListener::bind(addr.to_string())).run(
            poem::EndpointExt::catch_all_error(
                poem::EndpointExt::data(
                    poem::EndpointExt::data(
                        poem::Route::new().nest("/", api(Catalog)),
                        std::sync::Arc::new(Librarians) as std::sync::Arc<dyn TokenVerifier>,
                    ),
                    std::sync::Arc::new(Partners) as std::sync::Arc<dyn ApiKeyVerifier>,
                ),
                // What the app's edge does: every rejection as problem+json.
                |error| async move {
                    let id = fixture_catalog_server::RequestId::from_header_or_new(None);
                    keel_runtime::server::response_from_error(&error, &id, "", &[])
                },
            ),
        ),
    );
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    (addr, server)
}

#[tokio::test]
async fn ranges_and_default_carry_the_actual_status_from_server_to_client() {
    let (addr, server) = serve().await;
    let client = Client::new(format!("http://{addr}")).unwrap();
    // Retry until the server listens.
    let mut teapot = None;
    for _ in 0..100 {
        match client.search(&SearchRequest { q: "teapot".into() }).await {
            Ok(reply) => {
                teapot = Some(reply);
                break;
            }
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(20)).await,
        }
    }
    let teapot = teapot.expect("the server answers");
    assert_eq!(teapot.status.as_u16(), 418);
    assert!(
        matches!(&teapot.value, SearchResponse::ClientError { status: 418, body } if body.detail.as_deref() == Some("short and stout")),
        "{:?}",
        teapot.value
    );

    let down = client
        .search(&SearchRequest { q: "down".into() })
        .await
        .unwrap();
    assert_eq!(down.value, SearchResponse::ServerError { status: 503 });

    let conflict = client
        .add_book(&AddBookRequest {
            body: serde_json::from_value(json!({ "title": "Dune", "authors": ["F. H."] })).unwrap(),
        })
        .await
        .unwrap();
    assert!(
        matches!(&conflict.value, AddBookResponse::Other { status: 409, body } if body.status == 409),
        "{:?}",
        conflict.value
    );
    // Arrays in the query (exploded and not), a cookie and a header arrive as sent.
    let ids = [uuid::Uuid::now_v7(), uuid::Uuid::now_v7()];
    let listed = client
        .list_books(&ListBooksRequest {
            tag: vec!["sci-fi".into(), "a b&c".into()],
            ids: ids.to_vec(),
            session: Some("s=1; x".into()),
            x_shelf: Some(3),
            x_genres: vec!["drama".into(), "sci fi".into()],
            recent: vec![7, 11],
            authors: vec!["Herbert".into(), "Le|Guin,U.".into()],
            years: vec![1965, 1969],
        })
        .await
        .unwrap();
    let ListBooksResponse::Ok(books) = &listed.value else {
        panic!("{:?}", listed.value)
    };
    assert_eq!(
        books[0].attributes.as_ref().unwrap(),
        &[
            ("genres".to_owned(), json!(["drama", "sci fi"])),
            ("ids".to_owned(), json!(ids)),
            ("recent".to_owned(), json!([7, 11])),
            ("session".to_owned(), json!("s=1; x")),
            ("shelf".to_owned(), json!(3)),
            ("tag".to_owned(), json!(["sci-fi", "a b&c"])),
            ("authors".to_owned(), json!(["Herbert", "Le|Guin,U."])),
            ("years".to_owned(), json!([1965, 1969])),
        ]
        .into()
    );
    // `spaceDelimited` and `pipeDelimited`: one value, items joined by a space
    // (`%20` or `+`) or `|`; an empty value is no items; the array's rules apply.
    let delimited = reqwest::get(format!(
        "http://{addr}/books?authors=Herbert%20Le+Guin&years=1965%7C1969"
    ))
    .await
    .unwrap();
    assert_eq!(delimited.status(), 200);
    let delimited: serde_json::Value = delimited.json().await.unwrap();
    assert_eq!(
        delimited[0]["attributes"]["authors"],
        json!(["Herbert", "Le", "Guin"])
    );
    assert_eq!(delimited[0]["attributes"]["years"], json!([1965, 1969]));
    let empty = reqwest::get(format!("http://{addr}/books?authors=&years="))
        .await
        .unwrap();
    let status = empty.status();
    let empty: serde_json::Value = empty.json().await.unwrap();
    assert_eq!(status, 200, "{empty}");
    assert!(empty.is_array(), "{empty}");
    assert_eq!(empty[0]["attributes"]["authors"], json!([]));
    assert_eq!(empty[0]["attributes"]["years"], json!([]));
    for bad in ["years=1965,1969", "years=1|2|3|4"] {
        let refused = reqwest::get(format!("http://{addr}/books?{bad}"))
            .await
            .unwrap();
        assert_eq!(refused.status(), 400, "{bad}");
    }
    // The served document says how they are written.
    let spec: serde_json::Value =
        serde_json::from_str(&fixture_catalog_server::emitted_spec()).unwrap();
    let params = spec["paths"]["/books"]["get"]["parameters"]
        .as_array()
        .unwrap();
    let style = |name: &str| {
        let p = params.iter().find(|p| p["name"] == name).unwrap();
        (p["style"].clone(), p["explode"].clone())
    };
    assert_eq!(style("authors"), (json!("spaceDelimited"), json!(false)));
    assert_eq!(style("years"), (json!("pipeDelimited"), json!(false)));
    // Arrays outside the query are one value, items joined by commas; header
    // lines add up, and the array's rules apply.
    let http = reqwest::Client::new();
    let raw = http
        .get(format!("http://{addr}/books"))
        .header("x-genres", "a,b")
        .header("x-genres", "c")
        .header("cookie", "recent=1%2C2")
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), 200);
    let raw: serde_json::Value = raw.json().await.unwrap();
    assert_eq!(raw[0]["attributes"]["genres"], json!(["a", "b", "c"]));
    assert_eq!(raw[0]["attributes"]["recent"], json!([1, 2]));
    let four = http
        .get(format!("http://{addr}/books"))
        .header("x-genres", "a,b,c,d")
        .send()
        .await
        .unwrap();
    assert_eq!(four.status(), 400, "maxItems 3");
    let not_numbers = http
        .get(format!("http://{addr}/books"))
        .header("cookie", "recent=1,x")
        .send()
        .await
        .unwrap();
    assert_eq!(not_numbers.status(), 400);
    let pair = [uuid::Uuid::now_v7(), uuid::Uuid::now_v7()];
    let compared = client
        .compare_books(&CompareBooksRequest {
            book_ids: pair.to_vec(),
        })
        .await
        .unwrap();
    assert_eq!(compared.value, CompareBooksResponse::Ok(pair.to_vec()));
    let one = http
        .get(format!("http://{addr}/books/compare/{}", pair[0]))
        .send()
        .await
        .unwrap();
    assert_eq!(one.status(), 400, "minItems 2");
    // Item rules apply to the array: at most 5 tags.
    let too_many = client
        .list_books(&ListBooksRequest {
            tag: vec!["t".into(); 6],
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(
        matches!(
            &too_many.value,
            ListBooksResponse::Other { status: 400, .. }
        ),
        "{:?}",
        too_many.value
    );

    // A form-only body goes as a form; arrays as repeated keys.
    let subscribed = client
        .subscribe(&SubscribeRequest {
            body: serde_json::from_value(
                json!({ "email": "reader@example.com", "topics": ["fiction", "science"] }),
            )
            .unwrap(),
        })
        .await
        .unwrap();
    assert_eq!(subscribed.value, SubscribeResponse::NoContent);
    // A body offered as JSON and as a form: the client sends JSON, a browser a form;
    // both decode to the same value and pass the same rules.
    let book_id = uuid::Uuid::now_v7();
    let review: fixture_catalog_types::NewReview = serde_json::from_value(
        json!({ "rating": 4, "text": "Good", "stars": 5, "tags": ["a", "b"] }),
    )
    .unwrap();
    let as_json = client
        .review_book(&ReviewBookRequest {
            book_id,
            body: review.clone(),
        })
        .await
        .unwrap();
    assert_eq!(as_json.value, ReviewBookResponse::Created(review.clone()));
    let http = reqwest::Client::new();
    let url = format!("http://{addr}/books/{book_id}/reviews");
    let as_form: serde_json::Value = http
        .post(&url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("rating=4&text=Good&stars=5&tags=a&tags=b")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(as_form, serde_json::to_value(&review).unwrap());
    let out_of_range = http
        .post(&url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("rating=9")
        .send()
        .await
        .unwrap();
    assert_eq!(
        out_of_range.status(),
        400,
        "a form passes the schema's rules too"
    );
    let problem: serde_json::Value = out_of_range.json().await.unwrap();
    assert_eq!(problem["errors"][0]["pointer"], "/rating", "{problem}");
    let xml = http
        .post(&url)
        .header("content-type", "application/xml")
        .body("<rating>4</rating>")
        .send()
        .await
        .unwrap();
    assert_eq!(
        xml.status(),
        415,
        "a media type the contract does not offer"
    );

    // An optional body may be left out, or sent and checked.
    let without = client
        .mark_read(&MarkReadRequest {
            book_id,
            body: None,
        })
        .await
        .unwrap();
    assert_eq!(without.value, MarkReadResponse::NoContent);
    let with = client
        .mark_read(&MarkReadRequest {
            book_id,
            body: Some(fixture_catalog_types::ReadingNote {
                text: "loved it".into(),
            }),
        })
        .await
        .unwrap();
    assert_eq!(with.value, MarkReadResponse::NoContent);
    let empty_note = http
        .post(format!("http://{addr}/books/{book_id}/reads"))
        .json(&json!({ "text": "" }))
        .send()
        .await
        .unwrap();
    assert_eq!(empty_note.status(), 400, "a body that is sent is validated");

    // The server's own 400 for an invalid body falls under `default` too.
    let invalid = client
        .add_book(&AddBookRequest {
            body: serde_json::from_value(json!({ "title": "", "authors": ["F. H."] })).unwrap(),
        })
        .await
        .unwrap();
    assert!(
        matches!(&invalid.value, AddBookResponse::Other { status: 400, .. }),
        "{:?}",
        invalid.value
    );
    server.abort();
}

/// Bytes that are not text: every byte value, in an order that shows a shift.
fn pattern(size: usize) -> Vec<u8> {
    (0..size).map(|i| (i * 7 % 256) as u8).collect()
}

/// A multipart body written by hand, as a browser sends one: `(name, file
/// name, bytes)` per part.
fn multipart_body(parts: &[(&str, Option<&str>, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "keel-boundary-7MA4YWxk";
    let mut body = Vec::new();
    for (name, file_name, bytes) in parts {
        body.extend(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"").bytes(),
        );
        if let Some(file_name) = file_name {
            body.extend(
                format!("; filename=\"{file_name}\"\r\nContent-Type: application/octet-stream")
                    .bytes(),
            );
        }
        body.extend(b"\r\n\r\n");
        body.extend(*bytes);
        body.extend(b"\r\n");
    }
    body.extend(format!("--{boundary}--\r\n").bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

#[tokio::test]
async fn files_go_from_the_client_to_the_server_as_multipart_parts() {
    let (addr, server) = serve().await;
    let client = Client::new(format!("http://{addr}")).unwrap();
    // Every byte value, and more than one read buffer's worth.
    let image = pattern(200_000);
    let upload = CoverUpload {
        cover: File::new(image.clone())
            .with_file_name("cover.png")
            .with_content_type("image/png"),
        pages: Some(vec![File::new(vec![1; 10]), File::new(Vec::new())]),
        caption: Some("Première édition, 1965".into()),
        stars: Some(Stars::V4),
        price: Some(Money {
            amount: 1299,
            currency: Currency::Eur,
        }),
    };
    let reply = client
        .upload_cover(&UploadCoverRequest {
            book_id: uuid::Uuid::now_v7(),
            body: upload.clone(),
        })
        .await
        .unwrap();
    let UploadCoverResponse::Ok(receipt) = reply.value else {
        panic!("{:?}", reply.value)
    };
    assert_eq!(receipt.size, 200_000);
    assert_eq!(
        receipt.sum,
        image.iter().map(|b| i64::from(*b)).sum::<i64>(),
        "the bytes arrived unchanged"
    );
    assert_eq!(receipt.head.0, image[..8]);
    assert_eq!(
        (receipt.file_name.as_str(), receipt.content_type.as_str()),
        ("cover.png", "image/png")
    );
    assert_eq!(receipt.page_sizes, [10, 0], "an array of files, in order");
    assert_eq!(receipt.caption, upload.caption);
    assert_eq!(
        receipt.stars,
        Some(Stars::V4),
        "an integer enum as a text part"
    );
    assert_eq!(receipt.price, upload.price, "an object as a JSON part");

    // What a browser's form sends is read the same way, and checked.
    let http = reqwest::Client::new();
    let url = format!("http://{addr}/books/{}/cover", uuid::Uuid::now_v7());
    let post = |parts: &[(&str, Option<&str>, &[u8])]| {
        let (content_type, body) = multipart_body(parts);
        http.post(&url)
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    let plain: serde_json::Value = post(&[
        ("cover", Some("c.bin"), b"\x00\xffkeel"),
        ("caption", None, b"Hi"),
    ])
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(plain["size"], 6);
    assert_eq!(plain["caption"], "Hi");
    assert_eq!(plain["pageSizes"], json!([]));
    let rejected = [
        (
            post(&[("caption", None, b"no cover")]).await.unwrap(),
            "/cover",
            "required",
        ),
        (
            post(&[
                ("cover", Some("c"), b"x"),
                ("caption", None, "x".repeat(41).as_bytes()),
            ])
            .await
            .unwrap(),
            "/caption",
            "length",
        ),
        (
            post(&[
                ("cover", Some("c"), b"x"),
                ("pages", Some("1"), b"1"),
                ("pages", Some("2"), b"2"),
                ("pages", Some("3"), b"3"),
                ("pages", Some("4"), b"4"),
            ])
            .await
            .unwrap(),
            "/pages",
            "length",
        ),
        (
            post(&[("cover", Some("c"), b"x"), ("stars", None, b"six")])
                .await
                .unwrap(),
            "/stars",
            "type",
        ),
    ];
    for (response, pointer, code) in rejected {
        assert_eq!(response.status(), 400, "{pointer}");
        let problem: serde_json::Value = response.json().await.unwrap();
        assert_eq!(problem["errors"][0]["pointer"], pointer, "{problem}");
        assert_eq!(problem["errors"][0]["code"], code, "{problem}");
    }
    let as_json = http
        .post(&url)
        .json(&json!({ "cover": "eA==" }))
        .send()
        .await
        .unwrap();
    assert_eq!(as_json.status(), 415, "files come as multipart only");
    server.abort();
}

#[tokio::test]
async fn a_json_array_is_a_request_body_that_checks_its_rules() {
    let (addr, server) = serve().await;
    let client = Client::builder(format!("http://{addr}")).build().unwrap();
    let books = HoldBooksBody(vec![uuid::Uuid::now_v7(), uuid::Uuid::now_v7()]);
    let held = client
        .hold_books(&HoldBooksRequest { body: books })
        .await
        .unwrap();
    assert_eq!(held.value, HoldBooksResponse::Ok(2));
    // `minItems: 1` and `maxItems: 3` hold on the server.
    let http = reqwest::Client::new();
    let four = vec![uuid::Uuid::nil(); 4];
    for body in [json!([]), json!(four)] {
        let refused = http
            .post(format!("http://{addr}/books/holds"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), 400, "{body}");
    }
    server.abort();
}

#[tokio::test]
async fn an_optional_form_and_a_default_response_without_content() {
    let (addr, server) = serve().await;
    let client = Client::builder(format!("http://{addr}")).build().unwrap();
    let hold = |book_id, days: Option<i64>| {
        let client = client.clone();
        async move {
            client
                .hold_book(&HoldBookRequest {
                    book_id,
                    body: days.map(|days| HoldBookBody { days: Some(days) }),
                })
                .await
                .unwrap()
                .value
        }
    };
    let book = uuid::Uuid::now_v7();
    // The form is optional: left out, then sent.
    assert_eq!(hold(book, None).await, HoldBookResponse::NoContent);
    assert_eq!(hold(book, Some(7)).await, HoldBookResponse::NoContent);
    assert_eq!(
        hold(book, Some(60)).await,
        HoldBookResponse::Other { status: 422 }
    );
    assert_eq!(
        hold(uuid::Uuid::nil(), None).await,
        HoldBookResponse::Other { status: 409 }
    );
    // An optional form is still checked when sent.
    let invalid = reqwest::Client::new()
        .put(format!("http://{addr}/books/{book}/hold"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("days=0")
        .send()
        .await
        .unwrap();
    assert_eq!(invalid.status(), 400);
    let raw = reqwest::Client::new()
        .put(format!("http://{addr}/books/{}/hold", uuid::Uuid::nil()))
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), 409);
    assert_eq!(raw.bytes().await.unwrap().len(), 0, "no body");
    // The served document declares it without content, as the contract does.
    let spec: serde_json::Value =
        serde_json::from_str(&fixture_catalog_server::emitted_spec()).unwrap();
    let default = &spec["paths"]["/books/{bookId}/hold"]["put"]["responses"]["default"];
    assert!(default.is_object(), "{spec}");
    assert!(default.get("content").is_none(), "{default}");
    server.abort();
}

#[tokio::test]
async fn an_oauth2_scope_is_checked_like_a_bearer_scope() {
    let (addr, server) = serve().await;
    let book_id = uuid::Uuid::now_v7();
    let withdraw = |token: Option<&str>| {
        let mut builder = Client::builder(format!("http://{addr}"));
        if let Some(token) = token {
            builder = builder.bearer(token.to_owned());
        }
        async move {
            builder
                .build()
                .unwrap()
                .withdraw_book(&WithdrawBookRequest { book_id })
                .await
                .unwrap()
        }
    };
    assert_eq!(
        withdraw(Some("librarian")).await.value,
        WithdrawBookResponse::NoContent
    );
    for (token, status) in [(Some("reader"), 403), (None, 401), (Some("forged"), 401)] {
        let reply = withdraw(token).await;
        assert!(
            matches!(&reply.value, WithdrawBookResponse::Other { status: s, .. } if *s == status),
            "{token:?}: {:?}",
            reply.value
        );
    }
    // The served document says OAuth 2, with the contract's flows.
    let spec: serde_json::Value =
        serde_json::from_str(&fixture_catalog_server::emitted_spec()).unwrap();
    let scheme = &spec["components"]["securitySchemes"]["catalogAuth"];
    assert_eq!(scheme["type"], "oauth2", "{scheme}");
    assert_eq!(
        scheme["flows"]["authorizationCode"]["scopes"]["books:read"],
        "Read what is not yet published"
    );
    server.abort();
}

#[tokio::test]
async fn a_response_in_json_or_csv_comes_in_the_media_type_the_service_chose() {
    let (addr, server) = serve().await;
    let client = Client::new(format!("http://{addr}")).unwrap();
    let json = client
        .export_titles(&ExportTitlesRequest {
            format: Some(ExportTitlesFormat::Json),
        })
        .await
        .unwrap();
    assert_eq!(json.headers["content-type"], "application/json");
    assert_eq!(
        json.value,
        ExportTitlesResponse::Ok(JsonOrBytes::Json(vec![
            "Dune".to_owned(),
            "Emma, again".to_owned()
        ]))
    );
    let csv = client
        .export_titles(&ExportTitlesRequest {
            format: Some(ExportTitlesFormat::Csv),
        })
        .await
        .unwrap();
    assert_eq!(csv.headers["content-type"], "text/csv; charset=utf-8");
    assert_eq!(
        csv.value,
        ExportTitlesResponse::Ok(JsonOrBytes::Bytes {
            content_type: "text/csv; charset=utf-8".into(),
            body: b"title\nDune\n\"Emma, again\"\n".to_vec(),
        })
    );

    // Over plain HTTP, by `Accept`: the service negotiates.
    let http = reqwest::Client::new();
    let url = format!("http://{addr}/books/export");
    let by_accept = http
        .get(&url)
        .header("accept", "text/csv")
        .send()
        .await
        .unwrap();
    assert_eq!(by_accept.status(), 200);
    assert_eq!(
        by_accept.headers()["content-type"],
        "text/csv; charset=utf-8"
    );
    assert_eq!(
        by_accept.bytes().await.unwrap().as_ref(),
        b"title\nDune\n\"Emma, again\"\n"
    );
    let default = http
        .get(&url)
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(default.headers()["content-type"], "application/json");
    assert_eq!(
        default.json::<serde_json::Value>().await.unwrap(),
        json!(["Dune", "Emma, again"])
    );

    // The served document lists both media types.
    let spec: serde_json::Value =
        serde_json::from_str(&fixture_catalog_server::emitted_spec()).unwrap();
    let content = &spec["paths"]["/books/export"]["get"]["responses"]["200"]["content"];
    assert_eq!(
        content["application/json"]["schema"]["type"], "array",
        "{content}"
    );
    assert_eq!(
        content["text/csv"]["schema"]["format"], "binary",
        "{content}"
    );
    server.abort();
}

#[tokio::test]
async fn xml_beside_json_reaches_the_service_as_bytes_and_json_stays_typed() {
    let (addr, server) = serve().await;
    let client = Client::new(format!("http://{addr}")).unwrap();
    let note = fixture_catalog_types::ReadingNote {
        text: "Dune, again".into(),
    };
    let typed = client
        .import_note(&ImportNoteRequest {
            body: JsonOrBytes::Json(note.clone()),
        })
        .await
        .unwrap();
    assert_eq!(typed.headers["content-type"], "application/json");
    assert_eq!(typed.value, ImportNoteResponse::Ok(JsonOrBytes::Json(note)));
    // JSON is still checked against the schema.
    let empty = reqwest::Client::new()
        .post(format!("http://{addr}/notes/import"))
        .json(&json!({ "text": "" }))
        .send()
        .await
        .unwrap();
    assert_eq!(empty.status(), 400);

    let xml = client
        .import_note(&ImportNoteRequest {
            body: JsonOrBytes::Bytes {
                content_type: "application/xml; charset=utf-8".into(),
                body: b"<note><text>Emma</text></note>".to_vec(),
            },
        })
        .await
        .unwrap();
    assert_eq!(xml.headers["content-type"], "application/xml");
    assert_eq!(
        xml.value,
        ImportNoteResponse::Ok(JsonOrBytes::Bytes {
            content_type: "application/xml".into(),
            body: b"<note><text>Emma</text><via>application/xml; charset=utf-8</via></note>"
                .to_vec(),
        })
    );
    // Only the declared XML media type is taken.
    let text_xml = reqwest::Client::new()
        .post(format!("http://{addr}/notes/import"))
        .header("content-type", "text/xml")
        .body("<note><text>Emma</text></note>")
        .send()
        .await
        .unwrap();
    assert_eq!(text_xml.status(), 415);

    let book_id = uuid::Uuid::now_v7();
    let record = client
        .get_book_record(&GetBookRecordRequest { book_id })
        .await
        .unwrap();
    assert_eq!(record.headers["content-type"], "application/xml");
    assert_eq!(
        record.value,
        GetBookRecordResponse::Ok(format!("<book id=\"{book_id}\"/>").into_bytes())
    );

    // The served document lists XML beside JSON, as bytes.
    let spec: serde_json::Value =
        serde_json::from_str(&fixture_catalog_server::emitted_spec()).unwrap();
    let body = &spec["paths"]["/notes/import"]["post"]["requestBody"]["content"];
    assert_eq!(
        body["application/xml"]["schema"]["format"], "binary",
        "{body}"
    );
    server.abort();
}

#[tokio::test]
async fn raw_bytes_go_up_as_octet_stream_and_come_down_as_they_are() {
    let (addr, server) = serve().await;
    let client = Client::new(format!("http://{addr}")).unwrap();
    let book_id = uuid::Uuid::now_v7();
    let down = client
        .download_cover(&DownloadCoverRequest {
            book_id,
            size: 300_000,
        })
        .await
        .unwrap();
    assert_eq!(down.headers["content-type"], "image/png");
    assert_eq!(down.value, DownloadCoverResponse::Ok(pattern(300_000)));
    let missing = client
        .download_cover(&DownloadCoverRequest {
            book_id,
            size: 2 << 20,
        })
        .await
        .unwrap();
    assert!(
        matches!(&missing.value, DownloadCoverResponse::NotFound(p) if p.status == 404),
        "{:?}",
        missing.value
    );

    let bytes = pattern(123_457);
    let up = client
        .replace_cover(&ReplaceCoverRequest {
            book_id,
            body: bytes.clone(),
        })
        .await
        .unwrap();
    let ReplaceCoverResponse::Ok(receipt) = up.value;
    assert_eq!(
        (receipt.size, receipt.sum),
        (123_457, bytes.iter().map(|b| i64::from(*b)).sum::<i64>())
    );
    let as_json = reqwest::Client::new()
        .put(format!("http://{addr}/books/{book_id}/cover"))
        .json(&json!("AAEC"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        as_json.status(),
        415,
        "bytes come as application/octet-stream"
    );
    server.abort();
}

#[tokio::test]
async fn date_time_date_and_byte_response_headers_arrive_typed() {
    let (addr, server) = serve().await;
    let client = Client::new(format!("http://{addr}")).unwrap();
    let lent = uuid::Uuid::now_v7();
    let loan = client
        .get_loan(&GetLoanRequest { book_id: lent })
        .await
        .unwrap();
    assert_eq!(
        loan.value,
        GetLoanResponse::Ok {
            x_due_at: due_at(),
            x_loaned_on: chrono::NaiveDate::from_ymd_opt(2026, 12, 1),
            x_loan_token: Some(Base64(b"renew\xff".to_vec())),
        }
    );
    // On the wire: each value as its JSON text (RFC 3339, a full date, padded base64).
    let raw = reqwest::get(format!("http://{addr}/books/{lent}/loan"))
        .await
        .unwrap();
    assert_eq!(raw.status(), 200);
    let header = |name: &str| raw.headers()[name].to_str().unwrap().to_owned();
    assert_eq!(header("x-due-at"), "2026-12-24T18:00:00.250Z");
    assert_eq!(header("x-loaned-on"), "2026-12-01");
    assert_eq!(header("x-loan-token"), "cmVuZXf/");

    // Optional headers the service leaves out are not sent, and come back `None`.
    let bare = uuid::Uuid::from_u128(1);
    let loan = client
        .get_loan(&GetLoanRequest { book_id: bare })
        .await
        .unwrap();
    assert_eq!(
        loan.value,
        GetLoanResponse::Ok {
            x_due_at: due_at(),
            x_loaned_on: None,
            x_loan_token: None,
        }
    );
    assert!(loan.headers.get("x-loaned-on").is_none());
    assert!(loan.headers.get("x-loan-token").is_none());
    let missing = client
        .get_loan(&GetLoanRequest {
            book_id: uuid::Uuid::nil(),
        })
        .await
        .unwrap();
    assert!(
        matches!(&missing.value, GetLoanResponse::NotFound(p) if p.status == 404),
        "{:?}",
        missing.value
    );

    // The served document keeps each header's format, as the contract has it.
    let spec: serde_json::Value =
        serde_json::from_str(&fixture_catalog_server::emitted_spec()).unwrap();
    let headers = &spec["paths"]["/books/{bookId}/loan"]["get"]["responses"]["200"]["headers"];
    assert_eq!(headers["X-DUE-AT"]["required"], true, "{headers}");
    assert_eq!(
        headers["X-DUE-AT"]["schema"],
        json!({ "type": "string", "format": "date-time" })
    );
    assert_ne!(headers["X-LOANED-ON"]["required"], true, "{headers}");
    // Not poem-openapi's `naive-date`.
    assert_eq!(headers["X-LOANED-ON"]["schema"]["format"], "date");
    assert_eq!(headers["X-LOAN-TOKEN"]["schema"]["format"], "byte");
    server.abort();
}

#[tokio::test]
async fn label_and_matrix_path_parameters_arrive_as_sent() {
    let (addr, server) = serve().await;
    let client = Client::new(format!("http://{addr}")).unwrap();
    // As RFC 6570 writes them, and read by the server.
    let http = reqwest::Client::new();
    let get = |path: &str| http.get(format!("http://{addr}/shelves/{path}")).send();
    let raw = get(".7/;row=low/;ids=5;ids=6/.x,y").await.unwrap();
    assert_eq!(raw.status(), 200, "{:?}", raw.text().await);
    let raw: Vec<String> = raw.json().await.unwrap();
    assert_eq!(raw, ["7", "low", "5", "6", "x", "y"]);
    let found = client
        .find_on_shelf(&FindOnShelfRequest {
            shelf: 3,
            row: "top row".into(),
            ids: vec![1, 22],
            tags: vec!["sci-fi".into(), "a b".into()],
        })
        .await
        .unwrap();
    assert_eq!(
        found.value,
        FindOnShelfResponse::Ok(vec![
            "3".into(),
            "top row".into(),
            "1".into(),
            "22".into(),
            "sci-fi".into(),
            "a b".into()
        ])
    );
    // An empty matrix array is the name alone (an empty label array would be
    // `.`, a segment URLs remove).
    let empty: Vec<String> = get(".7/;row=/;ids/.x").await.unwrap().json().await.unwrap();
    assert_eq!(empty, ["7", "", "x"]);
    for bad in [
        "7/;row=low/;ids=5/.x",                    // no `.`
        ".7/row=low/;ids=5/.x",                    // no `;row=`
        ".7/;row=low/;ids=5;ids=x/.x",             // not a number
        ".7/;row=low/;ids=1;ids=2;ids=3;ids=4/.x", // maxItems 3
    ] {
        assert_eq!(get(bad).await.unwrap().status(), 400, "{bad}");
    }
    // The served document says how they are written.
    let spec: serde_json::Value =
        serde_json::from_str(&fixture_catalog_server::emitted_spec()).unwrap();
    let params = spec["paths"]["/shelves/{shelf}/{row}/{ids}/{tags}"]["get"]["parameters"]
        .as_array()
        .unwrap();
    let styles: Vec<(&str, &str)> = params
        .iter()
        .map(|p| (p["name"].as_str().unwrap(), p["style"].as_str().unwrap()))
        .collect();
    assert_eq!(
        styles,
        [
            ("shelf", "label"),
            ("row", "matrix"),
            ("ids", "matrix"),
            ("tags", "label")
        ]
    );
    server.abort();
}

#[tokio::test]
async fn the_rust_client_writes_label_and_matrix_prefixes_as_they_are() {
    // A server that is not the generated one, answering with the path it got.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let route = poem::Route::new().at(
        "/*rest",
        poem::endpoint::make_sync(|req| poem::web::Json(vec![req.uri().path().to_owned()])),
    );
    let server = tokio::spawn(
        poem::Server::new(poem::listener::TcpListener::bind(addr.to_string())).run(route),
    );
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let found = Client::new(format!("http://{addr}"))
        .unwrap()
        .find_on_shelf(&FindOnShelfRequest {
            shelf: 3,
            row: "top;row".into(),
            ids: vec![1, 22],
            tags: vec!["sci-fi".into(), "a,b".into()],
        })
        .await
        .unwrap();
    assert_eq!(
        found.value,
        FindOnShelfResponse::Ok(vec![
            "/shelves/.3/;row=top%3Brow/;ids=1;ids=22/.sci-fi,a%2Cb".into()
        ])
    );
    server.abort();
}

#[tokio::test]
async fn a_date_time_header_that_does_not_parse_is_an_invalid_response() {
    // A server that is not the generated one, sending text that is no date-time.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let route = poem::Route::new().at(
        "/books/:id/loan",
        poem::endpoint::make_sync(|_| {
            poem::Response::builder()
                .header("X-Due-At", "Thu, 24 Dec 2026 18:00:00 GMT")
                .finish()
        }),
    );
    let server = tokio::spawn(
        poem::Server::new(poem::listener::TcpListener::bind(addr.to_string())).run(route),
    );
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let error = Client::new(format!("http://{addr}"))
        .unwrap()
        .get_loan(&GetLoanRequest {
            book_id: uuid::Uuid::now_v7(),
        })
        .await
        .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("the `X-Due-At` header `Thu, 24 Dec 2026 18:00:00 GMT` does not parse"),
        "{error}"
    );
    server.abort();
}

#[tokio::test]
async fn api_keys_go_in_a_header_the_query_or_a_cookie_as_their_scheme_says() {
    let (addr, server) = serve().await;
    let keyed = Client::builder(format!("http://{addr}"))
        .api_key("partnerKey", "yeKrentrap".to_owned())
        .api_key("feedKey", "yeKdeef".to_owned())
        .api_key("shelfKey", "yeKflehs".to_owned())
        .build()
        .unwrap();
    let stats = keyed.partner_stats(&PartnerStatsRequest {}).await.unwrap();
    let feed = keyed.partner_feed(&PartnerFeedRequest {}).await.unwrap();
    let shelf = keyed
        .partner_shelf(&PartnerShelfRequest {
            session: Some("s=1; x".into()),
        })
        .await
        .unwrap();
    let name = |value: &dyn std::fmt::Debug| format!("{value:?}");
    assert!(
        name(&stats.value).contains("partner via partnerKey"),
        "{:?}",
        stats.value
    );
    assert!(
        name(&feed.value).contains("partner via feedKey"),
        "{:?}",
        feed.value
    );
    assert_eq!(
        shelf.value,
        PartnerShelfResponse::Ok(Partner {
            name: "partner via shelfKey".into(),
            session: Some("s=1; x".into()),
        }),
        "the key's cookie beside a cookie parameter"
    );

    // Without a key, with another scheme's key, or in the wrong place: 401.
    let keyless = Client::new(format!("http://{addr}")).unwrap();
    let reply = keyless
        .partner_stats(&PartnerStatsRequest {})
        .await
        .unwrap();
    assert!(
        matches!(reply.value, PartnerStatsResponse::Other { status: 401, .. }),
        "{:?}",
        reply.value
    );
    let swapped = Client::builder(format!("http://{addr}"))
        .api_key("partnerKey", "yeKdeef".to_owned())
        .build()
        .unwrap();
    let reply = swapped
        .partner_stats(&PartnerStatsRequest {})
        .await
        .unwrap();
    assert!(
        matches!(reply.value, PartnerStatsResponse::Other { status: 401, .. }),
        "{:?}",
        reply.value
    );
    let in_the_query = reqwest::Client::new()
        .get(format!(
            "http://{addr}/partner/stats?X-Partner-Key=yeKrentrap"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(
        in_the_query.status(),
        401,
        "a header key is read from the header only"
    );

    // The served document says where each key goes.
    let spec: serde_json::Value =
        serde_json::from_str(&fixture_catalog_server::emitted_spec()).unwrap();
    let schemes = &spec["components"]["securitySchemes"];
    assert_eq!(
        schemes["feedKey"],
        json!({ "type": "apiKey", "name": "key", "in": "query" })
    );
    assert_eq!(schemes["shelfKey"]["in"], "cookie");
    server.abort();
}

#[tokio::test]
async fn an_optional_multipart_body_may_be_left_out() {
    let (addr, server) = serve().await;
    let client = Client::new(format!("http://{addr}")).unwrap();
    let book_id = uuid::Uuid::now_v7();
    let without = client
        .attach_note(&AttachNoteRequest {
            book_id,
            body: None,
        })
        .await
        .unwrap();
    assert_eq!(without.value, AttachNoteResponse::NoContent);
    let with = client
        .attach_note(&AttachNoteRequest {
            book_id,
            body: Some(fixture_catalog_types::AttachNoteBody {
                text: "margins".into(),
                scan: Some(File::new(vec![0; 5])),
            }),
        })
        .await
        .unwrap();
    assert_eq!(
        with.value,
        AttachNoteResponse::Ok(fixture_catalog_types::ReadingNote {
            text: "margins (+5 bytes)".into()
        })
    );
    let (content_type, body) = multipart_body(&[("text", None, b"")]);
    let empty_text = reqwest::Client::new()
        .post(format!("http://{addr}/books/{book_id}/notes"))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(empty_text.status(), 400, "a body that is sent is validated");
    server.abort();
}

/// Object parameters in the query and a header (ADR 23): the Rust client
/// writes each style, the server reads it back, and its rules are the type's.
#[tokio::test]
async fn object_query_and_header_parameters_arrive_as_sent() {
    use fixture_catalog_types::{
        BookPick, BookPickGenre, PickBooksNear, PickBooksRange, PickBooksSpine, PickBooksXEdition,
    };
    let (addr, server) = serve().await;
    let client = Client::new(format!("http://{addr}")).unwrap();
    let pick = BookPick {
        title: "Dune, a & b".into(),
        year: Some(1965),
        genre: Some(BookPickGenre::ScienceFiction),
        signed: Some(true),
        added_after: Some(chrono::NaiveDate::from_ymd_opt(2026, 1, 2).unwrap()),
    };
    let read = client
        .pick_books(&PickBooksRequest {
            pick: pick.clone(),
            near: Some(PickBooksNear {
                lat: 48.85,
                lon: -2.5,
            }),
            range: Some(PickBooksRange {
                from: Some(1),
                to: None,
            }),
            spine: Some(PickBooksSpine {
                color: Some("dark red".into()),
                height: Some(24),
            }),
            x_edition: Some(PickBooksXEdition {
                lang: Some("fr".into()),
                number: Some(2),
            }),
        })
        .await
        .unwrap();
    assert_eq!(
        read.value,
        PickBooksResponse::Ok(vec![
            json!(pick).to_string(),
            json!({"lat": 48.85, "lon": -2.5}).to_string(),
            json!({"from": 1}).to_string(),
            json!({"color": "dark red", "height": 24}).to_string(),
            json!({"lang": "fr", "number": 2}).to_string(),
        ])
    );
    // Optional objects left out, and the required one with its required
    // property alone: absent properties stay absent.
    let read = client
        .pick_books(&PickBooksRequest {
            pick: BookPick {
                title: "Dune".into(),
                year: None,
                genre: None,
                signed: None,
                added_after: None,
            },
            near: None,
            range: None,
            spine: None,
            x_edition: None,
        })
        .await
        .unwrap();
    assert_eq!(
        read.value,
        PickBooksResponse::Ok(vec![
            json!({"title": "Dune"}).to_string(),
            "null".into(),
            "null".into(),
            "null".into(),
            "null".into()
        ])
    );
    // As OpenAPI's style table writes them, read by the server.
    let http = reqwest::Client::new();
    let get = |query: &str, edition: Option<&str>| {
        let mut request = http.get(format!("http://{addr}/picks?{query}"));
        if let Some(edition) = edition {
            request = request.header("X-Edition", edition);
        }
        request.send()
    };
    let raw = get(
        "title=Dune&genre=drama&near=lat,1.5,lon,2&range[from]=3&range[to]=9&spine=color|red|height|20&other=1",
        Some("lang=en,number=4"),
    )
    .await
    .unwrap();
    assert_eq!(raw.status(), 200);
    let raw: Vec<String> = raw.json().await.unwrap();
    assert_eq!(
        raw,
        [
            json!({"title": "Dune", "genre": "drama"}).to_string(),
            json!({"lat": 1.5, "lon": 2.0}).to_string(),
            json!({"from": 3, "to": 9}).to_string(),
            json!({"color": "red", "height": 20}).to_string(),
            json!({"lang": "en", "number": 4}).to_string(),
        ]
    );
    // Malformed or against the rules: 400, naming the parameter and property.
    for (query, edition, parameter, pointer) in [
        ("year=1965", None, "pick", Some("/title")), // required property
        ("title=", None, "pick", Some("/title")),    // minLength 1
        ("title=Dune&year=999", None, "pick", Some("/year")), // minimum
        ("title=Dune&year=x", None, "pick", Some("/year")), // not a number
        ("title=Dune&genre=opera", None, "pick", Some("/genre")), // not in the enum
        ("title=Dune&near=lat,1.5,lon", None, "near", None), // odd items
        ("title=Dune&near=lat,91,lon,2", None, "near", Some("/lat")), // maximum
        ("title=Dune&near=lat,1", None, "near", Some("/lon")), // `lon` is required
        ("title=Dune&range[to]=4000", None, "range", Some("/to")), // maximum
        ("title=Dune&spine=height|61", None, "spine", Some("/height")), // maximum
        ("title=Dune&spine=height,6", None, "spine", None), // not `|`
        (
            "title=Dune",
            Some("lang=english"),
            "X-Edition",
            Some("/lang"),
        ), // maxLength
        ("title=Dune", Some("lang,en"), "X-Edition", None), // not exploded
    ] {
        let refused = get(query, edition).await.unwrap();
        assert_eq!(refused.status(), 400, "{query} {edition:?}");
        let problem: serde_json::Value = refused.json().await.unwrap();
        assert_eq!(
            problem["type"], "urn:keel:problem:invalid-parameter",
            "{problem}"
        );
        assert_eq!(problem["errors"][0]["parameter"], parameter, "{problem}");
        match pointer {
            Some(pointer) => assert_eq!(problem["errors"][0]["pointer"], pointer, "{problem}"),
            None => assert!(problem["errors"][0]["pointer"].is_null(), "{problem}"),
        }
    }
    // No pair of the required object at all: the parameter is required.
    let missing: serde_json::Value = get("other=1", None).await.unwrap().json().await.unwrap();
    assert_eq!(missing["errors"][0]["code"], "required", "{missing}");
    assert_eq!(missing["errors"][0]["parameter"], "pick", "{missing}");
    // The served document says how they are written.
    let spec: serde_json::Value =
        serde_json::from_str(&fixture_catalog_server::emitted_spec()).unwrap();
    let params: Vec<(
        String,
        serde_json::Value,
        serde_json::Value,
        serde_json::Value,
    )> = spec["paths"]["/picks"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_owned(),
                p["style"].clone(),
                p["explode"].clone(),
                p["required"].clone(),
            )
        })
        .collect();
    assert_eq!(
        params,
        [
            ("pick".into(), json!("form"), json!(true), json!(true)),
            ("near".into(), json!("form"), json!(false), json!(false)),
            (
                "range".into(),
                json!("deepObject"),
                json!(true),
                json!(false)
            ),
            (
                "spine".into(),
                json!("pipeDelimited"),
                json!(false),
                json!(false)
            ),
            (
                "X-Edition".into(),
                json!("simple"),
                json!(true),
                json!(false)
            ),
        ]
    );
    server.abort();
}

/// Object path parameters (ADR 23): `simple`, `label` and `matrix`.
#[tokio::test]
async fn object_path_parameters_arrive_as_sent() {
    use fixture_catalog_types::{
        FindPlaceCorner, FindPlaceDesk, FindPlaceRoom, FindPlaceSpot, FindPlaceSpotSide,
    };
    let (addr, server) = serve().await;
    let client = Client::new(format!("http://{addr}")).unwrap();
    let read = client
        .find_place(&FindPlaceRequest {
            spot: FindPlaceSpot {
                aisle: 3,
                side: Some(FindPlaceSpotSide::Left),
            },
            corner: FindPlaceCorner { x: 1, y: -2 },
            room: FindPlaceRoom {
                floor: 2,
                wing: Some("east side".into()),
            },
            desk: FindPlaceDesk {
                number: 7,
                lamp: None,
            },
        })
        .await
        .unwrap();
    assert_eq!(
        read.value,
        FindPlaceResponse::Ok(vec![
            json!({"aisle": 3, "side": "left"}).to_string(),
            json!({"x": 1, "y": -2}).to_string(),
            json!({"floor": 2, "wing": "east side"}).to_string(),
            json!({"number": 7}).to_string(),
        ])
    );
    let http = reqwest::Client::new();
    let get = |path: &str| http.get(format!("http://{addr}/places/{path}")).send();
    let raw = get("aisle,3/.x=1.y=2/;room=floor,2,wing,east/;number=7;lamp=true")
        .await
        .unwrap();
    assert_eq!(raw.status(), 200);
    let raw: Vec<String> = raw.json().await.unwrap();
    assert_eq!(
        raw,
        [
            json!({"aisle": 3}).to_string(),
            json!({"x": 1, "y": 2}).to_string(),
            json!({"floor": 2, "wing": "east"}).to_string(),
            json!({"number": 7, "lamp": true}).to_string(),
        ]
    );
    // poem-openapi names path parameters by position; the app's edge gives
    // `response_from_error` the route templates to name them as the contract
    // does, this test's edge does not.
    for (bad, parameter) in [
        ("aisle,0/.x=1.y=2/;room=floor,2/;number=7", "param0"), // `spot`: minimum 1
        ("aisle/.x=1.y=2/;room=floor,2/;number=7", "param0"),   // `spot`: odd items
        ("aisle,3/x=1.y=2/;room=floor,2/;number=7", "param1"),  // `corner`: no `.`
        ("aisle,3/.x=1/;room=floor,2/;number=7", "param1"),     // `corner`: `y` is required
        ("aisle,3/.x=1.y=2/room=floor,2/;number=7", "param2"),  // `room`: no `;`
        (
            "aisle,3/.x=1.y=2/;room=floor,2/;number=7;lamp=maybe",
            "param3",
        ), // `desk`: not a boolean
    ] {
        let refused = get(bad).await.unwrap();
        assert_eq!(refused.status(), 400, "{bad}");
        let problem: serde_json::Value = refused.json().await.unwrap();
        assert_eq!(
            problem["errors"][0]["parameter"], parameter,
            "{bad}: {problem}"
        );
    }
    server.abort();
}

/// What the Rust client puts on the wire for object parameters: the style
/// table's forms, each name and value of a path object percent-encoded.
#[tokio::test]
async fn the_rust_client_writes_object_parameters_as_the_style_table_does() {
    use fixture_catalog_types::{
        BookPick, FindPlaceCorner, FindPlaceDesk, FindPlaceRoom, FindPlaceSpot, PickBooksNear,
        PickBooksRange, PickBooksSpine, PickBooksXEdition,
    };
    // A server that is not the generated one, answering with what it got.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let route = poem::Route::new().at(
        "/*rest",
        poem::endpoint::make_sync(|req| {
            let edition = req.header("X-Edition").unwrap_or_default().to_owned();
            poem::web::Json(vec![req.uri().to_string(), edition])
        }),
    );
    let server = tokio::spawn(
        poem::Server::new(poem::listener::TcpListener::bind(addr.to_string())).run(route),
    );
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let client = Client::new(format!("http://{addr}")).unwrap();
    let picked = client
        .pick_books(&PickBooksRequest {
            pick: BookPick {
                title: "a b".into(),
                year: Some(1965),
                genre: None,
                signed: Some(false),
                added_after: None,
            },
            near: Some(PickBooksNear { lat: 1.5, lon: 2.0 }),
            range: Some(PickBooksRange {
                from: Some(3),
                to: Some(9),
            }),
            spine: Some(PickBooksSpine {
                color: Some("a b".into()),
                height: None,
            }),
            x_edition: Some(PickBooksXEdition {
                lang: Some("fr".into()),
                number: None,
            }),
        })
        .await
        .unwrap();
    assert_eq!(
        picked.value,
        PickBooksResponse::Ok(vec![
            "/picks?near=lat%2C1.5%2Clon%2C2.0&spine=color%7Ca+b&title=a+b&year=1965&signed=false&range%5Bfrom%5D=3&range%5Bto%5D=9".into(),
            "lang=fr".into()
        ])
    );
    let placed = client
        .find_place(&FindPlaceRequest {
            spot: FindPlaceSpot {
                aisle: 3,
                side: None,
            },
            corner: FindPlaceCorner { x: 1, y: 2 },
            room: FindPlaceRoom {
                floor: 2,
                wing: Some("a;b".into()),
            },
            desk: FindPlaceDesk {
                number: 7,
                lamp: Some(true),
            },
        })
        .await
        .unwrap();
    assert_eq!(
        placed.value,
        FindPlaceResponse::Ok(vec![
            "/places/aisle,3/.x=1.y=2/;room=floor,2,wing,a%3Bb/;number=7;lamp=true".into(),
            String::new()
        ])
    );
    server.abort();
}
