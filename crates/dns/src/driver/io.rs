//! The tokio side: tasks that turn sockets into engine events and the loop
//! that executes the engine's actions. No DNS logic lives here.

use super::sockets::{self, RecvInfo};
use crate::engine::{Action, ConnId, Event, Forwarder, SockId};
use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::AsRawFd;
use std::rc::Rc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio::task::AbortHandle;

/// Biggest upstream UDP answer read (we advertise 1232; larger ones are cut
/// by the kernel and fail to parse, which counts as malformed).
const UPSTREAM_BUF: usize = 4096;
/// Biggest client UDP query read.
const CLIENT_BUF: usize = 4096;
/// Time to connect and get an answer over TCP from an upstream.
const UPSTREAM_TCP_TIMEOUT: Duration = Duration::from_secs(5);

/// One place to listen: an address (wildcard or specific) and optionally the
/// interface the socket is bound to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenSpec {
    /// Address and port.
    pub addr: SocketAddr,
    /// Interface name for SO_BINDTODEVICE.
    pub device: Option<String>,
}

/// Events from I/O tasks to the loop (owned copies of packets).
pub enum Input {
    /// A client datagram.
    ClientUdp {
        /// Sender.
        peer: SocketAddr,
        /// Destination address.
        local: IpAddr,
        /// Arrival interface.
        iface: u32,
        /// Payload.
        data: Vec<u8>,
    },
    /// A new LAN TCP connection with its writer.
    TcpOpened {
        /// Id.
        conn: ConnId,
        /// Peer.
        peer: SocketAddr,
        /// Local address.
        local: IpAddr,
        /// Interface of the listener, 0 if not bound to one.
        iface: u32,
        /// Where to queue responses.
        writer: mpsc::UnboundedSender<Vec<u8>>,
        /// Reader task, aborted on close.
        reader: AbortHandle,
    },
    /// A message on a LAN TCP connection.
    Tcp {
        /// Id.
        conn: ConnId,
        /// Message.
        data: Vec<u8>,
    },
    /// A LAN TCP connection ended.
    TcpClosed {
        /// Id.
        conn: ConnId,
    },
    /// Upstream datagram.
    UpUdp {
        /// Socket.
        sock: SockId,
        /// Source.
        from: SocketAddr,
        /// Payload.
        data: Vec<u8>,
    },
    /// Upstream TCP message.
    UpTcp {
        /// Socket.
        sock: SockId,
        /// Message.
        data: Vec<u8>,
    },
    /// Upstream socket failure.
    UpErr {
        /// Socket.
        sock: SockId,
    },
}

struct UdpListener {
    sock: Rc<tokio::net::UdpSocket>,
    ipv6: bool,
    iface: Option<u32>,
    addr: IpAddr,
}

/// Sockets and tasks owned by the loop.
pub struct Io {
    tx: mpsc::UnboundedSender<Input>,
    udp: Vec<UdpListener>,
    tcp_writers: HashMap<ConnId, (mpsc::UnboundedSender<Vec<u8>>, AbortHandle)>,
    upstream_tasks: HashMap<SockId, AbortHandle>,
    /// UDP responses that could not be sent (socket buffer full).
    pub send_errors: u64,
}

impl Io {
    /// Binds every listen spec (UDP and TCP) and starts the reader tasks.
    /// Returns the Io and the receiving end of the event channel. Specs that
    /// fail to bind are logged and returned in the error list.
    pub fn bind(
        specs: &[ListenSpec],
    ) -> (
        Io,
        mpsc::UnboundedReceiver<Input>,
        Vec<(ListenSpec, io::Error)>,
    ) {
        let (tx, rx) = mpsc::unbounded_channel();
        let mut me = Io {
            tx,
            udp: Vec::new(),
            tcp_writers: HashMap::new(),
            upstream_tasks: HashMap::new(),
            send_errors: 0,
        };
        let mut failed = Vec::new();
        let mut next_conn: ConnId = 1;
        for spec in specs {
            if let Err(e) = me.bind_one(spec, &mut next_conn) {
                log::error!(
                    "dns: cannot listen on {} ({}): {e}",
                    spec.addr,
                    spec.device.as_deref().unwrap_or("any interface")
                );
                failed.push((spec.clone(), e));
            }
        }
        (me, rx, failed)
    }

