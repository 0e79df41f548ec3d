//! POP3 (placeholder).
