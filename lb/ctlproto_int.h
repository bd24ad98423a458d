/* ctlproto_int: what the control protocol's own files (ctlproto.c, ctlrender.c) share and
 * nothing else includes. */
#ifndef RAWLB_CTLPROTO_INT_H
#define RAWLB_CTLPROTO_INT_H

#include <stddef.h>

#include "textout.h"

/* Control answers are line-oriented and never empty: a cut answer ends after the last whole line
 * that fitted (textout_finish) or, when not even one fitted, with what did and a newline in place
 * of its last byte, so rawlb-ctl always reads at least one line. Needs len >= 2. */
size_t ctlproto_answer_finish(struct textout *o);

#endif
