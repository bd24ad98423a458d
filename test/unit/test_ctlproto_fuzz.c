/* test_ctlproto_fuzz: the libFuzzer target of test/fuzz/fuzz_ctlproto.c in its standalone mode, so
 * every build fuzzes the control request parser without clang: a deterministic stream of 200000
 * requests (every kind, most of them edited) under the invariants listed in that file. */
#define RAWLB_FUZZ_STANDALONE
#include "../fuzz/fuzz_ctlproto.c"
