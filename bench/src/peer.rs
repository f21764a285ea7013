//! The seed's stack as a peer: NestJS + TypeORM serving the same read as
//! `getUser` (bearer JWT verified, one row by primary key from PostgreSQL),
//! from `../shared/peers/nestjs-users`. It verifies Keel's own tokens with
//! Keel's public key, so both servers do the same work for the same request.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};

use crate::process::{Database, Guard, wait_for};

/// Where the peer's sources are: `KEEL_BENCH_PEER`, else beside the project.
pub fn source() -> PathBuf {
    std::env::var_os("KEEL_BENCH_PEER")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/peers/nestjs-users")
        })
}

/// Copies the peer into `work` (once), installs its packages and compiles it.
/// `Err` says why the peer cannot run here (no Node.js, no sources).
pub fn build(work: &Path) -> Result<PathBuf> {
    let source = source();
    if !source.join("package.json").is_file() {
        bail!("no peer at {} (set KEEL_BENCH_PEER)", source.display());
    }
    if Command::new("node").arg("--version").output().is_err() {
        bail!("Node.js is not installed");
    }
    let dir = work.join("nestjs-users");
    std::fs::create_dir_all(dir.join("src"))?;
    for file in [
        "package.json",
        "package-lock.json",
        "tsconfig.json",
        "src/main.ts",
    ] {
        std::fs::copy(source.join(file), dir.join(file))
            .with_context(|| format!("copying the peer's {file}"))?;
    }
    if !dir.join("node_modules").is_dir() {
        run(Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&dir))?;
    }
    run(Command::new("npx")
        .args(["tsc", "-p", "."])
        .current_dir(&dir))?;
    Ok(dir)
}

/// An Ed25519 public key (raw, base64url as in a JWK) as the PEM of its
/// SubjectPublicKeyInfo, which is the fixed DER prefix below and the key.
fn spki_pem(x: &str) -> Result<String> {
    use base64::Engine;
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
    let raw = URL_SAFE_NO_PAD.decode(x)?;
    if raw.len() != 32 {
        bail!("an Ed25519 key has 32 bytes, not {}", raw.len());
    }
    let mut der = vec![
        0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
    ];
    der.extend(raw);
    Ok(format!(
        "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
        STANDARD.encode(der)
    ))
}

fn run(command: &mut Command) -> Result<()> {
    let output = command.output()?;
    if !output.status.success() {
        bail!(
            "{command:?}: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(())
}

/// Starts the peer on `addr` with its own database, holding one row: the
/// user `user_id` Keel serves, so the same token reads the same user. The
/// peer verifies with Keel's public key, taken from Keel's JWKS.
pub async fn start(
    dir: &Path,
    addr: SocketAddr,
    db: &Database,
    keel: SocketAddr,
    user_id: &str,
) -> Result<Guard> {
    let jwks: serde_json::Value = reqwest::get(format!("http://{keel}/.well-known/jwks.json"))
        .await?
        .json()
        .await?;
    let x = jwks
        .pointer("/keys/0/x")
        .and_then(|x| x.as_str())
        .context("Keel's JWKS has a key")?;
    let public = dir.join("keel-public.pem");
    std::fs::write(&public, spki_pem(x)?)?;
    let child = Command::new("node")
        .arg("dist/main.js")
        .current_dir(dir)
        .env("DATABASE_URL", db.url())
        .env("PEER_JWT_PUBLIC_KEY", &public)
        .env("PORT", addr.port().to_string())
        .stdout(Stdio::null())
        .spawn()
        .context("starting the NestJS peer")?;
    let guard = Guard(child);
    wait_for(addr).await?;
    // TypeORM created the table at start (`synchronize`).
    db.execute(&format!(
        "INSERT INTO peer_users (id, email, display_name, created_at, updated_at) \
         VALUES ('{user_id}', 'bench@example.com', 'Bench', now(), now())"
    ))?;
    Ok(guard)
}
