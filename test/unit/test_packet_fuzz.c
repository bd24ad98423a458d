/* test_packet_fuzz: the libFuzzer target of test/fuzz/fuzz_packet.c in its standalone mode, so
 * every build fuzzes packet.c without clang: a deterministic corpus of 200000 frames, well-formed
 * and mutated, each parsed and rewritten under the invariants listed in that file. */
#define RAWLB_FUZZ_STANDALONE
#include "../fuzz/fuzz_packet.c"
