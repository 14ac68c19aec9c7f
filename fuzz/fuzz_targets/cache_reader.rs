//! `cache::parse_entry` for both cache entry types on arbitrary bytes.
//! A parsed entry is used the way the provider uses it (freshness check) and
//! must survive the write -> read round trip the cache performs.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    mfacli::fuzz_checks::cache_reader(data);
});
