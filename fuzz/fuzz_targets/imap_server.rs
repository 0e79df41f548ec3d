#![no_main]
// The target's body is wiretale::fuzzing::imap_server, shared with the replay test.
libfuzzer_sys::fuzz_target!(|data: &[u8]| wiretale::fuzzing::imap_server(data));
