#![no_main]
// The target's body is wiretale::fuzzing::scp_session, shared with the replay test.
libfuzzer_sys::fuzz_target!(|data: &[u8]| wiretale::fuzzing::scp_session(data));
