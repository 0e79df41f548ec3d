#![no_main]
// The target's body is wiretale::fuzzing::scenario_load, shared with the replay test.
libfuzzer_sys::fuzz_target!(|data: &[u8]| wiretale::fuzzing::scenario_load(data));
