//! The TypeScript client's suites, run by `cargo xtask test`: type-checks with
//! two TypeScript majors and two `lib` settings, compile-fail fixtures that must
//! fail, and `node --test` against a live server and the mock.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use anyhow::{Context, Result, bail};

const DIR: &str = "tests/ts";
/// The TypeScript compilers in the harness: the 5.x line and the newest major.
const COMPILERS: [(&str, &str); 2] = [("typescript", "5.9"), ("typescript-7", "7.0")];

/// Node.js or npm is not installed.
#[derive(Debug, thiserror::Error)]
#[error("{0} is not installed")]
pub struct NodeMissing(&'static str);

pub fn run() -> Result<()> {
    for tool in ["node", "npm"] {
        if Command::new(tool)
            .arg("--version")
            .stdout(Stdio::null())
            .status()
            .is_err()
        {
            return Err(NodeMissing(tool).into());
        }
    }
    let dir = Path::new(DIR);
    step("npm ci (tests/ts: TypeScript and Node's types, pinned by package-lock.json)");
    run_in(
        dir,
        Command::new("npm").args(["ci", "--no-audit", "--no-fund", "--loglevel=error"]),
    )?;

    for (package, version) in COMPILERS {
        for config in ["tsconfig.es2022.json", "tsconfig.dom.json"] {
            step(&format!("tsc {version} --strict -p {config}"));
            run_in(
                dir,
                Command::new("node").arg(tsc(package)).args(["-p", config]),
            )?;
        }
        compile_fail_fixtures(dir, package, version)?;
    }

    step("tsc 5.9 -p tsconfig.tests.json (the node tests)");
    let _ = std::fs::remove_dir_all(dir.join("dist"));
    run_in(
        dir,
        Command::new("node")
            .arg(tsc("typescript"))
            .args(["-p", "tsconfig.tests.json"]),
    )?;

    step("node --test, against a live server and the mock");
    crate::test::cargo(&["build", "--package", "keel", "--bin", "keel"], &[])?;
    let server = Server::start()?;
    let runtime = tokio::runtime::Runtime::new()?;
    let api = Arc::new(crate::openapi::read(Path::new("api/openapi.yaml"))?.api);
    let (mock_addr, mock) = runtime.block_on(crate::mock::bind(api, "127.0.0.1:0".parse()?))?;
    runtime.spawn(mock);
    let status = Command::new("node")
        .args(["--test", "--test-reporter=spec", "dist/"])
        .current_dir(dir)
        .env("KEEL_BASE_URL", format!("http://{}", server.addr))
        .env("KEEL_MOCK_URL", format!("http://{mock_addr}"))
        .status()?;
    drop(server);
    if !status.success() {
        bail!("the node tests failed");
    }
    Ok(())
}

fn step(what: &str) {
    println!("\n-- {what}");
}

fn tsc(package: &str) -> String {
    format!("node_modules/{package}/bin/tsc")
}

fn run_in(dir: &Path, command: &mut Command) -> Result<()> {
    let status = command
        .current_dir(dir)
        .status()
        .with_context(|| format!("running {command:?}"))?;
    if !status.success() {
        bail!("{command:?} failed in {}", dir.display());
    }
    Ok(())
}

/// Each `fail/*.ts` must fail to type-check, with the error code its first line
/// names (`expected: TS2741`), so it cannot pass by failing for another reason.
fn compile_fail_fixtures(dir: &Path, package: &str, version: &str) -> Result<()> {
    let mut fixtures: Vec<PathBuf> = std::fs::read_dir(dir.join("fail"))?
        .map(|e| e.map(|e| e.path()))
        .collect::<std::io::Result<_>>()?;
    fixtures.retain(|p| p.extension().is_some_and(|e| e == "ts"));
    fixtures.sort();
    if fixtures.is_empty() {
        bail!("no compile-fail fixtures in {}/fail", dir.display());
    }
    let base = std::fs::canonicalize(dir.join("tsconfig.fail.json"))?;
    for fixture in fixtures {
        let source = std::fs::read_to_string(&fixture)?;
        let expected = source
            .lines()
            .next()
            .and_then(|l| l.split("expected: ").nth(1))
            .map(|c| c.trim_end_matches(')').trim().to_owned())
            .with_context(|| {
                format!(
                    "{} must name its expected error on line 1",
                    fixture.display()
                )
            })?;
        let config =
            std::env::temp_dir().join(format!("keel-tsc-fail-{}.json", std::process::id()));
        let absolute = std::fs::canonicalize(&fixture)?;
        std::fs::write(
            &config,
            serde_json::json!({ "extends": base, "files": [absolute] }).to_string(),
        )?;
        let output = Command::new("node")
            .arg(tsc(package))
            .args(["-p"])
            .arg(&config)
            .current_dir(dir)
            .output()?;
        let _ = std::fs::remove_file(&config);
        let text = String::from_utf8_lossy(&output.stdout).into_owned()
            + &String::from_utf8_lossy(&output.stderr);
        let name = fixture
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        if output.status.success() {
            bail!("tsc {version}: {name} type-checks, but it must not");
        }
        if !text.contains(&expected) || text.contains("TS2307") {
            bail!("tsc {version}: {name} fails, but not with {expected}:\n{text}");
        }
        println!("tsc {version}: {name} fails as it must ({expected})");
    }
    Ok(())
}

/// The debug server binary on a free port over a throwaway SQLite file.
struct Server {
    addr: SocketAddr,
    child: Child,
    database: PathBuf,
}

impl Server {
    fn start() -> Result<Server> {
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map_or_else(|| PathBuf::from("target"), PathBuf::from);
        let binary = target.join("debug").join("keel");
        let addr = TcpListener::bind("127.0.0.1:0")?.local_addr()?;
        let database = std::env::temp_dir().join(format!("keel-ts-e2e-{}.db", std::process::id()));
        let _ = std::fs::remove_file(&database);
        let child = Command::new(&binary)
            .env("KEEL_LISTEN", addr.to_string())
            .env(
                "DATABASE_URL",
                format!("sqlite://{}?mode=rwc", database.display()),
            )
            .env("KEEL_LOG", "warn")
            .env("KEEL_JWT_KEYS_DIR", database.with_extension("jwt"))
            .env("KEEL_FIELD_KEYS_DIR", database.with_extension("fields"))
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let server = Server {
            addr,
            child,
            database,
        };
        crate::test::wait_until_listening(addr)?;
        Ok(server)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.database);
        let _ = std::fs::remove_dir_all(self.database.with_extension("jwt"));
        let _ = std::fs::remove_dir_all(self.database.with_extension("fields"));
    }
}
