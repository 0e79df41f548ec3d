#![no_main]
// The target's body is wiretale::fuzzing::pop3_server, shared with the replay test.
libfuzzer_sys::fuzz_target!(|data: &[u8]| wiretale::fuzzing::pop3_server(data));
