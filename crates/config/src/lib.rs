//! Configuration language (placeholder until the schema lands).
