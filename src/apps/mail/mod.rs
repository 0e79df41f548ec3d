//! Internet mail as the textbook draws it: user agents, mail servers with
//! queues and mailboxes, and the protocols between them.
//!
//! ```text
//!  alice-pc            alice-mail                 bob-mail            bob-pc
//!  UserAgent --587--> MailServer --DNS MX-->  (dns)
//!  (SMTP, AUTH)        queue ------25-------> MailServer <--110-- UserAgent
//!                                   (SMTP)    mailbox      (POP3)
//!                                                       <--143-- bob-phone
//!                                                          (IMAP) UserAgent
//! ```
//!
//! - [`store`]: [`MailStore`], the users, folders and messages of a server
//!   (UIDs, flags, internal dates), shared by SMTP delivery, POP3 and IMAP.
//! - [`queue`]: [`OutboundQueue`] and [`RetryPolicy`], mail waiting to be
//!   relayed.
//! - [`office`]: [`PostOffice`], what becomes of mail (intake, local
//!   delivery, the queue, delivered/bounced/deferred), shared by the
//!   simulated server and the live mode.
//! - [`bounce`]: delivery status notifications for mail that cannot be
//!   delivered.
//! - [`server`]: [`MailServer`], the application: SMTP on 25, submission
//!   on 587, POP3 on 110, IMAP on 143, the queue runner with DNS lookups
//!   and retries.
//! - [`agent`]: [`UserAgent`], the application on a user's computer:
//!   composes and submits mail, fetches it with POP3, works on it where
//!   it is with IMAP.
//!
//! The protocol machines themselves live in [`crate::proto`]; the name
//! server is [`crate::apps::dns`].

pub mod agent;
pub mod bounce;
pub mod events;
pub mod office;
pub mod queue;
pub mod server;
pub mod store;

pub use agent::{
    FetchedMessage, ImapAction, MailAccount, RemoteMessage, SeenUpdate, SendStatus, SentMessage,
    UpdateKind, UserAgent,
};
pub use office::PostOffice;
pub use queue::{OutboundQueue, QueueEntry, RetryPolicy};
pub use server::{MailServer, MailServerConfig, MailTls};
pub use store::{Flag, Folder, MailStore, StoredMessage, User};
