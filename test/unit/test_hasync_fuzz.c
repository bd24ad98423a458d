/* test_hasync_fuzz: the libFuzzer target of test/fuzz/fuzz_hasync.c in its standalone mode, so
 * every build fuzzes the HA sync receiver without clang: a deterministic stream of 150000 inputs
 * (SYNC payloads of records and configuration chunks, acknowledgements, local events, half of
 * them mutated) into one director's hasync, connection table and services, under the invariants
 * listed in that file. */
#define RAWLB_FUZZ_STANDALONE
#include "../fuzz/fuzz_hasync.c"
