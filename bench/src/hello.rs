//! The HTTP baseline: the least an HTTP/1.1 server on Keel's runtime (tokio,
//! hyper) can do per request. Started as a process of its own (`--hello`), so
//! it is measured exactly like Keel.

use std::net::SocketAddr;

use anyhow::Result;
use http_body_util::Full;
use hyper::Response;
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpSocket};

/// Serves `hello` on `addr` until killed; with `reuse_port`, beside other
/// processes on the same port (the idle-connections benchmark runs several).
pub async fn serve(addr: SocketAddr, reuse_port: bool) -> Result<()> {
    let listener = listen(addr, reuse_port)?;
    loop {
        let (stream, _) = listener.accept().await?;
        stream.set_nodelay(true)?;
        tokio::spawn(async move {
            let service = hyper::service::service_fn(|_request| async {
                Ok::<_, std::convert::Infallible>(
                    Response::builder()
                        .header("content-type", "text/plain")
                        .body(Full::new(Bytes::from_static(b"hello")))
                        .expect("a valid response"),
                )
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

fn listen(addr: SocketAddr, reuse_port: bool) -> Result<TcpListener> {
    let socket = TcpSocket::new_v4()?;
    socket.set_reuseaddr(true)?;
    if reuse_port {
        socket.set_reuseport(true)?;
    }
    socket.bind(addr)?;
    Ok(socket.listen(4096)?)
}
