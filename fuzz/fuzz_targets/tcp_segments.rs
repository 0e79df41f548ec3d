#![no_main]
// The target's body is wiretale::fuzzing::tcp_segments, shared with the replay test.
libfuzzer_sys::fuzz_target!(|data: &[u8]| wiretale::fuzzing::tcp_segments(data));
