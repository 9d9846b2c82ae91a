//! DHCPv6 (RFC 8415) message and option codec.
