//! The one DNS lookup DS-Lite needs: the AAAA record of the AFTR name,
//! asked of the ISP's servers over UDP. The query and the reading of the
//! answer are pure; [`lookup`] sends and waits, bounded per server.

use std::net::{Ipv6Addr, SocketAddr};
use std::time::Duration;

use cpe_wire::dns::{CLASS_IN, FLAG_RD, Message, Question, Rcode, Rtype};
use cpe_wire::name::Name;

/// How long one server gets to answer.
pub const PER_SERVER: Duration = Duration::from_secs(2);

/// A recursive AAAA query for `name` with transaction id `id`.
pub fn query(id: u16, name: &str) -> Result<Vec<u8>, String> {
    let qname = Name::from_dotted(name).map_err(|e| format!("{name:?}: {e}"))?;
    let m = Message {
        id,
        flags: FLAG_RD,
        question: Some(Question {
            name: qname,
            qtype: Rtype::Aaaa,
            qclass: CLASS_IN,
        }),
        answers: Vec::new(),
        authority: Vec::new(),
        additional: Vec::new(),
    };
    m.to_bytes().map_err(|e| format!("{e:?}"))
}

/// Reads the answer to [`query`]`(id, name)`: `Ok(None)` for a datagram
/// that is not that answer (wrong id or question: ignored, the real one may
/// still come), `Ok(Some(addr))` for the first AAAA of the answer section
/// (after any CNAME chain the recursive server followed), `Err` for a
/// definite failure, in words for the console.
pub fn answer(id: u16, name: &str, bytes: &[u8]) -> Result<Option<Ipv6Addr>, String> {
    let Ok(m) = Message::decode(bytes) else {
        return Ok(None);
    };
    let asked = Name::from_dotted(name).ok();
    let same_question = m
        .question
        .as_ref()
        .is_some_and(|q| q.qtype == Rtype::Aaaa && asked.as_ref() == Some(&q.name));
    if m.id != id || !same_question || m.flags & cpe_wire::dns::FLAG_QR == 0 {
        return Ok(None);
    }
    match m.rcode() {
        Rcode::NoError => {}
        Rcode::NxDomain => return Err(format!("{name} does not exist (NXDOMAIN)")),
        other => return Err(format!("the server answered {other}")),
    }
    m.answers
        .iter()
        .find_map(|r| {
            let octets: [u8; 16] = r.rdata.as_slice().try_into().ok()?;
            (r.rtype == Rtype::Aaaa).then(|| Ipv6Addr::from(octets))
        })
        .map(Some)
        .ok_or_else(|| format!("{name} has no AAAA record"))
}

/// Asks each server in turn, [`PER_SERVER`] each, until one answers. The
/// error names every server's outcome.
pub async fn lookup(name: &str, servers: &[Ipv6Addr], id: u16) -> Result<Ipv6Addr, String> {
    let q = query(id, name)?;
    let mut why = Vec::new();
    for server in servers {
        let outcome = tokio::time::timeout(PER_SERVER, ask(&q, id, name, *server)).await;
        match outcome {
            Ok(Ok(addr)) => return Ok(addr),
            Ok(Err(e)) => why.push(format!("{server}: {e}")),
            Err(_) => why.push(format!("{server}: no answer in {}s", PER_SERVER.as_secs())),
        }
    }
    if why.is_empty() {
        return Err("no DNS server to ask".into());
    }
    Err(why.join("; "))
}

async fn ask(q: &[u8], id: u16, name: &str, server: Ipv6Addr) -> Result<Ipv6Addr, String> {
    let sock = tokio::net::UdpSocket::bind("[::]:0")
        .await
        .map_err(|e| e.to_string())?;
    sock.send_to(q, SocketAddr::new(server.into(), 53))
        .await
        .map_err(|e| e.to_string())?;
    let mut buf = [0u8; 1500];
    loop {
        let (n, from) = sock.recv_from(&mut buf).await.map_err(|e| e.to_string())?;
        if from.ip() != std::net::IpAddr::V6(server) {
            continue;
        }
        if let Some(addr) = answer(id, name, buf.get(..n).unwrap_or_default())? {
            return Ok(addr);
        }
    }
}
