//! The event pipeline against a real RabbitMQ and PostgreSQL (and an SMTP
//! server started by the test): `cargo xtask test` runs this binary when both
//! services answer, with `KEEL_TEST_AMQP_URL`, `KEEL_TEST_DATABASE` and
//! `KEEL_TEST_PYTHON` (a venv with aiosmtpd) set. Each test declares its own
//! exchange and queues under a unique prefix and deletes them at the end.

mod harness;
mod otlp;
mod pipeline;
mod replicas;
#[path = "../api/support.rs"]
mod support;
