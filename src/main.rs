//! The `keel` command: `keel` (or `keel serve`) serves the API; `keel migrate`
//! applies database migrations. `keel --help` lists every setting.

use std::process::ExitCode;

use keel::platform::config::{Cli, Command};
use keel::platform::{db, telemetry};

#[tokio::main]
async fn main() -> ExitCode {
    let cli = match Cli::load() {
        Ok(cli) => cli,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::FAILURE;
        }
    };
    let telemetry = match telemetry::init(&cli.config) {
        Ok(telemetry) => telemetry,
        Err(error) => {
            eprintln!("error: {error:#}");
            return ExitCode::FAILURE;
        }
    };
    let result = match cli.command.clone().unwrap_or(Command::Serve) {
        Command::Serve => serve(&cli.config).await,
        Command::Migrate => keel::migrate(&cli.config)
            .await
            .map(|()| tracing::info!("migrations applied")),
        Command::CreateAdmin {
            email,
            display_name,
        } => create_admin(&cli.config, &email, display_name.as_deref()).await,
    };
    // After the server stopped: the spans of its last requests and events are
    // in the batch still.
    let _ = tokio::task::spawn_blocking(move || telemetry.shutdown()).await;
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("{error:#}");
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(config: &keel::platform::config::Config) -> anyhow::Result<()> {
    let bound = keel::bind(config).await?;
    tracing::info!(
        "Keel serves on http://{addr} (Swagger UI at http://{addr}/docs/, database {db})",
        addr = bound.addr,
        db = db::redact(&config.database_url)
    );
    bound.serve(shutdown_signal()).await?;
    tracing::info!("stopped");
    Ok(())
}

/// The password comes from standard input (hidden when it is a terminal), never
/// from an argument that would land in shell history.
async fn create_admin(
    config: &keel::platform::config::Config,
    email: &str,
    display_name: Option<&str>,
) -> anyhow::Result<()> {
    use std::io::IsTerminal;
    let password = if std::io::stdin().is_terminal() {
        rpassword::prompt_password("Password for the new administrator: ")?
    } else {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line)?;
        line.trim_end_matches(['\r', '\n']).to_owned()
    };
    let id = keel::create_admin(config, email, display_name, &password).await?;
    println!("created administrator {email} ({id})");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
