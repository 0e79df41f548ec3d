#![no_main]
// The target's body is wiretale::fuzzing::dns_server, shared with the replay test.
libfuzzer_sys::fuzz_target!(|data: &[u8]| wiretale::fuzzing::dns_server(data));
