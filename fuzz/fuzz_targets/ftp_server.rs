#![no_main]
// The target's body is wiretale::fuzzing::ftp_server, shared with the replay test.
libfuzzer_sys::fuzz_target!(|data: &[u8]| wiretale::fuzzing::ftp_server(data));
