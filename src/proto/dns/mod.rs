//! DNS (placeholder).
