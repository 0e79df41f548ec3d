#![no_main]
// The target's body is wiretale::fuzzing::http_server, shared with the replay test.
libfuzzer_sys::fuzz_target!(|data: &[u8]| wiretale::fuzzing::http_server(data));
