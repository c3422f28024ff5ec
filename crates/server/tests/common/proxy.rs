//! A TCP forwarder on loopback, standing in for the load balancer in front of several
//! server nodes: each new connection goes to the node it points at now, and a connection
//! ends when either side closes (a node dying closes its hubs' connections, as behind a
//! real balancer, and the hub's next dial reaches the node pointed at since).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::net::{TcpListener, TcpStream};

/// A running forwarder.
pub struct Forwarder {
    /// `http://127.0.0.1:PORT`, to give clients instead of a node's own address.
    pub base: String,
    target: Arc<Mutex<SocketAddr>>,
    task: tokio::task::JoinHandle<()>,
}

fn addr_of(base: &str) -> SocketAddr {
    base.trim_start_matches("http://")
        .parse()
        .expect("a base of http://ip:port")
}

impl Forwarder {
    /// Forwards to the node at `base` (`http://ip:port`).
    pub async fn start(base: &str) -> Forwarder {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let own = listener.local_addr().expect("bound");
        let target = Arc::new(Mutex::new(addr_of(base)));
        let to = target.clone();
        let task = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let node = *to.lock().unwrap();
                tokio::spawn(async move {
                    if let Ok(mut upstream) = TcpStream::connect(node).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
                    }
                });
            }
        });
        Forwarder {
            base: format!("http://{own}"),
            target,
            task,
        }
    }

    /// New connections go to the node at `base` from now on.
    pub fn point_at(&self, base: &str) {
        *self.target.lock().unwrap() = addr_of(base);
    }
}

impl Drop for Forwarder {
    fn drop(&mut self) {
        self.task.abort();
    }
}
