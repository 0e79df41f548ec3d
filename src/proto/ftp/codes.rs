//! FTP reply codes, named as RFC 959 §4.2.1 describes them.
//!
//! The first digit says how the command went: 1 preliminary (another reply
//! follows), 2 done, 3 send more, 4 failed but may work later, 5 failed.

/// 125: Data connection already open; transfer starting.
pub const DATA_ALREADY_OPEN: u16 = 125;
/// 150: File status okay; about to open data connection.
pub const OPENING_DATA: u16 = 150;
/// 200: Command okay.
pub const OK: u16 = 200;
/// 202: Command not implemented, superfluous at this site (ACCT).
pub const SUPERFLUOUS: u16 = 202;
/// 211: System status, or system help reply (FEAT, RFC 2389).
pub const SYSTEM_STATUS: u16 = 211;
/// 213: File status (SIZE and MDTM, RFC 3659).
pub const FILE_STATUS: u16 = 213;
/// 214: Help message.
pub const HELP: u16 = 214;
/// 215: NAME system type.
pub const SYSTEM_TYPE: u16 = 215;
/// 220: Service ready for new user.
pub const SERVICE_READY: u16 = 220;
/// 221: Service closing control connection.
pub const CLOSING_CONTROL: u16 = 221;
/// 226: Closing data connection; requested file action successful.
pub const CLOSING_DATA: u16 = 226;
/// 227: Entering Passive Mode (h1,h2,h3,h4,p1,p2).
pub const ENTERING_PASSIVE: u16 = 227;
/// 229: Entering Extended Passive Mode (|||port|) (RFC 2428 §3).
pub const ENTERING_EXTENDED_PASSIVE: u16 = 229;
/// 230: User logged in, proceed.
pub const LOGGED_IN: u16 = 230;
/// RFC 4217 §4.1: AUTH TLS accepted; TLS starts.
pub const AUTH_OK: u16 = 234;
/// 250: Requested file action okay, completed.
pub const FILE_ACTION_OK: u16 = 250;
/// 257: "PATHNAME" created (also PWD's reply).
pub const PATHNAME: u16 = 257;
/// 331: User name okay, need password.
pub const NEED_PASSWORD: u16 = 331;
/// 350: Requested file action pending further information (RNFR, REST).
pub const PENDING: u16 = 350;
/// 421: Service not available, closing control connection.
pub const SERVICE_NOT_AVAILABLE: u16 = 421;
/// 425: Can't open data connection.
pub const CANT_OPEN_DATA: u16 = 425;
/// 426: Connection closed; transfer aborted.
pub const TRANSFER_ABORTED: u16 = 426;
/// 450: Requested file action not taken; file unavailable.
pub const FILE_UNAVAILABLE: u16 = 450;
/// 451: Requested action aborted: local error in processing.
pub const LOCAL_ERROR: u16 = 451;
/// 452: Requested action not taken; insufficient storage space.
pub const INSUFFICIENT_STORAGE: u16 = 452;
/// 500: Syntax error, command unrecognized.
pub const SYNTAX_ERROR: u16 = 500;
/// 501: Syntax error in parameters or arguments.
pub const BAD_ARGUMENTS: u16 = 501;
/// 502: Command not implemented.
pub const NOT_IMPLEMENTED: u16 = 502;
/// 503: Bad sequence of commands.
pub const BAD_SEQUENCE: u16 = 503;
/// 504: Command not implemented for that parameter.
pub const NOT_IMPLEMENTED_FOR_PARAMETER: u16 = 504;
/// 522: Network protocol not supported (RFC 2428 §2, EPRT/EPSV with a
/// protocol other than IPv4).
pub const PROTOCOL_NOT_SUPPORTED: u16 = 522;
/// 530: Not logged in.
pub const NOT_LOGGED_IN: u16 = 530;
/// RFC 4217 §9: the protection level is not supported.
pub const PROTECTION_NOT_SUPPORTED: u16 = 536;
/// 550: Requested action not taken; file unavailable (not found, no access).
pub const ACTION_NOT_TAKEN: u16 = 550;
/// 553: Requested action not taken; file name not allowed.
pub const NAME_NOT_ALLOWED: u16 = 553;
