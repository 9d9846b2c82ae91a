//! The tokio side: tasks that turn sockets into engine events and the loop
//! that executes the engine's actions. No DNS logic lives here.

use super::sockets::{self, Outgoing, RecvBatch};
use crate::engine::{Action, ConnId, Forwarder, Input, SockId, UpstreamFailure};
use cpe_daemon::Engine as _;
use std::cell::RefCell;
use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::AsRawFd;
use std::rc::Rc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::Notify;
use tokio::sync::mpsc;
use tokio::task::AbortHandle;

/// Biggest upstream UDP answer read (we advertise 1232; larger ones are cut
/// by the kernel and fail to parse, which counts as malformed).
const UPSTREAM_BUF: usize = 4096;
/// Answers queued per LAN TCP connection before it counts as not reading.
const TCP_QUEUE: usize = 64;
/// Time a LAN TCP client has to complete a message once its first byte
/// arrived (a slowloris sending a length prefix and then nothing is cut off).
const TCP_MESSAGE_DEADLINE: Duration = Duration::from_secs(2);
/// Time one answer may take to be written to a LAN TCP client: a client that
/// does not read cannot hold its connection (and its writer task) forever.
const TCP_WRITE_DEADLINE: Duration = Duration::from_secs(5);
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
pub enum TaskEvent {
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
        writer: mpsc::Sender<Vec<u8>>,
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
    /// A LAN TCP client started a message and did not finish it within
    /// [`TCP_MESSAGE_DEADLINE`]; its reading side is closed.
    TcpStalled {
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
        /// What the kernel said.
        cause: UpstreamFailure,
    },
}

struct UdpListener {
    sock: Rc<tokio::net::UdpSocket>,
    ipv6: bool,
    iface: Option<u32>,
    addr: IpAddr,
    /// Answers waiting for the next sendmmsg on this socket.
    queue: Vec<Outgoing>,
}

/// Engine plus I/O, shared by the loop and the UDP listener tasks (one
/// thread, so `Rc<RefCell<_>>`; no borrow is held across an await).
pub struct Core {
    /// The engine.
    pub fw: Forwarder,
    /// Sockets and tasks.
    pub io: Io,
    /// Woken when the engine's next timeout moves, so the loop re-arms its
    /// sleep (UDP listener tasks feed the engine outside the loop).
    pub timer_changed: Rc<Notify>,
}

impl Core {
    /// Wraps an engine and its I/O.
    pub fn new(fw: Forwarder, io: Io) -> Core {
        Core {
            fw,
            io,
            timer_changed: Rc::new(Notify::new()),
        }
    }

    /// Feeds one event to the engine and executes what it asks for (UDP
    /// answers are queued until [`Core::flush`]).
    pub fn handle(&mut self, input: Input<'_>, now: Instant) {
        let before = self.fw.poll_timeout();
        self.fw.handle(input, now);
        self.settle(before, now);
    }

    /// Lets the engine's timers fire at `now` and executes what follows.
    pub fn handle_timeout(&mut self, now: Instant) {
        let before = self.fw.poll_timeout();
        self.fw.handle_timeout(now);
        self.settle(before, now);
    }

    /// Executes the queued actions and tells the loop if the engine's next
    /// timeout moved away from `before`.
    fn settle(&mut self, before: Option<Instant>, now: Instant) {
        self.io.execute(&mut self.fw);
        // Connections the I/O side dropped (client not reading) leave the
        // engine's table now, not at their idle timeout: their slot is free.
        while let Some(conn) = self.io.dropped.pop() {
            self.fw.handle(Input::ClientTcpClosed { conn }, now);
            self.io.execute(&mut self.fw);
        }
        if self.fw.poll_timeout() != before {
            self.timer_changed.notify_one();
        }
    }

    /// Feeds an owned input from a task.
    pub fn input(&mut self, input: TaskEvent, now: Instant) {
        if let TaskEvent::TcpOpened {
            conn,
            writer,
            reader,
            ..
        } = &input
        {
            self.io.tcp_opened(*conn, writer.clone(), reader.clone());
        }
        if let TaskEvent::TcpStalled { conn } = &input {
            log::debug!("TCP client {conn} sent part of a message and stalled, closed");
            self.io.tcp_stalled += 1;
        }
        if let Some(ev) = as_input(&input) {
            self.handle(ev, now);
        }
    }

    /// Sends queued UDP answers.
    pub fn flush(&mut self) {
        self.io.flush();
    }
}