    fn bind_one(&mut self, spec: &ListenSpec, next_conn: &mut ConnId) -> io::Result<()> {
        let dev = spec.device.as_deref();
        let iface = dev.and_then(sockets::ifindex);
        let udp = Rc::new(sockets::udp_listener(spec.addr, dev)?);
        let tcp = sockets::tcp_listener(spec.addr, dev)?;
        log::info!(
            "dns: listening on {} udp+tcp{}",
            spec.addr,
            dev.map(|d| format!(" on {d}")).unwrap_or_default()
        );
        self.udp.push(UdpListener {
            sock: udp.clone(),
            ipv6: spec.addr.is_ipv6(),
            iface,
            addr: spec.addr.ip(),
        });
        let tx = self.tx.clone();
        let bound = spec.addr.ip();
        tokio::task::spawn_local(udp_reader(udp, bound, tx.clone()));
        // Connection ids are unique per listener by striding.
        let base = *next_conn;
        *next_conn += 1;
        tokio::task::spawn_local(tcp_acceptor(tcp, iface.unwrap_or(0), base, tx));
        Ok(())
    }

    /// Executes engine actions.
    pub fn execute(&mut self, actions: &mut Vec<Action>, timer: &mut Option<tokio::time::Instant>) {
        for a in actions.drain(..) {
            match a {
                Action::SendClientUdp {
                    peer,
                    local,
                    iface,
                    data,
                } => self.send_client_udp(peer, local, iface, &data),
                Action::SendClientTcp { conn, data } => {
                    if let Some((w, _)) = self.tcp_writers.get(&conn) {
                        let _ = w.send(data);
                    }
                }
                Action::CloseClientTcp { conn } => {
                    if let Some((_, reader)) = self.tcp_writers.remove(&conn) {
                        reader.abort();
                    }
                }
                Action::SendUpstreamUdp {
                    sock,
                    local_port,
                    upstream,
                    data,
                } => {
                    let h = tokio::task::spawn_local(upstream_udp(
                        sock,
                        local_port,
                        upstream,
                        data,
                        self.tx.clone(),
                    ));
                    self.upstream_tasks.insert(sock, h.abort_handle());
                }
                Action::OpenUpstreamTcp {
                    sock,
                    upstream,
                    data,
                } => {
                    let h = tokio::task::spawn_local(upstream_tcp(
                        sock,
                        upstream,
                        data,
                        self.tx.clone(),
                    ));
                    self.upstream_tasks.insert(sock, h.abort_handle());
                }
                Action::CloseUpstream { sock } => {
                    if let Some(h) = self.upstream_tasks.remove(&sock) {
                        h.abort();
                    }
                }
                Action::ArmTimer(at) => *timer = Some(tokio::time::Instant::from_std(at)),
            }
        }
    }

    /// Registers a new TCP connection's writer (from [`Input::TcpOpened`]).
    pub fn tcp_opened(
        &mut self,
        conn: ConnId,
        writer: mpsc::UnboundedSender<Vec<u8>>,
        reader: AbortHandle,
    ) {
        self.tcp_writers.insert(conn, (writer, reader));
    }

    fn send_client_udp(&mut self, peer: SocketAddr, local: IpAddr, iface: u32, data: &[u8]) {
        let v6 = peer.is_ipv6();
        let pick = self
            .udp
            .iter()
            .find(|l| l.ipv6 == v6 && (l.addr == local || l.iface == Some(iface)))
            .or_else(|| self.udp.iter().find(|l| l.ipv6 == v6));
        let Some(l) = pick else { return };
        if let Err(e) = sockets::send_pktinfo(l.sock.as_raw_fd(), data, peer, local, iface) {
            self.send_errors += 1;
            log::debug!("dns: answer to {peer} not sent: {e}");
        }
    }
}

