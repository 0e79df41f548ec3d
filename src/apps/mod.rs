//! Applications built from the protocol machines: mail servers, user
//! agents, file servers, an eavesdropper.

pub mod vfs;