/// Sockets and tasks owned by the loop.
pub struct Io {
    tx: mpsc::UnboundedSender<TaskEvent>,
    udp: Vec<UdpListener>,
    tcp_writers: HashMap<ConnId, (mpsc::Sender<Vec<u8>>, AbortHandle)>,
    upstream_tasks: HashMap<SockId, AbortHandle>,
    /// UDP responses that could not be sent (socket buffer full).
    pub send_errors: u64,
    /// LAN TCP connections closed because their answer queue was full.
    pub tcp_overflows: u64,
    /// LAN TCP connections closed because a message stalled half-way.
    pub tcp_stalled: u64,
    /// Connections dropped here that the engine has not been told about.
    dropped: Vec<ConnId>,
}

impl Io {
    /// Binds every listen spec (UDP and TCP) and starts the reader tasks.
    /// Returns the Io and the receiving end of the event channel. Specs that
    /// fail to bind are logged and returned in the error list.
    pub fn bind(
        specs: &[ListenSpec],
    ) -> (
        Io,
        mpsc::UnboundedReceiver<TaskEvent>,
        Vec<(ListenSpec, io::Error)>,
    ) {
        let (tx, rx) = mpsc::unbounded_channel();
        let mut me = Io {
            tx,
            udp: Vec::new(),
            tcp_writers: HashMap::new(),
            upstream_tasks: HashMap::new(),
            send_errors: 0,
            tcp_overflows: 0,
            tcp_stalled: 0,
            dropped: Vec::new(),
        };
        let mut failed = Vec::new();
        for spec in specs {
            if let Err(e) = me.bind_one(spec) {
                log::error!(
                    "cannot listen on {} ({}): {e}",
                    spec.addr,
                    spec.device.as_deref().unwrap_or("any interface")
                );
                failed.push((spec.clone(), e));
            }
        }
        (me, rx, failed)
    }

    fn bind_one(&mut self, spec: &ListenSpec) -> io::Result<()> {
        let dev = spec.device.as_deref();
        let iface = dev.and_then(sockets::ifindex);
        let udp = Rc::new(sockets::udp_listener(spec.addr, dev)?);
        let tcp = sockets::tcp_listener(spec.addr, dev)?;
        log::info!(
            "listening on {} udp+tcp{}",
            spec.addr,
            dev.map(|d| format!(" on {d}")).unwrap_or_default()
        );
        self.udp.push(UdpListener {
            sock: udp,
            ipv6: spec.addr.is_ipv6(),
            iface,
            addr: spec.addr.ip(),
            queue: Vec::new(),
        });
        // Connection ids are unique per listener: listener k numbers its
        // connections k, k + 2^32, k + 2 * 2^32, ...
        let base = self.udp.len() as ConnId;
        tokio::task::spawn_local(tcp_acceptor(tcp, iface.unwrap_or(0), base, self.tx.clone()));
        Ok(())
    }

    /// Starts one task per UDP listener that reads batches of queries and
    /// runs them through the engine directly (no channel hop on the hot path).
    pub fn start_udp(core: &Rc<RefCell<Core>>) {
        let socks: Vec<(usize, Rc<tokio::net::UdpSocket>, IpAddr)> = core
            .borrow()
            .io
            .udp
            .iter()
            .enumerate()
            .map(|(i, l)| (i, l.sock.clone(), l.addr))
            .collect();
        for (i, sock, bound) in socks {
            tokio::task::spawn_local(udp_serve(i, sock, bound, core.clone()));
        }
    }