/// Engine event for an owned input.
pub fn as_event(input: &Input) -> Option<Event<'_>> {
    Some(match input {
        Input::ClientUdp {
            peer,
            local,
            iface,
            data,
        } => Event::ClientUdp {
            peer: *peer,
            local: *local,
            iface: *iface,
            data,
        },
        Input::TcpOpened {
            conn,
            peer,
            local,
            iface,
            ..
        } => Event::ClientTcpOpened {
            conn: *conn,
            peer: *peer,
            local: *local,
            iface: *iface,
        },
        Input::Tcp { conn, data } => Event::ClientTcp { conn: *conn, data },
        Input::TcpClosed { conn } => Event::ClientTcpClosed { conn: *conn },
        Input::UpUdp { sock, from, data } => Event::UpstreamUdp {
            sock: *sock,
            from: *from,
            data,
        },
        Input::UpTcp { sock, data } => Event::UpstreamTcp { sock: *sock, data },
        Input::UpErr { sock } => Event::UpstreamError { sock: *sock },
    })
}

/// Feeds one input to the engine and runs the resulting actions.
pub fn dispatch(
    fw: &mut Forwarder,
    io: &mut Io,
    input: Input,
    now: std::time::Instant,
    actions: &mut Vec<Action>,
    timer: &mut Option<tokio::time::Instant>,
) {
    if let Input::TcpOpened {
        conn,
        writer,
        reader,
        ..
    } = &input
    {
        io.tcp_opened(*conn, writer.clone(), reader.clone());
    }
    if let Some(ev) = as_event(&input) {
        fw.handle(ev, now, actions);
    }
    io.execute(actions, timer);
}

