//! The nfnetlink socket: commit a batch, read counters back.

use super::super::consts::{NLM_F_DUMP, NLM_F_REQUEST, NLMSG_HDRLEN};
use super::super::message::KernelError;
use super::super::socket::{
    RECV_BUF, await_replies, open_socket_for, recv_from_kernel_flags, send_to_kernel, set_int_opt,
    set_recv_timeout,
};
use super::super::wire::messages;
use super::batch::{Batch, TableFamily};
use super::consts::*;
use super::encode::Attrs;
use super::reply::{CounterValue, Reply, parse_reply};
use std::collections::BTreeMap;
use std::io;

/// Receive buffer asked for: every message of a batch is acked, and the acks
/// of a full ruleset (a few hundred messages) must all fit at once.
const ACK_BUFFER: i32 = 4 * 1024 * 1024;

/// A blocking nf_tables client.
///
/// The kernel processes a batch inside `sendmsg`: when `send` returns, every
/// ack is already queued, so [`commit`](Nftables::commit) never waits on
/// anything but the kernel (a 5 s receive timeout bounds it regardless).
pub struct Nftables {
    fd: std::os::fd::OwnedFd,
    seq: u32,
    buf: Vec<u8>,
}

impl Nftables {
    /// Opens a socket in the calling thread's network namespace.
    pub fn open() -> io::Result<Nftables> {
        let fd = open_socket_for(NETLINK_NETFILTER, false)?;
        set_recv_timeout(&fd, 5)?;
        // SO_RCVBUFFORCE (root) ignores rmem_max; fall back to the capped one.
        if set_int_opt(&fd, libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, ACK_BUFFER).is_err() {
            let _ = set_int_opt(&fd, libc::SOL_SOCKET, libc::SO_RCVBUF, ACK_BUFFER);
        }
        Ok(Nftables {
            fd,
            seq: std::process::id().wrapping_mul(7919),
            buf: vec![0; RECV_BUF],
        })
    }

    fn next_seqs(&mut self, n: usize) -> u32 {
        let first = self.seq.wrapping_add(1).max(1);
        self.seq = first.wrapping_add(n as u32 + 1);
        first
    }

    /// Applies a batch atomically. `Ok` only when the kernel acked every
    /// message (so the transaction committed); otherwise the error names
    /// the first message the kernel refused, with its errno and extended-ack
    /// text, and the previous ruleset is still in place.
    pub fn commit(&mut self, batch: &Batch) -> io::Result<()> {
        let first = self.next_seqs(batch.len());
        let (bytes, seqs) = batch.encode(first);
        send_to_kernel(&self.fd, &bytes)?;
        let mut pending: BTreeMap<u32, &str> = seqs.into_iter().collect();
        let mut failure: Option<(String, KernelError)> = None;
        while !pending.is_empty() {
            // All acks are queued by now; an empty queue means the kernel
            // stopped answering (it does after a malformed message).
            let n = match recv_from_kernel_flags(&self.fd, &mut self.buf, libc::MSG_DONTWAIT) {
                Ok(Some(n)) => n,
                Ok(None) => continue,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => return Err(e),
            };
            let data = self.buf.get(..n).unwrap_or(&[]);
            for m in messages(data) {
                let (h, payload) = m?;
                let Some(what) = pending.remove(&h.seq) else {
                    continue;
                };
                if let Reply::Ack(Some(e)) = parse_reply(&h, payload)?
                    && failure.is_none()
                {
                    failure = Some((what.to_string(), e));
                }
            }
        }
        if let Some((what, e)) = failure {
            return Err(e.to_io(&format!("nftables batch refused at {what}")));
        }
        if !pending.is_empty() {
            return Err(io::Error::other(format!(
                "nftables batch: the kernel acknowledged {} of {} messages",
                batch.len() - pending.len(),
                batch.len()
            )));
        }
        Ok(())
    }

    /// Every counter object of `table`, by name.
    pub fn counters(
        &mut self,
        family: TableFamily,
        table: &str,
    ) -> io::Result<BTreeMap<String, CounterValue>> {
        let seq = self.next_seqs(0);
        let mut a = Attrs::default();
        a.buf.extend_from_slice(&[0u8; NLMSG_HDRLEN]);
        a.buf
            .extend_from_slice(&[family.code(), NFNETLINK_V0, 0, 0]);
        a.string(NFTA_OBJ_TABLE, table);
        a.be32(NFTA_OBJ_TYPE, NFT_OBJECT_COUNTER);
        let len = a.buf.len() as u32;
        let ty = (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETOBJ;
        let mut req = a.buf;
        req[..4].copy_from_slice(&len.to_ne_bytes());
        req[4..6].copy_from_slice(&ty.to_ne_bytes());
        req[6..8].copy_from_slice(&(NLM_F_REQUEST | NLM_F_DUMP).to_ne_bytes());
        req[8..12].copy_from_slice(&seq.to_ne_bytes());
        send_to_kernel(&self.fd, &req)?;
        let mut out = BTreeMap::new();
        await_replies(
            &self.fd,
            &mut self.buf,
            seq,
            |h, payload| match parse_reply(h, payload)? {
                Reply::Done | Reply::Ack(None) => Ok(Some(())),
                Reply::Ack(Some(e)) => Err(e.to_io(&format!("list counters of {table}"))),
                Reply::Counter(c) if c.table == table => {
                    out.insert(c.name.clone(), c);
                    Ok(None)
                }
                _ => Ok(None),
            },
        )?;
        Ok(out)
    }
}
