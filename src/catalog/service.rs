//! The catalog's use cases, behind the generated `ProductsApi`.

use keel_server::RequestContext;
use keel_server::products::*;
use keel_server::types::{self as dto, Problem};
use uuid::Uuid;

use super::domain::{
    Description, InvalidValue, Product, ProductChanges, ProductId, ProductName, Stock,
    StockAdjustment,
};
use super::ports::{ListQuery, ProductRepository, StorageError, WriteError};
use crate::kernel::{Currency, Money, Timestamp};
use crate::platform::conditional::{etag, if_match_allows};
use crate::platform::cursor;
use crate::platform::db::Transactions;
use crate::platform::dto::{money_from_dto, money_to_dto};
use crate::platform::problem::{self, FieldProblem};

pub struct ProductsService<R> {
    repo: R,
    transactions: Transactions,
}

impl<R: ProductRepository> ProductsService<R> {
    pub fn new(repo: R, transactions: Transactions) -> Self {
        ProductsService { repo, transactions }
    }
}

pub fn stock_to_dto(stock: Stock) -> dto::Stock {
    let units = |n: u64| i64::try_from(n).expect("stock is bounded far below i64::MAX");
    dto::Stock {
        available: units(stock.available),
        reserved: units(stock.reserved),
    }
}

fn to_dto(product: &Product) -> dto::Product {
    dto::Product {
        id: product.id.as_uuid(),
        name: product.name.as_str().to_owned(),
        description: product.description.as_ref().map(|d| d.as_str().to_owned()),
        price: money_to_dto(product.price),
        stock: stock_to_dto(product.stock),
        created_at: product.created_at.as_datetime(),
        updated_at: product.updated_at.as_datetime(),
    }
}

fn invalid(pointer: &'static str, error: InvalidValue) -> FieldProblem {
    FieldProblem::body(pointer, "domain", error.to_string())
}

fn price(pointer: &'static str, money: &dto::Money) -> Result<Money, FieldProblem> {
    money_from_dto(money).map_err(|e| FieldProblem::body(pointer, "domain", e.to_string()))
}

fn description(text: Option<String>) -> Result<Option<Description>, FieldProblem> {
    text.as_deref()
        .map(Description::parse)
        .transpose()
        .map_err(|e| invalid("/description", e))
}

fn not_found(ctx: &RequestContext, id: Uuid) -> Problem {
    problem::problem(
        ctx,
        404,
        "product-not-found",
        format!("there is no product with id {id}"),
    )
}

fn internal(ctx: &RequestContext, error: StorageError) -> Problem {
    problem::internal(ctx, &error)
}

impl<R: ProductRepository> ProductsApi for ProductsService<R> {
    async fn create_product(
        &self,
        ctx: RequestContext,
        req: CreateProductRequest,
    ) -> CreateProductResponse {
        let body = req.body;
        let parsed = (|| {
            Ok::<_, FieldProblem>((
                ProductName::parse(&body.name).map_err(|e| invalid("/name", e))?,
                description(body.description.into_option())?,
                price("/price", &body.price)?,
            ))
        })();
        let (name, description, price) = match parsed {
            Ok(values) => values,
            Err(field) => {
                return CreateProductResponse::BadRequest(problem::invalid_field(&ctx, field));
            }
        };
        let initial = u64::try_from(body.initial_stock.unwrap_or(0))
            .expect("the contract bounds initialStock to 0..");
        let product = Product::create(name, description, price, initial, Timestamp::now());
        match self.repo.insert(&product).await {
            Ok(()) => CreateProductResponse::Created {
                etag: etag(product.version.get()),
                location: format!("/v1/products/{}", product.id),
                body: to_dto(&product),
            },
            Err(e) => CreateProductResponse::InternalServerError(internal(&ctx, e)),
        }
    }

    async fn list_products(
        &self,
        ctx: RequestContext,
        req: ListProductsRequest,
    ) -> ListProductsResponse {
        let after = match req.cursor.as_deref().map(cursor::parameter).transpose() {
            Ok(after) => after.map(ProductId::from),
            Err(field) => {
                return ListProductsResponse::BadRequest(problem::invalid_field(&ctx, field));
            }
        };
        let currency = match req.currency.as_deref().map(Currency::parse).transpose() {
            Ok(currency) => currency,
            Err(e) => {
                let field = FieldProblem::parameter("currency", "domain", e.to_string());
                return ListProductsResponse::BadRequest(problem::invalid_field(&ctx, field));
            }
        };
        let limit = u64::try_from(req.limit).expect("the contract bounds limit to 1..=100");
        let query = ListQuery {
            after,
            limit: limit + 1,
            name_contains: req.name_contains.map(|text| text.to_lowercase()),
            currency,
            in_stock: req.in_stock,
        };
        match self.repo.list(&query).await {
            Ok(mut products) => {
                let more = products.len() as u64 > limit;
                products.truncate(limit as usize);
                let next_cursor = more
                    .then(|| products.last().map(|p| cursor::encode(p.id.as_uuid())))
                    .flatten();
                ListProductsResponse::Ok(dto::ProductPage {
                    items: products.iter().map(to_dto).collect(),
                    next_cursor,
                })
            }
            Err(e) => ListProductsResponse::InternalServerError(internal(&ctx, e)),
        }
    }

