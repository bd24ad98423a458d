/* test_textout: the bounded text writer on its own: a text that fits exactly, one byte short,
 * the cut at a line boundary, need counted beyond the buffer, rewinding a line that did not
 * fit, and shell quoting of words. Every buffer has canaries after len: never an overrun. */
#include <string.h>

#include "testing.h"
#include "textout.h"

#define CANARY 'X'

static char area[256];

/* The test buffer, canaries all over: the writer gets its first len bytes. */
static char *fresh(void)
{
    memset(area, CANARY, sizeof area);
    return area;
}

static int canaries_intact(size_t len)
{
    for (size_t i = len; i < sizeof area; i++)
        if (area[i] != CANARY)
            return 0;
    return 1;
}

static void test_fits_exactly(void)
{
    static const char text[] = "one\ntwo\n"; /* 8 bytes and the NUL */
    struct textout o;
    textout_init(&o, fresh(), sizeof text);
    CHECK(o.buf[0] == '\0');
    textout_printf(&o, "one\n");
    textout_printf(&o, "%s\n", "two");
    CHECK(!o.truncated);
    CHECK_EQ_U(o.pos, 8);
    CHECK_EQ_U(o.need, 8);
    CHECK_EQ_U(textout_finish(&o), 8);
    CHECK(strcmp(o.buf, text) == 0);
    CHECK(canaries_intact(sizeof text));
}

static void test_one_byte_short(void)
{
    /* Room for the text but not its NUL: the second line goes, the first stays. */
    struct textout o;
    textout_init(&o, fresh(), 8);
    textout_printf(&o, "one\n");
    textout_printf(&o, "two\n");
    CHECK(o.truncated);
    CHECK_EQ_U(o.pos, 4);
    CHECK_EQ_U(o.need, 8);
    CHECK_EQ_U(textout_finish(&o), 4);
    CHECK(strcmp(o.buf, "one\n") == 0);
    CHECK(o.truncated); /* finish leaves truncated and need as they were */
    CHECK_EQ_U(o.need, 8);
    CHECK(canaries_intact(8));

    /* A single line one byte short: not even one whole line, so the text is empty. */
    textout_init(&o, fresh(), 4);
    textout_printf(&o, "one\n");
    CHECK(o.truncated);
    CHECK_EQ_U(textout_finish(&o), 0);
    CHECK(o.buf[0] == '\0');
    CHECK_EQ_U(o.need, 4);
    CHECK(canaries_intact(4));

    /* Half a line written whole, the rest cut: still no whole line, still empty. */
    textout_init(&o, fresh(), 8);
    textout_printf(&o, "one ");
    textout_printf(&o, "two\n");
    CHECK(o.truncated);
    CHECK_EQ_U(o.pos, 4);
    CHECK_EQ_U(textout_finish(&o), 0);
    CHECK(o.buf[0] == '\0');
    CHECK(canaries_intact(8));
}

static void test_cut_at_line(void)
{
    /* The cut falls inside the third line, and a line written in pieces ends the whole ones. */
    struct textout o;
    textout_init(&o, fresh(), 16);
    textout_printf(&o, "alpha\n");
    textout_printf(&o, "be");
    textout_printf(&o, "ta\n");
    textout_printf(&o, "gam");
    textout_printf(&o, "ma\n"); /* does not fit: pos stops after "gam" */
    CHECK(o.truncated);
    CHECK_EQ_U(o.pos, 14);
    CHECK_EQ_U(textout_finish(&o), 11);
    CHECK(strcmp(o.buf, "alpha\nbeta\n") == 0);
    CHECK_EQ_U(o.need, 17);
    CHECK(canaries_intact(16));

    /* A printf that does not fit is dropped whole, even the lines of it that would have. */
    textout_init(&o, fresh(), 16);
    textout_printf(&o, "a\n");
    textout_printf(&o, "b\nc\nthis one is long\n");
    CHECK(o.truncated);
    CHECK_EQ_U(textout_finish(&o), 2);
    CHECK(strcmp(o.buf, "a\n") == 0);
    CHECK(canaries_intact(16));
}

