//! Logger (placeholder).
