//! State bus (placeholder).
