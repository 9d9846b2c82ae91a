//! DNS replies as printed by `kdig` (package knot-dnsutils).
//!
//! kdig is the independent DNS client on LAN hosts; parsing its text gives
//! tests the rcode, header flags (TC, AA, RA), records and the transport
//! that carried the reply, which is what a forwarder test asserts on.

/// One DNS record line (`name ttl class type data`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsRecord {
    /// Owner name with trailing dot, as printed.
    pub name: String,
    /// TTL in seconds.
    pub ttl: u32,
    /// Class (`IN`).
    pub class: String,
    /// Type mnemonic (`AAAA`, `CNAME`, `TXT`, ...).
    pub rtype: String,
    /// Record data as printed.
    pub data: String,
}

/// One reply.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KdigReply {
    /// Response code (`NOERROR`, `NXDOMAIN`, `SERVFAIL`, ...).
    pub status: String,
    /// Header flags in lowercase (`qr`, `aa`, `tc`, `rd`, `ra`, ...).
    pub flags: Vec<String>,
    /// Answer section.
    pub answers: Vec<DnsRecord>,
    /// Authority section.
    pub authority: Vec<DnsRecord>,
    /// Reply size in bytes.
    pub received_bytes: Option<usize>,
    /// `UDP` or `TCP`.
    pub transport: Option<String>,
}

impl KdigReply {
    /// True if the header has flag `f` (e.g. `"tc"`).
    pub fn has_flag(&self, f: &str) -> bool {
        self.flags.iter().any(|x| x == f)
    }

    /// Data of every answer record of type `rtype`.
    pub fn answer_data(&self, rtype: &str) -> Vec<&str> {
        self.answers
            .iter()
            .filter(|r| r.rtype == rtype)
            .map(|r| r.data.as_str())
            .collect()
    }
}

enum Section {
    None,
    Answer,
    Authority,
}

/// Parses kdig's output; one entry per reply printed (kdig prints the
/// truncated UDP reply and the TCP retry separately unless `+ignore`).
pub fn parse_kdig(text: &str) -> Vec<KdigReply> {
    let mut out: Vec<KdigReply> = Vec::new();
    let mut section = Section::None;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix(";; ->>HEADER<<-") {
            let status = rest
                .split(';')
                .find_map(|part| part.trim().strip_prefix("status:"))
                .unwrap_or_default()
                .trim()
                .to_string();
            out.push(KdigReply {
                status,
                ..KdigReply::default()
            });
            section = Section::None;
            continue;
        }
        let Some(reply) = out.last_mut() else {
            continue;
        };
        if let Some(rest) = line.strip_prefix(";; Flags:") {
            let flags = rest.split(';').next().unwrap_or_default();
            reply.flags = flags.split_whitespace().map(str::to_lowercase).collect();
        } else if line.starts_with(";; ANSWER SECTION:") {
            section = Section::Answer;
        } else if line.starts_with(";; AUTHORITY SECTION:") {
            section = Section::Authority;
        } else if let Some(rest) = line.strip_prefix(";; Received ") {
            reply.received_bytes = rest.split_whitespace().next().and_then(|n| n.parse().ok());
        } else if let Some(rest) = line.strip_prefix(";; From ") {
            reply.transport = rest
                .split_once('(')
                .and_then(|(_, t)| t.split_once(')'))
                .map(|(t, _)| t.to_string());
        } else if line.starts_with(";;") || line.trim().is_empty() {
            section = Section::None;
        } else if let Some(rec) = parse_record(line) {
            match section {
                Section::Answer => reply.answers.push(rec),
                Section::Authority => reply.authority.push(rec),
                Section::None => {}
            }
        }
    }
    out
}

fn parse_record(line: &str) -> Option<DnsRecord> {
    let mut it = line.split_whitespace();
    let name = it.next()?.to_string();
    let ttl = it.next()?.parse().ok()?;
    let class = it.next()?.to_string();
    let rtype = it.next()?.to_string();
    let data = it.collect::<Vec<_>>().join(" ");
    Some(DnsRecord {
        name,
        ttl,
        class,
        rtype,
        data,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const CNAME: &str = ";; ->>HEADER<<- opcode: QUERY; status: NOERROR; id: 55183
;; Flags: qr aa rd ra; QUERY: 1; ANSWER: 2; AUTHORITY: 0; ADDITIONAL: 0

;; QUESTION SECTION:
;; cname.test.         \t\tIN\tAAAA

;; ANSWER SECTION:
cname.test.         \t300\tIN\tCNAME\ta.test.
a.test.             \t300\tIN\tAAAA\t2001:db8:53::a

;; Received 72 B
;; Time 2026-11-23 23:32:40 UTC
;; From 2001:db8:53::1@53(UDP) in 0.3 ms
";

    const NX_THEN_TC: &str = ";; ->>HEADER<<- opcode: QUERY; status: NXDOMAIN; id: 3084
;; Flags: qr aa rd ra; QUERY: 1; ANSWER: 0; AUTHORITY: 1; ADDITIONAL: 0

;; AUTHORITY SECTION:
test.               \t60\tIN\tSOA\tns.test. hostmaster.test. 1 3600 600 86400 60

;; Received 75 B
;; From 2001:db8:53::1@53(UDP) in 0.2 ms
;; ->>HEADER<<- opcode: QUERY; status: NOERROR; id: 23583
;; Flags: qr aa tc rd ra; QUERY: 1; ANSWER: 0; AUTHORITY: 0; ADDITIONAL: 1
;; Received 37 B
;; From 2001:db8:53::1@53(TCP) in 0.3 ms
";

    #[test]
    fn parses_answers_flags_and_transport() {
        let r = parse_kdig(CNAME);
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].status, "NOERROR");
        assert!(r[0].has_flag("aa") && !r[0].has_flag("tc"));
        assert_eq!(r[0].answers.len(), 2);
        assert_eq!(r[0].answers[0].rtype, "CNAME");
        assert_eq!(r[0].answer_data("AAAA"), vec!["2001:db8:53::a"]);
        assert_eq!(r[0].received_bytes, Some(72));
        assert_eq!(r[0].transport.as_deref(), Some("UDP"));
    }

    #[test]
    fn parses_nxdomain_and_several_replies() {
        let r = parse_kdig(NX_THEN_TC);
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].status, "NXDOMAIN");
        assert_eq!(r[0].authority[0].rtype, "SOA");
        assert_eq!(r[0].authority[0].ttl, 60);
        assert!(r[1].has_flag("tc"));
        assert_eq!(r[1].transport.as_deref(), Some("TCP"));
        assert!(parse_kdig("no header\nx 1 IN A 1.2.3.4\n").is_empty());
    }
}