    /// Executes every action the engine has queued.
    pub fn execute(&mut self, fw: &mut Forwarder) {
        while let Some(a) = fw.poll_action() {
            match a {
                Action::SendClientUdp {
                    peer,
                    local,
                    iface,
                    data,
                } => self.queue_udp(peer, local, iface, data),
                Action::SendClientTcp { conn, data } => {
                    let full = self
                        .tcp_writers
                        .get(&conn)
                        .is_some_and(|(w, _)| w.try_send(data).is_err());
                    if full && let Some((_, reader)) = self.tcp_writers.remove(&conn) {
                        // The client does not read its answers: drop it
                        // rather than queue without bound.
                        log::debug!("TCP client {conn} not reading, closed");
                        reader.abort();
                        self.tcp_overflows += 1;
                        self.dropped.push(conn);
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
            }
        }
    }

    /// Registers a new TCP connection's writer (from [`TaskEvent::TcpOpened`]).
    pub fn tcp_opened(&mut self, conn: ConnId, writer: mpsc::Sender<Vec<u8>>, reader: AbortHandle) {
        self.tcp_writers.insert(conn, (writer, reader));
    }

    fn queue_udp(&mut self, peer: SocketAddr, local: IpAddr, iface: u32, data: Vec<u8>) {
        let v6 = peer.is_ipv6();
        let pick = self
            .udp
            .iter()
            .position(|l| l.ipv6 == v6 && (l.addr == local || l.iface == Some(iface)))
            .or_else(|| self.udp.iter().position(|l| l.ipv6 == v6));
        if let Some(l) = pick.and_then(|i| self.udp.get_mut(i)) {
            l.queue.push(Outgoing {
                peer,
                local,
                iface,
                data,
            });
        }
    }

    /// Sends every queued answer with sendmmsg; answers the socket cannot
    /// take now (buffer full) are dropped and counted, as UDP would.
    pub fn flush(&mut self) {
        for l in &mut self.udp {
            let mut done = 0;
            while done < l.queue.len() {
                match sockets::send_batch(l.sock.as_raw_fd(), l.queue.get(done..).unwrap_or(&[])) {
                    Ok(0) => break,
                    Ok(n) => done += n,
                    Err(e) => {
                        log::debug!("answers not sent: {e}");
                        // Skip the datagram that failed and go on.
                        done += 1;
                        self.send_errors += 1;
                    }
                }
            }
            if done < l.queue.len() {
                self.send_errors += (l.queue.len() - done) as u64;
            }
            l.queue.clear();
        }
    }
}

/// Engine event for an owned input.
pub fn as_input(input: &TaskEvent) -> Option<Input<'_>> {
    Some(match input {
        TaskEvent::TcpOpened {
            conn,
            peer,
            local,
            iface,
            ..
        } => Input::ClientTcpOpened {
            conn: *conn,
            peer: *peer,
            local: *local,
            iface: *iface,
        },
        TaskEvent::Tcp { conn, data } => Input::ClientTcp { conn: *conn, data },
        TaskEvent::TcpClosed { conn } | TaskEvent::TcpStalled { conn } => {
            Input::ClientTcpClosed { conn: *conn }
        }
        TaskEvent::UpUdp { sock, from, data } => Input::UpstreamUdp {
            sock: *sock,
            from: *from,
            data,
        },
        TaskEvent::UpTcp { sock, data } => Input::UpstreamTcp { sock: *sock, data },
        TaskEvent::UpErr { sock, cause } => Input::UpstreamError {
            sock: *sock,
            cause: *cause,
        },
    })
}

async fn udp_serve(
    idx: usize,
    sock: Rc<tokio::net::UdpSocket>,
    bound: IpAddr,
    core: Rc<RefCell<Core>>,
) {
    let mut batch = RecvBatch::new();
    let mut infos = Vec::with_capacity(sockets::BATCH);
    loop {
        let r = sock
            .async_io(tokio::io::Interest::READABLE, || {
                sockets::recv_batch(sock.as_raw_fd(), &mut batch, &mut infos)
            })
            .await;
        if let Err(e) = r {
            log::warn!("receive error on listener {idx} ({bound}): {e}");
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        }
        let now = Instant::now();
        let mut c = core.borrow_mut();
        for (slot, info) in &infos {
            // IPv6 sockets are V6ONLY, so no mapped addresses; keep the
            // scope of link-local clients for the answer.
            let peer = info.peer;
            let local = info.local.unwrap_or(bound).to_canonical();
            let data = batch.data(*slot, info.len);
            c.handle(
                Input::ClientUdp {
                    peer,
                    local,
                    iface: info.iface,
                    data,
                },
                now,
            );
        }
        c.flush();
    }
}

async fn tcp_acceptor(
    l: tokio::net::TcpListener,
    iface: u32,
    base: ConnId,
    tx: mpsc::UnboundedSender<TaskEvent>,
) {
    // Listener `base` numbers its connections base, base + 2^32, ... so ids
    // from different listeners never collide.
    let mut n: u64 = 0;
    loop {
        let (stream, peer) = match l.accept().await {
            Ok(x) => x,
            Err(e) => {
                log::warn!("accept failed: {e}");
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
        let (wtx, wrx) = mpsc::channel::<Vec<u8>>(TCP_QUEUE);
        tokio::task::spawn_local(tcp_writer(wr, wrx));
        let reader = tokio::task::spawn_local(tcp_reader(rd, conn, tx.clone()));
        let opened = TaskEvent::TcpOpened {
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
    tx: mpsc::UnboundedSender<TaskEvent>,
) {
    loop {
        // Waiting for a message to start is the engine's business (idle and
        // first-message timers); once it started, it must finish promptly.
        let mut first = [0u8; 1];
        match rd.read(&mut first).await {
            Ok(1) => {}
            _ => break,
        }
        let rest = async {
            let mut second = [0u8; 1];
            rd.read_exact(&mut second).await?;
            let mut data = vec![0u8; usize::from(u16::from_be_bytes([first[0], second[0]]))];
            rd.read_exact(&mut data).await?;
            Ok::<Vec<u8>, io::Error>(data)
        };
        match tokio::time::timeout(TCP_MESSAGE_DEADLINE, rest).await {
            Ok(Ok(data)) => {
                if tx.send(TaskEvent::Tcp { conn, data }).is_err() {
                    return;
                }
            }
            Ok(Err(_)) => break,
            Err(_) => {
                let _ = tx.send(TaskEvent::TcpStalled { conn });
                return;
            }
        }
    }
    let _ = tx.send(TaskEvent::TcpClosed { conn });
}

async fn tcp_writer(mut wr: tokio::net::tcp::OwnedWriteHalf, mut rx: mpsc::Receiver<Vec<u8>>) {
    while let Some(msg) = rx.recv().await {
        let Ok(len) = u16::try_from(msg.len()) else {
            continue;
        };
        let mut framed = Vec::with_capacity(2 + msg.len());
        framed.extend_from_slice(&len.to_be_bytes());
        framed.extend_from_slice(&msg);
        match tokio::time::timeout(TCP_WRITE_DEADLINE, wr.write_all(&framed)).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) => return,
            Err(_) => {
                log::debug!("TCP client not reading its answers, writer closed");
                return;
            }
        }
    }
    let _ = wr.shutdown().await;
}

async fn upstream_udp(
    sock: SockId,
    port: u16,
    upstream: SocketAddr,
    data: Vec<u8>,
    tx: mpsc::UnboundedSender<TaskEvent>,
) {
    let s = match sockets::upstream_udp(port, upstream) {
        Ok(s) => s,
        Err(e) => {
            log::warn!("cannot open socket to {upstream}: {e}");
            let cause = failure_of(&e);
            let _ = tx.send(TaskEvent::UpErr { sock, cause });
            return;
        }
    };
    if let Err(e) = s.send(&data).await {
        log::debug!("send to {upstream} failed: {e}");
        let cause = failure_of(&e);
        let _ = tx.send(TaskEvent::UpErr { sock, cause });
        return;
    }
    let mut buf = vec![0u8; UPSTREAM_BUF];
    loop {
        match s.recv_from(&mut buf).await {
            Ok((n, from)) => {
                let from = SocketAddr::new(from.ip().to_canonical(), from.port());
                let data = buf.get(..n).unwrap_or(&[]).to_vec();
                if tx.send(TaskEvent::UpUdp { sock, from, data }).is_err() {
                    return;
                }
            }
            Err(e) => {
                log::debug!("upstream {upstream}: {e}");
                let cause = failure_of(&e);
                let _ = tx.send(TaskEvent::UpErr { sock, cause });
                return;
            }
        }
    }
}

async fn upstream_tcp(
    sock: SockId,
    upstream: SocketAddr,
    data: Vec<u8>,
    tx: mpsc::UnboundedSender<TaskEvent>,
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
            let _ = tx.send(TaskEvent::UpTcp { sock, data: msg });
        }
        Ok(Err(e)) => {
            log::debug!("TCP to {upstream}: {e}");
            let cause = failure_of(&e);
            let _ = tx.send(TaskEvent::UpErr { sock, cause });
        }
        Err(_) => {
            let cause = UpstreamFailure::Timeout;
            let _ = tx.send(TaskEvent::UpErr { sock, cause });
        }
    }
}

/// The engine's view of a socket error.
fn failure_of(e: &io::Error) -> UpstreamFailure {
    match e.kind() {
        io::ErrorKind::ConnectionRefused | io::ErrorKind::ConnectionReset => {
            UpstreamFailure::Refused
        }
        io::ErrorKind::HostUnreachable | io::ErrorKind::NetworkUnreachable => {
            UpstreamFailure::Unreachable
        }
        io::ErrorKind::TimedOut => UpstreamFailure::Timeout,
        _ => UpstreamFailure::Other,
    }
}
