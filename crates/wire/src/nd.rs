//! Neighbor Discovery (RFC 4861) Router Solicitation/Advertisement codec and options.