    async fn get_product(&self, ctx: RequestContext, req: GetProductRequest) -> GetProductResponse {
        match self.repo.get(req.product_id.into()).await {
            Ok(Some(product)) => GetProductResponse::Ok {
                etag: etag(product.version.get()),
                body: to_dto(&product),
            },
            Ok(None) => GetProductResponse::NotFound(not_found(&ctx, req.product_id)),
            Err(e) => GetProductResponse::InternalServerError(internal(&ctx, e)),
        }
    }

    async fn update_product(
        &self,
        ctx: RequestContext,
        req: UpdateProductRequest,
    ) -> UpdateProductResponse {
        let patch = req.body;
        let changes = (|| {
            Ok::<_, FieldProblem>(ProductChanges {
                name: patch
                    .name
                    .as_deref()
                    .map(ProductName::parse)
                    .transpose()
                    .map_err(|e| invalid("/name", e))?,
                description: patch
                    .description
                    .into_change()
                    .map(description)
                    .transpose()?,
                price: patch
                    .price
                    .as_ref()
                    .map(|p| price("/price", p))
                    .transpose()?,
            })
        })();
        let changes = match changes {
            Ok(changes) => changes,
            Err(field) => {
                return UpdateProductResponse::BadRequest(problem::invalid_field(&ctx, field));
            }
        };
        let mut product = match self.repo.get(req.product_id.into()).await {
            Ok(Some(product)) => product,
            Ok(None) => return UpdateProductResponse::NotFound(not_found(&ctx, req.product_id)),
            Err(e) => return UpdateProductResponse::InternalServerError(internal(&ctx, e)),
        };
        let current = etag(product.version.get());
        if !if_match_allows(&req.if_match, &current) {
            return UpdateProductResponse::PreconditionFailed(problem::stale(
                &ctx,
                "product",
                Some(&current),
            ));
        }
        let expected = product.version;
        product.apply(changes, Timestamp::now());
        match self.repo.update(&product, expected).await {
            Ok(()) => UpdateProductResponse::Ok {
                etag: etag(product.version.get()),
                body: to_dto(&product),
            },
            Err(WriteError::Stale) => {
                UpdateProductResponse::PreconditionFailed(problem::stale(&ctx, "product", None))
            }
            Err(WriteError::NotFound) => {
                UpdateProductResponse::NotFound(not_found(&ctx, req.product_id))
            }
            Err(WriteError::Insufficient { .. }) => unreachable!("an update moves no stock"),
            Err(WriteError::Storage(e)) => {
                UpdateProductResponse::InternalServerError(internal(&ctx, e))
            }
        }
    }

    async fn adjust_stock(
        &self,
        ctx: RequestContext,
        req: AdjustStockRequest,
    ) -> AdjustStockResponse {
        let adjustment = match StockAdjustment::new(
            req.product_id.into(),
            req.body.delta,
            &req.body.reason,
            Timestamp::now(),
        ) {
            Ok(adjustment) => adjustment,
            Err(e) => {
                return AdjustStockResponse::BadRequest(problem::invalid_field(
                    &ctx,
                    invalid("/reason", e),
                ));
            }
        };
        let outcome = async {
            let tx = self.transactions.begin().await?;
            let stock = self.repo.adjust(&tx, &adjustment).await?;
            tx.commit().await?;
            Ok::<_, WriteError>(stock)
        }
        .await;
        match outcome {
            Ok(stock) => AdjustStockResponse::Created(dto::StockAdjustmentRecord {
                id: adjustment.id,
                product_id: req.product_id,
                delta: adjustment.delta,
                reason: adjustment.reason,
                stock: stock_to_dto(stock),
                created_at: adjustment.at.as_datetime(),
            }),
            Err(WriteError::NotFound) => {
                AdjustStockResponse::NotFound(not_found(&ctx, req.product_id))
            }
            Err(WriteError::Insufficient { available }) => {
                AdjustStockResponse::Conflict(problem::problem(
                    &ctx,
                    409,
                    "insufficient-stock",
                    format!(
                        "cannot remove {} units: only {available} are available (units reserved by orders in progress cannot be removed)",
                        -adjustment.delta
                    ),
                ))
            }
            Err(WriteError::Stale) => unreachable!("adjustments are deltas, not versioned writes"),
            Err(WriteError::Storage(e)) => {
                AdjustStockResponse::InternalServerError(internal(&ctx, e))
            }
        }
    }
}