async fn udp_reader(
    sock: Rc<tokio::net::UdpSocket>,
    bound: IpAddr,
    tx: mpsc::UnboundedSender<Input>,
) {
    let mut buf = vec![0u8; CLIENT_BUF];
    loop {
        let r = sock
            .async_io(tokio::io::Interest::READABLE, || {
                sockets::recv_pktinfo(sock.as_raw_fd(), &mut buf)
            })
            .await;
        match r {
            Ok(RecvInfo {
                len,
                peer,
                local,
                iface,
            }) => {
                let peer = SocketAddr::new(peer.ip().to_canonical(), peer.port());
                let local = local.unwrap_or(bound).to_canonical();
                let data = buf.get(..len).unwrap_or(&[]).to_vec();
                if tx
                    .send(Input::ClientUdp {
                        peer,
                        local,
                        iface,
                        data,
                    })
                    .is_err()
                {
                    return;
                }
            }
            Err(e) => {
                log::warn!("dns: receive error on {bound}: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

async fn tcp_acceptor(
    l: tokio::net::TcpListener,
    iface: u32,
    base: ConnId,
    tx: mpsc::UnboundedSender<Input>,
) {
    // Listener `base` numbers its connections base, base + 2^32, ... so ids
    // from different listeners never collide.
    let mut n: u64 = 0;
    loop {
        let (stream, peer) = match l.accept().await {
            Ok(x) => x,
            Err(e) => {
                log::warn!("dns: accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let conn = base + (n << 32);
        n += 1;
        let local = stream
            .local_addr()
            .map(|a| a.ip().to_canonical())
            .unwrap_or(IpAddr::from([0, 0, 0, 0]));
        let peer = SocketAddr::new(peer.ip().to_canonical(), peer.port());
        let (rd, wr) = stream.into_split();
        let (wtx, wrx) = mpsc::unbounded_channel::<Vec<u8>>();
        tokio::task::spawn_local(tcp_writer(wr, wrx));
        let reader = tokio::task::spawn_local(tcp_reader(rd, conn, tx.clone()));
        let opened = Input::TcpOpened {
            conn,
            peer,
            local,
            iface,
            writer: wtx,
            reader: reader.abort_handle(),
        };
        if tx.send(opened).is_err() {
            return;
        }
    }
}

async fn tcp_reader(
    mut rd: tokio::net::tcp::OwnedReadHalf,
    conn: ConnId,
    tx: mpsc::UnboundedSender<Input>,
) {
    loop {
        let mut len = [0u8; 2];
        if rd.read_exact(&mut len).await.is_err() {
            break;
        }
        let mut data = vec![0u8; usize::from(u16::from_be_bytes(len))];
        if rd.read_exact(&mut data).await.is_err() {
            break;
        }
        if tx.send(Input::Tcp { conn, data }).is_err() {
            return;
        }
    }
    let _ = tx.send(Input::TcpClosed { conn });
}

async fn tcp_writer(
    mut wr: tokio::net::tcp::OwnedWriteHalf,
    mut rx: mpsc::UnboundedReceiver<Vec<u8>>,
) {
    while let Some(msg) = rx.recv().await {
        let Ok(len) = u16::try_from(msg.len()) else {
            continue;
        };
        let mut framed = Vec::with_capacity(2 + msg.len());
        framed.extend_from_slice(&len.to_be_bytes());
        framed.extend_from_slice(&msg);
        if wr.write_all(&framed).await.is_err() {
            return;
        }
    }
    let _ = wr.shutdown().await;
}

async fn upstream_udp(
    sock: SockId,
    port: u16,
    upstream: SocketAddr,
    data: Vec<u8>,
    tx: mpsc::UnboundedSender<Input>,
) {
    let s = match sockets::upstream_udp(port, upstream) {
        Ok(s) => s,
        Err(e) => {
            log::warn!("dns: cannot open socket to {upstream}: {e}");
            let _ = tx.send(Input::UpErr { sock });
            return;
        }
    };
    if let Err(e) = s.send(&data).await {
        log::debug!("dns: send to {upstream} failed: {e}");
        let _ = tx.send(Input::UpErr { sock });
        return;
    }
    let mut buf = vec![0u8; UPSTREAM_BUF];
    loop {
        match s.recv_from(&mut buf).await {
            Ok((n, from)) => {
                let from = SocketAddr::new(from.ip().to_canonical(), from.port());
                let data = buf.get(..n).unwrap_or(&[]).to_vec();
                if tx.send(Input::UpUdp { sock, from, data }).is_err() {
                    return;
                }
            }
            Err(e) => {
                log::debug!("dns: upstream {upstream}: {e}");
                let _ = tx.send(Input::UpErr { sock });
                return;
            }
        }
    }
}

async fn upstream_tcp(
    sock: SockId,
    upstream: SocketAddr,
    data: Vec<u8>,
    tx: mpsc::UnboundedSender<Input>,
) {
    let work = async {
        let mut s = tokio::net::TcpStream::connect(upstream).await?;
        let len = u16::try_from(data.len()).map_err(|_| io::Error::other("query too long"))?;
        let mut framed = Vec::with_capacity(2 + data.len());
        framed.extend_from_slice(&len.to_be_bytes());
        framed.extend_from_slice(&data);
        s.write_all(&framed).await?;
        let mut lb = [0u8; 2];
        s.read_exact(&mut lb).await?;
        let mut msg = vec![0u8; usize::from(u16::from_be_bytes(lb))];
        s.read_exact(&mut msg).await?;
        Ok::<Vec<u8>, io::Error>(msg)
    };
    match tokio::time::timeout(UPSTREAM_TCP_TIMEOUT, work).await {
        Ok(Ok(msg)) => {
            let _ = tx.send(Input::UpTcp { sock, data: msg });
        }
        Ok(Err(e)) => {
            log::debug!("dns: TCP to {upstream}: {e}");
            let _ = tx.send(Input::UpErr { sock });
        }
        Err(_) => {
            let _ = tx.send(Input::UpErr { sock });
        }
    }
}
