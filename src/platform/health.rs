//! The probes (`/health`, `/health/ready`), from the contract's `health` tag.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::db_health::DatabaseHealth;
use super::events::rabbitmq::BrokerHealth;
use super::problem;
use keel_server::RequestContext;
use keel_server::health::*;
use keel_server::types::{
    Liveness, LivenessStatus, Readiness, ReadinessBroker, ReadinessDatabase, ReadinessStatus,
};

pub struct HealthService {
    db: DatabaseHealth,
    broker: Option<BrokerHealth>,
    /// Set when shutdown begins, so the load balancer stops sending traffic
    /// before the listener closes.
    draining: Arc<AtomicBool>,
}

impl HealthService {
    pub fn new(
        db: DatabaseHealth,
        broker: Option<BrokerHealth>,
        draining: Arc<AtomicBool>,
    ) -> Self {
        HealthService {
            db,
            broker,
            draining,
        }
    }
}

impl HealthApi for HealthService {
    async fn get_liveness(
        &self,
        _ctx: RequestContext,
        _req: GetLivenessRequest,
    ) -> GetLivenessResponse {
        GetLivenessResponse::Ok(Liveness {
            status: LivenessStatus::Ok,
        })
    }

    async fn get_readiness(
        &self,
        ctx: RequestContext,
        _req: GetReadinessRequest,
    ) -> GetReadinessResponse {
        let not_ready = |detail: &str| {
            GetReadinessResponse::ServiceUnavailable(problem::problem(
                &ctx,
                503,
                "not-ready",
                detail,
            ))
        };
        if self.draining.load(Ordering::Relaxed) {
            return not_ready("this replica is shutting down");
        }
        // A ping of its own, bounded by the probe timeout: an orchestrator's
        // probe gets its answer in time, whatever the database does.
        if !self.db.check().await {
            return not_ready("the database is unreachable");
        }
        let broker = match &self.broker {
            None => ReadinessBroker::None,
            Some(broker) if broker.is_up() => ReadinessBroker::Up,
            Some(_) => ReadinessBroker::Down,
        };
        GetReadinessResponse::Ok(Readiness {
            status: ReadinessStatus::Ready,
            database: ReadinessDatabase::Up,
            broker,
        })
    }
}