static void test_need(void)
{
    /* Once cut, nothing more is written, but need goes on counting the whole text. */
    struct textout o;
    textout_init(&o, fresh(), 6);
    textout_printf(&o, "ab\n");
    textout_printf(&o, "%d\n", 12345);
    textout_printf(&o, "xy\n"); /* would fit on its own: not written after a cut */
    CHECK_EQ_U(o.need, 3 + 6 + 3);
    CHECK_EQ_U(o.pos, 3);
    CHECK_EQ_U(textout_finish(&o), 3);
    CHECK(strcmp(o.buf, "ab\n") == 0);
    CHECK(canaries_intact(6));

    /* No buffer at all: only the count, as metrics_render(v, NULL, 0) asks. */
    textout_init(&o, NULL, 0);
    textout_printf(&o, "%s %u\n", "family", 7u);
    textout_printf(&o, "more\n");
    CHECK(o.truncated);
    CHECK_EQ_U(o.need, 9 + 5);
    CHECK_EQ_U(textout_finish(&o), 0);
    CHECK_EQ_U(o.need, 14);

    /* One byte: room for the NUL only. */
    textout_init(&o, fresh(), 1);
    textout_printf(&o, "a\n");
    CHECK_EQ_U(textout_finish(&o), 0);
    CHECK(area[0] == '\0' && canaries_intact(1));
    CHECK_EQ_U(o.need, 2);
}

static void test_rewind(void)
{
    /* A line that does not fit is rolled back and writing goes on with a shorter one. */
    struct textout o;
    textout_init(&o, fresh(), 16);
    textout_printf(&o, "head\n");
    size_t mark = o.pos;
    textout_printf(&o, "a line too long to fit\n");
    CHECK(o.truncated);
    textout_rewind(&o, mark);
    CHECK(!o.truncated);
    CHECK_EQ_U(o.pos, mark);
    CHECK_EQ_U(o.need, mark);
    CHECK(strcmp(o.buf, "head\n") == 0);
    textout_printf(&o, "tail\n");
    CHECK(!o.truncated);
    CHECK_EQ_U(textout_finish(&o), 10);
    CHECK(strcmp(o.buf, "head\ntail\n") == 0);
    CHECK_EQ_U(o.need, 10);
    CHECK(canaries_intact(16));

    /* Rewinding a line that did fit takes it back too. */
    textout_init(&o, fresh(), 16);
    textout_printf(&o, "x\n");
    mark = o.pos;
    textout_printf(&o, "y\n");
    textout_rewind(&o, mark);
    CHECK_EQ_U(textout_finish(&o), 2);
    CHECK(strcmp(o.buf, "x\n") == 0);
}

static void word(const char *in, const char *want)
{
    char buf[64];
    struct textout o;
    textout_init(&o, buf, sizeof buf);
    textout_word(&o, in);
    CHECK(!o.truncated);
    if (strcmp(buf, want) != 0) {
        fprintf(stderr, "textout_word(\"%s\"): got [%s], want [%s]\n", in, buf, want);
        check_failures++;
    }
    CHECK_EQ_U(o.pos, strlen(want));
}

static void test_word(void)
{
    word("plain", " plain");
    word("a-b_c.d/e:f,g=h+i@j%k", " a-b_c.d/e:f,g=h+i@j%k");
    word("", " ''");
    word("two words", " 'two words'");
    word("it's", " 'it'\\''s'");
    word("$HOME", " '$HOME'");
    word("GET / HTTP/1.0\\r\\n", " 'GET / HTTP/1.0\\r\\n'");

    /* A word that does not fit cuts the text like any other printf. */
    struct textout o;
    textout_init(&o, fresh(), 8);
    textout_printf(&o, "-c\n");
    textout_word(&o, "a long word");
    CHECK(o.truncated);
    CHECK_EQ_U(o.need, 3 + strlen(" 'a long word'"));
    CHECK_EQ_U(textout_finish(&o), 3);
    CHECK(canaries_intact(8));
}

/* JSON strings: quotes, backslashes and control characters escaped, the rest as it is. */
static void test_json_str(void)
{
    char buf[64];
    struct textout o;
    textout_init(&o, buf, sizeof buf);
    textout_json_str(&o, "e\"x\\t\n\t\x01z");
    CHECK_EQ_U(textout_finish(&o), strlen(buf));
    CHECK(strcmp(buf, "\"e\\\"x\\\\t\\n\\t\\u0001z\"") == 0);
}

int main(void)
{
    test_fits_exactly();
    test_one_byte_short();
    test_cut_at_line();
    test_need();
    test_rewind();
    test_word();
    test_json_str();
    CHECK_DONE();
}
